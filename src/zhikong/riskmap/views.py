"""Risk-map endpoints for the cockpit: levels as GeoJSON, history, counts, dates, profiles,
overrides and assessment runs. Reading needs `map.read`; every region is jurisdiction-scoped."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, allow, ensure_in_jurisdiction
from zhikong.code.deps import CodeServices, code_services
from zhikong.regions import service as regions
from zhikong.regions.models import LEVELS, Region
from zhikong.riskmap.engine import (
    OFFICIAL_SUFFIX,
    PROFILES,
    ProfileError,
    RiskProfile,
    load_profile,
)
from zhikong.riskmap.models import IndicatorValue, RiskAssessment
from zhikong.riskmap.schemas import CODE, AssessRun, OverrideCreate
from zhikong.riskmap.service import AssessmentError, create_override, run_assessment

router = APIRouter(prefix="/api/v1/map", tags=["risk map"])
GEOJSON = "application/geo+json"


def _profile(profile_id: str) -> tuple[RiskProfile, str]:
    """The profile behind an id (an `.official` id shows published levels of its profile)."""
    base = profile_id.removesuffix(OFFICIAL_SUFFIX)
    try:
        return load_profile(base), profile_id
    except ProfileError as exc:
        raise Problem(
            422, str(exc), errors=[{"in": "query", "name": "profile", "message": "unknown"}]
        ) from exc


def _levels(profile: RiskProfile, day: date | None) -> dict[str, Any]:
    at = day or profile.document.validity.from_
    if at < profile.document.validity.from_:
        at = profile.document.validity.from_
    return {level.code: level for level in profile.settings(at).levels}


def _reasons(row: RiskAssessment | None) -> list[dict[str, str]]:
    return [] if row is None else [dict(r) for r in row.reasons]


@router.get("/profiles", summary="Risk profiles and their levels")
def list_profiles(
    _: Annotated[Principal, Depends(allow("map.read"))],
) -> list[dict[str, Any]]:
    """Every shipped profile (and the official Zhejiang record) with its levels."""
    items = []
    for profile_id in (*PROFILES, "zhejiang-2020" + OFFICIAL_SUFFIX):
        profile, shown = _profile(profile_id)
        official = shown.endswith(OFFICIAL_SUFFIX)
        items.append(
            {
                "id": shown,
                "version": profile.version,
                "title": {
                    "zh": profile.document.title.zh + ("（官方发布）" if official else ""),
                    "en": profile.document.title.en + (" — published" if official else ""),
                },
                "source": "official" if official else "computed",
                "levels": [level.as_json() for level in _levels(profile, None).values()],
            }
        )
    return items


@router.get(
    "/levels",
    summary="Levels of every region of a level under a parent, as GeoJSON",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def levels(
    session: Annotated[Session, Depends(db_session)],
    principal: Annotated[Principal, Depends(allow("map.read"))],
    day: Annotated[date, Query(alias="date")],
    profile: Annotated[str, Query(max_length=80)] = "zhejiang-2020",
    parent: Annotated[str, Query(pattern=CODE)] = "330000",
    level: Annotated[str, Query(description=f"One of: {', '.join(LEVELS)}")] = "county",
) -> JSONResponse:
    """A FeatureCollection whose features carry level, colour and reasons (null: not assessed)."""
    loaded, profile_id = _profile(profile)
    ensure_in_jurisdiction(session, principal, parent)
    if level not in LEVELS:
        raise Problem.invalid(
            "level", f"must be one of {', '.join(LEVELS)}", where="query", message="unknown level"
        )
    collection = regions.feature_collection(session, parent, level)
    codes = [feature["id"] for feature in collection["features"]]
    rows = {
        row.region_code: row
        for row in session.scalars(
            select(RiskAssessment).where(
                RiskAssessment.profile_id == profile_id,
                RiskAssessment.day == day,
                RiskAssessment.region_code.in_(codes),
            )
        )
    }
    known = _levels(loaded, day)
    for feature in collection["features"]:
        row = rows.get(feature["id"])
        found = known.get(row.level) if row is not None and row.level else None
        source = feature["properties"]
        feature["properties"] = {
            "code": source["code"],
            "name_zh": source["name_zh"],
            "name_en": source["name_en"],
            "level": None if found is None else found.code,
            "level_zh": None if found is None else found.zh,
            "level_en": None if found is None else found.en,
            "colour_hex": None if found is None else found.colour_hex,
            "reasons": _reasons(row),
            "profile": profile_id,
            "rule_version": None if row is None else row.rule_version,
            "assessed_on": None if row is None else row.day.isoformat(),
            "overridden": bool(row is not None and row.override_id is not None),
        }
    return JSONResponse(collection, media_type=GEOJSON)


@router.get("/regions/{code}/history", summary="A region's levels over time")
def history(
    code: str,
    session: Annotated[Session, Depends(db_session)],
    principal: Annotated[Principal, Depends(allow("map.read"))],
    profile: Annotated[str, Query(max_length=80)] = "zhejiang-2020",
) -> list[dict[str, Any]]:
    """Every stored assessment of a region under a profile, oldest first."""
    loaded, profile_id = _profile(profile)
    ensure_in_jurisdiction(session, principal, code, hide=True)
    out = []
    for row in session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.region_code == code, RiskAssessment.profile_id == profile_id)
        .order_by(RiskAssessment.day)
    ):
        found = _levels(loaded, row.day).get(row.level or "")
        out.append(
            {
                "date": row.day.isoformat(),
                "level": None if found is None else found.code,
                "level_zh": None if found is None else found.zh,
                "level_en": None if found is None else found.en,
                "reasons": _reasons(row),
                "overridden": row.override_id is not None,
            }
        )
    return out


@router.get("/counts", summary="How many counties are at each level")
def counts(
    session: Annotated[Session, Depends(db_session)],
    principal: Annotated[Principal, Depends(allow("map.read"))],
    day: Annotated[date, Query(alias="date")],
    profile: Annotated[str, Query(max_length=80)] = "zhejiang-2020",
    parent: Annotated[str, Query(pattern=CODE)] = "330000",
) -> dict[str, Any]:
    """Counts of counties per level under a parent on a date."""
    loaded, profile_id = _profile(profile)
    ensure_in_jurisdiction(session, principal, parent)
    ancestor = regions.get_region(session, parent)
    tally = {code: 0 for code in _levels(loaded, day)}
    for level in session.scalars(
        select(RiskAssessment.level)
        .join(Region, Region.code == RiskAssessment.region_code)
        .where(
            RiskAssessment.profile_id == profile_id,
            RiskAssessment.day == day,
            Region.level == "county",
            Region.path.startswith(ancestor.path, autoescape=True),
        )
    ):
        if level is not None:
            tally[level] = tally.get(level, 0) + 1
    return {"date": day.isoformat(), "profile": profile_id, "counts": tally}


SERIES_INDICATORS = ("new_cases", "new_local_cases", "new_imported_cases", "clusters_14d")


@router.get("/series", summary="Daily platform indicators summed over a region's counties")
def series(
    session: Annotated[Session, Depends(db_session)],
    principal: Annotated[Principal, Depends(allow("map.read"))],
    parent: Annotated[str, Query(pattern=CODE)] = "330000",
    days: Annotated[int, Query(ge=1, le=366)] = 60,
) -> dict[str, Any]:
    """New cases (local, imported) and active clusters per day, for the cockpit's trend panel."""
    ensure_in_jurisdiction(session, principal, parent)
    ancestor = regions.get_region(session, parent)
    rows = session.execute(
        select(IndicatorValue.day, IndicatorValue.indicator, func.sum(IndicatorValue.value))
        .join(Region, Region.code == IndicatorValue.region_code)
        .where(
            IndicatorValue.indicator.in_(SERIES_INDICATORS),
            IndicatorValue.source == "platform",
            Region.level == "county",
            Region.path.startswith(ancestor.path, autoescape=True),
        )
        .group_by(IndicatorValue.day, IndicatorValue.indicator)
        .order_by(IndicatorValue.day)
    ).all()
    all_days = sorted({row[0] for row in rows})[-days:]
    index = {day: position for position, day in enumerate(all_days)}
    values: dict[str, list[float]] = {name: [0.0] * len(all_days) for name in SERIES_INDICATORS}
    for day, indicator, total in rows:
        if day in index:
            values[indicator][index[day]] = float(total or 0)
    return {
        "parent": parent,
        "dates": [day.isoformat() for day in all_days],
        "series": values,
        "source": "platform",
    }


