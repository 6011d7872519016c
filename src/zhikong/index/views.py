"""Index endpoints for the cockpit: the daily ranking of counties and the dates available.

Reading needs `index.read`; the ranking is scoped to the caller's jurisdiction for `parent`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.deps import db_session
from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, allow, ensure_in_jurisdiction
from zhikong.index.models import IndexValue
from zhikong.regions.models import Region

router = APIRouter(prefix="/api/v1/index", tags=["index"])
CODE = r"^[A-Za-z0-9-]{1,32}$"
CONFIG = r"^[A-Za-z0-9._-]{1,64}$"


@router.get("/ranking", summary="Counties under a region ranked by the index on a date")
def ranking(
    session: Annotated[Session, Depends(db_session)],
    principal: Annotated[Principal, Depends(allow("index.read"))],
    day: Annotated[date, Query(alias="date")],
    config: Annotated[str, Query(pattern=CONFIG)] = "zhikong-2020",
    parent: Annotated[str, Query(pattern=CODE)] = "330000",
) -> list[dict[str, Any]]:
    """Stored index values of the counties under `parent`, best rank first (unranked last).

    Ranks (and their 5–95 % interval from the sensitivity analysis) are among all counties the
    index was computed for that day (the province), not only those under `parent`.
    """
    ensure_in_jurisdiction(session, principal, parent)
    ancestor = session.get(Region, parent)
    if ancestor is None:
        raise Problem(404, f"no region with code {parent}")
    rows = session.execute(
        select(IndexValue, Region.name_zh, Region.name_en)
        .join(Region, Region.code == IndexValue.region_code)
        .where(
            IndexValue.config_id == config,
            IndexValue.day == day,
            Region.path.startswith(ancestor.path, autoescape=True),
        )
    ).all()
    items = [
        {
            "region": value.region_code,
            "name_zh": name_zh,
            "name_en": name_en,
            "config": value.config_id,
            "config_version": value.config_version,
            "total": value.total,
            "containment": value.containment,
            "flow": value.flow,
            "rank": value.rank,
            "rank_p5": value.rank_p5,
            "rank_p95": value.rank_p95,
            "contributions": dict(value.contributions),
        }
        for value, name_zh, name_en in rows
    ]
    items.sort(key=lambda item: (item["rank"] is None, item["rank"] or 0, item["region"]))
    return items


@router.get("/dates", summary="Dates with stored index values")
def dates(
    session: Annotated[Session, Depends(db_session)],
    _: Annotated[Principal, Depends(allow("index.read"))],
    config: Annotated[str, Query(pattern=CONFIG)] = "zhikong-2020",
) -> list[str]:
    """Sorted dates for which the configuration's index was stored."""
    days = session.scalars(
        select(IndexValue.day)
        .where(IndexValue.config_id == config)
        .distinct()
        .order_by(IndexValue.day)
    )
    return [day.isoformat() for day in days]
