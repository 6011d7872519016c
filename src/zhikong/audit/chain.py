"""The audit hash chain over plain data: canonical encoding, hashing and streaming verification.

Nothing here touches a database, a clock or a key: an auditor can run it on an export, and
docs/audit.md describes the same encoding so that it can be re-implemented in any language.

    hash(entry) = lowercase hex SHA-256 of canonical_json({
        "action", "actor", "after", "at", "before", "inputs", "prev_hash",
        "request_id", "rule_id", "rule_version", "seq", "subject"
    })

`canonical_json` is UTF-8 JSON with object keys sorted by code point, no whitespace, non-ASCII
characters written as themselves, nulls written out, integers as JSON integers and no floats.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

JSONValue: TypeAlias = "bool | int | str | list[JSONValue] | dict[str, JSONValue] | None"

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first entry."""

MAX_DEPTH = 32
"""How deeply JSON values may nest."""


class EncodingError(ValueError):
    """A value that has no canonical encoding (a float, a naive time, a non-string key...)."""


def normalize_json(value: Any, *, _depth: int = 0) -> JSONValue:
    """A JSON value in the form it has after a round trip through JSON (tuples become lists).

    Raises EncodingError for anything the canonical encoding does not admit: floats (their
    text differs between languages), non-string keys, strings that are not valid Unicode,
    other types, nesting deeper than MAX_DEPTH.
    """
    if _depth > MAX_DEPTH:
        raise EncodingError(f"JSON value nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        _check_text(value)
        return value
    if isinstance(value, float):
        raise EncodingError("floats are not allowed in audit data; use an integer or a string")
    if isinstance(value, list | tuple):
        return [normalize_json(item, _depth=_depth + 1) for item in value]
    if isinstance(value, Mapping):
        result: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"JSON object keys must be strings, not {type(key).__name__}")
            _check_text(key)
            result[key] = normalize_json(item, _depth=_depth + 1)
        return result
    raise EncodingError(f"{type(value).__name__} is not a JSON value")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError("text is not valid Unicode (lone surrogate)") from exc


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 JSON bytes of a value (sorted keys, no whitespace, no floats)."""
    normalized = normalize_json(value)
    text = json.dumps(
        normalized, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def format_time(instant: datetime) -> str:
    """An instant as ISO-8601 UTC with microseconds and `Z`: 2020-02-20T02:00:00.000000Z."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise EncodingError("naive datetime given where an aware UTC time is required")
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """The inverse of format_time (raises EncodingError on any other form)."""
    if not isinstance(text, str) or len(text) != 27 or not text.endswith("Z"):
        raise EncodingError(f"not a canonical UTC time: {text!r}")
    try:
        parsed = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:
        raise EncodingError(f"not a canonical UTC time: {text!r}") from exc
    if format_time(parsed) != text:
        raise EncodingError(f"not a canonical UTC time: {text!r}")
    return parsed


@dataclass(frozen=True, slots=True)
class EntryFields:
    """What one audit entry says, before it is linked into the chain."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: JSONValue = None
    after: JSONValue = None
    rule_id: str | None = None
    rule_version: str | None = None
    inputs: tuple[str, ...] = ()
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChainEntry(EntryFields):
    """An entry as stored: its fields, the previous entry's hash and its own hash."""

    prev_hash: str = GENESIS_HASH
    hash: str = ""


def entry_document(prev_hash: str, fields: EntryFields) -> dict[str, JSONValue]:
    """The JSON object whose canonical encoding is hashed."""
    if isinstance(fields.seq, bool) or not isinstance(fields.seq, int):
        raise EncodingError("seq must be an integer")
    return {
        "action": fields.action,
        "actor": fields.actor,
        "after": normalize_json(fields.after),
        "at": format_time(fields.at),
        "before": normalize_json(fields.before),
        "inputs": normalize_json(list(fields.inputs)),
        "prev_hash": prev_hash,
        "request_id": fields.request_id,
        "rule_id": fields.rule_id,
        "rule_version": fields.rule_version,
        "seq": fields.seq,
        "subject": fields.subject,
    }


