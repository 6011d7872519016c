"""Demo replay of the five-colour map and the index ranking API (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from tests.conftest import Installation

from zhikong.regions.models import Region
from zhikong.riskmap.demo import OFFICIAL_PROFILE, REPLAY_DAYS, official_rows
from zhikong.riskmap.models import IndicatorValue, RiskAssessment

TODAY = date(2020, 2, 20)  # the test clock's local date
LEVELS = ("red", "orange", "yellow", "blue", "green")
DAYS = [TODAY - timedelta(days=back) for back in range(REPLAY_DAYS - 1, -1, -1)]


def test_official_rows_are_the_published_charts() -> None:
    rows = official_rows()
    assert len(rows) == 386
    first = [row for row in rows if row["day"] == date(2020, 2, 9)]
    tally = {level: sum(1 for row in first if row["level"] == level) for level in LEVELS}
    assert tally == {"red": 1, "orange": 12, "yellow": 12, "blue": 53, "green": 12}
    assert all(row["reasons"][0]["zh"].startswith("浙江省官方发布") for row in rows)


def test_replay_levels_and_official_dates(installation: Installation) -> None:
    client = installation.client
    headers = installation.sign_in("zj.commander")
    with installation.engine.connect() as connection:
        county_levels = connection.execute(
            select(RiskAssessment.day, func.count())
            .join(Region, Region.code == RiskAssessment.region_code)
            .where(
                RiskAssessment.profile_id == "zhejiang-2020",
                Region.level == "county",
                RiskAssessment.level.is_not(None),
            )
            .group_by(RiskAssessment.day)
        ).all()
        cases = connection.scalar(
            select(func.count()).where(
                IndicatorValue.indicator == "cumulative_cases",
                IndicatorValue.day == TODAY,
                IndicatorValue.value > 0,
            )
        )
        synthetic = connection.scalar(
            select(func.count()).where(IndicatorValue.source == "synthetic")
        )
    assert dict(county_levels) == dict.fromkeys(DAYS, 90)
    assert cases is not None and cases >= 3  # synthetic cases in several counties
    assert synthetic
    replayed = client.get(
        "/api/v1/map/dates", headers=headers, params={"profile": "zhejiang-2020"}
    ).json()
    assert replayed == [day.isoformat() for day in DAYS]
    official = client.get(
        "/api/v1/map/dates", headers=headers, params={"profile": OFFICIAL_PROFILE}
    )
    assert official.status_code == 200, official.text
    assert official.json() == [
        "2020-02-09",
        "2020-02-12",
        "2020-02-15",
        "2020-02-18",
        "2020-02-24",
        "2020-02-27",
    ]
    counts = client.get(
        "/api/v1/map/counts",
        headers=headers,
        params={"date": "2020-02-09", "profile": OFFICIAL_PROFILE, "parent": "330000"},
    ).json()["counts"]
    assert counts == {"green": 12, "blue": 53, "yellow": 12, "orange": 12, "red": 1}
    levels = client.get(
        "/api/v1/map/levels",
        headers=headers,
        params={"date": DAYS[0].isoformat(), "parent": "330100"},
    ).json()["features"]
    assert levels and all(f["properties"]["level"] for f in levels)


def test_ranking_endpoint(installation: Installation) -> None:
    client = installation.client
    headers = installation.sign_in("zj.commander")
    dates = client.get("/api/v1/index/dates", headers=headers, params={"config": "zhikong-2020"})
    assert dates.status_code == 200, dates.text
    assert dates.json() == [day.isoformat() for day in DAYS]
    response = client.get(
        "/api/v1/index/ranking",
        headers=headers,
        params={"date": TODAY.isoformat(), "config": "zhikong-2020", "parent": "330000"},
    )
    assert response.status_code == 200, response.text
    ranking = response.json()
    assert len(ranking) == 90
    ranks = [item["rank"] for item in ranking]
    assert all(rank is not None for rank in ranks)
    assert ranks == sorted(ranks) and ranks[0] == 1
    for item in ranking:
        assert item["name_zh"] and item["name_en"]
        assert sum(item["contributions"].values()) == pytest.approx(item["total"], abs=1e-6)
        assert item["total"] == pytest.approx((item["containment"] + item["flow"]) / 2, abs=1e-6)
        assert 1 <= item["rank_p5"] <= item["rank"] <= item["rank_p95"] <= 90
        assert "new_cases_per_100k_7d" in item["contributions"]


def test_ranking_jurisdiction(installation: Installation) -> None:
    client = installation.client
    headers = installation.sign_in("hz.commander")
    own = client.get(
        "/api/v1/index/ranking",
        headers=headers,
        params={"date": TODAY.isoformat(), "parent": "330100"},
    )
    assert own.status_code == 200, own.text
    with installation.engine.connect() as connection:
        hangzhou = set(
            connection.scalars(
                select(Region.code).where(Region.level == "county", Region.parent_code == "330100")
            )
        )
    assert hangzhou and {item["region"] for item in own.json()} == hangzhou
    ningbo = client.get(
        "/api/v1/index/ranking",
        headers=headers,
        params={"date": TODAY.isoformat(), "parent": "330200"},
    )
    assert ningbo.status_code == 403, ningbo.text
    province = client.get(
        "/api/v1/index/ranking",
        headers=headers,
        params={"date": TODAY.isoformat(), "parent": "330000"},
    )
    assert province.status_code == 403, province.text
    unsigned = client.get("/api/v1/index/dates")
    assert unsigned.status_code == 401
