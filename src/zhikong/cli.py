"""The `zhikong` command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

# Typer >= 0.29 ships its own copy of Click; its exceptions live here.
from typer._click.exceptions import ClickException

from zhikong import __version__
from zhikong.audit.cli import audit_app
from zhikong.code.cli import code_app
from zhikong.config import Settings, load_settings
from zhikong.credential.cli import trust_app, verify_command
from zhikong.economy.cli import economy_app
from zhikong.enterprise.cli import enterprise_app
from zhikong.index.cli import index_app
from zhikong.map.cli import map_app
from zhikong.rules.cli import rules_app
from zhikong.trace.cli import trace_app

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from zhikong.auth.keys import FileKeyStore
    from zhikong.demo.service import DemoAccount

app = typer.Typer(
    name="zhikong",
    help="智控 zhikong — 一图一码一指数 platform for precise, data-driven epidemic control.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
regions_app = typer.Typer(help="Region registry: bundled region packs.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Key directory: secrets kept outside repo and database.", no_args_is_help=True
)
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
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(economy_app, name="economy")
app.command("verify")(verify_command)

console = Console()
errors = Console(stderr=True)


class LogLevel(StrEnum):
    """Log levels the CLI accepts."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class CliError(Exception):
    """A problem with what the user asked for: one line on stderr, exit code 2."""


@dataclass
class State:
    """Options given before the command."""

    database_url: str | None = None
    var_dir: Path | None = None
    log_level: str | None = None
    key_dir: Path | None = None

    def settings(self, **more: object) -> Settings:
        """Settings from the environment with the CLI flags on top."""
        return load_settings(
            database_url=self.database_url,
            var_dir=self.var_dir,
            log_level=self.log_level,
            key_dir=self.key_dir,
            **more,
        )


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
    )


def _state(ctx: typer.Context) -> State:
    state = ctx.obj
    if not isinstance(state, State):
        state = State()
    return state


def _engine(settings: Settings) -> Engine:
    from zhikong.store.engine import make_engine

    return make_engine(settings.resolved_database_url, echo=settings.sql_echo)


def settings_from_context(ctx: typer.Context) -> Settings:
    """Settings in force for a command: environment plus the global CLI flags."""
    return _state(ctx).settings()


def engine_from_context(ctx: typer.Context, *, migrated: bool = True) -> Engine:
    """The database engine for a command; with `migrated`, refuse an out-of-date schema."""
    from zhikong.store import migrate

    engine = _engine(settings_from_context(ctx))
    if migrated and not migrate.is_up_to_date(engine):
        raise CliError("the database schema is not current; run: zhikong db upgrade")
    return engine


def keystore_from_context(ctx: typer.Context) -> FileKeyStore:
    """The key directory for a command (CliError when missing or unsafe)."""
    from zhikong.auth.keys import FileKeyStore, KeyDirectoryError

    try:
        return FileKeyStore.load(settings_from_context(ctx).resolved_key_dir)
    except KeyDirectoryError as exc:
        raise CliError(str(exc)) from exc


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
) -> None:
    """Migrate the database schema to the newest revision (one transaction)."""
    from zhikong.store import migrate

    settings = _state(ctx).settings()
    engine = _engine(settings)
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

    engine = _engine(_state(ctx).settings())
    console.print(f"database: {migrate.current_revision(engine) or 'empty'}")
    console.print(f"code head: {migrate.head_revision()}")


@keys_app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Create the key directory with a first version of every key (mode 700/600)."""
    from zhikong.auth.keys import FileKeyStore, KeyDirectoryError
    from zhikong.clock import SystemClock

    path = settings_from_context(ctx).resolved_key_dir
    try:
        store = FileKeyStore.init(path, SystemClock().now())
    except KeyDirectoryError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"key directory created: {store.path} (keep it out of backups of the database)")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List the keys, their versions and which version is current (never the secrets)."""
    from zhikong.auth.keys import PURPOSES

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
    from zhikong.auth.keys import KeyDirectoryError
    from zhikong.clock import SystemClock

    store = keystore_from_context(ctx)
    try:
        version = store.rotate(purpose, SystemClock().now())
    except KeyDirectoryError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{purpose}: version {version} is now current")


issuer_app = typer.Typer(
    help="Issuer signing keys (ES256) per region, for signed health codes.", no_args_is_help=True
)
keys_app.add_typer(issuer_app, name="issuer")