def canonical_bytes(prev_hash: str, fields: EntryFields) -> bytes:
    """The exact bytes an entry's hash is computed over."""
    document = entry_document(prev_hash, fields)  # nested values are normalised here
    for value in document.values():
        if isinstance(value, str):
            _check_text(value)
    # Same bytes as canonical_json(document), without normalising everything a second time.
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def entry_hash(prev_hash: str, fields: EntryFields) -> str:
    """The lowercase hex SHA-256 of an entry's canonical bytes."""
    return hashlib.sha256(canonical_bytes(prev_hash, fields)).hexdigest()


def link(prev_hash: str, fields: EntryFields) -> ChainEntry:
    """An entry linked after the entry whose hash is `prev_hash`."""
    return ChainEntry(
        seq=fields.seq,
        at=fields.at,
        actor=fields.actor,
        action=fields.action,
        subject=fields.subject,
        before=normalize_json(fields.before),
        after=normalize_json(fields.after),
        rule_id=fields.rule_id,
        rule_version=fields.rule_version,
        inputs=tuple(fields.inputs),
        request_id=fields.request_id,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, fields),
    )


def build_chain(
    fields: Iterable[EntryFields], prev_hash: str = GENESIS_HASH
) -> Iterable[ChainEntry]:
    """Link entries one after the other (lazily), starting after `prev_hash`."""
    for item in fields:
        entry = link(prev_hash, item)
        prev_hash = entry.hash
        yield entry


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of a verification: intact, or the first broken entry and why."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    anchors_checked: int = 0


def verify_entries(
    entries: Iterable[ChainEntry],
    *,
    prev_hash: str = GENESIS_HASH,
    first_seq: int = 1,
    head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Recompute a chain given in seq order, holding one entry at a time (constant memory).

    Detects changed fields (hash mismatch), deleted, inserted and reordered entries (seq or
    prev_hash mismatch) and a wrong genesis. With `head` (seq, hash), the chain must also end
    exactly there, which catches entries deleted from the end.
    """
    expected_seq = first_seq
    expected_prev = prev_hash
    checked = 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, reason, expected_seq - 1, expected_prev)

    for entry in entries:
        seq = entry.seq
        if seq != expected_seq:
            if seq > expected_seq:
                return broken(
                    expected_seq, f"entry {expected_seq} is missing (the next entry is {seq})"
                )
            return broken(seq, f"entry {seq} is out of place (expected entry {expected_seq})")
        if entry.prev_hash != expected_prev:
            if seq == first_seq and prev_hash == GENESIS_HASH:
                reason = "wrong genesis: the first entry's prev_hash is not 64 zeros"
            else:
                reason = (
                    f"prev_hash does not match the hash of entry {seq - 1} "
                    f"(an entry was inserted, removed or rewritten)"
                )
            return broken(seq, reason)
        try:
            computed = entry_hash(entry.prev_hash, entry)
        except (ValueError, TypeError, AttributeError) as exc:
            return broken(seq, f"entry cannot be encoded: {exc}")
        if computed != entry.hash:
            return broken(seq, "hash mismatch: the entry's content was changed")
        checked += 1
        expected_prev = entry.hash
        expected_seq += 1

    last_seq = expected_seq - 1
    if head is not None:
        head_seq, head_hash = head
        if last_seq < head_seq:
            return broken(
                expected_seq,
                f"entries {expected_seq}..{head_seq} are missing (the head is at {head_seq})",
            )
        if last_seq > head_seq:
            return broken(head_seq + 1, f"entry {head_seq + 1} lies beyond the head ({head_seq})")
        if expected_prev != head_hash:
            return broken(last_seq, f"entry {last_seq}'s hash differs from the recorded head")
    return VerifyResult(True, checked, None, None, last_seq, expected_prev)


def anchor_message(anchor: Mapping[str, Any]) -> bytes:
    """The bytes an anchor's signature covers: its canonical JSON without `signature`."""
    return canonical_json({key: value for key, value in anchor.items() if key != "signature"})