@router.get("/dates", summary="Dates with assessments under a profile")
def dates(
    session: Annotated[Session, Depends(db_session)],
    _: Annotated[Principal, Depends(allow("map.read"))],
    profile: Annotated[str, Query(max_length=80)] = "zhejiang-2020",
) -> list[str]:
    """Sorted dates, for the cockpit's date slider."""
    profile_id = _profile(profile)[1]
    days = session.scalars(
        select(RiskAssessment.day)
        .where(RiskAssessment.profile_id == profile_id)
        .distinct()
        .order_by(RiskAssessment.day)
    )
    return [day.isoformat() for day in days]


@router.post("/overrides", status_code=201, summary="Set a region's level by hand")
def post_override(
    body: OverrideCreate,
    session: Annotated[Session, Depends(db_session)],
    held: Annotated[Platform, Depends(platform)],
    principal: Annotated[Principal, Depends(allow("map.override"))],
) -> dict[str, Any]:
    """Audited; applies from the next assessment of its dates (or POST /assess now)."""
    with unit_of_work(session):
        ensure_in_jurisdiction(session, principal, body.region_code)
        try:
            row = create_override(
                session,
                held.clock,
                actor=principal.actor,
                region_code=body.region_code,
                profile_id=body.profile,
                level=body.level,
                valid_from=body.valid_from,
                valid_until=body.until,
                legal_basis=body.legal_basis,
            )
        except AssessmentError as exc:
            raise Problem(422, str(exc)) from exc
        return {
            "id": row.id,
            "region_code": row.region_code,
            "profile": row.profile_id,
            "level": row.level,
            "from": row.valid_from.isoformat(),
            "until": row.valid_until.isoformat(),
            "legal_basis": row.legal_basis,
            "officer": row.officer,
        }


@router.post("/assess", summary="Run an assessment for a date")
def post_assess(
    body: AssessRun,
    session: Annotated[Session, Depends(db_session)],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    principal: Annotated[Principal, Depends(allow("map.assess"))],
) -> dict[str, Any]:
    """Compute indicators, assess, roll up, store and recolour codes (audited)."""
    with unit_of_work(session):
        ensure_in_jurisdiction(session, principal, body.parent)
        try:
            report = run_assessment(
                session,
                held.clock,
                services.policy,
                profile_id=body.profile,
                day=body.date,
                parent=body.parent,
                actor=principal.actor,
                timezone=held.settings.timezone,
            )
        except AssessmentError as exc:
            raise Problem(422, str(exc)) from exc
        return {
            "date": report.day.isoformat(),
            "profile": report.profile_id,
            "rule_version": report.rule_version,
            "counts": dict(report.counts),
            "designations": [{"region": r, "level": lv} for r, lv in report.designations],
        }
