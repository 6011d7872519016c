"""Spatio-temporal companions (时空伴随): telecom pings on a grid, and the co-presence
contacts they reveal."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.trace import rules
from zhikong.trace.contacts import (
    Contact,
    PingRow,
    companions,
    grid_cell,
)
from zhikong.trace.inputs import FUTURE_SLACK, MalformedFileError, instant
from zhikong.trace.models import Ping

PING_FIELDS = ("resident_id", "lon", "lat", "start", "end")


def parse_pings(data: bytes, grid_metres: int) -> list[dict[str, Any]]:
    """Rows of a telecom ping CSV (resident_id,lon,lat,start,end); MalformedFileError if bad."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"文件不是 UTF-8 · not UTF-8: {exc.reason}") from None
    reader = csv.DictReader(io.StringIO(text))
    if list(reader.fieldnames or []) != list(PING_FIELDS):
        raise MalformedFileError(f"表头应为 · header must be: {','.join(PING_FIELDS)}")
    rows: list[dict[str, Any]] = []
    try:
        for line in reader:
            number = reader.line_num
            try:
                start, end = instant(line["start"]), instant(line["end"])
                lon, lat = float(line["lon"]), float(line["lat"])
                resident_id = int(line["resident_id"])
            except (TypeError, ValueError, KeyError) as exc:
                raise MalformedFileError(f"第 {number} 行无效 · line {number}: {exc}") from None
            if end <= start:
                raise MalformedFileError(f"第 {number} 行结束早于开始 · line {number}: end ≤ start")
            rows.append(
                {
                    "resident_id": resident_id,
                    "grid": grid_cell(lon, lat, grid_metres),
                    "start_at": start,
                    "end_at": end,
                }
            )
    except csv.Error as exc:
        raise MalformedFileError(f"CSV 无法解析 · unreadable CSV: {exc}") from None
    return rows


def import_pings(
    session: Session, clock: Clock, data: bytes, *, actor: str, source: str
) -> tuple[int, int]:
    """Import a telecom ping file; rows beyond retention or in the future are skipped."""
    now = clock.now()
    day = now.date()
    grid_metres = int(
        rules.rule(rules.CO_PRESENCE_RULE).parameters_on(max(day, co_presence_from()))[
            "grid_metres"
        ]
    )
    rows = parse_pings(data, grid_metres)
    floor = now - timedelta(days=rules.retention_days(day))
    kept = [
        {**row, "source": source, "imported_at": now}
        for row in rows
        if row["end_at"] >= floor and row["start_at"] <= now + FUTURE_SLACK
    ]
    for start in range(0, len(kept), 10000):
        session.execute(insert(Ping), kept[start : start + 10000])
    record(
        session,
        clock,
        actor=actor,
        action="trace.ping.import",
        subject="table:trace_ping",
        after={"rows": len(rows), "imported": len(kept), "skipped": len(rows) - len(kept)},
        inputs=[source],
        request_id=current_request_id(),
    )
    return len(kept), len(rows) - len(kept)


def co_presence_from() -> Any:
    return rules.rule(rules.CO_PRESENCE_RULE).document.validity.from_


def co_presence_contacts(
    session: Session,
    case_id: int,
    start: datetime,
    end: datetime,
    floor: datetime,
    day: Any,
    already: Sequence[Contact],
) -> list[Contact]:
    compiled = rules.rule(rules.CO_PRESENCE_RULE)
    day = max(day, co_presence_from())
    params = compiled.parameters_on(day)
    start = max(start, floor)
    case_rows = session.execute(
        select(Ping.resident_id, Ping.grid, Ping.start_at, Ping.end_at).where(
            Ping.resident_id == case_id, Ping.end_at >= start, Ping.start_at <= end
        )
    ).all()
    case_pings = [PingRow(r.resident_id, r.grid, r.start_at, r.end_at) for r in case_rows]
    if not case_pings:
        return []
    grids = sorted({p.grid for p in case_pings})
    lookback = max(end - timedelta(days=int(params["lookback_days"])), floor)
    others = [
        PingRow(r.resident_id, r.grid, r.start_at, r.end_at)
        for r in session.execute(
            select(Ping.resident_id, Ping.grid, Ping.start_at, Ping.end_at).where(
                Ping.grid.in_(grids), Ping.end_at >= lookback, Ping.start_at <= end
            )
        )
    ]
    hours: dict[tuple[int, str], float] = {}
    for ping in others:
        key = (ping.resident_id, ping.grid)
        hours[key] = hours.get(key, 0.0) + (ping.end - ping.start).total_seconds() / 3600
    in_period = [p for p in others if p.end >= start]

    def decide(minutes: int, hours_in_grid: int) -> bool:
        return bool(
            compiled.evaluate(
                {"minutes_together": minutes, "hours_in_grid": hours_in_grid}, day
            ).result
        )

    taken = {c.resident_id for c in already} | {case_id}
    from zhikong.trace.contacts import Evidence

    result: list[Contact] = []
    for companion in companions(case_pings, in_period, hours, decide):
        if companion.resident_id in taken:
            continue
        contact = Contact(companion.resident_id, case_id, "co_presence")
        contact.evidence.append(Evidence(0, companion.first_at, companion.minutes_together, 0))
        result.append(contact)
    return result
