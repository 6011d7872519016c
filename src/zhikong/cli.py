"""The `zhikong` command line: assembles the domains' sub-commands and the installation's own.

Each domain brings its typer group (`zhikong.<domain>.cli`); the plumbing they share (errors,
output, global options) is in `zhikong.console`. What is left here is the root callback, the
installation commands (`db`, `keys`, `serve`, `demo`) and `main`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

# Typer >= 0.29 ships its own copy of Click; its exceptions live here.
from typer._click.exceptions import ClickException

from zhikong import __version__
from zhikong.audit.cli import audit_app
from zhikong.auth.cli import users_app
from zhikong.code.cli import code_app
from zhikong.config import Settings
from zhikong.console import (
    CliError,
    RichProgress,
    State,
    console,
    engine_for,
    engine_from_context,
    fail,
    keystore_from_context,
    require_current_schema,
    settings_from_context,
    state_of,
)
from zhikong.credential.cli import issuer_app, trust_app, verify_command
from zhikong.economy.cli import economy_app
from zhikong.enterprise.cli import enterprise_app
from zhikong.epi.cli import alerts_app, epi_app
from zhikong.index.cli import index_app
from zhikong.regions.cli import regions_app
from zhikong.riskmap.cli import map_app
from zhikong.rules.cli import rules_app
from zhikong.trace.cli import trace_app

if TYPE_CHECKING:
    from zhikong.demo.service import DemoAccount
    from zhikong.keys import FileKeyStore

app = typer.Typer(
    name="zhikong",
    help="智控 zhikong — 一图一码一指数 platform for precise, data-driven epidemic control.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
keys_app = typer.Typer(
    help="Key directory: secrets kept outside repo and database.", no_args_is_help=True
)
keys_app.add_typer(issuer_app, name="issuer")
app.add_typer(db_app, name="db")
app.add_typer(regions_app, name="regions")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(code_app, name="code")
app.add_typer(rules_app, name="rules")
app.add_typer(index_app, name="index")
app.add_typer(map_app, name="map")
app.add_typer(trust_app, name="trust")
app.add_typer(trace_app, name="trace")
app.add_typer(alerts_app, name="alerts")
app.add_typer(epi_app, name="epi")
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(economy_app, name="economy")
app.command("verify")(verify_command)


class LogLevel(StrEnum):
    """Log levels the CLI accepts."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def _version(value: bool) -> None:
    if value:
        console.print(f"zhikong {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="SQLAlchemy URL (overrides ZHIKONG_DATABASE_URL)."),
    ] = None,
    var_dir: Annotated[
        Path | None, typer.Option("--var-dir", help="Local state folder (ZHIKONG_VAR_DIR).")
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option("--log-level", help="Log level (ZHIKONG_LOG_LEVEL)."),
    ] = None,
    key_dir: Annotated[
        Path | None, typer.Option("--key-dir", help="Key directory (ZHIKONG_KEY_DIR).")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """智控 zhikong command line."""
    ctx.obj = State(
        database_url=database_url,
        var_dir=var_dir,
        log_level=log_level.value if log_level else None,
        key_dir=key_dir,
        prepare=_connect_domains,
    )


def _connect_domains() -> None:
    """Wire the domains' extension points before a command works on the database."""
    from zhikong.wiring import connect_domains

    connect_domains()


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
) -> None:
    """Migrate the database schema to the newest revision (one transaction)."""
    from zhikong.store import migrate

    engine = engine_from_context(ctx, migrated=False)
    before = migrate.current_revision(engine)
    try:
        migrate.upgrade(engine, revision)
    except Exception as exc:
        if "Can't locate revision" in str(exc) or "No such revision" in str(exc):
            raise CliError(f"unknown revision {revision!r}") from exc
        raise
    after = migrate.current_revision(engine)
    console.print(f"database {engine.url.render_as_string()}: {before or 'empty'} → {after}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and the code's newest one."""
    from zhikong.store import migrate

    engine = engine_from_context(ctx, migrated=False)
    console.print(f"database: {migrate.current_revision(engine) or 'empty'}")
    console.print(f"code head: {migrate.head_revision()}")


@keys_app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Create the key directory with a first version of every key (mode 700/600)."""
    from zhikong.clock import SystemClock
    from zhikong.keys import FileKeyStore, KeyDirectoryError

    path = settings_from_context(ctx).resolved_key_dir
    try:
        store = FileKeyStore.init(path, SystemClock().now())
    except KeyDirectoryError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"key directory created: {store.path} (keep it out of backups of the database)")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List the keys, their versions and which version is current (never the secrets)."""
    from zhikong.keys import PURPOSES

    store = keystore_from_context(ctx)
    table = Table(title=f"keys in {store.path}")
    for column in ("purpose", "version", "current", "created"):
        table.add_column(column)
    for purpose in PURPOSES:
        current = store.current_version(purpose)
        for item in store.versions(purpose):
            table.add_row(
                purpose, str(item.version), "✓" if item.version == current else "", item.created_at
            )
    console.print(table)


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    purpose: Annotated[
        str,
        typer.Argument(help="A key purpose: see zhikong keys list."),
    ],
) -> None:
    """Add a new current version of a key; older versions stay readable."""
    from zhikong.clock import SystemClock
    from zhikong.keys import KeyDirectoryError

    store = keystore_from_context(ctx)
    try:
        version = store.rotate(purpose, SystemClock().now())
    except KeyDirectoryError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{purpose}: version {version} is now current")


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (ZHIKONG_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port (ZHIKONG_PORT).")
    ] = None,
) -> None:
    """Serve the platform (API, docs and pages)."""
    settings = state_of(ctx).settings(host=host, port=port)
    _serve(settings)


