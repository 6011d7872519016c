"""A region turned high-risk recolours people scanned at its venues in the window, not only
those who declared a trip there (issue 5: 'declared or scanned there within the window')."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from zhikong.code.models import HealthCode, Trip
from zhikong.code.policy import ColourPolicy
from zhikong.code.recolour import designate_region
from zhikong.store.engine import make_sessionmaker, transaction
from zhikong.trace.models import Scan, Venue
from zhikong.wiring import connect_domains

from ..conftest import Installation


def test_scanned_visitors_are_recoloured(installation: Installation) -> None:
    connect_domains()  # tracing tells region recolouring about scans (the app does this too)
    clock = installation.clock
    now = clock.now()
    factory = make_sessionmaker(installation.engine)
    with factory() as session:
        venue = session.scalars(select(Venue).order_by(Venue.id)).first()
        assert venue is not None
        county = venue.region_code
        travellers = set(session.scalars(select(Trip.resident_id)))
        green = [
            rid
            for rid in session.scalars(
                select(HealthCode.resident_id)
                .where(HealthCode.colour == "green", HealthCode.county_code != county)
                .order_by(HealthCode.resident_id)
            )
            if rid not in travellers
        ]
        already_there = set(
            session.scalars(select(Scan.resident_id).where(Scan.venue_id == venue.id))
        )
    visitor, stale, stranger = [rid for rid in green if rid not in already_there][:3]
    with transaction(factory) as session:
        for client, rid, when in (
            ("test-scan-visitor", visitor, now - timedelta(days=2)),
            ("test-scan-stale", stale, now - timedelta(days=20)),
        ):
            session.add(
                Scan(
                    client_id=client,
                    resident_id=rid,
                    venue_id=venue.id,
                    at=when,
                    direction="in",
                    method="checkpoint",
                    colour="green",
                    decision="allow",
                    rule_version="test",
                    recorded_at=now,
                    recorded_by="system:test",
                )
            )
    with transaction(factory) as session:
        _, affected, recoloured, _ = designate_region(
            session,
            clock,
            ColourPolicy.named(),
            actor="system:test",
            region_code=county,
            level="high",
            window_days=14,
            basis="test: county turned high-risk",
        )
    assert affected >= 1 and recoloured >= 1
    with factory() as session:
        colours = dict(
            session.execute(
                select(HealthCode.resident_id, HealthCode.colour).where(
                    HealthCode.resident_id.in_([visitor, stale, stranger])
                )
            ).all()
        )
    assert colours == {visitor: "red", stale: "green", stranger: "green"}
