"""Colour statistics: the rolled-up per-county aggregate equals a direct count per region."""

from __future__ import annotations

from sqlalchemy import select

from zhikong.code.statistics import colour_counts
from zhikong.regions.models import Region
from zhikong.store.engine import make_sessionmaker

from ..conftest import Installation


def test_statistics_equal_direct_counts(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    body = installation.client.get(
        "/api/v1/code/statistics", params={"region": "330000"}, headers=as_user("zj.commander")
    ).json()
    assert len(body) == 12  # the province and its 11 cities
    with make_sessionmaker(installation.engine)() as session:
        paths = dict(session.execute(select(Region.code, Region.path)).all())
        for item in body:
            assert item["counts"] == colour_counts(session, paths[item["region_code"]])
            assert item["total"] == sum(item["counts"].values())
    assert body[0]["total"] == 1_000  # every demo resident has a code
    assert sum(c["counts"].get("red", 0) for c in body[1:]) == body[0]["counts"].get("red", 0)