def _serve(settings: Settings) -> None:
    import uvicorn

    from zhikong.app import create_app

    engine = engine_for(settings)
    require_current_schema(engine)
    application = create_app(settings, engine=engine)
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold green]智控 zhikong {__version__}[/] — {engine.url.get_backend_name()}")
    for path, label in (
        ("/", "首页 · home"),
        ("/docs", "接口文档 · API docs"),
        ("/cockpit", "数字驾驶舱 · cockpit"),
        ("/m", "居民健康码 · resident pages"),
        ("/scan", "卡口验码 · checkpoint scanner"),
        ("/admin", "工作台 · officer console"),
        ("/api/v1/regions?level=county", "区县 · counties"),
        ("/api/v1/regions/330000/features?level=county", "区县边界 · county boundaries"),
        ("/api/v1/residents/summary?region=330000", "居民统计 · residents"),
        ("/readyz", "就绪检查 · readiness"),
    ):
        console.print(f"  {base}{path}    {label}", soft_wrap=True, highlight=False)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


@app.command("demo")
def demo(
    ctx: typer.Context,
    people: Annotated[
        int | None,
        typer.Option(
            "--people", min=0, max=100_000_000, help="Synthetic residents (default 100000)."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default 2020).")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Wipe the database even if it is not a demo one.")
    ] = False,
    serve_after: Annotated[
        bool, typer.Option("--serve", help="Serve the platform once the demo is built.")
    ] = False,
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535)] = None,
) -> None:
    """Build a fresh demo database: Zhejiang's regions and a synthetic population."""
    from zhikong.clock import SystemClock
    from zhikong.demo.service import NotADemoDatabaseError, build_demo, ensure_demo_or_empty

    settings = state_of(ctx).settings(demo_people=people, demo_seed=seed, host=host, port=port)
    engine = engine_for(settings)
    if not force:
        try:
            ensure_demo_or_empty(engine)
        except NotADemoDatabaseError as exc:
            raise CliError(str(exc)) from exc
    console.print(
        f"[bold]zhikong demo[/]: {settings.demo_people:,} 合成居民 · synthetic residents, "
        f"seed {settings.demo_seed}, database {engine.url.render_as_string()}",
        soft_wrap=True,
    )
    keys = _demo_keys(settings)
    with RichProgress() as progress:
        report = build_demo(
            engine,
            people=settings.demo_people,
            seed=settings.demo_seed,
            clock=SystemClock(),
            keys=keys,
            timezone=settings.timezone,
            profile=settings.code_profile,
            issuer_key_dir=settings.resolved_key_dir,
            issuer_region=settings.issuer_region,
            progress=progress,
        )
    console.print(
        f"demo ready: {report.regions} regions ({report.counties} counties), "
        f"{report.residents:,} synthetic residents ({report.identities} with made-up identities) "
        f"on {report.backend}",
        soft_wrap=True,
    )
    _print_demo_accounts(settings, report.accounts)
    if serve_after:
        _serve(settings)


def _demo_keys(settings: Settings) -> FileKeyStore:
    """The key directory, created on first use for the demo."""
    from zhikong.clock import SystemClock
    from zhikong.keys import FileKeyStore, KeyDirectoryError

    path = settings.resolved_key_dir
    try:
        return FileKeyStore.load(path)
    except KeyDirectoryError:
        if path.exists() and any(path.iterdir()):
            raise CliError(f"key directory {path} is unusable; fix or move it") from None
        console.print(f"key directory created: {path}")
        return FileKeyStore.init(path, SystemClock().now())


def _print_demo_accounts(settings: Settings, accounts: Sequence[DemoAccount]) -> None:
    """Show the demo sign-ins and keep them in <var_dir>/demo-accounts.txt (mode 600)."""
    path = settings.var_dir / "demo-accounts.txt"
    lines = ["# zhikong demo accounts (synthetic installation) — username, role, region, password"]
    table = Table(title="演示账号 · demo accounts (POST /api/v1/auth/token)")
    for column in ("username", "role", "region", "password"):
        table.add_column(column)
    for account in accounts:
        region = account.region_code or "(all)"
        table.add_row(account.username, account.role, region, account.password)
        lines.append(f"{account.username}\t{account.role}\t{region}\t{account.password}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    console.print(table)
    console.print(f"saved to {path}", soft_wrap=True)


app.add_typer(users_app, name="users")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `zhikong` command."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = app(args=args or ["--help"], prog_name="zhikong", standalone_mode=False)
        if isinstance(result, int) and result:
            raise SystemExit(result)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        fail("aborted")
    except ClickException as exc:
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
            console.print(context.get_help(), highlight=False)
            raise SystemExit(0) from None
        fail(" ".join(exc.format_message().split()))
    except CliError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")
