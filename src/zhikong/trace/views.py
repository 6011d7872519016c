"""Tracing API: venues and their codes, scans (online and batch), tracing runs, chains, clusters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, allow, ensure_in_jurisdiction
from zhikong.code import holders
from zhikong.code.deps import CodeServices, code_services
from zhikong.credential.keys import MintError
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.trace import chains, inputs, scans, tracing, venues
from zhikong.trace.contacts import graph_json, graph_ml
from zhikong.trace.credential import ScanCodeError, TraceCredentials, credentials_for, verify_venue
from zhikong.trace.models import TraceContact, Venue
from zhikong.trace.schemas import (
    BatchResult,
    ContactRead,
    PurgeResult,
    ScanIn,
    ScanResult,
    TraceCreate,
    TraceRead,
    VenueCode,
    VenueCreate,
    VenueRead,
    VenueScanIn,
)

router = APIRouter(prefix="/api/v1", tags=["tracing"])
VenueId = Annotated[int, Path(ge=1, le=2**62)]
ResidentId = Annotated[int, Path(ge=1, le=2**62)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (400, 401, 403, 404, 422, 503)
}
MAX_UPLOAD_BYTES = 64 * 1024 * 1024

__all__ = ["PurgeResult", "router"]


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except inputs.TraceInputError as exc:
        raise Problem.invalid(exc.field, str(exc)) from exc


def _credentials(held: Platform) -> TraceCredentials:
    found = credentials_for(held.keys)
    if found is None:
        raise Problem(503, "no key directory configured; run zhikong keys init")
    return found


def _venue_for(session: Session, principal: Principal, venue_id: int) -> Venue:
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise Problem(404, "not found")
    ensure_in_jurisdiction(session, principal, venue.county_code, hide=True)
    return venue


def _region_path(session: Session, principal: Principal, region: str) -> str:
    path = session.scalar(select(Region.path).where(Region.code == region))
    if path is None:
        raise Problem(404, "no such region")
    ensure_in_jurisdiction(session, principal, region)
    return path


@router.post(
    "/venues",
    response_model=VenueRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="场所登记 · Register a venue",
)
def register_venue(
    body: VenueCreate,
    principal: Annotated[Principal, Depends(allow("venue.register"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> VenueRead:
    """Register a venue in the caller's jurisdiction; it needs a health officer's approval."""
    with unit_of_work(session), _translated():
        region = session.get(Region, body.region_code)
        ensure_in_jurisdiction(session, principal, region.code if region else None)
        venue, _ = venues.register_venue(session, held.clock, actor=principal.actor, body=body)
        result = VenueRead.model_validate(venue)
    return result


@router.post(
    "/venues/{venue_id}/approval",
    response_model=VenueRead,
    responses=PROBLEMS,
    summary="场所审核 · Approve a venue",
)
def approve_venue(
    venue_id: VenueId,
    principal: Annotated[Principal, Depends(allow("venue.approve"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> VenueRead:
    """Approve a venue of the officer's region."""
    with unit_of_work(session):
        venue = _venue_for(session, principal, venue_id)
        venues.approve_venue(session, held.clock, venue, actor=principal.actor)
        result = VenueRead.model_validate(venue)
    return result


