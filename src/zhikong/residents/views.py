"""Resident endpoints: population summaries, and registered residents (staff only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, keystore, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, allow, ensure_in_jurisdiction, in_jurisdiction
from zhikong.clock import local_date
from zhikong.regions.models import Region
from zhikong.regions.service import RegionNotFoundError
from zhikong.residents.identity import InvalidIdentityError
from zhikong.residents.models import Resident
from zhikong.residents.schemas import (
    PopulationSummary,
    ResidentCreate,
    ResidentLookup,
    ResidentPersonalData,
    ResidentRead,
)
from zhikong.residents.service import (
    DuplicateResidentError,
    find_by_identity,
    masked_view,
    population_summary,
    register_resident,
    reveal,
)

router = APIRouter(prefix="/api/v1/residents", tags=["residents"])


@router.get("/summary", response_model=PopulationSummary, summary="Residents of a region")
def summary(
    session: Annotated[Session, Depends(db_session)],
    held: Annotated[Platform, Depends(platform)],
    region: Annotated[
        str, Query(description="Region code", pattern=r"^[A-Za-z0-9-]{1,32}$")
    ] = "330000",
) -> PopulationSummary:
    """Counts by sex and age group for a region and everything below it."""
    try:
        return population_summary(session, region, local_date(held.clock, held.settings.timezone))
    except RegionNotFoundError as exc:
        raise Problem.invalid(
            "region",
            f"no region with code {region}",
            where="query",
            status=404,
            message="unknown region",
        ) from exc


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}
ResidentId = Annotated[int, Path(ge=1, le=2**62)]


def _scoped(session: Session, principal: Principal, resident_id: int) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise Problem(404, "not found")
    ensure_in_jurisdiction(session, principal, resident.county_code, hide=True)
    return resident


@router.post(
    "",
    response_model=ResidentRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Register a resident",
)
def register(
    body: ResidentCreate,
    principal: Annotated[Principal, Depends(allow("resident.create"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ResidentRead:
    """Register a person: the ID number is kept only as a keyed hash, name and phone sealed."""
    keys = keystore(held)
    with unit_of_work(session):
        county = session.get(Region, body.county_code)
        if county is None or county.level != "county":
            raise Problem.invalid(
                "county_code", "no county with this code", message="unknown county"
            )
        ensure_in_jurisdiction(session, principal, body.county_code)
        try:
            resident = register_resident(
                session,
                keys,
                held.clock,
                principal.actor,
                body,
                local_date(held.clock, held.settings.timezone),
            )
        except InvalidIdentityError as exc:
            field = "birth_date" if "birth_date" in str(exc) else "id_number"
            raise Problem.invalid(field, str(exc)) from exc
        except DuplicateResidentError as exc:
            raise Problem(409, str(exc)) from exc
    return masked_view(keys, resident)


@router.post("/lookup", response_model=list[ResidentRead], responses=PROBLEMS)
def lookup(
    body: ResidentLookup,
    principal: Annotated[Principal, Depends(allow("resident.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> list[ResidentRead]:
    """Find a resident by identity document within the caller's jurisdiction (0 or 1 result)."""
    keys = keystore(held)
    resident = find_by_identity(session, keys, body.id_type, body.id_number)
    if resident is None:
        return []
    region_path = session.scalar(select(Region.path).where(Region.code == resident.county_code))
    if not in_jurisdiction(principal, region_path):
        return []
    return [masked_view(keys, resident)]


@router.get("/{resident_id}", response_model=ResidentRead, responses=PROBLEMS)
def get_resident(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("resident.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ResidentRead:
    """A resident with masked personal data (404 outside the caller's jurisdiction)."""
    return masked_view(keystore(held), _scoped(session, principal, resident_id))


@router.get("/{resident_id}/personal-data", response_model=ResidentPersonalData, responses=PROBLEMS)
def get_personal_data(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("resident.reveal"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ResidentPersonalData:
    """Name and phone in clear, for the health officer of the resident's county; audited."""
    keys = keystore(held)
    with unit_of_work(session):
        resident = _scoped(session, principal, resident_id)
        return reveal(session, keys, held.clock, principal.actor, resident)
