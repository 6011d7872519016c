"""Scenario: scans of a case's venue visits produce exactly the expected contacts, with evidence;
their codes change through the rules with audit entries; re-upload and re-run change nothing;
purge removes exactly what expired. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhikong.audit.models import AuditEntry
from zhikong.clock import FixedClock
from zhikong.code.models import CodeEvent, HealthCode
from zhikong.code.policy import ColourPolicy
from zhikong.residents.models import Resident
from zhikong.trace import retention, tracing
from zhikong.trace.credential import TraceCredentials
from zhikong.trace.models import Scan
from zhikong.trace.scans import ingest_scans, insert_scans

from .conftest import add_venue, health_code, utc

CASE = 1


def _row(
    creds: TraceCredentials, cid: str, venue: int, person: int, at: Any, d: str = "in"
) -> dict[str, Any]:
    return {
        "id": cid,
        "venue_id": venue,
        "at": at.isoformat(),
        "direction": d,
        "code": health_code(creds, person, "green", at),
    }


def _world(session: Session, clock: FixedClock, creds: TraceCredentials) -> list[dict[str, Any]]:
    a = add_venue(session, clock, "A 超市").id
    b = add_venue(session, clock, "B 餐厅", "restaurant").id
    c = add_venue(session, clock, "C 书店").id
    session.commit()
    return [
        _row(creds, "a-case-in", a, CASE, utc(18, 10)),
        _row(creds, "a-case-out", a, CASE, utc(18, 10, 40), "out"),
        _row(creds, "a-3-in", a, 3, utc(18, 10, 20)),
        _row(creds, "a-3-out", a, 3, utc(18, 10, 50), "out"),
        _row(creds, "a-5-in", a, 5, utc(18, 11, 5)),  # 25 min after the case left
        _row(creds, "a-7-in", a, 7, utc(18, 12, 30)),  # 110 min after: not a contact
        _row(creds, "b-case-in", b, CASE, utc(15, 9)),  # before the infectious period
        _row(creds, "b-9-in", b, 9, utc(15, 9, 5)),
        _row(creds, "c-3-in", c, 3, utc(19, 12)),
        _row(creds, "c-3-out", c, 3, utc(19, 12, 30), "out"),
        _row(creds, "c-11-in", c, 11, utc(19, 12, 10)),  # met close contact 3
    ]


def test_trace_scenario(
    session: Session, clock: FixedClock, creds: TraceCredentials, policy: ColourPolicy
) -> None:
    rows = _world(session, clock, creds)
    result = ingest_scans(session, clock, creds, rows, actor="apikey:1", region_path=None)
    session.commit()
    assert (result.accepted, result.rejected, result.duplicates) == (11, 0, 0)
    assert all(r.decision in ("allow", "exit") for r in result.results)
    assert all(
        r.rule.startswith("venue-entry.zhejiang-2022@") or r.rule == "-" for r in result.results
    )

    # Re-upload: nothing changes.
    again = ingest_scans(session, clock, creds, rows, actor="apikey:1", region_path=None)
    session.commit()
    assert (again.accepted, again.rejected, again.duplicates) == (0, 0, 11)
    assert session.scalar(select(func.count()).select_from(Scan)) == 11

    case = session.get(Resident, CASE)
    assert case is not None
    outcome = tracing.trace_case(
        session, clock, policy, case=case, actor="user:9", onset_at=utc(18, 0)
    )
    session.commit()
    found = {c.resident_id: c for c, _ in outcome.contacts}
    assert {k: v.level for k, v in found.items()} == {
        3: "close_contact",
        5: "close_contact",
        11: "secondary_contact",
    }
    assert found[3].overlap_minutes == 20 and found[3].evidence[0].gap_minutes == 0
    assert found[5].overlap_minutes == 0 and found[5].evidence[0].gap_minutes == 25
    assert found[11].source_resident_id == 3 and found[11].overlap_minutes == 20
    assert outcome.recoloured == 3
    colours = {
        row.resident_id: row.colour
        for row in session.execute(
            select(HealthCode.resident_id, HealthCode.colour).where(
                HealthCode.resident_id.in_([3, 5, 7, 9, 11])
            )
        )
    }
    assert colours == {3: "red", 5: "red", 7: "green", 9: "green", 11: "yellow"}
    events = session.execute(
        select(CodeEvent.resident_id, CodeEvent.kind).where(
            CodeEvent.source == f"trace-case:{CASE}"
        )
    ).all()
    assert sorted((e.resident_id, e.kind) for e in events) == [
        (3, "close_contact"),
        (5, "close_contact"),
        (11, "secondary_contact"),
    ]
    audited = session.execute(
        select(AuditEntry.action, AuditEntry.subject).where(AuditEntry.action.like("trace.%"))
    ).all()
    pairs = {(a.action, a.subject) for a in audited}
    assert ("trace.close_contact", "resident:3") in pairs
    assert ("trace.secondary_contact", "resident:11") in pairs
    colour_audits = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "code.colour")
    )
    assert colour_audits == 3

    # Tracing again changes no code and adds no event.
    second = tracing.trace_case(
        session, clock, policy, case=case, actor="user:9", onset_at=utc(18, 0)
    )
    session.commit()
    assert second.recoloured == 0
    assert (
        session.scalar(
            select(func.count())
            .select_from(CodeEvent)
            .where(CodeEvent.source == f"trace-case:{CASE}")
        )
        == 3
    )


def test_bad_rows_are_rejected_one_by_one(
    session: Session, clock: FixedClock, creds: TraceCredentials
) -> None:
    venue = add_venue(session, clock, "D 医院", "hospital").id
    session.commit()
    now = clock.now()
    good = _row(creds, "good-1", venue, 2, now - timedelta(hours=1))
    yellow = {
        "id": "yellow-1",
        "venue_id": venue,
        "at": (now - timedelta(hours=1)).isoformat(),
        "code": health_code(creds, 4, "yellow", now - timedelta(hours=1)),
    }
    rows = [
        good,
        yellow,
        {**good, "id": "good-1"},  # duplicate id in the batch
        _row(creds, "unknown-venue", 999999, 2, now - timedelta(hours=1)),
        {
            **_row(creds, "future", venue, 2, now - timedelta(hours=1)),
            "at": (now + timedelta(hours=1)).isoformat(),
        },
        _row(creds, "old", venue, 2, now - timedelta(days=29)),
        {"id": "forged", "venue_id": venue, "at": now.isoformat(), "code": "ZK1:NOTACODE"},
        {"id": "bad id!", "venue_id": venue, "at": now.isoformat(), "code": "x"},
    ]
    result = ingest_scans(session, clock, creds, rows, actor="apikey:1", region_path=None)
    session.commit()
    assert result.accepted == 2
    decisions = {r.id: r.decision for r in result.results}
    assert decisions == {"good-1": "allow", "yellow-1": "deny_special_venue"}
    reasons = {(e.row, e.field) for e in result.errors}
    assert reasons == {(2, "id"), (3, "venue_id"), (4, "at"), (5, "at"), (6, "code"), (7, "id")}
    # Same id, different content: refused; the stored scan stays.
    changed = {**good, "at": (now - timedelta(minutes=30)).isoformat()}
    changed["code"] = health_code(creds, 2, "green", now - timedelta(minutes=30))
    refused = ingest_scans(session, clock, creds, [changed], actor="apikey:1", region_path=None)
    assert refused.rejected == 1 and refused.errors[0].field == "id"


def test_purge_removes_exactly_what_expired(
    session: Session, clock: FixedClock, creds: TraceCredentials
) -> None:
    venue = add_venue(session, clock, "E").id
    now = clock.now()
    cutoff = now - timedelta(days=28)
    base = {
        "resident_id": 2,
        "venue_id": venue,
        "direction": "in",
        "method": "checkpoint",
        "colour": "green",
        "decision": "allow",
        "rule_version": "x",
        "recorded_at": now,
        "recorded_by": "test",
    }
    insert_scans(
        session,
        [
            {**base, "client_id": "expired", "at": cutoff - timedelta(minutes=1)},
            {**base, "client_id": "kept", "at": cutoff + timedelta(minutes=1)},
        ],
    )
    session.commit()
    _, days, scans, pings = retention.purge(session, clock, actor="cli:operator")
    session.commit()
    assert (days, scans, pings) == (28, 1, 0)
    assert session.scalars(select(Scan.client_id)).all() == ["kept"]
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "trace.purge")
        )
        == 1
    )
    # A second run deletes nothing more, and is audited too.
    assert retention.purge(session, clock, actor="cli:operator")[2] == 0
    session.commit()
