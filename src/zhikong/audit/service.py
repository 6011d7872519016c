"""The audit log on a database session: record, verify, show, export and check anchors.

`record` is the one function that writes the log. It runs inside the caller's transaction and
never commits, so an entry and the change it records commit (or roll back) together.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.orm import Session

from zhikong.audit import chain
from zhikong.audit.chain import GENESIS_HASH, ChainEntry, EncodingError, VerifyResult
from zhikong.audit.models import AuditAnchor, AuditEntry, AuditHead
from zhikong.clock import Clock
from zhikong.keys import AUDIT_ANCHOR, KeyStore

ANCHOR_FORMAT = 1
ANCHOR_FIELDS = frozenset(
    {"format", "seq", "hash", "at", "exported_at", "key_version", "public_key", "signature"}
)
MAX_SUMMARY_BYTES = 4096
"""Largest canonical encoding of `before` or `after`: summaries, not whole records."""
MAX_INPUTS = 256
ANONYMOUS = "anonymous"
"""The one actor that is not a `kind:identifier` reference: an unauthenticated caller."""
DEFAULT_BATCH = 1000

_REFERENCE = re.compile(r"[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9._:/@+=-]{1,95}")
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PHONE = re.compile(r"(\+?86)?1[3-9][0-9]{9}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class AuditError(Exception):
    """The audit log cannot do what was asked (missing head row, empty log...)."""


class InvalidEntryError(AuditError, ValueError):
    """An argument of record() or show() is malformed or looks like personal data."""


class AnchorFormatError(AuditError, ValueError):
    """An anchor document is not a well-formed format-1 anchor."""


# -- validation ------------------------------------------------------------------------------


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


# -- writing ---------------------------------------------------------------------------------


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


# -- reading and verifying -------------------------------------------------------------------


def head(session: Session) -> tuple[int, str]:
    """The seq and hash of the last entry (0 and 64 zeros for an empty log)."""
    row = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one_or_none()
    if row is None:
        raise AuditError("the audit_head row is missing; the schema is not migrated")
    return int(row.seq), str(row.hash)


def _head_seq(session: Session) -> int:
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


def verify(
    session: Session,
    *,
    public_keys: Mapping[int, Ed25519PublicKey] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> VerifyResult:
    """Recompute the whole chain, then check it against the head and the stored anchors.

    With `public_keys` (AUDIT_ANCHOR versions), the stored anchors' signatures are checked too.
    """
    try:
        head_seq, head_hash = head(session)
    except AuditError:
        return VerifyResult(False, 0, None, "the audit_head row is missing: it was deleted")
    result = chain.verify_entries(
        iter_entries(session, upto=head_seq, batch_size=batch_size), head=(head_seq, head_hash)
    )
    if not result.ok:
        return result
    # Rows past the head were not written by record(), which moves the head in the same
    # transaction (the maximum is read before the head, so concurrent appends are no alarm).
    highest = session.execute(select(func.max(AuditEntry.seq))).scalar_one_or_none()
    current_seq = _head_seq(session)
    if highest is not None and int(highest) > current_seq:
        return VerifyResult(
            False,
            result.checked,
            current_seq + 1,
            f"entries up to {highest} lie beyond the head ({current_seq}): "
            "written outside record()",
            result.last_seq,
            result.last_hash,
        )
    anchors = 0
    for anchor in _iter_anchors(session, batch_size):
        problem = _stored_anchor_problem(session, anchor, public_keys)
        if problem is not None:
            return VerifyResult(
                False, result.checked, anchor.seq, problem, result.last_seq, result.last_hash
            )
        anchors += 1
    return VerifyResult(
        True, result.checked, None, None, result.last_seq, result.last_hash, anchors
    )


_ANCHOR_COLUMNS = (
    AuditAnchor.id,
    AuditAnchor.seq,
    AuditAnchor.hash,
    AuditAnchor.at,
    AuditAnchor.exported_at,
    AuditAnchor.key_version,
    AuditAnchor.signature,
)


def _iter_anchors(session: Session, batch_size: int) -> Iterator[Any]:
    last = 0
    while True:
        rows = session.execute(
            select(*_ANCHOR_COLUMNS)
            .where(AuditAnchor.id > last)
            .order_by(AuditAnchor.id)
            .limit(batch_size)
        ).all()
        yield from rows
        if len(rows) < batch_size:
            return
        last = int(rows[-1].id)


def _stored_anchor_problem(
    session: Session, anchor: Any, public_keys: Mapping[int, Ed25519PublicKey] | None
) -> str | None:
    label = f"stored anchor #{anchor.id} (exported {chain.format_time(anchor.exported_at)})"
    stored = session.execute(
        select(AuditEntry.hash).where(AuditEntry.seq == anchor.seq)
    ).scalar_one_or_none()
    if stored is None:
        last = _head_seq(session)
        return f"{label} pins entry {anchor.seq}, but the log ends at {last}: truncated"
    if stored != anchor.hash:
        return (
            f"{label} pins entry {anchor.seq} with hash {anchor.hash[:16]}…, "
            f"the log has {stored[:16]}…: history was rewritten"
        )
    if public_keys is not None:
        key = public_keys.get(anchor.key_version)
        if key is None:
            return f"{label} is signed with unknown audit-anchor key version {anchor.key_version}"
        document = {
            "format": ANCHOR_FORMAT,
            "seq": anchor.seq,
            "hash": anchor.hash,
            "at": chain.format_time(anchor.at),
            "exported_at": chain.format_time(anchor.exported_at),
            "key_version": anchor.key_version,
            "public_key": _public_key_b64(key),
        }
        if not _signature_ok(key, anchor.signature, document):
            return f"{label} has an invalid signature: the anchor table was altered"
    return None


def show(session: Session, subject: str, *, limit: int | None = None) -> list[AuditEntry]:
    """A subject's entries, oldest first."""
    subject = check_reference(subject, "subject")
    query = select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.seq)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


