"""The synthetic customers: labelled, calibrated through a model, and the index follows 2020."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from zhikong.economy import power_engine, synthetic
from zhikong.economy.geography import counties, known_codes
from zhikong.economy.power import FlagKind, PowerIndexResult, load_config

CUSTOMERS = 6000


@pytest.fixture(scope="module")
def generated() -> tuple[synthetic.Customers, synthetic.Calibration, pa.Table]:
    return synthetic.generate(CUSTOMERS, seed=7, gaming=4, new_connections=3)


@pytest.fixture(scope="module")
def index(
    generated: tuple[synthetic.Customers, synthetic.Calibration, pa.Table],
) -> PowerIndexResult:
    customers, _, table = generated
    gaming = [str(c) for c in customers.ids[customers.gaming]]
    normal = [str(c) for c in customers.ids[~customers.gaming & ~customers.continuous][:3]]
    hourly = synthetic.hourly_load([*gaming, *normal], table, flat=gaming)
    return power_engine.compute(table, load_config(), known_regions=known_codes(), hourly=hourly)


def test_customers_cover_every_county_in_proportion_to_population(
    generated: tuple[synthetic.Customers, synthetic.Calibration, pa.Table],
) -> None:
    customers, _, table = generated
    assert len(customers) == CUSTOMERS and len(set(customers.ids.tolist())) == CUSTOMERS
    places = counties()
    assert set(customers.region.tolist()) == {c.code for c in places}
    population = np.array([c.population for c in places], dtype=float)
    counts = np.array([(customers.region == c.code).sum() for c in places])
    # one each, the rest by population share (largest remainder)
    expected = 1 + (CUSTOMERS - len(places)) * population / population.sum()
    assert np.all(np.abs(counts - expected) < 1)
    assert all(str(c).startswith("SYN") and len(str(c)) == 12 for c in customers.ids)
    assert table.schema.metadata[b"synthetic"] == b"true"
    days = (synthetic.END - synthetic.START).days + 1
    assert table.num_rows == CUSTOMERS * days


def test_same_seed_same_data(
    generated: tuple[synthetic.Customers, synthetic.Calibration, pa.Table],
) -> None:
    _, _, again = synthetic.generate(CUSTOMERS, seed=7, gaming=4, new_connections=3)
    assert again.equals(generated[2])


def test_the_index_follows_the_published_trajectory(index: PowerIndexResult) -> None:
    for when, published, tolerance in (
        (date(2020, 2, 10), 25.42, 2.5),
        (date(2020, 2, 19), 51.44, 2.5),
        (date(2020, 2, 20), 53.71, 3.0),
    ):
        assert index.row("330000", when).index == pytest.approx(published, abs=tolerance)
    # before the holiday the enterprises work as usual; during it almost all are shut
    assert index.row("330000", date(2020, 1, 9)).index > 90
    assert index.row("330000", date(2020, 1, 28)).index < 20


def test_wenzhou_lowest_and_zhoushan_highest_on_10_february(index: PowerIndexResult) -> None:
    cities = {
        row.key: row.index
        for row in index.rows
        if row.date == date(2020, 2, 10) and row.key.endswith("00") and row.key != "330000"
    }
    assert len(cities) == 11
    assert min(cities, key=cities.__getitem__) == "330300"  # Wenzhou
    assert max(cities, key=cities.__getitem__) == "330900"  # Zhoushan


def test_calibration_fits_targets_not_index_values(
    generated: tuple[synthetic.Customers, synthetic.Calibration, pa.Table],
) -> None:
    _, calibration, _ = generated
    assert calibration.fit_city_index["330300"] == pytest.approx(12.10, abs=0.5)
    assert calibration.fit_city_index["330900"] == pytest.approx(63.54, abs=1.0)
    assert calibration.expected_province[date(2020, 2, 19)] == pytest.approx(51.44, abs=0.1)
    assert 1 < calibration.steepness < 30
    curve = calibration.curve("330300", np.arange(150, 220, dtype=float))
    assert np.all(np.diff(curve) > 0) and curve[-1] <= synthetic.W_MAX


def test_gaming_customers_trip_the_flags_and_are_left_out(
    generated: tuple[synthetic.Customers, synthetic.Calibration, pa.Table],
    index: PowerIndexResult,
) -> None:
    customers, _, _ = generated
    flat = {f.customer_id for f in index.flags if f.kind is FlagKind.FLAT_LOAD}
    assert flat == {str(c) for c in customers.ids[customers.gaming]}
    shifted = {f.customer_id for f in index.flags if f.kind is FlagKind.BASELINE_SHIFT}
    assert shifted == {str(c) for c in customers.ids[customers.connected > 0]}
    assert index.excluded == len(flat | shifted)
    assert index.with_baseline + index.excluded == CUSTOMERS
