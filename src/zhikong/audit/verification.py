"""Verifying the audit log: recompute the chain, check the head and the signed anchors, and
export or check an anchor (a signed statement of the head, kept outside the database)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zhikong.audit import chain
from zhikong.audit.chain import EncodingError, VerifyResult
from zhikong.audit.models import AuditAnchor, AuditEntry, AuditHead
from zhikong.audit.service import DEFAULT_BATCH, AuditError, head, head_position, iter_entries
from zhikong.clock import Clock
from zhikong.keys import AUDIT_ANCHOR, KeyStore

ANCHOR_FORMAT = 1
ANCHOR_FIELDS = frozenset(
    {"format", "seq", "hash", "at", "exported_at", "key_version", "public_key", "signature"}
)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AnchorFormatError(AuditError, ValueError):
    """An anchor document is not a well-formed format-1 anchor."""


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
    current_seq = head_position(session)
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
        last = head_position(session)
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
        last = head_position(session)
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
