"""Code events and recomputation: every input is an event, the colour is recomputed by the
policy over a resident's events and stored with its audit entry in the same transaction.

The colour is never edited: check-ins, officer reports and manual overrides are events too."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.code.models import (
    CodeEvent,
    ColourChange,
    HealthCode,
)
from zhikong.code.notify import ColourNotice
from zhikong.code.policy import ColourPolicy, Decision, Event
from zhikong.code.schemas import (
    RESPIRATORY,
    CheckinCreate,
    EventCreate,
    OverrideCreate,
)
from zhikong.residents.models import Resident

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


def load_events(session: Session, resident_id: int) -> list[Event]:
    """Every event of a resident, as the policy sees them."""
    rows = session.execute(
        select(CodeEvent.id, CodeEvent.kind, CodeEvent.occurred_at, CodeEvent.data).where(
            CodeEvent.resident_id == resident_id
        )
    )
    return [Event(row.id, row.kind, row.occurred_at, row.data) for row in rows]


def _reasons_json(decision: Decision) -> list[dict[str, Any]]:
    return [
        {"event_id": r.event_id, "kind": r.kind, "at": r.at.isoformat(), "demanded": r.demanded}
        for r in decision.reasons
    ]


def progress_json(decision: Decision) -> dict[str, Any] | None:
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
            progress=progress_json(decision),
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
        code.progress = progress_json(decision)
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


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Insert code events set-based (one row per resident); the new event id of each resident.

    Each row holds the `CodeEvent` columns. Nothing is recomputed here: follow with
    `recolour.raise_codes` or `recolour.apply_new_events`.
    """
    event_ids: dict[int, int] = {}
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        result = session.execute(
            insert(CodeEvent).returning(CodeEvent.id, CodeEvent.resident_id), chunk
        )
        for event_id, resident_id in result:
            event_ids[int(resident_id)] = int(event_id)
    return event_ids


def decidegrees(temperature: float) -> int:
    return round(temperature * 10)


def symptom_facts(temperature: float, symptoms: Iterable[str]) -> dict[str, Any]:
    """The facts of a temperature and a symptom list."""
    listed = set(symptoms)
    return {
        "fever": "fever" in listed,
        "respiratory_symptoms": bool(listed & RESPIRATORY),
        "temperature_decidegrees": decidegrees(temperature),
    }


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
