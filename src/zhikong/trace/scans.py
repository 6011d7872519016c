"""Scans (扫码): validating and storing a batch of entries idempotently by client id, and
reading a person's scans back."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.code.models import HealthCode
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.trace import rules
from zhikong.trace.contacts import (
    Presence,
    ScanRow,
)
from zhikong.trace.credential import (
    ScanCodeError,
    TraceCredentials,
)
from zhikong.trace.inputs import FUTURE_SLACK, instant
from zhikong.trace.models import Scan, Venue
from zhikong.trace.schemas import BatchResult, RowError, ScanResult

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class _Row:
    index: int
    client_id: str
    venue_id: int
    at: datetime
    direction: str
    code: str | None = None
    resident_id: int | None = None
    colour: str | None = None
    method: str = "checkpoint"


@dataclass
class _Batch:
    errors: list[RowError] = field(default_factory=list)

    def reject(self, index: int, client_id: str | None, field_name: str, message: str) -> None:
        self.errors.append(RowError(row=index, id=client_id, field=field_name, message=message))


def _check_row(raw: Mapping[str, Any], index: int, batch: _Batch) -> _Row | None:
    client_id = raw.get("id")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        batch.reject(
            index, None, "id", "需要 1–64 位客户端编号 · id must be 1–64 of [A-Za-z0-9._:-]"
        )
        return None
    try:
        venue_id = int(raw.get("venue_id", ""))
        if venue_id < 1:
            raise ValueError
    except (TypeError, ValueError):
        batch.reject(
            index, client_id, "venue_id", "场所编号无效 · venue_id must be a positive integer"
        )
        return None
    try:
        at = instant(raw.get("at"))
    except (TypeError, ValueError) as exc:
        batch.reject(index, client_id, "at", f"时间无效 · invalid time: {exc}")
        return None
    direction = raw.get("direction", "in") or "in"
    if direction not in ("in", "out"):
        batch.reject(index, client_id, "direction", "方向应为 in 或 out · direction is in or out")
        return None
    code = raw.get("code")
    resident_id = raw.get("resident_id")
    if code is None and resident_id is None:
        batch.reject(index, client_id, "code", "缺少健康码 · the scanned code is missing")
        return None
    if code is not None and not isinstance(code, str):
        batch.reject(index, client_id, "code", "健康码应为文本 · code must be text")
        return None
    return _Row(
        index,
        client_id,
        venue_id,
        at,
        str(direction),
        code=code,
        resident_id=int(resident_id) if resident_id is not None else None,
        method="checkpoint" if code is not None else "venue_code",
    )


def ingest_scans(
    session: Session,
    clock: Clock,
    credentials: TraceCredentials | None,
    rows: Sequence[Mapping[str, Any]],
    *,
    actor: str,
    region_path: str | None,
    timezone: str = "Asia/Shanghai",
) -> BatchResult:
    """Validate and store scans; each row gets its entry decision or its error.

    Valid rows are stored even when others are rejected; a row whose id is already stored
    with the same content is a harmless duplicate (re-upload is safe). `region_path` limits the
    venues the caller may record at (None: anywhere).
    """
    now = clock.now()
    day = now.astimezone(_zone(timezone)).date()
    retention = timedelta(days=rules.retention_days(day))
    batch = _Batch()
    checked: list[_Row] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows):
        row = _check_row(raw, index, batch)
        if row is None:
            continue
        if row.client_id in seen:
            batch.reject(index, row.client_id, "id", "批内编号重复 · duplicate id in this batch")
            continue
        seen.add(row.client_id)
        if row.at > now + FUTURE_SLACK:
            batch.reject(index, row.client_id, "at", "时间在未来 · the time is in the future")
            continue
        if row.at < now - retention:
            batch.reject(
                index,
                row.client_id,
                "at",
                f"超出保存期限 {retention.days} 天 · older than the {retention.days}-day retention",
            )
            continue
        checked.append(row)

    venues = _venues(session, {r.venue_id for r in checked})
    stored = _stored(session, [r.client_id for r in checked])
    resolved: list[_Row] = []
    duplicates: list[tuple[_Row, Any]] = []
    for row in checked:
        venue = venues.get(row.venue_id)
        if (
            venue is None
            or venue.status != "approved"
            or (region_path is not None and not venue.county_path.startswith(region_path))
        ):
            batch.reject(row.index, row.client_id, "venue_id", "未知场所 · unknown venue")
            continue
        if row.code is not None:
            if credentials is None:
                batch.reject(row.index, row.client_id, "code", "无法验证 · no trust configured")
                continue
            try:
                row.resident_id, row.colour = credentials.resident_of(row.code, row.at)
            except ScanCodeError as exc:
                batch.reject(row.index, row.client_id, "code", str(exc))
                continue
        previous = stored.get(row.client_id)
        if previous is not None:
            if (
                previous.resident_id == row.resident_id
                and previous.venue_id == row.venue_id
                and previous.at == row.at
                and previous.direction == row.direction
            ):
                duplicates.append((row, previous))
            else:
                batch.reject(
                    row.index,
                    row.client_id,
                    "id",
                    "编号已用于另一条记录 · id already used for a different scan",
                )
            continue
        resolved.append(row)

    known = _known_residents(session, {r.resident_id for r in resolved if r.resident_id})
    colours = _colours(
        session, {r.resident_id for r in resolved if r.code is None and r.resident_id}
    )
    results: list[ScanResult] = []
    to_insert: list[dict[str, Any]] = []
    for row in resolved:
        if row.resident_id not in known:
            batch.reject(row.index, row.client_id, "code", "未知人员 · unknown person")
            continue
        if row.colour is None:
            row.colour = colours.get(row.resident_id or 0)
        venue = venues[row.venue_id]
        if row.direction == "in":
            decision, rule = rules.entry_decision(row.colour, venue.venue_type, row.at.date())
        else:
            decision, rule = "exit", "-"
        to_insert.append(
            {
                "client_id": row.client_id,
                "resident_id": row.resident_id,
                "venue_id": row.venue_id,
                "at": row.at,
                "direction": row.direction,
                "method": row.method,
                "colour": row.colour,
                "decision": decision,
                "rule_version": rule,
                "recorded_at": now,
                "recorded_by": actor,
            }
        )
        results.append(_result(row.index, row.client_id, row.venue_id, decision, rule, None))
    ids = insert_scans(session, to_insert)
    for result in results:
        result.scan_id = ids.get(result.id)
    for row, previous in duplicates:
        results.append(
            _result(
                row.index,
                row.client_id,
                row.venue_id,
                previous.decision,
                previous.rule_version,
                previous.id,
                duplicate=True,
            )
        )
    results.sort(key=lambda r: r.row)
    batch.errors.sort(key=lambda e: e.row)
    if to_insert or batch.errors:
        record(
            session,
            clock,
            actor=actor,
            action="trace.scan.batch",
            subject="table:trace_scan",
            after={
                "received": len(rows),
                "accepted": len(to_insert),
                "duplicates": len(duplicates),
                "rejected": len(batch.errors),
            },
            request_id=current_request_id(),
        )
    return BatchResult(
        received=len(rows),
        accepted=len(to_insert),
        duplicates=len(duplicates),
        rejected=len(batch.errors),
        results=results,
        errors=batch.errors,
    )


def _result(
    index: int,
    client_id: str,
    venue_id: int,
    decision: str,
    rule: str,
    scan_id: int | None,
    *,
    duplicate: bool = False,
) -> ScanResult:
    text = {"zh": "离场", "en": "exit"} if decision == "exit" else rules.decision_text(decision)
    return ScanResult(
        row=index,
        id=client_id,
        scan_id=scan_id,
        venue_id=venue_id,
        decision=decision,
        allowed=decision in ("allow", "exit"),
        reason=text,
        rule=rule,
        duplicate=duplicate,
    )


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@dataclass(frozen=True)
class _VenueInfo:
    id: int
    venue_type: str
    status: str
    county_path: str


def _venues(session: Session, ids: set[int]) -> dict[int, _VenueInfo]:
    found: dict[int, _VenueInfo] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        rows = session.execute(
            select(Venue.id, Venue.venue_type, Venue.status, Region.path)
            .join(Region, Region.code == Venue.county_code)
            .where(Venue.id.in_(chunk))
        )
        for row in rows:
            found[row.id] = _VenueInfo(row.id, row.venue_type, row.status, row.path)
    return found


def _stored(session: Session, client_ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(client_ids), 5000):
        chunk = client_ids[start : start + 5000]
        rows = session.execute(
            select(
                Scan.id,
                Scan.client_id,
                Scan.resident_id,
                Scan.venue_id,
                Scan.at,
                Scan.direction,
                Scan.decision,
                Scan.rule_version,
            ).where(Scan.client_id.in_(chunk))
        )
        for row in rows:
            found[row.client_id] = row
    return found


def _known_residents(session: Session, ids: set[int | None]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(i for i in ids if i is not None)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        found.update(session.scalars(select(Resident.id).where(Resident.id.in_(chunk))))
    return found


def _colours(session: Session, ids: set[int | None]) -> dict[int, str]:
    found: dict[int, str] = {}
    ordered = sorted(i for i in ids if i is not None)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        for rid, colour in session.execute(
            select(HealthCode.resident_id, HealthCode.colour).where(
                HealthCode.resident_id.in_(chunk)
            )
        ):
            found[int(rid)] = str(colour)
    return found


SCAN_COLUMNS = (
    "client_id",
    "resident_id",
    "venue_id",
    "at",
    "direction",
    "method",
    "colour",
    "decision",
    "rule_version",
    "recorded_at",
    "recorded_by",
)


def insert_scans(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store validated scans (PostgreSQL: COPY; SQLite: executemany); ids by client id."""
    if not rows:
        return {}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        columns = ", ".join(SCAN_COLUMNS)
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY trace_scan ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([row[name] for name in SCAN_COLUMNS])
    else:
        for start in range(0, len(rows), 20000):
            session.execute(insert(Scan), list(rows[start : start + 20000]))
    found: dict[str, int] = {}
    client_ids = [row["client_id"] for row in rows]
    if len(client_ids) <= 50_000:
        for start in range(0, len(client_ids), 5000):
            chunk = client_ids[start : start + 5000]
            for scan_id, client_id in session.execute(
                select(Scan.id, Scan.client_id).where(Scan.client_id.in_(chunk))
            ):
                found[str(client_id)] = int(scan_id)
    return found


