"""`zhikong demo` on both backends: schema, regions, synthetic residents, safety."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import Engine, select

from zhikong.clock import FixedClock
from zhikong.demo.population import apportion
from zhikong.demo.service import NotADemoDatabaseError, build_demo, ensure_demo_or_empty
from zhikong.keys import FileKeyStore
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.residents.service import bulk_insert_residents, population_summary
from zhikong.store import migrate
from zhikong.store.engine import make_sessionmaker
from zhikong.store.meta import get_meta


def test_demo_builds_regions_and_a_proportional_population(
    empty_engine: Engine, clock: FixedClock, keys: FileKeyStore
) -> None:
    report = build_demo(empty_engine, people=3_000, seed=11, clock=clock, keys=keys)
    assert (report.regions, report.counties, report.residents) == (102, 90, 3_000)
    assert migrate.is_up_to_date(empty_engine)
    with make_sessionmaker(empty_engine)() as session:
        counties = session.scalars(
            select(Region).where(Region.level == "county").order_by(Region.code)
        ).all()
        expected = apportion(3_000, [c.population or 0 for c in counties])
        counts = Counter(session.scalars(select(Resident.county_code)).all())
        assert [counts.get(c.code, 0) for c in counties] == expected
        assert all(r.synthetic for r in session.scalars(select(Resident)).all())
        meta = get_meta(session, "demo")
        assert meta is not None
        assert meta["synthetic"] is True and meta["seed"] == 11 and meta["people"] == 3_000
        summary = population_summary(session, "330000", date(2020, 2, 20))
        assert summary.residents == 3_000 and summary.synthetic == 3_000
        assert summary.synthetic_notice and "Synthetic" in summary.synthetic_notice
        assert sum(g.count for g in summary.age_groups) == 3_000


def test_demo_rebuild_is_fresh_and_deterministic(
    empty_engine: Engine, clock: FixedClock, keys: FileKeyStore
) -> None:
    def people() -> list[tuple[str, str, date]]:
        with make_sessionmaker(empty_engine)() as session:
            rows = session.execute(
                select(Resident.county_code, Resident.sex, Resident.birth_date).order_by(
                    Resident.id
                )
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    build_demo(empty_engine, people=500, seed=3, clock=clock, keys=keys)
    first = people()
    build_demo(empty_engine, people=500, seed=3, clock=clock, keys=keys)
    assert people() == first


def test_demo_refuses_to_wipe_real_data(
    engine: Engine, clock: FixedClock, keys: FileKeyStore
) -> None:
    build_demo(engine, people=10, seed=1, clock=clock, keys=keys)
    ensure_demo_or_empty(engine)  # a demo database may be rebuilt
    with make_sessionmaker(engine)() as session, session.begin():
        from zhikong.store.meta import PlatformMeta

        session.delete(session.get(PlatformMeta, "demo"))
    with engine.begin() as connection:
        bulk_insert_residents(connection, [[("330102", "F", date(1980, 1, 1), False, clock.now())]])
    with pytest.raises(NotADemoDatabaseError):
        ensure_demo_or_empty(engine)
