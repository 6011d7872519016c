"""时空伴随 end to end: a telecom ping file is imported, a case is traced with co-presence on,
and exactly the companion (same 800 m cell > 10 min, > 30 h there in 14 days) turns yellow."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from zhikong.code.models import CodeEvent, HealthCode
from zhikong.code.policy import ColourPolicy
from zhikong.residents.models import Resident
from zhikong.store.engine import make_sessionmaker, transaction
from zhikong.trace.pings import import_pings
from zhikong.trace.tracing import trace_case

from ..conftest import Installation


def test_pings_to_companion_code(installation: Installation) -> None:
    clock = installation.clock
    now = clock.now()
    factory = make_sessionmaker(installation.engine)
    with factory() as session:
        people = session.scalars(
            select(Resident.id)
            .join(HealthCode, HealthCode.resident_id == Resident.id)
            .where(HealthCode.colour == "green")
            .order_by(Resident.id)
            .limit(3)
        ).all()
    case, companion, passer_by = people

    def iso(hours_ago: float) -> str:
        return (now - timedelta(hours=hours_ago)).isoformat()

    lines = ["resident_id,lon,lat,start,end"]
    # The case and the companion share a cell (West Lake) for 40 minutes, 5 hours ago.
    lines.append(f"{case},120.1485,30.2425,{iso(5)},{iso(4.3)}")
    lines.append(f"{companion},120.1490,30.2428,{iso(5)},{iso(4.3)}")
    # The companion lives in that cell: 36 more hours there in the last 14 days.
    lines.append(f"{companion},120.1487,30.2426,{iso(100)},{iso(64)}")
    # A passer-by shares the same 40 minutes but spends no other time in the cell.
    lines.append(f"{passer_by},120.1486,30.2427,{iso(5)},{iso(4.3)}")
    data = ("\n".join(lines) + "\n").encode()
    policy = ColourPolicy.named()
    with transaction(factory) as session:
        imported, skipped = import_pings(
            session, clock, data, actor="system:test", source="feed:telecom"
        )
    assert (imported, skipped) == (4, 0)
    with transaction(factory) as session:
        resident = session.get(Resident, case)
        assert resident is not None
        outcome = trace_case(
            session,
            clock,
            policy,
            case=resident,
            actor="system:test",
            onset_at=now - timedelta(days=1),
            secondary=False,
            co_presence=True,
        )
    assert outcome.run.co_presence == 1
    with factory() as session:
        colours = dict(
            session.execute(
                select(HealthCode.resident_id, HealthCode.colour).where(
                    HealthCode.resident_id.in_([companion, passer_by])
                )
            ).all()
        )
        kinds = session.scalars(
            select(CodeEvent.kind).where(CodeEvent.resident_id == companion)
        ).all()
    assert colours == {companion: "yellow", passer_by: "green"}
    assert "co_presence" in kinds
