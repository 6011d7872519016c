"""Health-code service: declarations, events, recomputing colours, region recolouring, appeals.

The colour is never edited: every input is stored as an event and the code is recomputed by
the policy over the events. Each colour change is written with its audit entry (rule id and
version, the events behind it) in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record, record_many
from zhikong.auth.pii import seal
from zhikong.clock import Clock
from zhikong.code.models import (
    SEVERITY,
    Appeal,
    CodeEvent,
    CodeHolder,
    ColourChange,
    Declaration,
    HealthCode,
    RiskDesignation,
    Trip,
)
from zhikong.code.notify import ColourNotice
from zhikong.code.policy import ColourPolicy, Decision, Event
from zhikong.code.schemas import (
    RESPIRATORY,
    AppealCreate,
    CheckinCreate,
    DeclarationCreate,
    EventCreate,
    OverrideCreate,
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

APPEAL_DEADLINE = timedelta(days=3)  # "replies within 1–3 working days" (research §3.1)
MAX_OVERRIDE = timedelta(days=30)


class CodeInputError(ValueError):
    """Input that names something impossible or unknown (422), with the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class CodeConflictError(ValueError):
    """A request that contradicts stored data (409)."""


@dataclass
class Outcome:
    """What a write did: the code after it and the notices to send once committed."""

    code: HealthCode
    notices: list[ColourNotice] = field(default_factory=list)


# -- reading --------------------------------------------------------------------------------


def load_events(session: Session, resident_id: int) -> list[Event]:
    """Every event of a resident, as the policy sees them."""
    rows = session.execute(
        select(CodeEvent.id, CodeEvent.kind, CodeEvent.occurred_at, CodeEvent.data).where(
            CodeEvent.resident_id == resident_id
        )
    )
    return [Event(row.id, row.kind, row.occurred_at, row.data) for row in rows]


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


# -- recomputing ------------------------------------------------------------------------------


def _reasons_json(decision: Decision) -> list[dict[str, Any]]:
    return [
        {"event_id": r.event_id, "kind": r.kind, "at": r.at.isoformat(), "demanded": r.demanded}
        for r in decision.reasons
    ]


def _progress_json(decision: Decision) -> dict[str, Any] | None:
    if decision.progress is None:
        return None
    return {
        "colour": decision.progress.colour,
        "required": dict(decision.progress.required),
        "done": dict(decision.progress.done),
        "blocked_by_case": decision.progress.blocked_by_case,
    }


def apply_decision(
    session: Session,
    clock: Clock,
    resident: Resident,
    decision: Decision,
    *,
    actor: str,
    cause: str,
    inputs: Sequence[str] = (),
) -> Outcome:
    """Store a decision as the resident's code; a colour change is audited and noticed."""
    now = clock.now()
    code = session.get(HealthCode, resident.id)
    old_colour = code.colour if code is not None else None
    since = decision.since or now
    if code is None:
        code = HealthCode(
            resident_id=resident.id,
            colour=decision.colour,
            since=since,
            profile=decision.rule_id,
            rule_version=decision.rule_version,
            decided_at=now,
            reasons=_reasons_json(decision),
            progress=_progress_json(decision),
            override_until=decision.override_until,
            county_code=resident.county_code,
        )
        session.add(code)
    else:
        code.colour = decision.colour
        code.since = since
        code.profile = decision.rule_id
        code.rule_version = decision.rule_version
        code.decided_at = now
        code.reasons = _reasons_json(decision)
        code.progress = _progress_json(decision)
        code.override_until = decision.override_until
    outcome = Outcome(code)
    if old_colour != decision.colour:
        session.add(
            ColourChange(
                resident_id=resident.id,
                at=now,
                old_colour=old_colour,
                new_colour=decision.colour,
                profile=decision.rule_id,
                rule_version=decision.rule_version,
                cause=cause,
                county_code=resident.county_code,
            )
        )
        reason_refs = [f"code_event:{r.event_id}" for r in decision.reasons]
        record(
            session,
            clock,
            actor=actor,
            action="code.colour",
            subject=f"resident:{resident.id}",
            before={"colour": old_colour} if old_colour else None,
            after={"colour": decision.colour, "cause": cause},
            rule=(decision.rule_id, decision.rule_version),
            inputs=list(dict.fromkeys([*inputs, *reason_refs]))[:50],
            request_id=current_request_id(),
        )
        outcome.notices.append(
            ColourNotice(
                resident.id,
                old_colour,
                decision.colour,
                now,
                decision.rule_id,
                decision.rule_version,
                cause,
            )
        )
    session.flush()
    return outcome