def _issuer_store(ctx: typer.Context, *, create: bool = False) -> Any:
    from zhikong.credential.issuer import issuer_keys_path, open_issuer_keys
    from zhikong.credential.keys import FileSigningKeyStore

    key_dir = settings_from_context(ctx).resolved_key_dir
    store = open_issuer_keys(key_dir)
    if store is None:
        if not create:
            raise CliError("no issuer keys yet; run: zhikong keys issuer create REGION")
        if not key_dir.exists():
            raise CliError(f"no key directory at {key_dir}; run: zhikong keys init")
        store = FileSigningKeyStore.init(issuer_keys_path(key_dir))
    return store


@issuer_app.command("create")
def issuer_create(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="Issuer region code, e.g. 330000.")],
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Key lifetime.")] = 730,
) -> None:
    """Create a new active signing key for a region (older ones keep verifying)."""
    from datetime import timedelta

    from zhikong.clock import SystemClock
    from zhikong.credential.keys import SigningKeyError

    store = _issuer_store(ctx, create=True)
    now = SystemClock().now()
    try:
        info = store.create(region, at=now, not_after=now + timedelta(days=days))
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{region}: key version {info.version}, kid {info.kid.hex()} (active)")


@issuer_app.command("list")
def issuer_list(ctx: typer.Context) -> None:
    """List issuer keys with their state and validity (never the private keys)."""
    store = _issuer_store(ctx)
    table = Table(title="issuer keys")
    for column in ("region", "version", "kid", "state", "not after", "uses"):
        table.add_column(column)
    infos = store.keys()
    for info in infos:
        table.add_row(
            info.region,
            str(info.version),
            info.kid.hex(),
            str(info.state),
            info.not_after.date().isoformat(),
            ",".join(info.uses),
        )
    console.print(table)


@issuer_app.command("rotate")
def issuer_rotate(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="Issuer region code.")],
    days: Annotated[int, typer.Option("--days", min=1, max=3650)] = 730,
) -> None:
    """New key for a region; the previous active one is retired (still verifies its codes)."""
    from datetime import timedelta

    from zhikong.clock import SystemClock
    from zhikong.credential.keys import KeyState, SigningKeyError

    store = _issuer_store(ctx)
    now = SystemClock().now()
    active = [k for k in store.keys(region) if k.state == KeyState.ACTIVE]
    try:
        info = store.create(region, at=now, not_after=now + timedelta(days=days))
        for old in active:
            store.retire(region, old.version, at=now)
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(
        f"{region}: key version {info.version} active; retired {[k.version for k in active]}"
    )


@issuer_app.command("retire")
def issuer_retire(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument(min=1)],
) -> None:
    """Stop signing with a key; codes it signed stay valid until they expire."""
    from zhikong.clock import SystemClock
    from zhikong.credential.keys import SigningKeyError

    try:
        info = _issuer_store(ctx).retire(region, version, at=SystemClock().now())
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{region} v{info.version}: {info.state}")


@issuer_app.command("revoke")
def issuer_revoke(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument(min=1)],
) -> None:
    """Revoke a compromised key: export the trust list again so verifiers stop accepting it."""
    from zhikong.clock import SystemClock
    from zhikong.credential.keys import SigningKeyError

    try:
        info = _issuer_store(ctx).revoke(region, version, at=SystemClock().now())
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{region} v{info.version}: {info.state} — run zhikong trust export")


@regions_app.command("load")
def regions_load(
    ctx: typer.Context,
    pack: Annotated[str, typer.Argument(help="zhejiang or us-counties.")],
) -> None:
    """Install a bundled region pack (idempotent: loading twice changes nothing)."""
    from zhikong.clock import SystemClock
    from zhikong.map.packs import UnknownPackError, read_pack
    from zhikong.map.service import RegionNotFoundError, install_pack
    from zhikong.store import migrate
    from zhikong.store.engine import make_sessionmaker, transaction

    try:
        data = read_pack(pack)
    except UnknownPackError as exc:
        raise CliError(str(exc)) from exc
    engine = _engine(_state(ctx).settings())
    if not migrate.is_up_to_date(engine):
        raise CliError("the database schema is not current; run: zhikong db upgrade")
    with _spinner(f"载入 · loading {pack}"):
        try:
            with transaction(make_sessionmaker(engine)) as session:
                report = install_pack(session, data, SystemClock().now())
        except RegionNotFoundError as exc:
            raise CliError(f"pack {pack} needs region {exc.code}, which is not loaded") from exc
    console.print(
        f"{pack}: {report.inserted} new, {report.updated} updated, {report.geometries} boundaries"
    )


