"""`zhikong trace`: the retention purge (scheduled), telecom ping import, chains and clusters."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from zhikong.console import AtOption, CliError, clock_at, console, engine_from_context

trace_app = typer.Typer(
    help="Tracing: purge expired scans, import pings, chains, clusters.", no_args_is_help=True
)


@trace_app.command("purge")
def purge(ctx: typer.Context, at: AtOption = None) -> None:
    """Delete scans and pings older than the retention in force (audited; schedule daily)."""
    from zhikong.store.engine import make_sessionmaker, transaction
    from zhikong.trace.retention import purge as run_purge

    engine = engine_from_context(ctx)
    clock = clock_at(at)
    with transaction(make_sessionmaker(engine)) as session:
        cutoff, days, scans, pings = run_purge(session, clock, actor="cli:trace-purge")
    console.print(
        f"已删除 · purged {scans} scans and {pings} pings older than {cutoff.isoformat()} "
        f"(retention {days} days)",
        soft_wrap=True,
    )


@trace_app.command("import-pings")
def import_pings(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: resident_id,lon,lat,start,end")],
    source: Annotated[str, typer.Option("--source", help="Feed name, kind:id.")] = "feed:telecom",
    at: AtOption = None,
) -> None:
    """Import telecom grid pings for the 时空伴随 rule (beyond-retention rows are skipped)."""
    from zhikong.store.engine import make_sessionmaker, transaction
    from zhikong.trace.inputs import MalformedFileError
    from zhikong.trace.pings import import_pings as run_import

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror or exc}") from None
    engine = engine_from_context(ctx)
    clock = clock_at(at)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            imported, skipped = run_import(
                session, clock, data, actor="cli:operator", source=source
            )
    except MalformedFileError as exc:
        raise CliError(f"{file}: {exc}") from None
    console.print(f"imported {imported} pings, skipped {skipped}", soft_wrap=True)


@trace_app.command("chains")
def chains(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="Region code, e.g. 330102.")],
    graphml: Annotated[bool, typer.Option("--graphml", help="GraphML instead of JSON.")] = False,
    at: AtOption = None,
) -> None:
    """Print the transmission graph of a region (JSON or GraphML) and its clusters."""
    from sqlalchemy import select

    from zhikong.regions.models import Region
    from zhikong.store.engine import make_sessionmaker
    from zhikong.trace.chains import chains as find_chains
    from zhikong.trace.chains import clusters
    from zhikong.trace.contacts import graph_json, graph_ml

    engine = engine_from_context(ctx)
    now = clock_at(at).now()
    with make_sessionmaker(engine)() as session:
        path = session.scalar(select(Region.path).where(Region.code == region))
        if path is None:
            raise CliError(f"no region with code {region}")
        nodes, links = find_chains(session, now, path)
        found = clusters(session, now, path)
    if graphml:
        sys.stdout.write(graph_ml(nodes, links))
        return
    document = {**graph_json(nodes, links), "clusters": [c.to_json() for c in found]}
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
