"""`zhikong audit`: verify the log, show a subject's entries, export and check signed anchors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from zhikong.console import CliError, console, engine_from_context, keystore_from_context, say

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from zhikong.audit.chain import VerifyResult

audit_app = typer.Typer(
    help="Tamper-evident audit log: verify, show, anchor, check-anchor.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _session(ctx: typer.Context) -> Session:
    from zhikong.store.engine import make_sessionmaker

    engine = engine_from_context(ctx)
    return make_sessionmaker(engine)()


def _broken(result: VerifyResult) -> str:
    if result.first_broken_seq is None:
        return f"audit log BROKEN: {result.reason}"
    return f"audit log BROKEN at entry {result.first_broken_seq}: {result.reason}"


@audit_app.command("verify")
def verify_command(
    ctx: typer.Context,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="Entries read per query.")
    ] = 1000,
) -> None:
    """Recompute the whole hash chain; exit 1 naming the first broken entry."""
    from zhikong.audit import verification
    from zhikong.keys import AUDIT_ANCHOR

    public_keys = None
    signatures = "anchor signatures checked"
    try:
        public_keys = keystore_from_context(ctx).public_keys(AUDIT_ANCHOR)
    except CliError as exc:
        signatures = f"anchor signatures NOT checked ({exc})"
    with _session(ctx) as session:
        result = verification.verify(session, public_keys=public_keys, batch_size=batch_size)
    if not result.ok:
        say(_broken(result))
        raise typer.Exit(1)
    if result.checked == 0:
        say(f"audit log intact: empty, {result.anchors_checked} stored anchors; {signatures}")
        return
    say(
        f"audit log intact: {result.checked} entries, head {result.last_seq} "
        f"{result.last_hash[:16]}…, {result.anchors_checked} stored anchors match; {signatures}"
    )


def _summary(value: object) -> str:
    if value is None:
        return "-"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@audit_app.command("show")
def show_command(
    ctx: typer.Context,
    subject: Annotated[
        str, typer.Option("--subject", help="Pseudonymous subject, e.g. region:330102.")
    ],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, help="At most this many entries.")
    ] = 1000,
) -> None:
    """List a subject's audit entries, oldest first."""
    from zhikong.audit import service

    try:
        service.check_reference(subject, "subject")
    except service.InvalidEntryError as exc:
        raise CliError(str(exc)) from exc
    with _session(ctx) as session:
        entries = service.show(session, subject, limit=limit)
    if not entries:
        say(f"no audit entries for {subject}")
        return
    table = Table(title=f"{len(entries)} audit entries for {subject}")
    for column in ("seq", "at (UTC)", "actor", "action", "before", "after", "rule", "inputs"):
        table.add_column(column, justify="right" if column == "seq" else "left", overflow="fold")
    for entry in entries:
        rule = f"{entry.rule_id}@{entry.rule_version}" if entry.rule_id else "-"
        table.add_row(
            Text(str(entry.seq)),
            Text(entry.at.strftime("%Y-%m-%d %H:%M:%S")),
            Text(entry.actor),
            Text(entry.action),
            Text(_summary(entry.before)),
            Text(_summary(entry.after)),
            Text(rule),
            Text(", ".join(entry.inputs) or "-"),
        )
    console.print(table)


@audit_app.command("anchor")
def anchor_command(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the anchor to this new file instead of stdout."),
    ] = None,
) -> None:
    """Verify the log, then sign its head with the audit-anchor key, store and print the anchor."""
    from zhikong.audit import service, verification
    from zhikong.clock import SystemClock
    from zhikong.store.engine import make_sessionmaker, transaction

    if out is not None:
        if out.exists():
            raise CliError(f"{out} already exists; anchors are never overwritten")
        if not out.parent.is_dir():
            raise CliError(f"directory {out.parent} does not exist")
    keystore = keystore_from_context(ctx)
    engine = engine_from_context(ctx)
    factory = make_sessionmaker(engine)
    with factory() as session:
        result = verification.verify(session)
    if not result.ok:
        say(_broken(result))
        say("no anchor exported: investigate first (see docs/audit.md)")
        raise typer.Exit(1)
    with transaction(factory) as session:
        try:
            anchor = verification.export_anchor(session, keystore, SystemClock())
        except service.AuditError as exc:
            raise CliError(str(exc)) from exc
    text = json.dumps(anchor, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        with out.open("x", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from exc
    say(f"anchor of entry {anchor['seq']} written to {out}")


@audit_app.command("check-anchor")
def check_anchor_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An anchor exported by `zhikong audit anchor`.")],
) -> None:
    """Check an anchor's signature and that the log still holds its entry; exit 1 if not."""
    from zhikong.audit import verification
    from zhikong.keys import AUDIT_ANCHOR

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"cannot read anchor {file}: {reason}") from exc
    try:
        document = verification.parse_anchor(json.loads(text))
    except json.JSONDecodeError as exc:
        raise CliError(f"{file} is not JSON: {exc.msg} (line {exc.lineno})") from exc
    except verification.AnchorFormatError as exc:
        raise CliError(f"{file} is not an audit anchor: {exc}") from exc
    public_keys = keystore_from_context(ctx).public_keys(AUDIT_ANCHOR)
    with _session(ctx) as session:
        result = verification.check_anchor(session, document, public_keys)
    if not result.ok:
        say(f"anchor FAILED for entry {result.seq}: {result.reason}")
        raise typer.Exit(1)
    say(
        f"anchor OK: entry {result.seq} still has hash {document['hash'][:16]}… "
        f"(signed {document['exported_at']} with audit-anchor key v{document['key_version']})"
    )