@router.get(
    "/venues/{venue_id}/code",
    response_model=VenueCode,
    responses=PROBLEMS,
    summary="场所码 · The signed venue code",
)
def venue_code(
    venue_id: VenueId,
    principal: Annotated[Principal, Depends(allow("venue.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
    format: Annotated[str, Query(pattern="^(json|svg)$")] = "json",
) -> Any:
    """The venue's printable code: the signed text (JSON) or a QR image (SVG)."""
    venue = _venue_for(session, principal, venue_id)
    creds = _credentials(held)
    now = held.clock.now()
    with _translated():
        try:
            text = venues.venue_code(venue, creds, now)
        except MintError as exc:
            raise Problem(503, f"无法签发场所码 · cannot sign venue codes: {exc}") from exc
    if format == "svg":
        from zhikong.credential.qr import render_svg

        return Response(render_svg(text, "green"), media_type="image/svg+xml")
    claims = verify_venue(text, creds.trust, now)
    return VenueCode(venue_id=venue.id, text=text, claims=claims.to_json())


@router.post(
    "/scans",
    response_model=ScanResult,
    responses=PROBLEMS,
    summary="扫码（核验居民健康码） · Record a scan of a resident's code",
)
def record_scan(
    body: ScanIn,
    principal: Annotated[Principal, Depends(allow("scan.record"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ScanResult:
    """A checkpoint or venue scans a resident's code; the entry decision comes back at once."""
    creds = _credentials(held)
    row = body.model_dump(mode="json")
    with unit_of_work(session):
        result = scans.ingest_scans(
            session,
            held.clock,
            creds,
            [row],
            actor=principal.actor,
            region_path=principal.region_path,
            timezone=held.settings.timezone,
        )
    return _single(result)


def _single(result: BatchResult) -> ScanResult:
    if result.errors:
        error = result.errors[0]
        raise Problem.invalid(error.field, error.message)
    return result.results[0]


@router.post(
    "/scans/venue-code",
    response_model=ScanResult,
    responses=PROBLEMS,
    summary="扫场所码 · A resident scans a venue code",
)
def scan_venue_code(
    body: VenueScanIn,
    principal: Annotated[Principal, Depends(allow("scan.self"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ScanResult:
    """A resident (or the holder of a dependant's code) scans a venue's code with the app."""
    if principal.kind != "user" or not holders.holds(session, principal.id, body.resident_id):
        raise Problem(404, "not found")
    creds = _credentials(held)
    at = body.at or held.clock.now()
    try:
        claims = verify_venue(body.venue_code, creds.trust, at)
    except ScanCodeError as exc:
        raise Problem.invalid("venue_code", str(exc)) from exc
    row = {
        "id": body.id,
        "venue_id": claims.venue_id,
        "at": at.isoformat(),
        "direction": body.direction,
        "resident_id": body.resident_id,
    }
    with unit_of_work(session):
        result = scans.ingest_scans(
            session,
            held.clock,
            creds,
            [row],
            actor=principal.actor,
            region_path=None,
            timezone=held.settings.timezone,
        )
    return _single(result)


@router.post(
    "/scans/batch",
    response_model=BatchResult,
    responses=PROBLEMS,
    summary="离线扫码批量上传 · Upload offline scans (NDJSON or CSV)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def upload_scans(
    request: Request,
    principal: Annotated[Principal, Depends(allow("scan.record"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> BatchResult:
    """Upload a file of scans; valid rows are stored, each rejected row says why."""
    data = await request.body()
    if len(data) > MAX_UPLOAD_BYTES:
        raise Problem(413, f"at most {MAX_UPLOAD_BYTES} bytes per upload")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        rows = inputs.parse_upload(data, media_type)
    except inputs.MalformedFileError as exc:
        status_code = 415 if "只接受" in str(exc) else 400
        raise Problem(status_code, f"文件被拒绝 · file rejected: {exc}") from exc
    creds = _credentials(held)
    with unit_of_work(session):
        result = scans.ingest_scans(
            session,
            held.clock,
            creds,
            rows,
            actor=principal.actor,
            region_path=principal.region_path,
            timezone=held.settings.timezone,
        )
    return result


@router.post(
    "/trace/cases/{resident_id}",
    response_model=TraceRead,
    responses=PROBLEMS,
    summary="流调：追踪密接 · Trace a case's contacts",
)
def trace_case(
    resident_id: ResidentId,
    body: TraceCreate,
    principal: Annotated[Principal, Depends(allow("trace.run"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> TraceRead:
    """Find a case's close (and secondary) contacts; their codes change through the rules."""
    with unit_of_work(session), _translated():
        case = session.get(Resident, resident_id)
        if case is None:
            raise Problem(404, "not found")
        ensure_in_jurisdiction(session, principal, case.county_code, hide=True)
        outcome = tracing.trace_case(
            session,
            held.clock,
            services.policy,
            case=case,
            actor=principal.actor,
            onset_at=body.onset_at,
            sampled_at=body.sampled_at,
            isolated_at=body.isolated_at,
            secondary=body.secondary,
            co_presence=body.co_presence,
            window_minutes=body.window_minutes,
        )
        run = outcome.run
        stored = session.scalars(
            select(TraceContact).where(TraceContact.run_id == run.id).order_by(TraceContact.id)
        ).all()
        result = TraceRead(
            id=run.id,
            case_resident_id=run.case_resident_id,
            period_start=run.period_start,
            period_end=run.period_end,
            truncated=run.truncated,
            rule=f"{run.rule_id}@{run.rule_version}",
            parameters=run.parameters,
            close_contacts=run.close_contacts,
            secondary_contacts=run.secondary_contacts,
            co_presence=run.co_presence,
            recoloured=outcome.recoloured,
            contacts=[
                ContactRead(
                    resident_id=c.resident_id,
                    level=c.level,
                    source_resident_id=c.source_resident_id,
                    overlap_minutes=c.overlap_minutes,
                    first_at=c.first_at,
                    evidence=c.evidence,
                    event_id=c.event_id,
                )
                for c in stored
            ],
        )
    services.notify(outcome.notices)
    return result


@router.get(
    "/trace/chains",
    responses=PROBLEMS,
    summary="传播链 · Transmission chains (JSON or GraphML)",
)
def transmission_chains(
    principal: Annotated[Principal, Depends(allow("trace.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
    region: Annotated[str, Query(min_length=6, max_length=32)],
    format: Annotated[str, Query(pattern="^(json|graphml)$")] = "json",
) -> Any:
    """Cases of a region linked by tracing findings and shared venues."""
    path = _region_path(session, principal, region)
    nodes, links = chains.chains(session, held.clock.now(), path)
    if format == "graphml":
        return Response(graph_ml(nodes, links), media_type="application/graphml+xml")
    return graph_json(nodes, links)


@router.get(
    "/trace/clusters",
    responses=PROBLEMS,
    summary="聚集性疫情 · Clusters of linked cases",
)
def case_clusters(
    principal: Annotated[Principal, Depends(allow("trace.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
    region: Annotated[str, Query(min_length=6, max_length=32)],
) -> list[dict[str, Any]]:
    """Clusters (≥ N linked cases within the rule's window) of a region, with their region."""
    path = _region_path(session, principal, region)
    return [c.to_json() for c in chains.clusters(session, held.clock.now(), path)]
