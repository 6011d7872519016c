"""Resident service: population summaries and bulk loading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import Session

from zhikong.map.models import Region
from zhikong.map.service import get_region
from zhikong.residents.models import AgeGroupCount, PopulationSummary, Resident

SYNTHETIC_NOTICE = "合成数据（演示用，非真实居民） · Synthetic data (demo only, not real residents)"

RESIDENT_COLUMNS = ("county_code", "sex", "birth_date", "synthetic", "created_at")
ResidentRow = tuple[str, str, date, bool, datetime]


def years_before(day: date, years: int) -> date:
    """The same calendar day a number of years earlier (29 Feb falls back to 28 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def population_summary(session: Session, region_code: str, today: date) -> PopulationSummary:
    """Residents of a region and its descendants, by sex and age group on a date."""
    region = get_region(session, region_code)
    born_15 = years_before(today, 15)
    born_65 = years_before(today, 65)
    query = (
        select(
            func.count(Resident.id),
            func.coalesce(func.sum(case((Resident.synthetic, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Resident.sex == "F", 1), else_=0)), 0),
            func.coalesce(func.sum(case((Resident.birth_date > born_15, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Resident.birth_date <= born_65, 1), else_=0)), 0),
        )
        .select_from(Resident)
        .join(Region, Region.code == Resident.county_code)
        .where(Region.path.startswith(region.path, autoescape=True))
    )
    total, synthetic, female, young, old = session.execute(query).one()
    total, synthetic, female, young, old = (int(v) for v in (total, synthetic, female, young, old))
    return PopulationSummary(
        region_code=region.code,
        as_of=today,
        residents=total,
        synthetic=synthetic,
        synthetic_notice=SYNTHETIC_NOTICE if synthetic else None,
        female=female,
        male=total - female,
        age_groups=[
            AgeGroupCount(group="0-14", count=young),
            AgeGroupCount(group="15-64", count=total - young - old),
            AgeGroupCount(group="65+", count=old),
        ],
        census_population=region.population,
    )


def bulk_insert_residents(
    connection: Connection,
    batches: Iterable[Sequence[ResidentRow]],
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert residents in batches on an open transaction (COPY on PostgreSQL)."""
    total = 0
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor:
            columns = ", ".join(RESIDENT_COLUMNS)
            with cursor.copy(f"COPY resident ({columns}) FROM STDIN") as copy:
                for batch in batches:
                    for row in batch:
                        copy.write_row(row)
                    total += len(batch)
                    if on_batch:
                        on_batch(len(batch))
        return total
    placeholders = ", ".join("?" for _ in RESIDENT_COLUMNS)
    statement = f"INSERT INTO resident ({', '.join(RESIDENT_COLUMNS)}) VALUES ({placeholders})"
    for batch in batches:
        connection.exec_driver_sql(
            statement,
            [
                (county, sex, born.isoformat(), int(synthetic), _sqlite_time(created))
                for county, sex, born, synthetic, created in batch
            ],
        )
        total += len(batch)
        if on_batch:
            on_batch(len(batch))
    return total


def _sqlite_time(instant: datetime) -> str:
    """The text form SQLAlchemy's SQLite dialect uses for a UTC timestamp."""
    return instant.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def count_residents(session: Session) -> int:
    """How many residents the database holds."""
    return int(session.scalar(select(func.count(Resident.id))) or 0)
