"""The audit log on a database session: record entries, read them back (verifying the chain and
its anchors is `zhikong.audit.verification`).

`record` is the one function that writes the log. It runs inside the caller's transaction and
never commits, so an entry and the change it records commit (or roll back) together.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.orm import Session

from zhikong.audit import chain
from zhikong.audit.chain import ChainEntry, EncodingError
from zhikong.audit.models import AuditEntry, AuditHead
from zhikong.clock import Clock

MAX_SUMMARY_BYTES = 4096
"""Largest canonical encoding of `before` or `after`: summaries, not whole records."""
MAX_INPUTS = 256


ANONYMOUS = "anonymous"
"""The one actor that is not a `kind:identifier` reference: an unauthenticated caller."""
DEFAULT_BATCH = 1000

_REFERENCE = re.compile(r"[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9._:/@+=-]{1,95}")
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_PHONE = re.compile(r"(\+?86)?1[3-9][0-9]{9}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class AuditError(Exception):
    """The audit log cannot do what was asked (missing head row, empty log...)."""


class InvalidEntryError(AuditError, ValueError):
    """An argument of record() or show() is malformed or looks like personal data."""


def _is_id_number(text: str) -> bool:
    """Whether text is a mainland resident identity number with a valid check digit."""
    if not _ID_NUMBER.fullmatch(text):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(text, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11] == text[17].upper()


def check_reference(value: object, what: str = "reference") -> str:
    """A pseudonymous `kind:identifier` reference, or InvalidEntryError.

    Refuses identifiers that are a phone number or an identity number: subjects, actors and
    inputs name records by pseudonym or key (resident:<hmac hex>, user:42), never a person.
    """
    if not isinstance(value, str) or len(value) > 128 or not _REFERENCE.fullmatch(value):
        raise InvalidEntryError(
            f"{what} {value!r} is not of the form kind:identifier "
            "(e.g. resident:9f86d081, region:330102, user:42)"
        )
    identifier = value.split(":", 1)[1]
    if _PHONE.fullmatch(identifier) or _is_id_number(identifier):
        raise InvalidEntryError(
            f"{what} looks like a phone or identity number; use a pseudonym instead"
        )
    return value


def _check_action(value: object) -> str:
    if not isinstance(value, str) or len(value) > 64 or not _ACTION.fullmatch(value):
        raise InvalidEntryError(
            f"action {value!r} is not a dotted lower-case verb (e.g. region.pack.install)"
        )
    return value


def _check_text(value: object, what: str, max_length: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidEntryError(f"{what} must be a non-empty string of at most {max_length}")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise InvalidEntryError(f"{what} contains control characters")
    return value


def _summary(value: object, what: str) -> chain.JSONValue:
    try:
        normalized = chain.normalize_json(value)
        size = len(chain.canonical_json(normalized))
    except EncodingError as exc:
        raise InvalidEntryError(f"{what}: {exc}") from exc
    if size > MAX_SUMMARY_BYTES:
        raise InvalidEntryError(
            f"{what} is {size} bytes; keep it a short summary (at most {MAX_SUMMARY_BYTES})"
        )
    return normalized


def _check_no_nul(value: chain.JSONValue, what: str) -> None:
    """PostgreSQL cannot store U+0000 in text; refuse it in JSON summaries too."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidEntryError(f"{what} contains a NUL character")
    elif isinstance(value, list):
        for item in value:
            _check_no_nul(item, what)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_no_nul(key, what)
            _check_no_nul(item, what)


@dataclass(frozen=True)
class _Checked:
    """An entry's fields, validated, before it gets its place in the chain."""

    actor: str
    action: str
    subject: str
    before: chain.JSONValue
    after: chain.JSONValue
    rule_id: str | None
    rule_version: str | None
    inputs: tuple[str, ...]
    request_id: str | None


def _checked(
    *,
    actor: str,
    action: str,
    subject: str,
    before: Any = None,
    after: Any = None,
    rule: tuple[str, str] | None = None,
    inputs: Sequence[str] = (),
    request_id: str | None = None,
) -> _Checked:
    """Validate one entry's fields (InvalidEntryError names the first problem)."""
    if actor != ANONYMOUS:
        actor = check_reference(actor, "actor")
    action = _check_action(action)
    subject = check_reference(subject, "subject")
    before_value = _summary(before, "before")
    after_value = _summary(after, "after")
    _check_no_nul(before_value, "before")
    _check_no_nul(after_value, "after")
    rule_id: str | None = None
    rule_version: str | None = None
    if rule is not None:
        if not isinstance(rule, tuple) or len(rule) != 2:
            raise InvalidEntryError("rule must be a tuple (rule id, rule version)")
        rule_id = _check_text(rule[0], "rule id", 128)
        rule_version = _check_text(rule[1], "rule version", 64)
    if isinstance(inputs, str):
        raise InvalidEntryError("inputs must be a sequence of references, not one string")
    input_refs = tuple(check_reference(item, "input") for item in inputs)
    if len(input_refs) > MAX_INPUTS:
        raise InvalidEntryError(f"at most {MAX_INPUTS} inputs per entry")
    if request_id is not None:
        request_id = _check_text(request_id, "request id", 128)
    return _Checked(
        actor,
        action,
        subject,
        before_value,
        after_value,
        rule_id,
        rule_version,
        input_refs,
        request_id,
    )