def scans_of(
    session: Session, resident_ids: Sequence[int], start: datetime, end: datetime
) -> list[ScanRow]:
    rows = session.execute(
        select(Scan.resident_id, Scan.venue_id, Scan.at, Scan.direction).where(
            Scan.resident_id.in_(list(resident_ids)), Scan.at >= start, Scan.at <= end
        )
    )
    return [ScanRow(r.resident_id, r.venue_id, r.at, r.direction) for r in rows]


def scans_near(
    session: Session, visits: Sequence[Presence], margin: timedelta, floor: datetime
) -> list[ScanRow]:
    """Every scan at each visit's venue within `margin` of the visit (index range queries)."""
    found: dict[tuple[int, int, datetime, str], ScanRow] = {}
    for visit in visits:
        low = max(visit.start - margin, floor)
        rows = session.execute(
            select(Scan.resident_id, Scan.venue_id, Scan.at, Scan.direction).where(
                Scan.venue_id == visit.venue_id, Scan.at >= low, Scan.at <= visit.end + margin
            )
        )
        for r in rows:
            key = (r.resident_id, r.venue_id, r.at, r.direction)
            found[key] = ScanRow(r.resident_id, r.venue_id, r.at, r.direction)
    return list(found.values())


def last_scanned_in(
    session: Session, region_path: str, since: datetime
) -> list[tuple[int, datetime]]:
    """Residents scanned at the venues of a region (and below) since an instant, each with
    their latest scan there: what region recolouring counts besides declared trips."""
    rows = session.execute(
        select(Scan.resident_id, func.max(Scan.at).label("at"))
        .join(Venue, Venue.id == Scan.venue_id)
        .join(Region, Region.code == Venue.region_code)
        .where(Region.path.startswith(region_path, autoescape=True), Scan.at >= since)
        .group_by(Scan.resident_id)
    )
    return [(int(resident_id), at) for resident_id, at in rows]
