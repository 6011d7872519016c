"""Demo tracing data: venues across the province, synthetic scans, and a traced case in 330102."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhikong.clock import Clock
from zhikong.code import events
from zhikong.code.policy import ColourPolicy
from zhikong.code.schemas import EventCreate
from zhikong.keys import KeyStore
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.trace import rules
from zhikong.trace.credential import ensure_signers
from zhikong.trace.models import Venue
from zhikong.trace.scans import insert_scans
from zhikong.trace.tracing import trace_case

DEMO_VENUES = 300
DEMO_CASE_COUNTY = "330102"
ACTOR = "system:demo"
_TYPES = ("shop", "restaurant", "office", "transport", "public_service", "hospital", "school")


def seed(
    session: Session, clock: Clock, policy: ColourPolicy, seed: int, *, keys: KeyStore | None = None
) -> dict[str, int]:
    """Venues, scans over the last week, and one case whose contacts tracing turns red."""
    rng = random.Random(seed + 7)
    now = clock.now()
    if keys is not None:
        ensure_signers(keys, "330000", now)
    from zhikong.rules.service import publish_text

    for text in rules.profile_texts():
        publish_text(session, clock, text, actor=ACTOR)
    counties = session.execute(
        select(Region.code, Region.extra).where(Region.level == "county").order_by(Region.code)
    ).all()
    codes = [c.code for c in counties]
    venue_rows: list[dict[str, Any]] = []
    for index in range(DEMO_VENUES):
        county = DEMO_CASE_COUNTY if index < 20 else rng.choice(codes)
        venue_rows.append(
            {
                "name": f"演示场所 {index + 1:03d} · demo venue",
                "venue_type": _TYPES[index % len(_TYPES)] if index else "shop",
                "region_code": county,
                "county_code": county,
                "lon": round(118.0 + rng.random() * 4.0, 6),
                "lat": round(27.2 + rng.random() * 3.6, 6),
                "status": "approved",
                "registered_by": ACTOR,
                "registered_at": now - timedelta(days=30),
                "client_request_id": f"demo-venue-{index + 1:04d}",
                "approved_by": ACTOR,
                "approved_at": now - timedelta(days=30),
            }
        )
    session.execute(insert(Venue), venue_rows)
    venues = session.execute(select(Venue.id, Venue.county_code, Venue.venue_type)).all()
    by_county: dict[str, list[Any]] = {}
    for venue in venues:
        by_county.setdefault(venue.county_code, []).append(venue)
    residents = session.execute(
        select(Resident.id, Resident.county_code).order_by(Resident.id).limit(20_000)
    ).all()
    scans: list[dict[str, Any]] = []
    for person in residents:
        if rng.random() > 0.3:
            continue
        choices = by_county.get(person.county_code) or venues
        for _ in range(rng.randrange(1, 5)):
            venue = rng.choice(choices)
            at = now - timedelta(minutes=rng.randrange(60, 7 * 24 * 60))
            scans.append(_scan(f"demo-{len(scans)}", person.id, venue, at, now))
    story = _traced_case(session, clock, policy, venues, scans, now)
    insert_scans(session, scans)
    session.flush()
    counts = {"venues": len(venue_rows), "scans": len(scans)}
    if story is not None:
        case = session.get(Resident, story)
        assert case is not None
        outcome = trace_case(
            session, clock, policy, case=case, actor=ACTOR, onset_at=now - timedelta(days=1)
        )
        counts["traced_contacts"] = len(outcome.contacts)
        counts["recoloured"] = outcome.recoloured
    return counts


def _scan(client_id: str, resident_id: int, venue: Any, at: Any, now: Any) -> dict[str, Any]:
    decision, rule = rules.entry_decision("green", venue.venue_type, at.date())
    return {
        "client_id": client_id,
        "resident_id": resident_id,
        "venue_id": venue.id,
        "at": at,
        "direction": "in",
        "method": "checkpoint",
        "colour": "green",
        "decision": decision,
        "rule_version": rule,
        "recorded_at": now,
        "recorded_by": ACTOR,
    }


def _traced_case(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    venues: Sequence[Any],
    scans: list[dict[str, Any]],
    now: Any,
) -> int | None:
    """A confirmed case in 330102 who visited venue 1 with five other people yesterday."""
    case = session.scalars(
        select(Resident)
        .where(Resident.county_code == DEMO_CASE_COUNTY)
        .order_by(Resident.id.desc())
        .limit(1)
    ).first()
    if case is None:
        return None
    contacts = session.scalars(
        select(Resident).where(Resident.id != case.id).order_by(Resident.id.desc()).limit(5)
    ).all()
    events.officer_event(
        session,
        clock,
        policy,
        case,
        actor=ACTOR,
        body=EventCreate(
            client_request_id="demo-trace-case", kind="case_report", case_status="confirmed"
        ),
    )
    venue = min(venues, key=lambda v: v.id)
    visit = now - timedelta(hours=20)
    scans.append(_scan("demo-case-in", case.id, venue, visit, now))
    for index, person in enumerate(contacts):
        at = visit + timedelta(minutes=5 * index)
        scans.append(_scan(f"demo-contact-{index}", person.id, venue, at, now))
    return case.id