@regions_app.command("list")
def regions_list(
    ctx: typer.Context,
    level: Annotated[
        str | None, typer.Option("--level", help="country, province, state, city, county, ...")
    ] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Children of this code.")] = None,
    within: Annotated[
        str | None, typer.Option("--within", help="Descendants of this code.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 200,
) -> None:
    """List regions of the registry."""
    from zhikong.map.models import LEVELS
    from zhikong.map.service import RegionNotFoundError, list_regions
    from zhikong.store import migrate
    from zhikong.store.engine import make_sessionmaker

    if level is not None and level not in LEVELS:
        raise CliError(f"--level must be one of {', '.join(LEVELS)}")
    engine = _engine(_state(ctx).settings())
    if migrate.current_revision(engine) is None:
        raise CliError(
            "the database is empty; run: zhikong db upgrade && zhikong regions load zhejiang"
        )
    with make_sessionmaker(engine)() as session:
        try:
            rows, total = list_regions(
                session, level=level, parent_code=parent, within=within, limit=limit
            )
        except RegionNotFoundError as exc:
            raise CliError(f"no region with code {exc.code}") from exc
    table = Table(title=f"{len(rows)} / {total} regions")
    for column in ("code", "level", "parent", "名称", "name", "population"):
        table.add_column(column, justify="right" if column == "population" else "left")
    for region in rows:
        table.add_row(
            region.code,
            region.level,
            region.parent_code or "",
            region.name_zh,
            region.name_en,
            f"{region.population:,}" if region.population is not None else "",
        )
    console.print(table)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (ZHIKONG_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port (ZHIKONG_PORT).")
    ] = None,
) -> None:
    """Serve the platform (API, docs and pages)."""
    settings = _state(ctx).settings(host=host, port=port)
    _serve(settings)


def _serve(settings: Settings) -> None:
    import uvicorn

    from zhikong.api.app import create_app
    from zhikong.store import migrate

    engine = _engine(settings)
    if not migrate.is_up_to_date(engine):
        raise CliError("the database schema is not current; run: zhikong db upgrade")
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

    settings = _state(ctx).settings(demo_people=people, demo_seed=seed, host=host, port=port)
    engine = _engine(settings)
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
    from zhikong.auth.keys import FileKeyStore, KeyDirectoryError
    from zhikong.clock import SystemClock

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


users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create-admin")
def users_create_admin(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name of the new administrator.")],
    region: Annotated[
        str | None, typer.Option("--region", help="Limit the admin to a region (code).")
    ] = None,
) -> None:
    """Create an administrator; the password is read from ZHIKONG_ADMIN_PASSWORD or a prompt."""
    from zhikong.auth.service import InvalidRequestError, bootstrap_admin
    from zhikong.clock import SystemClock
    from zhikong.store.engine import make_sessionmaker, transaction

    password = os.environ.get("ZHIKONG_ADMIN_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            raise CliError("set ZHIKONG_ADMIN_PASSWORD (no terminal to prompt on)")
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise CliError("the password must have at least 12 characters")
    engine = engine_from_context(ctx)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            user = bootstrap_admin(
                session, SystemClock(), username=username, password=password, region_code=region
            )
    except InvalidRequestError as exc:
        raise CliError(f"{exc.field}: {exc}") from exc
    console.print(f"administrator {username} created (id {user.id})")


class RichProgress:
    """Rich progress bars for the demo's long steps."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, step: str, total: int | None) -> None:
        """Show a new step."""
        self._task = self._progress.add_task(step, total=total)

    def advance(self, amount: int) -> None:
        """Move the current step's bar."""
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        """Mark the current step as complete."""
        if self._task is not None:
            task = self._progress.tasks[self._task]
            if task.total is None:
                self._progress.update(self._task, total=1, completed=1)
            else:
                self._progress.update(self._task, completed=task.total)
        self._task = None


class _spinner:
    """A transient spinner around a short step."""

    def __init__(self, label: str) -> None:
        self._status = console.status(label)

    def __enter__(self) -> None:
        self._status.start()

    def __exit__(self, *exc: object) -> None:
        self._status.stop()


def _fail(message: str) -> NoReturn:
    errors.print(f"zhikong: error: {message}", highlight=False, soft_wrap=True)
    raise SystemExit(2)


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
        _fail("aborted")
    except ClickException as exc:
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
            console.print(context.get_help(), highlight=False)
            raise SystemExit(0) from None
        _fail(" ".join(exc.format_message().split()))
    except CliError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted")
