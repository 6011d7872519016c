"""Resident service: population summaries and bulk loading."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.auth.pii import id_lookup, mask_name, mask_phone, seal, unseal
from zhikong.clock import Clock
from zhikong.keys import PII_HMAC, KeyStore
from zhikong.regions.models import Region
from zhikong.regions.service import get_region
from zhikong.residents.identity import (
    InvalidIdentityError,
    resident_id_birth_date,
    validate_identity,
)
from zhikong.residents.models import Resident
from zhikong.residents.schemas import (
    AgeGroupCount,
    PopulationSummary,
    ResidentCreate,
    ResidentPersonalData,
    ResidentRead,
)

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


# -- registered residents (personal data) ------------------------------------------------------


class DuplicateResidentError(ValueError):
    """A resident with the same identity document is already registered."""


def register_resident(
    session: Session,
    keys: KeyStore,
    clock: Clock,
    actor: str,
    data: ResidentCreate,
    today: date,
) -> Resident:
    """Store a resident with identity as a keyed hash and name/phone sealed; audited."""
    number = validate_identity(data.id_type, data.id_number, today)
    if data.id_type == "cn-resident" and resident_id_birth_date(number) != data.birth_date:
        raise InvalidIdentityError("birth_date does not match the resident ID")
    resident = Resident(
        county_code=data.county_code,
        sex=data.sex,
        birth_date=data.birth_date,
        synthetic=False,
        created_at=clock.now(),
    )
    session.add(resident)
    attach_identity(
        session,
        keys,
        clock,
        actor,
        resident,
        id_type=data.id_type,
        id_number=number,
        name=data.name,
        phone=data.phone,
    )
    return resident


def attach_identity(
    session: Session,
    keys: KeyStore,
    clock: Clock,
    actor: str,
    resident: Resident,
    *,
    id_type: str,
    id_number: str,
    name: str,
    phone: str,
) -> None:
    """Give a resident its identity: keyed ID hash, masked and sealed name, sealed phone."""
    lookup = id_lookup(keys, id_type, id_number)
    if session.scalar(select(Resident.id).where(Resident.id_lookup == lookup)) is not None:
        raise DuplicateResidentError("a resident with this identity document is registered")
    resident.id_type = id_type
    resident.id_lookup = lookup
    resident.id_lookup_version = keys.current_version(PII_HMAC)
    resident.name_masked = mask_name(name)
    resident.name_sealed = seal(keys, name, "resident.name")
    resident.phone_sealed = seal(keys, phone, "resident.phone")
    resident.registered_by = actor
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="resident.identity.attach",
        subject=f"resident:{resident.id}",
        after={"county": resident.county_code, "id_type": id_type},
        request_id=current_request_id(),
    )


def find_by_identity(
    session: Session, keys: KeyStore, id_type: str, number: str
) -> Resident | None:
    """The resident registered with an identity document, if any."""
    lookup = id_lookup(keys, id_type, re.sub(r"\s+", "", number).upper())
    return session.scalar(select(Resident).where(Resident.id_lookup == lookup))


def masked_view(keys: KeyStore, resident: Resident) -> ResidentRead:
    """A resident with personal data masked."""
    phone = None
    if resident.phone_sealed:
        phone = mask_phone(unseal(keys, resident.phone_sealed, "resident.phone"))
    return ResidentRead(
        id=resident.id,
        county_code=resident.county_code,
        sex=resident.sex,
        birth_date=resident.birth_date,
        name=resident.name_masked,
        phone=phone,
        id_type=resident.id_type,
        synthetic=resident.synthetic,
    )


def reveal(
    session: Session, keys: KeyStore, clock: Clock, actor: str, resident: Resident
) -> ResidentPersonalData:
    """A resident's personal data in clear; the read itself is audited."""
    record(
        session,
        clock,
        actor=actor,
        action="resident.pii.read",
        subject=f"resident:{resident.id}",
        after={"fields": ["name", "phone"]},
        request_id=current_request_id(),
    )
    return ResidentPersonalData(
        id=resident.id,
        name=unseal(keys, resident.name_sealed, "resident.name") if resident.name_sealed else None,
        phone=(
            unseal(keys, resident.phone_sealed, "resident.phone") if resident.phone_sealed else None
        ),
        id_type=resident.id_type,
    )
