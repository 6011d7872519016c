"""Set-based recolouring: time-based transitions, a region's risk level changing, findings of
other domains reported as code events, and green codes for everyone without one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record, record_many
from zhikong.clock import Clock
from zhikong.code.events import (
    CodeInputError,
    apply_decision,
    insert_events,
    load_events,
    progress_json,
    recompute,
)
from zhikong.code.models import (
    SEVERITY,
    ColourChange,
    HealthCode,
    RiskDesignation,
    Trip,
)
from zhikong.code.notify import ColourNotice
from zhikong.code.policy import ColourPolicy
from zhikong.regions.models import Region
from zhikong.residents.models import Resident

PresenceSource = Callable[[Session, str, datetime], Iterable[tuple[int, datetime]]]
"""Residents seen in a region (given by its path, descendants included) since an instant, each
with the last instant they were seen there."""

_presence_sources: dict[str, PresenceSource] = {}


def add_presence_source(name: str, source: PresenceSource) -> None:
    """Let region recolouring also count residents another domain saw in a region.

    Declared trips always count; tracing adds the scans at a region's venues this way (the
    composition layer wires it, see `zhikong.wiring`). Adding under the same name replaces.
    """
    _presence_sources[name] = source


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
        if decision.colour != code.colour or progress_json(decision) != code.progress:
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
    # Everyone who declared a trip there, or was seen there by another domain (tracing: a scan
    # at one of its venues), in the window.
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
    for name in sorted(_presence_sources):
        for resident_id, at in _presence_sources[name](session, region.path, window_start):
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
    event_ids = insert_events(session, rows)
    designation.affected = len(rows)
    recoloured, notices = raise_codes(
        session, clock, policy, rows, event_ids, actor=actor, cause="region_risk"
    )
    return designation, len(rows), recoloured, notices


def raise_codes(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    rows: Sequence[dict[str, Any]],
    event_ids: dict[int, int],
    *,
    actor: str,
    cause: str,
) -> tuple[int, list[ColourNotice]]:
    """Raise stored codes by new latest events without replaying every resident's history.

    `rows` are the inserted events (as given to `insert_events`) and `event_ids` their ids by
    resident. Codes with an active override, or none yet, are left alone (see
    `apply_new_events`). Returns how many codes changed colour and the notices to send.
    """
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


def apply_new_events(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    rows: Sequence[dict[str, Any]],
    event_ids: dict[int, int],
    *,
    actor: str,
    cause: str,
) -> tuple[int, list[ColourNotice]]:
    """Recolour the residents of newly inserted events (another domain's findings).

    Incremental where the stored code allows it (`raise_codes`); a full recompute for the
    codes that path leaves alone (no code yet, an active override). Returns how many codes
    changed colour and the notices to send once the transaction commits.
    """
    now = clock.now()
    recoloured, notices = raise_codes(
        session, clock, policy, rows, event_ids, actor=actor, cause=cause
    )
    stored = {
        int(rid)
        for rid, decided, until in session.execute(
            select(HealthCode.resident_id, HealthCode.decided_at, HealthCode.override_until).where(
                HealthCode.resident_id.in_(list(event_ids))
            )
        )
        if decided <= now and (until is None or until <= now)
    }
    for resident_id in sorted(set(event_ids) - stored):
        resident = session.get(Resident, resident_id)
        if resident is None:
            continue
        outcome = recompute(
            session,
            clock,
            policy,
            resident,
            actor=actor,
            cause=cause,
            inputs=[f"code_event:{event_ids[resident_id]}"],
        )
        if outcome.notices:
            recoloured += 1
            notices += outcome.notices
    return recoloured, notices


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