def recompute(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    resident: Resident,
    *,
    actor: str,
    cause: str,
    inputs: Sequence[str] = (),
) -> Outcome:
    """Decide a resident's colour from all their events and store it."""
    decision = policy.decide(load_events(session, resident.id), clock.now())
    return apply_decision(
        session, clock, resident, decision, actor=actor, cause=cause, inputs=inputs
    )


def add_event(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    resident: Resident,
    *,
    kind: str,
    data: dict[str, Any],
    actor: str,
    occurred_at: datetime | None = None,
    source: str | None = None,
    client_request_id: str | None = None,
) -> tuple[CodeEvent, Outcome, bool]:
    """Store an event (idempotent by client request id) and recompute the code."""
    now = clock.now()
    if client_request_id is not None:
        existing = session.scalar(
            select(CodeEvent).where(
                CodeEvent.resident_id == resident.id,
                CodeEvent.client_request_id == client_request_id,
                CodeEvent.recorded_by == actor,
            )
        )
        if existing is not None:
            code = session.get(HealthCode, resident.id)
            if code is None:
                return (
                    existing,
                    recompute(session, clock, policy, resident, actor=actor, cause=kind),
                    True,
                )
            return existing, Outcome(code), True
    at = occurred_at or now
    if at > now + timedelta(minutes=5):
        raise CodeInputError("occurred_at", "an event cannot be in the future")
    event = CodeEvent(
        resident_id=resident.id,
        kind=kind,
        occurred_at=at,
        recorded_at=now,
        recorded_by=actor,
        data=data,
        source=source,
        client_request_id=client_request_id,
    )
    session.add(event)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action=f"code.event.{kind}",
        subject=f"resident:{resident.id}",
        after={"event": event.id, "kind": kind},
        inputs=[source] if source else (),
        request_id=current_request_id(),
    )
    outcome = recompute(
        session, clock, policy, resident, actor=actor, cause=kind, inputs=[f"code_event:{event.id}"]
    )
    return event, outcome, False


# -- facts --------------------------------------------------------------------------------------


def _decidegrees(temperature: float) -> int:
    return round(temperature * 10)


def symptom_facts(temperature: float, symptoms: Iterable[str]) -> dict[str, Any]:
    """The facts of a temperature and a symptom list."""
    listed = set(symptoms)
    return {
        "fever": "fever" in listed,
        "respiratory_symptoms": bool(listed & RESPIRATORY),
        "temperature_decidegrees": _decidegrees(temperature),
    }


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


# -- declarations ---------------------------------------------------------------------------


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
        temperature_decidegrees=_decidegrees(body.temperature),
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


def checkin(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    resident: Resident,
    *,
    actor: str,
    body: CheckinCreate,
) -> tuple[CodeEvent, Outcome, bool]:
    """A daily health check-in (健康打卡)."""
    return add_event(
        session,
        clock,
        policy,
        resident,
        kind="checkin",
        data={"facts": symptom_facts(body.temperature, body.symptoms)},
        actor=actor,
        client_request_id=body.client_request_id,
    )


