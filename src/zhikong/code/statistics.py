"""Code statistics for the cockpit: codes per colour in a region and per county."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhikong.code.models import (
    HealthCode,
)
from zhikong.regions.models import Region


def colour_counts(session: Session, region_path: str) -> dict[str, int]:
    """How many codes of each colour a region (and everything below it) has."""
    rows = session.execute(
        select(HealthCode.colour, func.count())
        .join(Region, Region.code == HealthCode.county_code)
        .where(Region.path.startswith(region_path, autoescape=True))
        .group_by(HealthCode.colour)
    ).all()
    return {str(colour): int(count) for colour, count in rows}


def colour_counts_by_county(session: Session, region_path: str) -> dict[str, dict[str, int]]:
    """Codes per colour for every county under a region, keyed by the county's path.

    One aggregate over the (county_code, colour) index, then joined to the ~100 region rows:
    the cockpit's statistics roll these up instead of joining every code to its region.
    """
    counts = session.execute(
        select(HealthCode.county_code, HealthCode.colour, func.count()).group_by(
            HealthCode.county_code, HealthCode.colour
        )
    ).all()
    paths = dict(
        session.execute(
            select(Region.code, Region.path).where(
                Region.path.startswith(region_path, autoescape=True)
            )
        ).all()
    )
    result: dict[str, dict[str, int]] = {}
    for county, colour, count in counts:
        path = paths.get(county)
        if path is not None:
            result.setdefault(path, {})[str(colour)] = int(count)
    return result
