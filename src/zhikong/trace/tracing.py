"""Contact tracing: a case's infectious period and the people who shared a venue with them.

Tracing findings become health-code events (``close_contact``, ``secondary_contact``,
``co_presence``) that the colour policy turns into colours — never colours set by hand. They
are inserted set-based and the codes recoloured through the code domain's public
``code.recolour.apply_new_events``, with one audit entry per person found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record, record_many
from zhikong.clock import Clock
from zhikong.code.events import insert_events
from zhikong.code.models import CodeEvent
from zhikong.code.notify import ColourNotice
from zhikong.code.policy import ColourPolicy
from zhikong.code.recolour import apply_new_events
from zhikong.residents.models import Resident
from zhikong.trace import rules
from zhikong.trace.contacts import (
    Contact,
    presences,
    venue_contacts,
)
from zhikong.trace.inputs import FUTURE_SLACK, TraceInputError
from zhikong.trace.models import TraceContact, TraceRun
from zhikong.trace.pings import co_presence_contacts
from zhikong.trace.scans import scans_near, scans_of


@dataclass
class TraceOutcome:
    """What a tracing run found and changed."""

    run: TraceRun
    contacts: list[tuple[Contact, int | None]]
    recoloured: int
    notices: list[ColourNotice]


def infectious_period(
    session: Session,
    case_resident_id: int,
    *,
    onset_at: datetime | None,
    sampled_at: datetime | None,
    isolated_at: datetime | None,
    now: datetime,
    days_before: int,
) -> tuple[datetime, datetime]:
    """From `days_before` days before onset (or first positive sample) until isolation."""
    anchor = min((t for t in (onset_at, sampled_at) if t is not None), default=None)
    if anchor is None:
        anchor = session.scalar(
            select(func.min(CodeEvent.occurred_at)).where(
                CodeEvent.resident_id == case_resident_id,
                CodeEvent.kind.in_(("case_report", "test_result")),
            )
        )
    if anchor is None:
        raise TraceInputError(
            "onset_at", "需要发病或首次阳性采样时间 · give onset_at or sampled_at"
        )
    end = isolated_at or now
    if end > now + FUTURE_SLACK:
        raise TraceInputError("isolated_at", "隔离时间在未来 · isolation cannot be in the future")
    start = anchor - timedelta(days=days_before)
    if end <= start:
        raise TraceInputError("isolated_at", "隔离早于传染期开始 · isolation before the period")
    return start, end


def find_contacts(
    session: Session,
    case_resident_id: int,
    start: datetime,
    end: datetime,
    *,
    window: timedelta,
    dwell: timedelta,
    floor: datetime,
    classify: Callable[[str, int], str],
    secondary: bool,
    until: datetime,
) -> list[Contact]:
    """Close (and optionally secondary) contacts of a case over its infectious period."""
    start = max(start, floor)
    own = scans_of(session, [case_resident_id], start - dwell, end)
    visits = [p for p in presences(own, dwell) if p.end >= start and p.start <= end]
    margin = window + dwell
    nearby = presences(scans_near(session, visits, margin, floor), dwell)
    close = venue_contacts(
        visits,
        nearby,
        window,
        lambda gap: classify("case", gap),
        exclude=frozenset({case_resident_id}),
    )
    close = [c for c in close if c.level == "close_contact"]
    if not secondary or not close:
        return close
    excluded = frozenset({case_resident_id, *(c.resident_id for c in close)})
    found: dict[int, Contact] = {}
    for contact in close:
        since = max(contact.first_at, floor)
        theirs = scans_of(session, [contact.resident_id], since - dwell, until)
        their_visits = [p for p in presences(theirs, dwell) if p.end >= since]
        if not their_visits:
            continue
        around = presences(scans_near(session, their_visits, margin, floor), dwell)
        for second in venue_contacts(
            their_visits,
            around,
            window,
            lambda gap: classify("close_contact", gap),
            exclude=excluded,
        ):
            if second.level == "secondary_contact" and second.resident_id not in found:
                found[second.resident_id] = second
    return close + [found[k] for k in sorted(found)]


def trace_case(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    *,
    case: Resident,
    actor: str,
    onset_at: datetime | None = None,
    sampled_at: datetime | None = None,
    isolated_at: datetime | None = None,
    secondary: bool = True,
    co_presence: bool = False,
    window_minutes: int | None = None,
) -> TraceOutcome:
    """Trace a case and turn the contacts found into code events through the rules."""
    now = clock.now()
    day = policy.local_day(now)
    compiled = rules.rule(rules.CONTACT_RULE)
    params = compiled.parameters_on(day)
    window = timedelta(
        minutes=params["window_minutes"] if window_minutes is None else window_minutes
    )
    dwell = timedelta(minutes=int(params["default_dwell_minutes"]))
    floor = now - timedelta(days=int(params["retention_days"]))
    start, end = infectious_period(
        session,
        case.id,
        onset_at=onset_at,
        sampled_at=sampled_at,
        isolated_at=isolated_at,
        now=now,
        days_before=int(params["infectious_days_before_onset"]),
    )
    verdicts: dict[tuple[str, int], str] = {}

    def classify(relation: str, gap: int) -> str:
        if window_minutes is not None:  # an officer's narrower or wider window for this run
            gap = 0 if gap <= window_minutes else int(params["window_minutes"]) + 1
        key = (relation, gap)
        if key not in verdicts:
            verdicts[key] = str(
                compiled.evaluate({"relation": relation, "gap_minutes": gap}, day).result
            )
        return verdicts[key]

    found = find_contacts(
        session,
        case.id,
        start,
        end,
        window=window,
        dwell=dwell,
        floor=floor,
        classify=classify,
        secondary=secondary and bool(params["secondary_contacts"]),
        until=now,
    )
    if co_presence:
        found += co_presence_contacts(session, case.id, start, end, floor, day, found)
    used = {**params, "window_minutes": int(window.total_seconds() // 60)}
    run = TraceRun(
        case_resident_id=case.id,
        county_code=case.county_code,
        run_by=actor,
        run_at=now,
        period_start=max(start, floor),
        period_end=end,
        rule_id=compiled.rule_id,
        rule_version=compiled.rule_version,
        parameters=used,
        close_contacts=sum(1 for c in found if c.level == "close_contact"),
        secondary_contacts=sum(1 for c in found if c.level == "secondary_contact"),
        co_presence=sum(1 for c in found if c.level == "co_presence"),
        truncated=start < floor,
    )
    session.add(run)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="trace.run",
        subject=f"resident:{case.id}",
        after={
            "run": run.id,
            "period": [run.period_start.isoformat(), end.isoformat()],
            "close_contacts": run.close_contacts,
            "secondary_contacts": run.secondary_contacts,
            "co_presence": run.co_presence,
            "truncated": run.truncated,
        },
        rule=(compiled.rule_id, compiled.rule_version),
        request_id=current_request_id(),
    )
    event_ids, recoloured, notices = _apply_findings(
        session, clock, policy, run, case.id, found, actor=actor
    )
    contact_rows = [
        {
            "run_id": run.id,
            "resident_id": c.resident_id,
            "level": c.level,
            "source_resident_id": c.source_resident_id,
            "evidence": [e.to_json() for e in c.evidence],
            "overlap_minutes": c.overlap_minutes,
            "first_at": c.first_at,
            "event_id": event_ids.get(c.resident_id),
        }
        for c in found
    ]
    for chunk_start in range(0, len(contact_rows), 5000):
        session.execute(insert(TraceContact), contact_rows[chunk_start : chunk_start + 5000])
    return TraceOutcome(
        run, [(c, event_ids.get(c.resident_id)) for c in found], recoloured, notices
    )


def _apply_findings(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    run: TraceRun,
    case_id: int,
    found: Sequence[Contact],
    *,
    actor: str,
) -> tuple[dict[int, int], int, list[ColourNotice]]:
    """Insert one code event per new finding, recolour set-based, audit each person."""
    now = clock.now()
    source = f"trace-case:{case_id}"
    already = {
        (int(rid), str(kind))
        for rid, kind in session.execute(
            select(CodeEvent.resident_id, CodeEvent.kind).where(CodeEvent.source == source)
        )
    }
    recoloured = 0
    notices: list[ColourNotice] = []
    event_ids: dict[int, int] = {}
    by_kind: dict[str, list[Contact]] = {}
    for contact in found:
        if (contact.resident_id, contact.level) in already:
            continue
        by_kind.setdefault(contact.level, []).append(contact)
    audit: list[dict[str, Any]] = []
    for kind, contacts in by_kind.items():
        rows = [
            {
                "resident_id": c.resident_id,
                "kind": kind,
                "occurred_at": now,
                "recorded_at": now,
                "recorded_by": actor,
                "data": {
                    "facts": {kind: True},
                    "case": case_id,
                    "run": run.id,
                    "evidence": [e.to_json() for e in c.evidence][:20],
                },
                "source": source,
                "client_request_id": None,
            }
            for c in contacts
        ]
        ids = insert_events(session, rows)
        event_ids.update(ids)
        for contact in contacts:
            audit.append(
                {
                    "actor": actor,
                    "action": f"trace.{kind}",
                    "subject": f"resident:{contact.resident_id}",
                    "after": {
                        "case": case_id,
                        "run": run.id,
                        "overlap_minutes": contact.overlap_minutes,
                        "venues": sorted({e.venue_id for e in contact.evidence}),
                    },
                    "rule": (run.rule_id, run.rule_version),
                    "inputs": [f"code_event:{ids[contact.resident_id]}", f"trace_run:{run.id}"],
                }
            )
        changed, kind_notices = apply_new_events(
            session, clock, policy, rows, ids, actor=actor, cause=kind
        )
        recoloured += changed
        notices += kind_notices
    record_many(session, clock, audit, request_id=current_request_id())
    return event_ids, recoloured, notices


def summarise(found: Iterable[Contact]) -> dict[str, int]:
    """How many contacts of each level."""
    counts: dict[str, int] = {}
    for contact in found:
        counts[contact.level] = counts.get(contact.level, 0) + 1
    return counts
