"""Appeals (申诉 / 纠错): submitted by the code holder, decided by the county's health officer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.code.events import CodeConflictError, CodeInputError, Outcome, add_event
from zhikong.code.models import (
    Appeal,
    CodeEvent,
)
from zhikong.code.policy import ColourPolicy
from zhikong.code.schemas import (
    AppealCreate,
)
from zhikong.residents.models import Resident

APPEAL_DEADLINE = timedelta(days=3)  # "replies within 1–3 working days" (research §3.1)


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
