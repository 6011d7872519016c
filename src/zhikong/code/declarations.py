"""Declarations (申领 / 健康申报) and trip declarations (行程申报): identity, the code holder,
the facts of symptoms and trips, and the first colour."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.auth.pii import seal
from zhikong.clock import Clock
from zhikong.code.events import (
    CodeConflictError,
    CodeInputError,
    Outcome,
    add_event,
    decidegrees,
    recompute,
    symptom_facts,
)
from zhikong.code.models import (
    CodeEvent,
    CodeHolder,
    Declaration,
    HealthCode,
    RiskDesignation,
    Trip,
)
from zhikong.code.policy import ColourPolicy
from zhikong.code.schemas import (
    DeclarationCreate,
    TripIn,
)
from zhikong.keys import KeyStore
from zhikong.regions.models import Region
from zhikong.residents.identity import (
    InvalidIdentityError,
    resident_id_birth_date,
    validate_identity,
)
from zhikong.residents.models import Resident
from zhikong.residents.service import attach_identity, find_by_identity


def county_of(session: Session, region_code: str) -> Region:
    """The county a region is, or lies in (CodeInputError when it is coarser or unknown)."""
    region = session.get(Region, region_code)
    if region is None:
        raise CodeInputError("address_region", f"no region with code {region_code}")
    while region is not None and region.level not in {"county"}:
        if region.depth < 3:
            raise CodeInputError("address_region", "give a county (区县) or a finer region")
        region = session.get(Region, region.parent_code) if region.parent_code else None
    if region is None:
        raise CodeInputError("address_region", "region has no county above it")
    return region


def risk_level(session: Session, region_code: str, at: datetime) -> str:
    """A region's designated risk level at an instant (its own or its nearest ancestor's)."""
    region = session.get(Region, region_code)
    if region is None:
        return "low"
    ancestors = [code for code in region.path.strip("/").split("/") if code]
    rows = session.execute(
        select(RiskDesignation.region_code, RiskDesignation.level)
        .where(RiskDesignation.region_code.in_(ancestors), RiskDesignation.effective_at <= at)
        .order_by(RiskDesignation.effective_at, RiskDesignation.id)
    ).all()
    latest: dict[str, str] = {}
    for row in rows:
        latest[row.region_code] = row.level
    for code in reversed(ancestors):  # the finest designation wins
        if code in latest:
            return latest[code]
    return "low"


LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}


def trip_facts(
    session: Session, policy: ColourPolicy, trips: Sequence[TripIn], now: datetime
) -> dict[str, Any]:
    """Days since the person left a high-risk area, a medium-risk area, and abroad.

    A trip counts at the more severe of the region's level when the person left it and its
    level now (a region designated after the visit still concerns its recent visitors).
    """
    today = policy.local_day(now)
    facts: dict[str, Any] = {}

    def keep(name: str, days: int) -> None:
        if days >= 0 and (name not in facts or days < facts[name]):
            facts[name] = days

    for trip in trips:
        days = (today - trip.left_on).days
        if trip.overseas:
            keep("days_since_overseas", days)
            continue
        if trip.region_code is None:
            continue
        left_end = datetime.combine(
            trip.left_on + timedelta(days=1), datetime.min.time(), policy.zone
        )
        levels = (
            risk_level(session, trip.region_code, min(left_end, now)),
            risk_level(session, trip.region_code, now),
        )
        level = max(levels, key=LEVEL_RANK.__getitem__)
        if level == "high":
            keep("days_since_high_risk_area", days)
        elif level == "medium":
            keep("days_since_medium_risk_area", days)
    return facts


def _check_trips(session: Session, trips: Sequence[TripIn], today: date, prefix: str) -> None:
    for index, trip in enumerate(trips):
        field_prefix = f"{prefix}[{index}]"
        if trip.left_on < trip.arrived_on:
            raise CodeInputError(f"{field_prefix}.left_on", "left before arriving")
        if trip.left_on > today or trip.arrived_on > today:
            raise CodeInputError(f"{field_prefix}.left_on", "a trip cannot be in the future")
        if not trip.overseas and trip.region_code is None:
            raise CodeInputError(f"{field_prefix}.region_code", "give a region, or overseas")
        if trip.overseas and trip.region_code is not None:
            raise CodeInputError(f"{field_prefix}.region_code", "an overseas trip has no region")
        if trip.region_code is not None and session.get(Region, trip.region_code) is None:
            raise CodeInputError(f"{field_prefix}.region_code", f"no region {trip.region_code}")


def _store_trips(
    session: Session,
    resident: Resident,
    trips: Sequence[TripIn],
    declaration_id: int | None,
    now: datetime,
) -> None:
    for trip in trips:
        session.add(
            Trip(
                resident_id=resident.id,
                declaration_id=declaration_id,
                region_code=trip.region_code,
                overseas=trip.overseas,
                arrived_on=trip.arrived_on,
                left_on=trip.left_on,
                recorded_at=now,
            )
        )


def declare(
    session: Session,
    keys: KeyStore,
    clock: Clock,
    policy: ColourPolicy,
    *,
    user_id: int,
    actor: str,
    body: DeclarationCreate,
    today: date,
) -> tuple[Declaration, Outcome, bool]:
    """Store a declaration as submitted, bind the code to the account, compute the colour."""
    existing = session.scalar(
        select(Declaration).where(
            Declaration.submitted_by == actor,
            Declaration.client_request_id == body.client_request_id,
        )
    )
    if existing is not None:
        code = session.get(HealthCode, existing.resident_id)
        resident = session.get(Resident, existing.resident_id)
        assert resident is not None
        if code is None:
            return (
                existing,
                recompute(session, clock, policy, resident, actor=actor, cause="declaration"),
                True,
            )
        return existing, Outcome(code), True
    try:
        number = validate_identity(body.id_type, body.id_number, today)
    except InvalidIdentityError as exc:
        raise CodeInputError(
            "id_number" if "type" not in str(exc) else "id_type", str(exc)
        ) from exc
    if body.birth_date > today:
        raise CodeInputError("birth_date", "birth date in the future")
    if body.id_type == "cn-resident" and resident_id_birth_date(number) != body.birth_date:
        raise CodeInputError("birth_date", "birth date does not match the resident ID")
    county = county_of(session, body.address_region)
    if body.household_region is not None and session.get(Region, body.household_region) is None:
        raise CodeInputError("household_region", f"no region with code {body.household_region}")
    _check_trips(session, body.trips, today, "trips")
    if body.relation == "dependant" and not body.consent:
        raise CodeInputError(
            "consent", "applying for someone else needs their (or a guardian's) consent"
        )
    now = clock.now()

    resident = find_by_identity(session, keys, body.id_type, number)
    if resident is None:
        resident = Resident(
            county_code=county.code,
            sex=body.sex,
            birth_date=body.birth_date,
            synthetic=False,
            created_at=now,
        )
        session.add(resident)
        session.flush()
        attach_identity(
            session,
            keys,
            clock,
            actor,
            resident,
            id_type=body.id_type,
            id_number=number,
            name=body.name,
            phone=body.phone,
        )
    holder = session.scalar(
        select(CodeHolder).where(
            CodeHolder.user_id == user_id, CodeHolder.resident_id == resident.id
        )
    )
    if holder is None:
        if body.relation == "self":
            other_self = session.scalar(
                select(CodeHolder.id).where(
                    CodeHolder.resident_id == resident.id,
                    CodeHolder.relation == "self",
                    CodeHolder.revoked_at.is_(None),
                )
            )
            if other_self is not None:
                raise CodeConflictError("this person's own code is held by another account")
        session.add(
            CodeHolder(
                user_id=user_id,
                resident_id=resident.id,
                relation=body.relation,
                consent=body.consent,
                created_at=now,
            )
        )
        record(
            session,
            clock,
            actor=actor,
            action="code.holder.bind",
            subject=f"resident:{resident.id}",
            after={"relation": body.relation, "holder": f"user:{user_id}"},
            request_id=current_request_id(),
        )

    submission = body.model_dump(mode="json")
    canonical = json.dumps(submission, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    declaration = Declaration(
        resident_id=resident.id,
        submitted_by=actor,
        client_request_id=body.client_request_id,
        submitted_at=now,
        submission_sealed=seal(keys, canonical, "code.declaration"),
        submission_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        nationality=body.nationality,
        household_region=body.household_region,
        address_region=body.address_region,
        temperature_decidegrees=decidegrees(body.temperature),
        symptoms=list(body.symptoms),
        underlying_conditions=list(body.underlying_conditions),
        contact_history=body.contact_history.model_dump(),
        pledge=body.pledge,
    )
    session.add(declaration)
    session.flush()
    _store_trips(session, resident, body.trips, declaration.id, now)
    facts = {
        **symptom_facts(body.temperature, body.symptoms),
        **trip_facts(session, policy, body.trips, now),
        "close_contact": body.contact_history.confirmed_or_suspected,
    }
    _, outcome, _ = add_event(
        session,
        clock,
        policy,
        resident,
        kind="declaration",
        data={"facts": facts},
        actor=actor,
        source=f"declaration:{declaration.id}",
    )
    return declaration, outcome, False


def declare_trips(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    resident: Resident,
    *,
    actor: str,
    trips: Sequence[TripIn],
    client_request_id: str,
    today: date,
) -> tuple[CodeEvent, Outcome, bool]:
    """A trip declaration (行程申报): store the trips and put their facts to the policy."""
    replay = session.scalar(
        select(CodeEvent).where(
            CodeEvent.resident_id == resident.id,
            CodeEvent.client_request_id == client_request_id,
            CodeEvent.recorded_by == actor,
        )
    )
    if replay is None:
        _check_trips(session, trips, today, "trips")
        _store_trips(session, resident, trips, None, clock.now())
    return add_event(
        session,
        clock,
        policy,
        resident,
        kind="declaration",
        data={"facts": trip_facts(session, policy, trips, clock.now()), "trips": len(trips)},
        actor=actor,
        client_request_id=client_request_id,
    )
