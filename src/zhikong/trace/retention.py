"""Retention: scans and pings are deleted once older than the rule set allows (audited)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.trace import rules
from zhikong.trace.models import Ping, Scan


def purge(session: Session, clock: Clock, *, actor: str) -> tuple[datetime, int, int, int]:
    """Delete scans and pings older than the retention in force; audited on every run."""
    now = clock.now()
    compiled = rules.rule(rules.CONTACT_RULE)
    days = int(compiled.parameters_on(now.date())["retention_days"])
    cutoff = now - timedelta(days=days)
    scans = cast(CursorResult[Any], session.execute(delete(Scan).where(Scan.at < cutoff))).rowcount
    pings = cast(
        CursorResult[Any], session.execute(delete(Ping).where(Ping.end_at < cutoff))
    ).rowcount
    record(
        session,
        clock,
        actor=actor,
        action="trace.purge",
        subject="table:trace_scan",
        after={"cutoff": cutoff.isoformat(), "scans": scans, "pings": pings},
        rule=(compiled.rule_id, compiled.rule_version),
        request_id=current_request_id(),
    )
    return cutoff, days, int(scans), int(pings)
