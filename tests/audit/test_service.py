"""record / verify / show on both backends: transactions, validation, concurrency, volume."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from zhikong.audit import chain, service
from zhikong.audit.chain import GENESIS_HASH
from zhikong.audit.models import AuditEntry
from zhikong.clock import FixedClock
from zhikong.store.engine import transaction
from zhikong.store.meta import get_meta, set_meta

KIT = Any  # the AuditKit of conftest.py (test modules cannot import it)


def _record(session: Any, clock: FixedClock, **overrides: Any) -> AuditEntry:
    arguments: dict[str, Any] = {
        "actor": "user:42",
        "action": "region.risk.set",
        "subject": "region:330102",
        "before": {"colour": "green"},
        "after": {"colour": "yellow"},
        "rule": ("risk-colour", "2020.2"),
        "inputs": ("declaration:17", "checkin:88"),
        "request_id": "req-1",
    }
    arguments.update(overrides)
    return service.record(session, clock, **arguments)


def test_record_starts_at_one_and_links_each_entry_to_the_previous(kit: KIT) -> None:
    hashes = kit.fill(5)
    entries = kit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert [e.hash for e in entries] == hashes
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == hashes[:-1]
    assert kit.head() == (5, hashes[-1])
    result = kit.verify()
    assert result.ok and result.checked == 5 and result.last_hash == hashes[-1]


def test_what_is_read_back_is_exactly_what_was_hashed(kit: KIT, clock: FixedClock) -> None:
    clock.set(datetime(2020, 2, 20, 10, 0, 0, 123456, tzinfo=UTC))
    summary = {"说明": "中风险 · é", "nested": [True, None, {"z": 1, "a": -(2**62)}], "": ""}
    with transaction(kit.sessions) as session:
        written = _record(session, clock, before=None, after=summary, rule=None, request_id=None)
    with kit.sessions() as session:
        stored = session.get(AuditEntry, written.seq)
        assert stored is not None
        assert stored.at == clock.now() and stored.after == summary and stored.before is None
        assert stored.inputs == ["declaration:17", "checkin:88"]
    (entry,) = kit.entries()
    assert chain.entry_hash(GENESIS_HASH, entry) == written.hash == entry.hash


def test_the_entry_commits_and_rolls_back_with_the_change_it_records(
    kit: KIT, clock: FixedClock
) -> None:
    with pytest.raises(RuntimeError, match="change failed"), transaction(kit.sessions) as session:
        set_meta(session, "pack", {"zhejiang": 1}, clock.now())
        _record(session, clock, action="region.pack.install")
        raise RuntimeError("change failed")
    with kit.sessions() as session:
        assert get_meta(session, "pack") is None
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert kit.head() == (0, GENESIS_HASH)

    with transaction(kit.sessions) as session:
        set_meta(session, "pack", {"zhejiang": 1}, clock.now())
        first = _record(session, clock, action="region.pack.install")
    with pytest.raises(RuntimeError), transaction(kit.sessions) as session:
        _record(session, clock)
        raise RuntimeError("change failed")
    with transaction(kit.sessions) as session:
        second = _record(session, clock)
    with kit.sessions() as session:
        assert get_meta(session, "pack") == {"zhejiang": 1}
    assert (first.seq, second.seq) == (1, 2)  # the rolled-back entry left no gap
    assert second.prev_hash == first.hash
    assert kit.verify().ok


def test_record_never_commits(kit: KIT, clock: FixedClock) -> None:
    with kit.sessions() as session:
        session.begin()
        _record(session, clock)
        assert kit.head() == (0, GENESIS_HASH)  # another connection sees nothing yet
        session.rollback()
    assert kit.head() == (0, GENESIS_HASH) and kit.verify().checked == 0


def test_the_anonymous_actor_is_accepted(kit: KIT, clock: FixedClock) -> None:
    with transaction(kit.sessions) as session:
        entry = _record(session, clock, actor=service.ANONYMOUS, action="auth.lockout")
    assert entry.actor == "anonymous"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": "张三"}, "kind:identifier"),
        ({"subject": "resident"}, "kind:identifier"),
        ({"subject": "resident:13812345678"}, "phone or identity number"),
        ({"subject": "resident:+8613812345678"}, "phone or identity number"),
        ({"subject": "resident:11010519491231002X"}, "phone or identity number"),
        ({"subject": "resident:" + "a" * 200}, "kind:identifier"),
        ({"actor": "Alice"}, "kind:identifier"),
        ({"action": "delete"}, "dotted"),
        ({"action": "Region.Risk"}, "dotted"),
        ({"after": {"score": 0.25}}, "floats"),
        ({"before": {"blob": "x" * 5000}}, "short summary"),
        ({"after": {"nul": "a\x00b"}}, "NUL"),
        ({"inputs": "declaration:17"}, "sequence"),
        ({"inputs": ["declaration:17", "13812345678"]}, "kind:identifier"),
        ({"rule": ("risk-colour",)}, "tuple"),
        ({"rule": ("risk-colour", "")}, "rule version"),
        ({"request_id": "a\nb"}, "control"),
    ],
)
def test_malformed_entries_are_refused_before_anything_is_written(
    kit: KIT, clock: FixedClock, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(service.InvalidEntryError, match=message), transaction(kit.sessions) as s:
        _record(s, clock, **overrides)
    assert kit.head() == (0, GENESIS_HASH)


def test_an_identity_number_needs_a_valid_check_digit_to_be_refused(
    kit: KIT, clock: FixedClock
) -> None:
    with transaction(kit.sessions) as session:
        # 18 digits with a wrong check digit: an ordinary identifier, not an identity number.
        entry = _record(session, clock, subject="order:110105194912310021")
    assert entry.seq == 1


def test_show_lists_a_subjects_entries_oldest_first(kit: KIT, clock: FixedClock) -> None:
    kit.fill(6, subject="region:330106")
    with kit.sessions() as session:
        shown = service.show(session, "region:330106")
        assert [e.seq for e in shown] == [2, 4, 6]
        assert {e.subject for e in shown} == {"region:330106"}
        assert [e.seq for e in service.show(session, "region:330106", limit=2)] == [2, 4]
        assert service.show(session, "region:999999") == []
        with pytest.raises(service.InvalidEntryError):
            service.show(session, "王小明")


def test_verify_reads_in_batches(kit: KIT) -> None:
    hashes = kit.fill(7)
    for batch_size in (1, 2, 3, 7, 100):
        result = kit.verify(batch_size=batch_size)
        assert result.ok and result.checked == 7 and result.last_hash == hashes[-1]
    with kit.sessions() as session:
        assert [e.seq for e in service.iter_entries(session, batch_size=3)] == list(range(1, 8))
        assert [e.seq for e in service.iter_entries(session, upto=4, batch_size=3)] == [1, 2, 3, 4]


def test_verify_on_ten_thousand_entries(kit: KIT, clock: FixedClock) -> None:
    count = 10_000
    start = datetime(2020, 2, 20, tzinfo=UTC)
    fields = (
        chain.EntryFields(
            seq=seq,
            at=start + timedelta(seconds=seq, microseconds=seq),
            actor="system:code-tick",
            action="resident.code.recompute",
            subject=f"resident:{seq:064x}",
            before={"colour": "green"},
            after={"colour": "yellow" if seq % 7 else "red"},
            rule_id="health-code",
            rule_version="2020.2",
            inputs=(f"declaration:{seq}", f"checkin:{seq * 3}"),
        )
        for seq in range(1, count + 1)
    )
    rows: list[dict[str, Any]] = []
    last_hash = GENESIS_HASH
    with kit.engine.begin() as connection:
        for entry in chain.build_chain(fields):
            rows.append(
                {
                    **{name: getattr(entry, name) for name in _COLUMNS},
                    "inputs": list(entry.inputs),
                }
            )
            last_hash = entry.hash
            if len(rows) == 1000:
                connection.execute(insert(AuditEntry), rows)
                rows = []
    kit.set_head(count, last_hash)

    result = kit.verify()
    assert result.ok, result.reason
    assert (result.checked, result.last_seq, result.last_hash) == (count, count, last_hash)

    with transaction(kit.sessions) as session:
        assert _record(session, clock).seq == count + 1
    assert kit.verify(batch_size=777).checked == count + 1

    kit.disarm()
    kit.set_fields(9_999, after={"colour": "green"})
    result = kit.verify()
    assert not result.ok and result.first_broken_seq == 9_999 and result.checked == 9_998


_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject",
    "before",
    "after",
    "rule_id",
    "rule_version",
    "request_id",
    "prev_hash",
    "hash",
)


def test_concurrent_appends_make_one_chain_without_gaps(kit: KIT) -> None:
    threads, per_thread = 8, 12
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []
    committed: list[int] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        clock = FixedClock(datetime(2020, 2, 20, tzinfo=UTC) + timedelta(minutes=worker))
        try:
            barrier.wait()
            for number in range(per_thread):
                try:
                    with transaction(kit.sessions) as session:
                        entry = service.record(
                            session,
                            clock,
                            actor=f"user:{worker}",
                            action="resident.pii.read",
                            subject=f"resident:{worker}-{number}",
                            after={"worker": worker, "number": number},
                        )
                        if number % 4 == 3:
                            raise _Abandon  # a transaction that fails after recording
                    with lock:
                        committed.append(entry.seq)
                except _Abandon:
                    pass
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()

    assert failures == []
    expected = threads * (per_thread - per_thread // 4)
    assert sorted(committed) == list(range(1, expected + 1))
    result = kit.verify()
    assert result.ok, result.reason
    assert result.checked == expected and kit.head()[0] == expected
    subjects = {e.subject for e in kit.entries()}
    assert len(subjects) == expected


class _Abandon(Exception):
    """Makes a worker's transaction roll back."""
