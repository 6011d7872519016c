"""Tampering as an attacker with raw database access would, on both backends.

The append-only triggers stop ordinary UPDATE and DELETE; the attacker first switches them off
(ALTER TABLE ... DISABLE TRIGGER on PostgreSQL, DROP TRIGGER on SQLite), then edits rows.
Whatever they then do, `verify` names the first broken entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from zhikong.audit import chain
from zhikong.audit.chain import GENESIS_HASH

KIT = Any  # the AuditKit of conftest.py (test modules cannot import it)
ENTRIES = 6
REFUSED = r"append-only|only moves forward"
TARGET = 4  # an entry with every optional field set except request_id (see AuditKit.fill)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET actor = 'user:666' WHERE seq = 2",
        "UPDATE audit_entry SET seq = seq + 100",
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_entry",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = 2",
        "UPDATE audit_head SET id = 2",
    ],
)
def test_triggers_refuse_updates_and_deletes(kit: KIT, statement: str) -> None:
    kit.fill(3)
    with (
        pytest.raises(DBAPIError, match=REFUSED),
        kit.engine.begin() as connection,
    ):
        connection.execute(text(statement))
    assert kit.verify().ok and kit.head()[0] == 3


def test_postgresql_refuses_truncate_too(kit: KIT) -> None:
    kit.fill(2)
    statements = ["TRUNCATE audit_entry", "TRUNCATE audit_head", "TRUNCATE audit_anchor"]
    if kit.backend == "sqlite":
        # SQLite has no TRUNCATE; "DELETE FROM t" without WHERE is covered above.
        statements = ["DELETE FROM audit_entry WHERE 1 = 1"]
    for statement in statements:
        with (
            pytest.raises(DBAPIError, match=REFUSED),
            kit.engine.begin() as connection,
        ):
            connection.execute(text(statement))
    assert kit.verify().checked == 2


FIELD_EDITS: list[tuple[str, Any]] = [
    ("at", datetime(2020, 2, 21, 2, 0, tzinfo=UTC)),
    ("actor", "user:666"),
    ("action", "user.delete"),
    ("subject", "region:330106"),
    ("before", {"colour": "red", "n": 3}),
    ("before", None),
    ("after", {"colour": "green", "n": 3, "说明": "中高风险"}),
    ("rule_id", "risk-colour-v0"),
    ("rule_version", "2019.1"),
    ("rule_id", None),
    ("inputs", ["declaration:3"]),
    ("inputs", []),
    ("request_id", "req-forged"),
    ("prev_hash", "1" * 64),
    ("hash", "2" * 64),
]


@pytest.mark.parametrize(("column", "value"), FIELD_EDITS, ids=[c for c, _ in FIELD_EDITS])
def test_editing_any_field_is_detected(kit: KIT, column: str, value: Any) -> None:
    kit.fill(ENTRIES)
    kit.disarm()
    kit.set_fields(TARGET, **{column: value})
    result = kit.verify()
    assert not result.ok
    assert result.first_broken_seq == TARGET
    assert result.checked == TARGET - 1


def test_moving_a_timestamp_by_one_microsecond_is_detected(kit: KIT) -> None:
    kit.fill(ENTRIES)
    (entry,) = [e for e in kit.entries() if e.seq == TARGET]
    kit.disarm()
    kit.set_fields(TARGET, at=entry.at + timedelta(microseconds=1))
    assert kit.verify().first_broken_seq == TARGET


def test_a_rehashed_edit_breaks_the_link_to_the_next_entry(kit: KIT) -> None:
    kit.fill(ENTRIES)
    (entry,) = [e for e in kit.entries() if e.seq == TARGET]
    forged = chain.link(entry.prev_hash, chain.EntryFields(**{**_fields(entry), "actor": "x:1"}))
    kit.disarm()
    kit.set_fields(TARGET, actor="x:1", hash=forged.hash)
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == TARGET + 1
    assert result.reason is not None and f"entry {TARGET}" in result.reason


@pytest.mark.parametrize("victim", [1, 3, ENTRIES], ids=["first", "middle", "last"])
def test_deleting_a_row_is_detected(kit: KIT, victim: int) -> None:
    kit.fill(ENTRIES)
    kit.disarm()
    kit.delete(victim)
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == victim
    assert result.reason is not None and "missing" in result.reason


def test_changing_a_seq_number_is_detected(kit: KIT) -> None:
    kit.fill(ENTRIES)
    kit.disarm()
    kit.set_fields(TARGET, seq=40)
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == TARGET


@pytest.mark.parametrize(("first", "second"), [(1, 2), (2, 5), (5, 6)])
def test_swapping_two_rows_is_detected(kit: KIT, first: int, second: int) -> None:
    kit.fill(ENTRIES)
    kit.disarm()
    kit.swap(first, second)
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == first


def test_a_forged_row_appended_behind_the_heads_back_is_detected(kit: KIT) -> None:
    hashes = kit.fill(ENTRIES)
    forged = chain.link(hashes[-1], _forgery(ENTRIES + 1))
    kit.insert(forged)  # no trigger forbids INSERT: record() is bypassed, the head is not moved
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == ENTRIES + 1
    assert result.reason is not None and "beyond the head" in result.reason


def test_a_forged_row_inserted_in_the_middle_is_detected(kit: KIT) -> None:
    hashes = kit.fill(ENTRIES)
    kit.disarm()
    with kit.engine.begin() as connection:
        for seq in range(ENTRIES, 2, -1):  # make room at 3, from the end backwards
            connection.execute(
                text("UPDATE audit_entry SET seq = :new WHERE seq = :old"),
                {"new": seq + 1, "old": seq},
            )
    forged = chain.link(hashes[1], _forgery(3))
    kit.insert(forged)
    kit.set_head(ENTRIES + 1, hashes[-1])
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == 4  # the old entry 3, now at 4


def test_a_forged_row_before_the_first_is_detected(kit: KIT) -> None:
    kit.fill(3)
    kit.insert(chain.link(GENESIS_HASH, _forgery(0)))
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == 0


def test_a_wrong_genesis_is_detected(kit: KIT) -> None:
    kit.fill(3)
    kit.disarm()
    kit.set_fields(1, prev_hash="1" * 64)
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == 1
    assert result.reason is not None and "genesis" in result.reason


def test_a_careful_forger_who_rehashes_everything_passes_the_chain_alone(kit: KIT) -> None:
    """Why anchors exist: see test_anchors.py for how they catch this."""
    kit.fill(ENTRIES)
    kit.disarm()
    kit.rewrite_from(2, actor="user:666")
    assert kit.verify().ok


def _fields(entry: chain.ChainEntry) -> dict[str, Any]:
    names = (
        "seq",
        "at",
        "actor",
        "action",
        "subject",
        "before",
        "after",
        "rule_id",
        "rule_version",
        "inputs",
        "request_id",
    )
    return {name: getattr(entry, name) for name in names}


def _forgery(seq: int) -> chain.EntryFields:
    return chain.EntryFields(
        seq=seq,
        at=datetime(2020, 2, 20, 3, 0, tzinfo=UTC),
        actor="user:1",
        action="resident.code.override",
        subject="resident:" + "e" * 64,
        after={"colour": "green"},
    )


def test_a_deleted_head_row_is_reported_not_raised(kit: KIT) -> None:
    kit.fill(2)
    kit.disarm()
    with kit.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    result = kit.verify()
    assert not result.ok and result.first_broken_seq is None
    assert result.reason is not None and "audit_head" in result.reason
