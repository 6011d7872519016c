"""Tracing service: venues, scan ingest, contact tracing, companions, chains, clusters, purge.

Tracing findings become health-code events (``close_contact``, ``secondary_contact``,
``co_presence``) that the colour policy turns into colours — never colours set by hand. They
are inserted set-based and the codes recoloured incrementally, as ``designate_region`` does,
with one audit entry per person found.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record, record_many
from zhikong.clock import Clock
from zhikong.code.models import CodeEvent, HealthCode
from zhikong.code.notify import ColourNotice
from zhikong.code.policy import ColourPolicy
from zhikong.code.service import (
    CodeInputError,
    _recolour_incremental,
    county_of,
    recompute,
)
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.trace import rules
from zhikong.trace.contacts import (
    CaseNode,
    Cluster,
    Contact,
    Link,
    PingRow,
    Presence,
    ScanRow,
    companions,
    find_clusters,
    grid_cell,
    presences,
    venue_contacts,
)
from zhikong.trace.credential import (
    ScanCodeError,
    TraceCredentials,
    VenueClaims,
    mint_venue,
)
from zhikong.trace.models import Ping, Scan, TraceContact, TraceRun, Venue
from zhikong.trace.schemas import BatchResult, RowError, ScanResult, VenueCreate

FUTURE_SLACK = timedelta(minutes=5)
MAX_BATCH_ROWS = 100_000
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SCAN_FIELDS = ("id", "venue_id", "at", "direction", "code")
PING_FIELDS = ("resident_id", "lon", "lat", "start", "end")


class TraceInputError(ValueError):
    """Input naming something impossible or unknown (422), with the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MalformedFileError(ValueError):
    """An upload that cannot be read at all (rejected whole)."""


# -- venues ---------------------------------------------------------------------------------------


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


# -- reading uploads ------------------------------------------------------------------------------