# -- anchors ---------------------------------------------------------------------------------


def _public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _signature_ok(key: Ed25519PublicKey, signature: str, document: Mapping[str, Any]) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), chain.anchor_message(document))
    except (InvalidSignature, ValueError):
        return False
    return True


def export_anchor(session: Session, keystore: KeyStore, clock: Clock) -> dict[str, Any]:
    """Sign the current head with the AUDIT_ANCHOR key, store the anchor and return it (JSON)."""
    # Lock the head as record() does, so that it cannot move while it is being anchored.
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .execution_options(synchronize_session=False)
    )
    seq, hash_ = head(session)
    if seq == 0:
        raise AuditError("the audit log is empty: there is nothing to anchor yet")
    entry = session.execute(
        select(AuditEntry.hash, AuditEntry.at).where(AuditEntry.seq == seq)
    ).one_or_none()
    if entry is None or entry.hash != hash_:
        raise AuditError(f"entry {seq} does not match the head; run: zhikong audit verify")
    version = keystore.current_version(AUDIT_ANCHOR)
    private = keystore.signing_key(AUDIT_ANCHOR, version)
    exported_at = clock.now()
    document: dict[str, Any] = {
        "format": ANCHOR_FORMAT,
        "seq": seq,
        "hash": hash_,
        "at": chain.format_time(entry.at),
        "exported_at": chain.format_time(exported_at),
        "key_version": version,
        "public_key": _public_key_b64(private.public_key()),
    }
    signature = base64.b64encode(private.sign(chain.anchor_message(document))).decode("ascii")
    document["signature"] = signature
    session.add(
        AuditAnchor(
            seq=seq,
            hash=hash_,
            at=entry.at,
            exported_at=exported_at,
            key_version=version,
            signature=signature,
        )
    )
    session.flush()
    return document


def _positive_int(anchor: Mapping[str, Any], name: str) -> int:
    value = anchor.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AnchorFormatError(f"anchor field {name!r} must be a positive integer")
    return value


def _base64(anchor: Mapping[str, Any], name: str, size: int) -> bytes:
    value = anchor.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError(name)
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise AnchorFormatError(f"anchor field {name!r} is not base64") from exc
    if len(raw) != size:
        raise AnchorFormatError(f"anchor field {name!r} must encode {size} bytes")
    return raw


def parse_anchor(anchor: object) -> dict[str, Any]:
    """The anchor document if it is a well-formed format-1 anchor, else AnchorFormatError."""
    if not isinstance(anchor, Mapping):
        raise AnchorFormatError("an anchor is a JSON object")
    keys = set(anchor)
    if keys != ANCHOR_FIELDS:
        missing = ", ".join(sorted(ANCHOR_FIELDS - keys)) or "none"
        extra = ", ".join(sorted(str(key) for key in keys - ANCHOR_FIELDS)) or "none"
        raise AnchorFormatError(f"anchor fields are wrong (missing: {missing}; unknown: {extra})")
    if anchor["format"] != ANCHOR_FORMAT or isinstance(anchor["format"], bool):
        raise AnchorFormatError(f"unsupported anchor format {anchor['format']!r}")
    _positive_int(anchor, "seq")
    _positive_int(anchor, "key_version")
    if not isinstance(anchor["hash"], str) or not _HEX64.fullmatch(anchor["hash"]):
        raise AnchorFormatError("anchor field 'hash' must be 64 lower-case hex digits")
    for name in ("at", "exported_at"):
        try:
            chain.parse_time(anchor[name])
        except EncodingError as exc:
            raise AnchorFormatError(f"anchor field {name!r}: {exc}") from exc
    _base64(anchor, "public_key", 32)
    _base64(anchor, "signature", 64)
    return dict(anchor)


@dataclass(frozen=True)
class AnchorCheck:
    """The outcome of checking an anchor against the log."""

    ok: bool
    seq: int
    reason: str | None = None


def check_anchor(
    session: Session, anchor: Mapping[str, Any], public_keys: Mapping[int, Ed25519PublicKey]
) -> AnchorCheck:
    """Check an anchor's signature and that the log still holds its entry with its hash."""
    document = parse_anchor(anchor)
    seq = int(document["seq"])
    version = int(document["key_version"])
    key = public_keys.get(version)
    if key is None:
        return AnchorCheck(False, seq, f"no audit-anchor key version {version} is known here")
    if document["public_key"] != _public_key_b64(key):
        return AnchorCheck(
            False, seq, f"the anchor's public key is not audit-anchor key version {version}"
        )
    if not _signature_ok(key, document["signature"], document):
        return AnchorCheck(False, seq, "the signature does not match: the anchor was altered")
    stored = session.execute(
        select(AuditEntry.hash).where(AuditEntry.seq == seq)
    ).scalar_one_or_none()
    if stored is None:
        last = _head_seq(session)
        return AnchorCheck(
            False, seq, f"entry {seq} is gone (the log ends at {last}): the log was truncated"
        )
    if stored != document["hash"]:
        return AnchorCheck(
            False,
            seq,
            f"entry {seq} has hash {stored[:16]}…, the anchor says {document['hash'][:16]}…: "
            "history was rewritten",
        )
    return AnchorCheck(True, seq)


__all__ = [
    "ANONYMOUS",
    "GENESIS_HASH",
    "AnchorCheck",
    "AnchorFormatError",
    "AuditError",
    "InvalidEntryError",
    "check_anchor",
    "check_reference",
    "export_anchor",
    "head",
    "iter_entries",
    "parse_anchor",
    "record",
    "show",
    "verify",
]
