"""`zhikong regions`: install bundled region packs and list the registry."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhikong.console import CliError, Spinner, console, engine_from_context

regions_app = typer.Typer(help="Region registry: bundled region packs.", no_args_is_help=True)


@regions_app.command("load")
def regions_load(
    ctx: typer.Context,
    pack: Annotated[str, typer.Argument(help="zhejiang or us-counties.")],
) -> None:
    """Install a bundled region pack (idempotent: loading twice changes nothing)."""
    from zhikong.clock import SystemClock
    from zhikong.regions.packs import UnknownPackError, read_pack
    from zhikong.regions.service import RegionNotFoundError, install_pack
    from zhikong.store.engine import make_sessionmaker, transaction

    try:
        data = read_pack(pack)
    except UnknownPackError as exc:
        raise CliError(str(exc)) from exc
    engine = engine_from_context(ctx)
    with Spinner(f"载入 · loading {pack}"):
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
    from zhikong.regions.models import LEVELS
    from zhikong.regions.service import RegionNotFoundError, list_regions
    from zhikong.store import migrate
    from zhikong.store.engine import make_sessionmaker

    if level is not None and level not in LEVELS:
        raise CliError(f"--level must be one of {', '.join(LEVELS)}")
    engine = engine_from_context(ctx, migrated=False)
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
