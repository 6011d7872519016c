"""Venues (场所码): registration, approval and the signed venue code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.code.declarations import county_of
from zhikong.code.events import CodeInputError
from zhikong.trace import rules
from zhikong.trace.credential import (
    TraceCredentials,
    VenueClaims,
    mint_venue,
)
from zhikong.trace.inputs import TraceInputError
from zhikong.trace.models import Venue
from zhikong.trace.schemas import VenueCreate


def register_venue(
    session: Session, clock: Clock, *, actor: str, body: VenueCreate
) -> tuple[Venue, bool]:
    """Register a venue, pending approval (idempotent by client request id)."""
    existing = session.scalar(
        select(Venue).where(
            Venue.registered_by == actor, Venue.client_request_id == body.client_request_id
        )
    )
    if existing is not None:
        return existing, True
    if body.venue_type not in rules.venue_types():
        known = ", ".join(rules.venue_types())
        raise TraceInputError("venue_type", f"unknown venue type; known: {known}")
    try:
        county = county_of(session, body.region_code)
    except CodeInputError as exc:
        raise TraceInputError("region_code", str(exc)) from exc
    venue = Venue(
        name=body.name,
        venue_type=body.venue_type,
        region_code=body.region_code,
        county_code=county.code,
        lon=body.lon,
        lat=body.lat,
        status="pending",
        registered_by=actor,
        registered_at=clock.now(),
        client_request_id=body.client_request_id,
    )
    session.add(venue)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="trace.venue.register",
        subject=f"venue:{venue.id}",
        after={"name": venue.name, "type": venue.venue_type, "region": venue.region_code},
        request_id=current_request_id(),
    )
    return venue, False


def approve_venue(session: Session, clock: Clock, venue: Venue, *, actor: str) -> Venue:
    """Approve a pending venue (a health officer of its region); approving twice is harmless."""
    if venue.status == "approved":
        return venue
    before = venue.status
    venue.status = "approved"
    venue.approved_by = actor
    venue.approved_at = clock.now()
    record(
        session,
        clock,
        actor=actor,
        action="trace.venue.approve",
        subject=f"venue:{venue.id}",
        before={"status": before},
        after={"status": "approved"},
        request_id=current_request_id(),
    )
    session.flush()
    return venue


def venue_code(venue: Venue, credentials: TraceCredentials, now: datetime) -> str:
    """The signed venue code of an approved venue (the QR text)."""
    if venue.status != "approved":
        raise TraceInputError("venue", "场所尚未审核通过 · the venue is not approved yet")
    signer = credentials.venue_signer(venue.county_code)
    issued = datetime.fromtimestamp(int(now.timestamp()), UTC)
    expires = min(issued + timedelta(days=366), signer.info.not_after)
    claims = VenueClaims(
        issuer=venue.county_code,
        issued_at=issued,
        expires_at=expires,
        venue_id=venue.id,
        name=venue.name[:64],
        venue_type=venue.venue_type,
        region_code=venue.region_code,
        lon=venue.lon,
        lat=venue.lat,
    )
    return mint_venue(claims, signer, now)
