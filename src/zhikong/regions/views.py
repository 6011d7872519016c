"""Region registry endpoints: list, one region, children, geometry, feature collections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from zhikong.api.deps import db_session
from zhikong.api.problems import Problem
from zhikong.regions import service
from zhikong.regions.models import LEVELS, Region
from zhikong.regions.schemas import RegionPage, RegionRead

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])

GEOJSON_MEDIA_TYPE = "application/geo+json"
RegionCode = Annotated[
    str,
    Path(
        description="Region code (GB/T 2260, e.g. 330102; or namespaced, e.g. US-06037)",
        pattern=r"^[A-Za-z0-9-]{1,32}$",
        examples=["330102"],
    ),
]
LevelName = Annotated[str | None, Query(description=f"One of: {', '.join(LEVELS)}")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown region", "content": {"application/problem+json": {}}}
}


def _check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise Problem.invalid(
            "level", f"must be one of {', '.join(LEVELS)}", where="query", message="unknown level"
        )


def _region_or_404(session: Session, code: str) -> Region:
    try:
        return service.get_region(session, code)
    except service.RegionNotFoundError as exc:
        raise Problem(404, f"no region with code {code}") from exc


@router.get("", response_model=RegionPage, summary="List regions")
def list_regions(
    session: Annotated[Session, Depends(db_session)],
    level: LevelName = None,
    parent: Annotated[
        str | None,
        Query(description="Direct children of this code", pattern=r"^[A-Za-z0-9-]{1,32}$"),
    ] = None,
    within: Annotated[
        str | None,
        Query(description="Descendants (any depth) of this code", pattern=r"^[A-Za-z0-9-]{1,32}$"),
    ] = None,
    pack: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[
        str | None, Query(description="Name contains (Chinese, English or pinyin)", max_length=50)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RegionPage:
    """Regions filtered by level, parent, ancestor, pack or name, ordered by code."""
    _check_level(level)
    for name, code in (("parent", parent), ("within", within)):
        if code is not None and session.get(Region, code) is None:
            raise Problem.invalid(
                name,
                f"no region with code {code}",
                where="query",
                status=404,
                message="unknown region",
            )
    rows, total = service.list_regions(
        session,
        level=level,
        parent_code=parent,
        within=within,
        pack=pack,
        name=q,
        limit=limit,
        offset=offset,
    )
    shapes = service.geometries_for(session, [r.code for r in rows])
    return RegionPage(
        items=[service.to_read(r, shapes.get(r.code)) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{code}", response_model=RegionRead, summary="One region", responses=NOT_FOUND)
def get_region(code: RegionCode, session: Annotated[Session, Depends(db_session)]) -> RegionRead:
    """A region with its population, bounding box and attributes."""
    region = _region_or_404(session, code)
    return service.to_read(region, service.geometries_for(session, [code]).get(code))


@router.get(
    "/{code}/children",
    response_model=list[RegionRead],
    summary="Direct children of a region",
    responses=NOT_FOUND,
)
def get_children(
    code: RegionCode, session: Annotated[Session, Depends(db_session)]
) -> list[RegionRead]:
    """The regions one level below."""
    _region_or_404(session, code)
    rows = service.children(session, code)
    shapes = service.geometries_for(session, [r.code for r in rows])
    return [service.to_read(r, shapes.get(r.code)) for r in rows]


@router.get(
    "/{code}/geometry",
    summary="A region's boundary as a GeoJSON Feature",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}, **NOT_FOUND},
)
def get_geometry(
    code: RegionCode, session: Annotated[Session, Depends(db_session)]
) -> JSONResponse:
    """The simplified WGS84 boundary of a region."""
    region = _region_or_404(session, code)
    shape = service.geometries_for(session, [code]).get(code)
    if shape is None:
        raise Problem(404, f"region {code} has no boundary in its pack")
    return JSONResponse(service.feature(region, shape), media_type=GEOJSON_MEDIA_TYPE)


@router.get(
    "/{code}/features",
    summary="All regions of a level under a region, as a GeoJSON FeatureCollection",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}, **NOT_FOUND},
)
def get_features(
    code: RegionCode,
    session: Annotated[Session, Depends(db_session)],
    level: Annotated[str, Query(description=f"One of: {', '.join(LEVELS)}")] = "county",
) -> JSONResponse:
    """For example every county of a city or of the province, ready for a map."""
    _check_level(level)
    _region_or_404(session, code)
    return JSONResponse(
        service.feature_collection(session, code, level), media_type=GEOJSON_MEDIA_TYPE
    )