def officer_event(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    resident: Resident,
    *,
    actor: str,
    body: EventCreate,
) -> tuple[CodeEvent, Outcome, bool]:
    """An event reported by a health officer (case, test, tracing finding, quarantine...)."""
    data: dict[str, Any] = {"facts": {}}
    if body.note:
        data["note"] = body.note
    if body.kind == "case_report":
        if body.case_status is None:
            raise CodeInputError("case_status", "a case report needs case_status")
        data["facts"] = {"case_status": body.case_status}
    elif body.kind == "case_closed":
        if body.outcome is None:
            raise CodeInputError("outcome", "closing a case needs an outcome")
        data["outcome"] = body.outcome
    elif body.kind == "test_result":
        if body.result is None:
            raise CodeInputError("result", "a test result needs result")
        data["result"] = body.result
        data["facts"] = {"positive_test": body.result == "positive"}
    elif body.kind == "close_contact":
        data["facts"] = {"close_contact": True}
    elif body.kind == "secondary_contact":
        data["facts"] = {"secondary_contact": True}
    elif body.kind == "co_presence":
        data["facts"] = {"co_presence": True}
    elif body.kind == "quarantine_start":
        data["facts"] = {"medical_observation": True}
    elif body.kind == "false_declaration":
        data["facts"] = {"false_declaration": True}
    return add_event(
        session,
        clock,
        policy,
        resident,
        kind=body.kind,
        data=data,
        actor=actor,
        occurred_at=body.occurred_at,
        client_request_id=body.client_request_id,
    )


def override(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    resident: Resident,
    *,
    actor: str,
    body: OverrideCreate,
) -> tuple[CodeEvent, Outcome, bool]:
    """A manual colour with a legal basis and an expiry."""
    now = clock.now()
    if body.until.tzinfo is None:
        raise CodeInputError("until", "give the expiry with a time zone")
    if body.until <= now:
        raise CodeInputError("until", "the expiry must be in the future")
    if body.until > now + MAX_OVERRIDE:
        raise CodeInputError("until", "an override lasts at most 30 days")
    data = {"colour": body.colour, "until": body.until.isoformat(), "legal_basis": body.legal_basis}
    return add_event(
        session,
        clock,
        policy,
        resident,
        kind="override",
        data=data,
        actor=actor,
        client_request_id=body.client_request_id,
    )


# -- appeals --------------------------------------------------------------------------------------


def submit_appeal(
    session: Session, clock: Clock, resident: Resident, *, actor: str, body: AppealCreate
) -> tuple[Appeal, bool]:
    """An appeal routed to the resident's county, with its deadline."""
    existing = session.scalar(
        select(Appeal).where(
            Appeal.resident_id == resident.id,
            Appeal.submitted_by == actor,
            Appeal.text == body.text,
            Appeal.status == "open",
        )
    )
    if existing is not None:
        return existing, True
    known = set(
        session.scalars(
            select(CodeEvent.id).where(
                CodeEvent.resident_id == resident.id, CodeEvent.id.in_(body.event_ids)
            )
        )
    )
    unknown = [i for i in body.event_ids if i not in known]
    if unknown:
        raise CodeInputError("event_ids", f"not events of this code: {unknown}")
    now = clock.now()
    appeal = Appeal(
        resident_id=resident.id,
        county_code=resident.county_code,
        submitted_by=actor,
        submitted_at=now,
        kind=body.kind,
        text=body.text,
        evidence=body.evidence,
        event_ids=list(body.event_ids),
        deadline_at=now + APPEAL_DEADLINE,
        status="open",
    )
    session.add(appeal)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="code.appeal.submit",
        subject=f"resident:{resident.id}",
        after={"appeal": appeal.id, "kind": body.kind, "deadline": appeal.deadline_at.isoformat()},
        request_id=current_request_id(),
    )
    return appeal, False


