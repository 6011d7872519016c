"""The synthetic population generator (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from zhikong.demo.population import (
    CountyProfile,
    apportion,
    band_range,
    birth_date_for_age,
    generate,
)
from zhikong.regions.packs import read_pack

DAY = date(2026, 3, 1)


@given(
    total=st.integers(min_value=0, max_value=10_000_000),
    weights=st.lists(
        st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=120
    ).filter(lambda ws: sum(ws) > 0),
)
def test_apportion_is_exact_and_fair(total: int, weights: list[int]) -> None:
    shares = apportion(total, weights)
    assert sum(shares) == total
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / weight_sum) < 1
        if weight == 0:
            assert share == 0


@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    age=st.integers(min_value=0, max_value=100),
    after=st.integers(min_value=0, max_value=364),
)
def test_birth_date_gives_the_age(day: date, age: int, after: int) -> None:
    born = birth_date_for_age(day, age, after)
    had_birthday = (day.month, day.day) >= (born.month, born.day)
    assert day.year - born.year - (0 if had_birthday else 1) == age


def test_band_ranges() -> None:
    assert band_range("0") == (0, 0)
    assert band_range("1-4") == (1, 4)
    assert band_range("85+") == (85, 100)


def _zhejiang_counties() -> list[CountyProfile]:
    pack = read_pack("zhejiang")
    return [
        CountyProfile(r.code, r.population or 0, r.extra["sex_ratio"], r.extra["age_bands"])
        for r in pack.regions
        if r.level == "county"
    ]


def test_same_seed_same_people_other_seed_other_people() -> None:
    counties = _zhejiang_counties()
    first = [p for batch in generate(counties, 2000, 7, DAY) for p in batch]
    again = [p for batch in generate(counties, 2000, 7, DAY) for p in batch]
    other = [p for batch in generate(counties, 2000, 8, DAY) for p in batch]
    assert first == again
    assert first != other


def test_population_follows_census_counts_sex_and_ages() -> None:
    counties = _zhejiang_counties()
    people = [
        p for batch in generate(counties, 200_000, 2020, DAY, batch_size=7_000) for p in batch
    ]
    assert len(people) == 200_000
    per_county = Counter(p.county_code for p in people)
    expected = dict(
        zip(
            [c.code for c in counties],
            apportion(200_000, [c.population for c in counties]),
            strict=True,
        )
    )
    assert per_county == {code: n for code, n in expected.items() if n}

    total_pop = sum(c.population for c in counties)
    expected_males = (
        sum(c.population * c.sex_ratio / (100 + c.sex_ratio) for c in counties) / total_pop
    )
    males = sum(p.sex == "M" for p in people) / len(people)
    assert abs(males - expected_males) < 0.005  # ~4.5 standard errors at n = 200,000

    ages = [
        DAY.year
        - p.birth_date.year
        - ((DAY.month, DAY.day) < (p.birth_date.month, p.birth_date.day))
        for p in people
    ]
    old_share = sum(age >= 65 for age in ages) / len(ages)
    expected_old = (
        sum(
            c.population * sum(v for k, v in c.age_bands.items() if band_range(k)[0] >= 65)
            for c in counties
        )
        / total_pop
    )
    assert abs(old_share - expected_old) < 0.005
    assert min(ages) >= 0 and max(ages) <= 100
