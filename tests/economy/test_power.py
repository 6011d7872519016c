"""The power index: published figures, the engine against the reference, validation, flags."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.economy.conftest import KNOWN, as_table, write_readings

from zhikong.economy import power_engine
from zhikong.economy.geography import counties, known_codes
from zhikong.economy.power import (
    ConfigError,
    FlagKind,
    HourlyReading,
    InvalidInputError,
    PowerIndexConfig,
    PowerIndexResult,
    Reading,
    RowProblem,
    compute_reference,
    display,
    index_value,
    load_config,
    parse_config,
    rates,
    region_chain,
    with_overrides,
)

BASELINE_START = date(2019, 10, 1)


def day(offset: int) -> date:
    return BASELINE_START + timedelta(days=offset)


# --- the published figures (economy.md §1) ---------------------------------------------------


def test_reproduces_10_february_2020_from_the_published_counts(config: PowerIndexConfig) -> None:
    # 64,590 of 333,427 customers resumed; 40,541.65 of 128,807.02 万kWh (2019 Q4 daily mean).
    work, output = rates(333_427, 64_590, 40_541.65, 128_807.02)
    assert display(work * 100) == "19.37"
    assert display(output * 100) == "31.47"
    value = index_value(work, output, config)
    assert display(value) == "25.42"
    assert value == pytest.approx(25.4231, abs=5e-5)  # unrounded, as computed


@pytest.mark.parametrize(
    ("work", "output", "published"),
    [(0.5760, 0.4528, "51.44"), (0.6015, 0.4727, "53.71")],
)
def test_reproduces_19_and_20_february_2020_from_the_published_rates(
    config: PowerIndexConfig, work: float, output: float, published: str
) -> None:
    assert display(index_value(work, output, config)) == published


def test_display_rounds_half_up_not_to_even() -> None:
    # the derived 18 Feb value 40.795 was published as 40.80
    assert display(40.795) == "40.80"
    assert display(25.425) == "25.43"  # round() would give 25.42 here
    assert display(math.nan) == ""
    assert display(0.125, 2) == "0.13"


def test_config_is_versioned_with_its_sources_and_the_unverified_threshold(
    config: PowerIndexConfig,
) -> None:
    assert (config.id, config.version) == ("power-index.zhejiang-2020", 1)
    assert (config.baseline.start, config.baseline.end) == (date(2019, 10, 1), date(2019, 12, 31))
    assert config.threshold == 0.30
    assert (config.weights.work_rate, config.weights.output_rate) == (0.5, 0.5)
    assert any("never published" in note for note in config.notes)
    assert config.title_zh and config.title_en and len(config.sources) >= 3


def test_overrides_are_recorded_and_checked(config: PowerIndexConfig) -> None:
    changed = with_overrides(config, threshold=0.25, baseline_from=date(2019, 12, 1))
    assert changed.threshold == 0.25 and changed.baseline.start == date(2019, 12, 1)
    assert changed.overrides == ("baseline.from=2019-12-01", "threshold=0.25")
    assert "threshold=0.25" in changed.label()
    with pytest.raises(ConfigError, match="before"):
        with_overrides(config, baseline_from=date(2020, 1, 5))
    with pytest.raises(ConfigError, match="within the data dates"):
        with_overrides(config, baseline_from=date(2018, 1, 1))


def test_bad_configurations_are_refused_with_one_line(config: PowerIndexConfig) -> None:
    text = config.model_dump_json(by_alias=True)
    with pytest.raises(ConfigError, match="sum to 1"):
        parse_config(text.replace('"output_rate":0.5', '"output_rate":0.6'), "x.yaml")
    with pytest.raises(ConfigError, match=r"x\.yaml"):
        parse_config("[1, 2]", "x.yaml")
    with pytest.raises(ConfigError, match="unknown power-index configuration"):
        load_config("nope")


def test_region_chain_follows_the_pack_tree() -> None:
    assert region_chain("330102") == ("330102", "330100", "330000")
    assert region_chain("330100") == ("330100", "330000")
    assert region_chain("330000") == ("330000",)
    codes = known_codes()
    for county in counties():
        chain = region_chain(county.code)
        assert chain[1] == county.parent_code and set(chain) <= codes


# --- the engine against the reference --------------------------------------------------------


def small_readings() -> list[Reading]:
    """Three customers over the reference window, baseline window and some report days."""
    readings = []
    profiles = {
        "A": ("330102", "C", lambda d: 100.0 if d < 153 else 50.0),  # resumed at half load
        "B": ("330106", "36", lambda d: 40.0 if d < 153 else 10.0),  # 10 < 0.3 × 40
        "C": ("330203", "I", lambda d: 20.0 if d < 153 else 30.0),  # above its baseline
    }
    for customer, (region, industry, kwh) in profiles.items():
        for offset in range(-30, 160):
            readings.append(
                Reading(customer, region, industry, day(offset).isoformat(), kwh(offset))
            )
    return readings


def test_small_hand_checked_example(config: PowerIndexConfig) -> None:
    result = power_engine.compute(as_table(small_readings()), config, known_regions=KNOWN)
    feb = day(155)
    province = result.row("330000", feb)
    assert (province.customers, province.resumed) == (3, 2)
    assert province.work_rate == pytest.approx(2 / 3)
    assert province.output_rate == pytest.approx((50 + 30) / (100 + 40 + 20))
    assert province.index == pytest.approx(100 * (0.5 * 2 / 3 + 0.5 * 80 / 160))
    hangzhou = result.row("330100", feb)
    assert (hangzhou.customers, hangzhou.resumed) == (2, 1)
    assert result.row("330106", feb).resumed == 0
    assert result.row("330200", feb).output_rate == pytest.approx(1.5)
    by_industry = power_engine.compute(
        as_table(small_readings()), config, known_regions=KNOWN, by="industry"
    )
    assert {row.key for row in by_industry.rows} == {"C", "I"}  # division 36 is section C
    assert by_industry.row("C", feb).customers == 2


def rows_of(result: PowerIndexResult) -> list[tuple[object, ...]]:
    return [(r.key, r.date, r.customers, r.resumed) for r in result.rows]


def assert_same(engine: PowerIndexResult, reference: PowerIndexResult) -> None:
    assert rows_of(engine) == rows_of(reference)
    for a, b in zip(engine.rows, reference.rows, strict=True):
        for name in ("resumed_kwh", "baseline_kwh", "work_rate", "output_rate", "index"):
            x, y = getattr(a, name), getattr(b, name)
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9)
    assert engine.flags == reference.flags
    assert (engine.customers, engine.with_baseline, engine.excluded) == (
        reference.customers,
        reference.with_baseline,
        reference.excluded,
    )


customer_strategy = st.tuples(
    st.sampled_from(["330102", "330106", "330203", "330900"]),
    st.sampled_from(["C", "36", "F", "I"]),
    st.integers(min_value=0, max_value=200),  # baseline level
    st.integers(min_value=0, max_value=200),  # report level
    st.floats(min_value=0, max_value=1),  # share of days present
    st.integers(min_value=0, max_value=4),  # reference level multiplier
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(customer_strategy, min_size=1, max_size=6),
    st.sampled_from([0.3, 0.5, 0.9]),
    st.randoms(use_true_random=False),
    st.sampled_from(["region", "industry"]),
)
def test_engine_equals_reference(
    customers: list[tuple[str, str, int, int, float, int]],
    threshold: float,
    random: object,
    by: str,
) -> None:
    config = with_overrides(load_config(), threshold=threshold)
    config = config.model_copy(
        update={"baseline": config.baseline.model_copy(update={"min_days": 20})}
    )
    readings = []
    for number, (region, industry, base, report, present, reference) in enumerate(customers):
        for offset in range(-30, 170, 3):
            if random.random() > present:  # type: ignore[attr-defined]
                continue
            if offset < 0:
                kwh = base * reference
            elif offset <= 91:
                kwh = base + random.randint(0, 20)  # type: ignore[attr-defined]
            else:
                kwh = report + random.randint(0, 20)  # type: ignore[attr-defined]
            readings.append(Reading(f"K{number}", region, industry, day(offset).isoformat(), kwh))
    random.shuffle(readings)  # type: ignore[attr-defined]
    if not readings:
        return
    grouping = "region" if by == "region" else "industry"
    reference_result = compute_reference(readings, config, known_regions=KNOWN, by=grouping)
    engine_result = power_engine.compute(
        as_table(readings), config, known_regions=KNOWN, by=grouping
    )
    assert_same(engine_result, reference_result)


# --- validation: all or nothing, per-row errors ----------------------------------------------


def bad_readings() -> list[Reading]:
    good = small_readings()[:3]
    return [
        *good,  # rows 1-3 fine
        Reading("A", "330102", "C", day(-30).isoformat(), 5),  # 4 duplicate of row 1
        Reading("A", "330106", "C", day(40).isoformat(), 5),  # 5 region differs
        Reading("A", "330102", "F", day(41).isoformat(), 5),  # 6 industry differs
        Reading("D", "990101", "C", day(1).isoformat(), 5),  # 7 unknown region
        Reading("D", "990101", "Z9", day(2).isoformat(), 5),  # 8 unknown industry
        Reading("E", "330102", "C", "2019-13-01", 5),  # 9 not a date
        Reading("E", "330102", "C", "2018-01-01", 5),  # 10 outside the data dates
        Reading("E", "330102", "C", day(3).isoformat(), None),  # 11 missing kWh
        Reading("E", "330102", "C", day(4).isoformat(), "lots"),  # 12 not a number
        Reading("E", "330102", "C", day(5).isoformat(), -1.5),  # 13 negative
        Reading("", "330102", "C", day(6).isoformat(), 1),  # 14 no customer
        Reading("E", "330102", "C", day(7).isoformat(), "inf"),  # 15 not finite
    ]


EXPECTED_ERRORS = {
    (4, RowProblem.DUPLICATE),
    (5, RowProblem.INCONSISTENT_REGION),
    (6, RowProblem.INCONSISTENT_INDUSTRY),
    (7, RowProblem.UNKNOWN_REGION),
    (8, RowProblem.UNKNOWN_REGION),
    (8, RowProblem.UNKNOWN_INDUSTRY),
    (8, RowProblem.INCONSISTENT_INDUSTRY),
    (9, RowProblem.BAD_DATE),
    (10, RowProblem.DATE_OUT_OF_RANGE),
    (11, RowProblem.MISSING_KWH),
    (12, RowProblem.BAD_KWH),
    (13, RowProblem.NEGATIVE_KWH),
    (14, RowProblem.MISSING_CUSTOMER),
    (15, RowProblem.BAD_KWH),
}


def test_reference_names_every_bad_row(config: PowerIndexConfig) -> None:
    with pytest.raises(InvalidInputError) as caught:
        compute_reference(bad_readings(), config, known_regions=KNOWN)
    assert {(e.row, e.problem) for e in caught.value.errors} == EXPECTED_ERRORS
    assert caught.value.total == len(EXPECTED_ERRORS)


@pytest.mark.parametrize("suffix", [".csv", ".ndjson", ".parquet", "arrow"])
def test_engine_names_every_bad_row_with_its_record_number(
    config: PowerIndexConfig, tmp_path: Path, suffix: str
) -> None:
    source = (
        as_table(bad_readings())
        if suffix == "arrow"
        else write_readings(tmp_path / f"in{suffix}", bad_readings())
    )
    with pytest.raises(InvalidInputError) as caught:
        power_engine.compute(source, config, known_regions=KNOWN)
    assert {(e.row, e.problem) for e in caught.value.errors} == EXPECTED_ERRORS
    assert caught.value.total == len(EXPECTED_ERRORS)
    duplicate = next(e for e in caught.value.errors if e.problem is RowProblem.DUPLICATE)
    assert "on row 1" in duplicate.message and duplicate.field == "date"


def test_error_list_is_capped_but_the_total_is_exact(config: PowerIndexConfig) -> None:
    readings = [Reading("A", "330102", "C", day(i).isoformat(), -1) for i in range(50)]
    with pytest.raises(InvalidInputError) as caught:
        power_engine.compute(as_table(readings), config, known_regions=KNOWN, max_errors=10)
    assert len(caught.value.errors) == 10 and caught.value.total == 50


def test_unreadable_sources_are_source_errors(config: PowerIndexConfig, tmp_path: Path) -> None:
    with pytest.raises(power_engine.SourceError, match="no such file"):
        power_engine.compute(tmp_path / "missing.csv", config, known_regions=KNOWN)
    with pytest.raises(power_engine.SourceError, match="unknown input format"):
        power_engine.compute(tmp_path / "x.xlsx", config, known_regions=KNOWN)
    partial = tmp_path / "partial.csv"
    partial.write_text("customer_id,date,kwh\nA,2019-10-01,1\n", encoding="utf-8")
    with pytest.raises(power_engine.SourceError, match="region, industry"):
        power_engine.compute(partial, config, known_regions=KNOWN)


# --- anti-gaming flags -----------------------------------------------------------------------


def hourly_day(customer: str, when: date, shape: list[float]) -> list[HourlyReading]:
    return [
        HourlyReading(customer, when.isoformat(), hour, value) for hour, value in enumerate(shape)
    ]


DAY_SHIFT = [2.0] * 8 + [10.0] * 10 + [2.0] * 6  # a factory working days: CV ≈ 0.6
FLAT = [5.0] * 24


def test_flat_load_after_the_window_is_flagged_and_excluded(config: PowerIndexConfig) -> None:
    readings = small_readings()
    hourly: list[HourlyReading] = []
    for offset in range(10, 20):  # baseline window: A works day shifts, C runs flat all year
        hourly += hourly_day("A", day(offset), DAY_SHIFT)
        hourly += hourly_day("C", day(offset), FLAT)
    for offset in range(153, 160):  # after the window both are flat
        hourly += hourly_day("A", day(offset), FLAT)
        hourly += hourly_day("C", day(offset), FLAT)
    hourly += hourly_day("B", day(155), FLAT)[:23]  # an incomplete day is not judged
    for engine in (True, False):
        result = (
            power_engine.compute(
                as_table(readings), config, known_regions=KNOWN, hourly=as_table(hourly)
            )
            if engine
            else compute_reference(readings, config, known_regions=KNOWN, hourly=hourly)
        )
        assert [(f.customer_id, f.kind) for f in result.flags] == [("A", FlagKind.FLAT_LOAD)]
        assert "7 day(s)" in result.flags[0].detail
        province = result.row("330000", day(155))
        assert (province.customers, province.resumed) == (2, 1)  # A left out, not counted
        assert result.excluded == 1
    cleared = power_engine.compute(
        as_table(readings), config, known_regions=KNOWN, hourly=as_table(hourly), cleared={"A"}
    )
    assert cleared.flags[0].cleared and cleared.row("330000", day(155)).customers == 3


def test_abrupt_baseline_is_flagged(config: PowerIndexConfig) -> None:
    readings = [
        r
        for r in small_readings()
        if not (r.customer_id == "B" and day(-30) <= date.fromisoformat(str(r.date)) < day(0))
    ]
    # B's month before the window was four times its window: a meter change or a new line
    readings += [Reading("B", "330106", "36", day(o).isoformat(), 160.0) for o in range(-30, 0)]
    for result in (
        power_engine.compute(as_table(readings), config, known_regions=KNOWN),
        compute_reference(readings, config, known_regions=KNOWN),
    ):
        assert [(f.customer_id, f.kind) for f in result.flags] == [("B", FlagKind.BASELINE_SHIFT)]
        assert "factor 4" in result.flags[0].detail
        assert result.row("330000", day(155)).customers == 2


def test_bad_hourly_rows_are_refused_too(config: PowerIndexConfig) -> None:
    hourly = [
        HourlyReading("A", day(10).isoformat(), 0, 1.0),
        HourlyReading("A", day(10).isoformat(), 0, 2.0),  # duplicate hour
        HourlyReading("A", day(10).isoformat(), 24, 1.0),  # no such hour
        HourlyReading("Q", day(10).isoformat(), 1, 1.0),  # unknown customer
        HourlyReading("A", day(10).isoformat(), 2, -1.0),  # negative
    ]
    expected = {
        (2, RowProblem.DUPLICATE),
        (3, RowProblem.BAD_HOUR),
        (4, RowProblem.UNKNOWN_CUSTOMER),
        (5, RowProblem.NEGATIVE_KWH),
    }
    with pytest.raises(InvalidInputError) as engine_error:
        power_engine.compute(
            as_table(small_readings()), config, known_regions=KNOWN, hourly=as_table(hourly)
        )
    with pytest.raises(InvalidInputError) as reference_error:
        compute_reference(small_readings(), config, known_regions=KNOWN, hourly=hourly)
    for caught in (engine_error, reference_error):
        assert {(e.row, e.problem) for e in caught.value.errors} == expected
        assert {e.source for e in caught.value.errors} == {"hourly"}


@pytest.mark.parametrize("kind", ["arrow", ".parquet", ".csv"])
def test_record_numbers_follow_the_input_order_in_large_inputs(
    config: PowerIndexConfig, tmp_path: Path, kind: str
) -> None:
    # large enough for parallel scans: a record number must still be the row's place in the file
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rows = 300_000
    days = np.array([day(i) for i in range(150)], dtype="datetime64[D]")
    kwh = np.ones(rows)
    bad = [17, 123_457, rows - 1]
    kwh[bad] = -1.0
    table = pa.table(
        {
            "customer_id": pa.array((np.arange(rows) // 150).astype(str)),
            "region": pa.array(np.full(rows, "330102")),
            "industry": pa.array(np.full(rows, "C")),
            "date": pa.array(np.tile(days, rows // 150), type=pa.date32()),
            "kwh": pa.array(kwh),
        }
    )
    source: Path | pa.Table = table
    if kind == ".parquet":
        source = tmp_path / "big.parquet"
        pq.write_table(table, source, row_group_size=50_000)
    elif kind == ".csv":
        source = tmp_path / "big.csv"
        pcsv.write_csv(table, source)
    with pytest.raises(InvalidInputError) as caught:
        power_engine.compute(source, config, known_regions=KNOWN)
    assert [(e.row, e.problem) for e in caught.value.errors] == [
        (b + 1, RowProblem.NEGATIVE_KWH) for b in bad
    ]