def decide_appeal(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    appeal: Appeal,
    *,
    actor: str,
    upheld: bool,
    decision: str,
    void_event_ids: Sequence[int],
) -> Outcome | None:
    """Uphold (voiding the events found wrong) or reject an appeal; upheld ones recolour."""
    if appeal.status != "open":
        raise CodeConflictError("this appeal has already been decided")
    resident = session.get(Resident, appeal.resident_id)
    assert resident is not None
    if not upheld and void_event_ids:
        raise CodeInputError("void_event_ids", "a rejected appeal voids nothing")
    if void_event_ids:
        known = set(
            session.scalars(
                select(CodeEvent.id).where(
                    CodeEvent.resident_id == resident.id, CodeEvent.id.in_(list(void_event_ids))
                )
            )
        )
        unknown = [i for i in void_event_ids if i not in known]
        if unknown:
            raise CodeInputError("void_event_ids", f"not events of this code: {unknown}")
    appeal.status = "upheld" if upheld else "rejected"
    appeal.decided_by = actor
    appeal.decided_at = clock.now()
    appeal.decision = decision
    record(
        session,
        clock,
        actor=actor,
        action="code.appeal.decide",
        subject=f"resident:{resident.id}",
        before={"status": "open"},
        after={"status": appeal.status, "appeal": appeal.id},
        request_id=current_request_id(),
    )
    if not upheld:
        return None
    _, outcome, _ = add_event(
        session,
        clock,
        policy,
        resident,
        kind="appeal_upheld",
        data={"voids": list(void_event_ids), "appeal": appeal.id},
        actor=actor,
        source=f"appeal:{appeal.id}",
    )
    return outcome


# -- time and region recolouring ------------------------------------------------------------------


def tick(
    session: Session, clock: Clock, policy: ColourPolicy, *, batch: int = 1000
) -> tuple[int, int, list[ColourNotice]]:
    """Apply time-based transitions (release, override expiry) to every code that may change.

    Idempotent: a second run at the same instant changes nothing.
    """
    now = clock.now()
    candidates = session.scalars(
        select(HealthCode.resident_id)
        .where(or_(HealthCode.colour != "green", HealthCode.override_until.is_not(None)))
        .order_by(HealthCode.resident_id)
    ).all()
    changed = 0
    notices: list[ColourNotice] = []
    for resident_id in candidates:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        code = session.get(HealthCode, resident_id)
        assert code is not None
        decision = policy.decide(load_events(session, resident_id), now)
        if decision.colour != code.colour or _progress_json(decision) != code.progress:
            outcome = apply_decision(
                session, clock, resident, decision, actor="system:code-tick", cause="tick"
            )
            if outcome.notices:
                changed += 1
                notices.extend(outcome.notices)
    return len(candidates), changed, notices


def designate_region(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    *,
    actor: str,
    region_code: str,
    level: str,
    window_days: int,
    basis: str,
) -> tuple[RiskDesignation, int, int, list[ColourNotice]]:
    """A region's risk level changes; everyone who was there in the window is recoloured.

    Set-based: the affected residents are found with one query, their events inserted in one
    statement, and their codes updated incrementally from the stored code (the new event is
    the latest, so only a more-or-equally severe demand can change the colour).
    """
    region = session.get(Region, region_code)
    if region is None:
        raise CodeInputError("region_code", f"no region with code {region_code}")
    now = clock.now()
    today = policy.local_day(now)
    designation = RiskDesignation(
        region_code=region_code,
        level=level,
        effective_at=now,
        window_days=window_days,
        designated_by=actor,
        basis=basis,
        affected=0,
    )
    session.add(designation)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="code.region_risk",
        subject=f"region:{region_code}",
        after={"level": level, "window_days": window_days, "designation": designation.id},
        request_id=current_request_id(),
    )
    if level == "low":
        return designation, 0, 0, []
    since = today - timedelta(days=window_days)
    # Everyone who declared a trip there, or was scanned at one of its venues, in the window.
    from zhikong.trace.models import Scan, Venue  # tracing builds on codes: import late

    last_seen: dict[int, date] = {}
    trips = session.execute(
        select(Trip.resident_id, func.max(Trip.left_on).label("left_on"))
        .join(Region, Region.code == Trip.region_code)
        .where(Region.path.startswith(region.path, autoescape=True), Trip.left_on >= since)
        .group_by(Trip.resident_id)
    )
    for resident_id, left_on in trips:
        last_seen[int(resident_id)] = left_on
    window_start = datetime.combine(since, datetime.min.time(), policy.zone)
    scans = session.execute(
        select(Scan.resident_id, func.max(Scan.at).label("at"))
        .join(Venue, Venue.id == Scan.venue_id)
        .join(Region, Region.code == Venue.region_code)
        .where(Region.path.startswith(region.path, autoescape=True), Scan.at >= window_start)
        .group_by(Scan.resident_id)
    )
    for resident_id, at in scans:
        seen_on = policy.local_day(at)
        if seen_on > last_seen.get(int(resident_id), date.min):
            last_seen[int(resident_id)] = seen_on
    visits = [(resident_id, last_seen[resident_id]) for resident_id in sorted(last_seen)]
    fact_name = "days_since_high_risk_area" if level == "high" else "days_since_medium_risk_area"
    rows = []
    for resident_id, left_on in visits:
        days = max(0, (today - left_on).days)
        rows.append(
            {
                "resident_id": resident_id,
                "kind": "region_risk",
                "occurred_at": now,
                "recorded_at": now,
                "recorded_by": actor,
                "data": {
                    "facts": {fact_name: days},
                    "designation": designation.id,
                    "region": region_code,
                },
                "source": f"code_risk_designation:{designation.id}",
                "client_request_id": None,
            }
        )
    event_ids: dict[int, int] = {}
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        result = session.execute(
            insert(CodeEvent).returning(CodeEvent.id, CodeEvent.resident_id), chunk
        )
        for event_id, resident_id in result:
            event_ids[int(resident_id)] = int(event_id)
    designation.affected = len(rows)
    recoloured, notices = _recolour_incremental(
        session, clock, policy, rows, event_ids, actor=actor, cause="region_risk"
    )
    return designation, len(rows), recoloured, notices