def _append(session: Session, clock: Clock, entries: Sequence[_Checked]) -> list[dict[str, Any]]:
    """Give validated entries the next places in the chain and insert them (one statement)."""
    count = len(entries)
    # Take the lock first: the row lock of audit_head on PostgreSQL, the write lock on SQLite.
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + count)
        .execution_options(synchronize_session=False)
    )
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        raise AuditError("the audit_head row is missing; the schema is not migrated")
    seq, prev_hash = int(head.seq) - count + 1, str(head.hash)
    at = clock.now()
    rows: list[dict[str, Any]] = []
    for offset, item in enumerate(entries):
        fields = chain.EntryFields(
            seq=seq + offset,
            at=at,
            actor=item.actor,
            action=item.action,
            subject=item.subject,
            before=item.before,
            after=item.after,
            rule_id=item.rule_id,
            rule_version=item.rule_version,
            inputs=item.inputs,
            request_id=item.request_id,
        )
        try:
            linked = chain.link(prev_hash, fields)
        except EncodingError as exc:
            raise InvalidEntryError(str(exc)) from exc
        rows.append(
            {
                "seq": seq + offset,
                "at": at,
                "actor": item.actor,
                "action": item.action,
                "subject": item.subject,
                "before": item.before,
                "after": item.after,
                "rule_id": item.rule_id,
                "rule_version": item.rule_version,
                "inputs": list(item.inputs),
                "request_id": item.request_id,
                "prev_hash": prev_hash,
                "hash": linked.hash,
            }
        )
        prev_hash = linked.hash
    for start in range(0, len(rows), 5000):
        # Core executemany: the ORM's bulk path costs more than the hashing at this scale.
        session.connection().execute(
            insert(cast(Table, AuditEntry.__table__)), rows[start : start + 5000]
        )
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(hash=prev_hash)
        .execution_options(synchronize_session=False)
    )
    return rows


def record(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    action: str,
    subject: str,
    before: Any = None,
    after: Any = None,
    rule: tuple[str, str] | None = None,
    inputs: Sequence[str] = (),
    request_id: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit log inside the caller's transaction (never commits)."""
    checked = _checked(
        actor=actor,
        action=action,
        subject=subject,
        before=before,
        after=after,
        rule=rule,
        inputs=inputs,
        request_id=request_id,
    )
    row = _append(session, clock, [checked])[0]
    entry = session.get(AuditEntry, row["seq"])
    if entry is None:  # pragma: no cover - the insert above makes it
        raise AuditError("the new audit entry could not be read back")
    return entry


def record_many(
    session: Session,
    clock: Clock,
    entries: Sequence[Mapping[str, Any]],
    *,
    request_id: str | None = None,
) -> int:
    """Append many entries at once (population-scale jobs), in the caller's transaction.

    Each mapping has the keyword arguments of `record` (actor, action, subject, before,
    after, rule, inputs). All are validated before anything is written.
    """
    if not entries:
        return 0
    # Population-scale jobs repeat the same summaries: validate each distinct one once.
    summaries: dict[str, chain.JSONValue] = {}

    def summary(value: Any, what: str) -> chain.JSONValue:
        if value is None:
            return None
        key = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        if key not in summaries:
            normal = _summary(value, what)
            _check_no_nul(normal, what)
            summaries[key] = normal
        return summaries[key]

    checked = []
    for entry in entries:
        item = dict(entry)
        before, after = item.pop("before", None), item.pop("after", None)
        base = _checked(**item, request_id=request_id)
        checked.append(
            _Checked(
                base.actor,
                base.action,
                base.subject,
                summary(before, "before"),
                summary(after, "after"),
                base.rule_id,
                base.rule_version,
                base.inputs,
                base.request_id,
            )
        )
    return len(_append(session, clock, checked))


def head(session: Session) -> tuple[int, str]:
    """The seq and hash of the last entry (0 and 64 zeros for an empty log)."""
    row = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one_or_none()
    if row is None:
        raise AuditError("the audit_head row is missing; the schema is not migrated")
    return int(row.seq), str(row.hash)


def head_position(session: Session) -> int:
    """The head's seq, or -1 when the head row is gone (for messages and checks only)."""
    try:
        return head(session)[0]
    except AuditError:
        return -1


_ENTRY_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.subject,
    AuditEntry.before,
    AuditEntry.after,
    AuditEntry.rule_id,
    AuditEntry.rule_version,
    AuditEntry.inputs,
    AuditEntry.request_id,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def _chain_entry(row: Row[Any]) -> ChainEntry:
    inputs = row.inputs
    return ChainEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        before=row.before,
        after=row.after,
        rule_id=row.rule_id,
        rule_version=row.rule_version,
        # Anything but a list was put there behind record()'s back; keep it so the hash fails.
        inputs=tuple(inputs) if isinstance(inputs, list) else (inputs,),
        request_id=row.request_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def iter_entries(
    session: Session, *, upto: int | None = None, batch_size: int = DEFAULT_BATCH
) -> Iterator[ChainEntry]:
    """Every entry in seq order as plain data, read in batches (constant memory)."""
    last: int | None = None
    while True:
        query = select(*_ENTRY_COLUMNS).order_by(AuditEntry.seq).limit(batch_size)
        if last is not None:
            query = query.where(AuditEntry.seq > last)
        if upto is not None:
            query = query.where(AuditEntry.seq <= upto)
        rows = session.execute(query).all()
        for row in rows:
            yield _chain_entry(row)
        if len(rows) < batch_size:
            return
        last = int(rows[-1].seq)


def show(session: Session, subject: str, *, limit: int | None = None) -> list[AuditEntry]:
    """A subject's entries, oldest first."""
    subject = check_reference(subject, "subject")
    query = select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.seq)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
