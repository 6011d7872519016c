"""Resident endpoints: population summaries (aggregates only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, platform
from zhikong.api.problems import Problem
from zhikong.clock import local_date
from zhikong.map.service import RegionNotFoundError
from zhikong.residents.models import PopulationSummary
from zhikong.residents.service import population_summary

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
        raise Problem(
            404,
            f"query parameter 'region': no region with code {region}",
            errors=[{"in": "query", "name": "region", "message": "unknown region"}],
        ) from exc
