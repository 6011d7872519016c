"""Synthetic population: residents spread over counties by census population and age structure.

Pure and deterministic: the same counties, size and seed give the same people.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

OLDEST_AGE = 100


@dataclass(frozen=True)
class CountyProfile:
    """What the generator needs to know about one county."""

    code: str
    population: int
    sex_ratio: float  # males per 100 females
    age_bands: Mapping[str, float]  # census 5-year bands, shares summing to 1


@dataclass(frozen=True)
class SyntheticPerson:
    """One generated resident."""

    county_code: str
    sex: str
    birth_date: date


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split a total in proportion to weights, exactly (largest-remainder method)."""
    if total < 0:
        raise ValueError("total must not be negative")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must sum to a positive number")
    quotas = [total * w / weight_sum for w in weights]
    shares = [int(q) for q in quotas]
    remainders = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for index in remainders[: total - sum(shares)]:
        shares[index] += 1
    return shares


def band_range(band: str) -> tuple[int, int]:
    """The inclusive age range of a census band label such as '5-9', '0' or '85+'."""
    if band.endswith("+"):
        return int(band[:-1]), OLDEST_AGE
    if "-" in band:
        low, high = band.split("-", 1)
        return int(low), int(high)
    return int(band), int(band)


def generate(
    counties: Sequence[CountyProfile],
    people: int,
    seed: int,
    reference_day: date,
    batch_size: int = 50_000,
) -> Iterator[list[SyntheticPerson]]:
    """Yield the synthetic population in batches, county by county.

    Ages follow the census age structure on `reference_day` (the day the demo is built).
    """
    rng = np.random.default_rng(seed)
    sizes = apportion(people, [county.population for county in counties])
    batch: list[SyntheticPerson] = []
    for county, size in zip(counties, sizes, strict=True):
        if size == 0:
            continue
        male_share = county.sex_ratio / (100.0 + county.sex_ratio)
        males = rng.random(size) < male_share
        bands = list(county.age_bands)
        shares = np.array([county.age_bands[band] for band in bands], dtype=float)
        chosen = rng.choice(len(bands), size=size, p=shares / shares.sum())
        lows = np.array([band_range(band)[0] for band in bands])
        highs = np.array([band_range(band)[1] for band in bands])
        ages = lows[chosen] + np.floor(
            rng.random(size) * (highs[chosen] - lows[chosen] + 1)
        ).astype(np.int64)
        days_after_birthday = rng.integers(0, 365, size=size)
        for is_male, age, extra_days in zip(
            males.tolist(), ages.tolist(), days_after_birthday.tolist(), strict=True
        ):
            born = birth_date_for_age(reference_day, age, extra_days)
            batch.append(SyntheticPerson(county.code, "M" if is_male else "F", born))
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def birth_date_for_age(day: date, age: int, days_after_birthday: int) -> date:
    """A birth date such that the person is `age` on `day`, birthday that many days before it."""
    try:
        birthday = day.replace(year=day.year - age)
    except ValueError:  # 29 February in a year that has none
        birthday = day.replace(year=day.year - age, day=28)
    return birthday - timedelta(days=days_after_birthday)
