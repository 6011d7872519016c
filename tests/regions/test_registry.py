"""The region registry on both backends: packs, tree, queries."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select

from zhikong.clock import FixedClock
from zhikong.regions import service
from zhikong.regions.models import Region, RegionGeometry
from zhikong.regions.packs import UnknownPackError, read_pack
from zhikong.store.engine import make_sessionmaker, transaction

CENSUS_TOTAL = 64_567_588


def _load(engine: Engine, clock: FixedClock, *packs: str) -> None:
    with transaction(make_sessionmaker(engine)) as session:
        for name in packs:
            service.install_pack(session, read_pack(name), clock.now())


def test_zhejiang_pack_installs_the_census_geography(engine: Engine, clock: FixedClock) -> None:
    _load(engine, clock, "zhejiang")
    with make_sessionmaker(engine)() as session:
        counties, total = service.list_regions(session, level="county", limit=1000)
        assert total == 90
        assert sum(c.population or 0 for c in counties) == CENSUS_TOTAL
        assert service.get_region(session, "330000").population == CENSUS_TOTAL
        cities = service.children(session, "330000")
        assert len(cities) == 11
        for city in cities:
            kids = service.children(session, city.code)
            assert kids and all(k.level == "county" for k in kids)
            assert sum(k.population or 0 for k in kids) == city.population
        longwan = service.get_region(session, "330303")
        assert longwan.extra["dev_zone_folded"]["code"] == "330371"
        assert longwan.path == "/330000/330300/330303/"
        assert session.scalar(select(func.count()).select_from(RegionGeometry)) == 102


def test_installing_twice_changes_nothing(engine: Engine, clock: FixedClock) -> None:
    _load(engine, clock, "zhejiang")
    factory = make_sessionmaker(engine)
    with factory() as session:
        before = [
            (r.code, r.path, r.population, json.dumps(r.extra, sort_keys=True))
            for r in session.scalars(select(Region).order_by(Region.code))
        ]
    with transaction(factory) as session:
        report = service.install_pack(session, read_pack("zhejiang"), clock.now())
    assert (report.inserted, report.updated) == (0, 102)
    with factory() as session:
        after = [
            (r.code, r.path, r.population, json.dumps(r.extra, sort_keys=True))
            for r in session.scalars(select(Region).order_by(Region.code))
        ]
    assert after == before


def test_queries_filter_and_walk_the_tree(engine: Engine, clock: FixedClock) -> None:
    _load(engine, clock, "zhejiang")
    with make_sessionmaker(engine)() as session:
        rows, total = service.list_regions(session, within="330100", level="county")
        assert total == 13 and all(r.parent_code == "330100" for r in rows)
        rows, _ = service.list_regions(session, name="lishui")
        assert {r.code for r in rows} == {"331100"}
        rows, _ = service.list_regions(session, name="li shui")
        assert {r.code for r in rows} == {"331100"}
        rows, _ = service.list_regions(session, name="杭州")
        assert [r.code for r in rows] == ["330100"]
        rows, total = service.list_regions(session, level="county", limit=5, offset=88)
        assert total == 90 and len(rows) == 2
        assert service.is_within(session, "330102", "330000")
        assert service.is_within(session, "330102", "330102")
        assert not service.is_within(session, "330102", "330200")
        collection = service.feature_collection(session, "330200")
        assert len(collection["features"]) == 10
        assert all(
            f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in collection["features"]
        )
        with pytest.raises(service.RegionNotFoundError):
            service.get_region(session, "339999")


def test_us_pack_loads_beside_zhejiang(engine: Engine, clock: FixedClock) -> None:
    _load(engine, clock, "zhejiang", "us-counties")
    with make_sessionmaker(engine)() as session:
        la = service.get_region(session, "US-06037")
        assert la.level == "county" and la.parent_code == "US-06" and la.extra["fips"] == "06037"
        assert la.path == "/US/US-06/US-06037/"
        _, counties = service.list_regions(session, level="county", pack="us-counties")
        assert counties > 3000
        _, zj = service.list_regions(session, level="county", pack="zhejiang")
        assert zj == 90
        assert set(service.installed_packs(session)) == {"zhejiang", "us-counties"}


def test_unknown_pack() -> None:
    with pytest.raises(UnknownPackError, match="known packs"):
        read_pack("atlantis")