def parse_upload(data: bytes, media_type: str) -> list[dict[str, Any]]:
    """Rows of an NDJSON or CSV upload (MalformedFileError when the file cannot be read)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"文件不是 UTF-8 · not UTF-8: {exc.reason}") from None
    rows: list[dict[str, Any]] = []
    if "csv" in media_type:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        missing = [name for name in ("id", "venue_id", "at", "code") if name not in header]
        if missing:
            raise MalformedFileError(
                f"CSV 缺少列 · CSV header lacks column(s): {', '.join(missing)}"
            )
        unknown = [name for name in header if name not in SCAN_FIELDS]
        if unknown:
            raise MalformedFileError(f"CSV 未知列 · unknown CSV column(s): {', '.join(unknown)}")
        try:
            for entry in reader:
                if None in entry:
                    raise MalformedFileError(
                        f"CSV 第 {reader.line_num} 行列数过多 · too many fields on line "
                        f"{reader.line_num}"
                    )
                rows.append({k: v for k, v in entry.items() if v not in (None, "")})
        except csv.Error as exc:
            raise MalformedFileError(f"CSV 无法解析 · unreadable CSV: {exc}") from None
    elif "ndjson" in media_type or "jsonl" in media_type or "json-seq" in media_type:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedFileError(
                    f"第 {number} 行不是 JSON · line {number} is not JSON: {exc.msg}"
                ) from None
            if not isinstance(value, dict):
                raise MalformedFileError(f"第 {number} 行不是对象 · line {number} is not an object")
            rows.append(value)
    else:
        raise MalformedFileError(
            "只接受 application/x-ndjson 或 text/csv · send application/x-ndjson or text/csv"
        )
    if len(rows) > MAX_BATCH_ROWS:
        raise MalformedFileError(f"一次最多 {MAX_BATCH_ROWS} 行 · at most {MAX_BATCH_ROWS} rows")
    return rows


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError("not a time")
    if instant.tzinfo is None:
        raise ValueError("give the time with a UTC offset")
    return instant.astimezone(UTC)


# -- scans ----------------------------------------------------------------------------------------


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
        at = _instant(raw.get("at"))
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


# -- contact tracing ------------------------------------------------------------------------------


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


def _scans_of(
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
    own = _scans_of(session, [case_resident_id], start - dwell, end)
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
        theirs = _scans_of(session, [contact.resident_id], since - dwell, until)
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
        found += _co_presence_contacts(session, case.id, start, end, floor, day, found)
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
        ids: dict[int, int] = {}
        for start in range(0, len(rows), 5000):
            result = session.execute(
                insert(CodeEvent).returning(CodeEvent.id, CodeEvent.resident_id),
                rows[start : start + 5000],
            )
            for event_id, resident_id in result:
                ids[int(resident_id)] = int(event_id)
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
        changed, kind_notices = _recolour_incremental(
            session, clock, policy, rows, ids, actor=actor, cause=kind
        )
        recoloured += changed
        notices += kind_notices
        # Codes the incremental path leaves alone (no code yet, an active override): full path.
        stored = {
            int(rid)
            for rid, decided, until in session.execute(
                select(
                    HealthCode.resident_id, HealthCode.decided_at, HealthCode.override_until
                ).where(HealthCode.resident_id.in_(list(ids)))
            )
            if decided <= now and (until is None or until <= now)
        }
        for resident_id in sorted(set(ids) - stored):
            resident = session.get(Resident, resident_id)
            if resident is None:
                continue
            outcome = recompute(
                session,
                clock,
                policy,
                resident,
                actor=actor,
                cause=kind,
                inputs=[f"code_event:{ids[resident_id]}"],
            )
            if outcome.notices:
                recoloured += 1
                notices += outcome.notices
    record_many(session, clock, audit, request_id=current_request_id())
    return event_ids, recoloured, notices


# -- spatio-temporal companions (时空伴随) ---------------------------------------------------------


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
                start, end = _instant(line["start"]), _instant(line["end"])
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
        rules.rule(rules.CO_PRESENCE_RULE).parameters_on(max(day, _co_from()))["grid_metres"]
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


def _co_from() -> Any:
    return rules.rule(rules.CO_PRESENCE_RULE).document.validity.from_


def _co_presence_contacts(
    session: Session,
    case_id: int,
    start: datetime,
    end: datetime,
    floor: datetime,
    day: Any,
    already: Sequence[Contact],
) -> list[Contact]:
    compiled = rules.rule(rules.CO_PRESENCE_RULE)
    day = max(day, _co_from())
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


# -- chains and clusters ------------------------------------------------------------------------


def _cases(session: Session, since: datetime, at: datetime, region_path: str) -> list[CaseNode]:
    rows = session.execute(
        select(
            CodeEvent.resident_id,
            CodeEvent.occurred_at,
            CodeEvent.data,
            Resident.county_code,
            Region.path,
        )
        .join(Resident, Resident.id == CodeEvent.resident_id)
        .join(Region, Region.code == Resident.county_code)
        .where(
            CodeEvent.kind == "case_report",
            CodeEvent.occurred_at >= since,
            CodeEvent.occurred_at <= at,
            Region.path.startswith(region_path, autoescape=True),
        )
        .order_by(CodeEvent.occurred_at)
    )
    cases: dict[int, CaseNode] = {}
    for row in rows:
        status = (row.data or {}).get("facts", {}).get("case_status")
        if status in ("confirmed", "asymptomatic") and row.resident_id not in cases:
            cases[row.resident_id] = CaseNode(
                row.resident_id, row.occurred_at, row.county_code, row.path
            )
    return list(cases.values())


def _links(
    session: Session, cases: Sequence[CaseNode], at: datetime
) -> tuple[list[Link], list[dict[str, Any]]]:
    """Links among cases and their traced contacts: tracing findings and shared venues."""
    ids = [c.resident_id for c in cases]
    links: list[Link] = []
    contact_nodes: dict[int, str] = {}
    if not ids:
        return links, []
    for row in session.execute(
        select(
            TraceContact.source_resident_id,
            TraceContact.resident_id,
            TraceContact.level,
            TraceContact.evidence,
            TraceContact.first_at,
        ).where(TraceContact.source_resident_id.in_(ids))
    ):
        venue = next((e.get("venue_id") for e in row.evidence if e.get("venue_id")), None)
        links.append(Link(row.source_resident_id, row.resident_id, row.level, venue, row.first_at))
        contact_nodes.setdefault(row.resident_id, row.level)
    params = rules.contact_parameters(at.date())
    window = timedelta(minutes=int(params["window_minutes"]))
    dwell = timedelta(minutes=int(params["default_dwell_minutes"]))
    floor = at - timedelta(days=int(params["retention_days"]))
    visits = presences(_scans_of(session, ids, floor, at), dwell)
    for shared in venue_contacts(visits, visits, window, lambda gap: "shared_venue"):
        for evidence in shared.evidence[:1]:
            a, b = sorted((shared.source_resident_id, shared.resident_id))
            links.append(Link(a, b, "shared_venue", evidence.venue_id, evidence.at))
    unique = {(k.source, k.target, k.kind): k for k in links}
    extra = [
        {"id": rid, "kind": level}
        for rid, level in sorted(contact_nodes.items())
        if rid not in set(ids)
    ]
    return list(unique.values()), extra


def clusters(session: Session, at: datetime, region_path: str) -> list[Cluster]:
    """Clusters (聚集性疫情): linked cases within the rule's window, in a region, at an instant."""
    params = rules.contact_parameters(at.date())
    window = timedelta(days=int(params["cluster_window_days"]))
    cases = _cases(session, at - window, at, region_path)
    links, _ = _links(session, cases, at)
    return find_clusters(cases, links, int(params["cluster_min_cases"]), window)


def chains(
    session: Session, at: datetime, region_path: str
) -> tuple[list[dict[str, Any]], list[Link]]:
    """The transmission graph of a region: cases, their traced contacts, and the links."""
    params = rules.contact_parameters(at.date())
    window = timedelta(days=int(params["cluster_window_days"]))
    cases = _cases(session, at - window, at, region_path)
    links, extra = _links(session, cases, at)
    nodes: list[dict[str, Any]] = [
        {
            "id": c.resident_id,
            "kind": "case",
            "county_code": c.county_code,
            "reported_at": c.reported_at.isoformat(),
        }
        for c in cases
    ]
    return nodes + extra, links


# -- retention ----------------------------------------------------------------------------------


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


def summarise(found: Iterable[Contact]) -> dict[str, int]:
    """How many contacts of each level."""
    counts: dict[str, int] = {}
    for contact in found:
        counts[contact.level] = counts.get(contact.level, 0) + 1
    return counts