def _recolour_incremental(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    rows: Sequence[dict[str, Any]],
    event_ids: dict[int, int],
    *,
    actor: str,
    cause: str,
) -> tuple[int, list[ColourNotice]]:
    """Raise stored codes by new latest events without replaying every resident's history."""
    now = clock.now()
    day = policy.local_day(now)
    by_resident = {row["resident_id"]: row for row in rows}
    updates: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    notices: list[ColourNotice] = []
    ids = sorted(by_resident)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        codes = session.execute(
            select(
                HealthCode.resident_id,
                HealthCode.colour,
                HealthCode.reasons,
                HealthCode.override_until,
                HealthCode.decided_at,
                HealthCode.county_code,
            ).where(HealthCode.resident_id.in_(chunk))
        ).all()
        stored = {row.resident_id: row for row in codes}
        for resident_id in chunk:
            row = by_resident[resident_id]
            demanded = policy.demand(row["data"]["facts"], day)
            code = stored.get(resident_id)
            if (
                code is None
                or code.decided_at > now
                or (code.override_until is not None and code.override_until > now)
            ):
                continue  # no code yet, or an active override: handled by the full path
            event_id = event_ids[resident_id]
            reason = {
                "event_id": event_id,
                "kind": cause,
                "at": now.isoformat(),
                "demanded": demanded,
            }
            rank, current = SEVERITY[demanded], SEVERITY[code.colour]
            if rank < current or rank == 0:
                continue
            reasons = [reason] if rank > current else [*code.reasons, reason][-20:]
            updates.append(
                {
                    "rid": resident_id,
                    "colour": demanded,
                    "since": now,
                    "decided_at": now,
                    "reasons": reasons,
                    "progress": None,
                    "profile": policy.rule_id,
                    "rule_version": policy.rule_version,
                }
            )
            if rank > current:
                changes.append(
                    {
                        "resident_id": resident_id,
                        "at": now,
                        "old_colour": code.colour,
                        "new_colour": demanded,
                        "profile": policy.rule_id,
                        "rule_version": policy.rule_version,
                        "cause": cause,
                        "county_code": code.county_code,
                    }
                )
                audit.append(
                    {
                        "actor": actor,
                        "action": "code.colour",
                        "subject": f"resident:{resident_id}",
                        "before": {"colour": code.colour},
                        "after": {"colour": demanded, "cause": cause},
                        "rule": (policy.rule_id, policy.rule_version),
                        "inputs": [f"code_event:{event_id}"],
                    }
                )
                notices.append(
                    ColourNotice(
                        resident_id,
                        code.colour,
                        demanded,
                        now,
                        policy.rule_id,
                        policy.rule_version,
                        cause,
                    )
                )
    if updates:
        table = cast(Table, HealthCode.__table__)
        statement = (
            update(table)
            .where(table.c.resident_id == bindparam("rid"))
            .values(
                colour=bindparam("colour"),
                since=bindparam("since"),
                decided_at=bindparam("decided_at"),
                reasons=bindparam("reasons"),
                progress=bindparam("progress"),
                profile=bindparam("profile"),
                rule_version=bindparam("rule_version"),
            )
        )
        for start in range(0, len(updates), 5000):
            session.execute(statement, updates[start : start + 5000])
    if changes:
        for start in range(0, len(changes), 5000):
            session.connection().execute(
                insert(cast(Table, ColourChange.__table__)), changes[start : start + 5000]
            )
        record_many(session, clock, audit, request_id=current_request_id())
    return len(changes), notices


