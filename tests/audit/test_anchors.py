"""Signed anchors: export, check, and what they catch that the chain alone cannot."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from zhikong.audit import chain, service, verification
from zhikong.audit.models import AuditAnchor
from zhikong.clock import FixedClock
from zhikong.keys import AUDIT_ANCHOR, FileKeyStore
from zhikong.store.engine import transaction

KIT = Any  # the AuditKit of conftest.py (test modules cannot import it)


def _export(kit: KIT, keystore: FileKeyStore, clock: FixedClock) -> dict[str, Any]:
    clock.set(clock.now() + timedelta(hours=1))
    with transaction(kit.sessions) as session:
        return verification.export_anchor(session, keystore, clock)


def _check(kit: KIT, anchor: dict[str, Any], keystore: FileKeyStore) -> verification.AnchorCheck:
    with kit.sessions() as session:
        return verification.check_anchor(session, anchor, keystore.public_keys(AUDIT_ANCHOR))


def test_an_anchor_signs_the_head(kit: KIT, keystore: FileKeyStore, clock: FixedClock) -> None:
    hashes = kit.fill(4)
    anchor = _export(kit, keystore, clock)
    assert set(anchor) == {
        "format",
        "seq",
        "hash",
        "at",
        "exported_at",
        "key_version",
        "public_key",
        "signature",
    }
    assert (anchor["format"], anchor["seq"], anchor["hash"]) == (1, 4, hashes[-1])
    assert anchor["exported_at"] == chain.format_time(clock.now())
    assert anchor["key_version"] == 1
    public = keystore.public_keys(AUDIT_ANCHOR)[1]
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.b64decode(anchor["public_key"]) == raw
    message = chain.canonical_json({k: v for k, v in anchor.items() if k != "signature"})
    public.verify(base64.b64decode(anchor["signature"]), message)  # raises if wrong

    assert _check(kit, anchor, keystore) == verification.AnchorCheck(True, 4)
    with kit.sessions() as session:
        (stored,) = session.scalars(select(AuditAnchor)).all()
        assert (stored.seq, stored.hash, stored.key_version) == (4, hashes[-1], 1)
        assert stored.signature == anchor["signature"]
    result = kit.verify(public_keys=keystore.public_keys(AUDIT_ANCHOR))
    assert result.ok and result.anchors_checked == 1


def test_an_old_anchor_stays_valid_as_the_log_grows_and_keys_rotate(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock
) -> None:
    kit.fill(2)
    first = _export(kit, keystore, clock)
    kit.fill(3)
    keystore.rotate(AUDIT_ANCHOR, clock.now())
    second = _export(kit, keystore, clock)
    assert (first["key_version"], second["key_version"]) == (1, 2)
    assert _check(kit, first, keystore).ok and _check(kit, second, keystore).ok
    assert kit.verify(public_keys=keystore.public_keys(AUDIT_ANCHOR)).anchors_checked == 2


def test_there_is_nothing_to_anchor_in_an_empty_log(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock
) -> None:
    with pytest.raises(service.AuditError, match="empty"):
        _export(kit, keystore, clock)


def test_truncating_the_tail_and_fixing_the_head_is_caught_by_anchors(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock
) -> None:
    hashes = kit.fill(6)
    anchor = _export(kit, keystore, clock)
    kit.fill(2)
    # The attacker removes entries 5..8 and points the head at entry 4.
    kit.disarm()
    kit.delete(5, 6, 7, 8)
    kit.set_head(4, hashes[3])

    result = kit.verify()
    assert not result.ok and result.first_broken_seq == 6
    assert result.reason is not None and "truncated" in result.reason

    # Removing the stored anchors too fools verify, but not the anchor kept elsewhere.
    with kit.engine.begin() as connection:
        connection.execute(AuditAnchor.__table__.delete())
    assert kit.verify().ok
    check = _check(kit, anchor, keystore)
    assert not check.ok and check.seq == 6
    assert check.reason is not None and "truncated" in check.reason


def test_a_rehashed_history_is_caught_by_anchors(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock
) -> None:
    kit.fill(6)
    anchor = _export(kit, keystore, clock)
    kit.fill(1)
    kit.disarm()
    kit.rewrite_from(2, actor="user:666")  # a careful forger: every later hash recomputed

    result = kit.verify()
    assert not result.ok and result.first_broken_seq == 6
    assert result.reason is not None and "rewritten" in result.reason
    check = _check(kit, anchor, keystore)
    assert not check.ok and check.reason is not None and "rewritten" in check.reason

    # Re-pointing the stored anchor at the forged hash breaks its signature.
    forged_hash = next(e for e in kit.entries() if e.seq == 6).hash
    with kit.engine.begin() as connection:
        connection.execute(update(AuditAnchor).values(hash=forged_hash))
    assert kit.verify().ok  # without the public keys, verify cannot tell
    result = kit.verify(public_keys=keystore.public_keys(AUDIT_ANCHOR))
    assert not result.ok and result.reason is not None and "signature" in result.reason


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 3), ("hash", "0" * 64), ("at", "2020-01-01T00:00:00.000000Z"), ("key_version", 1)],
)
def test_an_altered_anchor_fails(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock, field: str, value: Any
) -> None:
    kit.fill(4)
    keystore.rotate(AUDIT_ANCHOR, clock.now())
    anchor = _export(kit, keystore, clock)
    check = _check(kit, {**anchor, field: value}, keystore)
    assert not check.ok and check.reason is not None


def test_an_anchor_from_another_installation_fails(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock, tmp_path: Any
) -> None:
    kit.fill(2)
    anchor = _export(kit, keystore, clock)
    other = FileKeyStore.init(tmp_path / "other-keys", clock.now())
    with kit.sessions() as session:
        check = verification.check_anchor(session, anchor, other.public_keys(AUDIT_ANCHOR))
    assert not check.ok and check.reason is not None and "public key" in check.reason
    with kit.sessions() as session:
        check = verification.check_anchor(session, anchor, {})
    assert not check.ok and check.reason is not None and "version 1" in check.reason


def _malformed(anchor: dict[str, Any]) -> list[Any]:
    cases: list[Any] = [[], "anchor", None]
    for name in anchor:
        cases.append({k: v for k, v in anchor.items() if k != name})
    cases.append({**anchor, "comment": "hello"})
    for name, value in [
        ("format", 2),
        ("format", True),
        ("seq", 0),
        ("seq", True),
        ("seq", "4"),
        ("key_version", -1),
        ("hash", "ABC"),
        ("hash", "G" * 64),
        ("at", "2020-02-20 02:00:00"),
        ("exported_at", 1582164000),
        ("public_key", "not base64!"),
        ("public_key", base64.b64encode(b"short").decode()),
        ("signature", base64.b64encode(b"x" * 63).decode()),
    ]:
        cases.append({**anchor, name: value})
    return cases


def test_malformed_anchors_are_refused(kit: KIT, keystore: FileKeyStore, clock: FixedClock) -> None:
    kit.fill(1)
    anchor = _export(kit, keystore, clock)
    for case in _malformed(copy.deepcopy(anchor)):
        with pytest.raises(verification.AnchorFormatError):
            verification.parse_anchor(case)
        with kit.sessions() as session, pytest.raises(verification.AnchorFormatError):
            verification.check_anchor(session, case, keystore.public_keys(AUDIT_ANCHOR))


def test_stored_anchors_are_append_only(
    kit: KIT, keystore: FileKeyStore, clock: FixedClock
) -> None:
    kit.fill(1)
    _export(kit, keystore, clock)
    for statement in ("UPDATE audit_anchor SET seq = 2", "DELETE FROM audit_anchor"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            kit.engine.begin() as connection,
        ):
            connection.execute(text(statement))