def ensure_green_codes(session: Session, clock: Clock, policy: ColourPolicy) -> int:
    """Give every resident without a code a green one (set-based; the demo's starting point)."""
    now = clock.now()
    missing = session.execute(
        select(Resident.id, Resident.county_code)
        .outerjoin(HealthCode, HealthCode.resident_id == Resident.id)
        .where(HealthCode.resident_id.is_(None))
    ).all()
    rows = [
        {
            "resident_id": row.id,
            "colour": "green",
            "since": now,
            "profile": policy.rule_id,
            "rule_version": policy.rule_version,
            "decided_at": now,
            "reasons": [],
            "progress": None,
            "override_until": None,
            "county_code": row.county_code,
        }
        for row in missing
    ]
    for start in range(0, len(rows), 10000):
        session.execute(insert(HealthCode), rows[start : start + 10000])
    return len(rows)


def colour_counts(session: Session, region_path: str) -> dict[str, int]:
    """How many codes of each colour a region (and everything below it) has."""
    rows = session.execute(
        select(HealthCode.colour, func.count())
        .join(Region, Region.code == HealthCode.county_code)
        .where(Region.path.startswith(region_path, autoescape=True))
        .group_by(HealthCode.colour)
    ).all()
    return {str(colour): int(count) for colour, count in rows}


def colour_counts_by_county(session: Session, region_path: str) -> dict[str, dict[str, int]]:
    """Codes per colour for every county under a region, keyed by the county's path.

    One aggregate over the (county_code, colour) index, then joined to the ~100 region rows:
    the cockpit's statistics roll these up instead of joining every code to its region.
    """
    counts = session.execute(
        select(HealthCode.county_code, HealthCode.colour, func.count()).group_by(
            HealthCode.county_code, HealthCode.colour
        )
    ).all()
    paths = dict(
        session.execute(
            select(Region.code, Region.path).where(
                Region.path.startswith(region_path, autoescape=True)
            )
        ).all()
    )
    result: dict[str, dict[str, int]] = {}
    for county, colour, count in counts:
        path = paths.get(county)
        if path is not None:
            result.setdefault(path, {})[str(colour)] = int(count)
    return result


def holders_of(session: Session, user_id: int) -> list[CodeHolder]:
    """The codes an account holds (its own and its dependants')."""
    return list(
        session.scalars(
            select(CodeHolder)
            .where(CodeHolder.user_id == user_id, CodeHolder.revoked_at.is_(None))
            .order_by(CodeHolder.id)
        )
    )


def holds(session: Session, user_id: int, resident_id: int) -> bool:
    """Whether an account holds a resident's code."""
    return (
        session.scalar(
            select(CodeHolder.id).where(
                and_(
                    CodeHolder.user_id == user_id,
                    CodeHolder.resident_id == resident_id,
                    CodeHolder.revoked_at.is_(None),
                )
            )
        )
        is not None
    )
