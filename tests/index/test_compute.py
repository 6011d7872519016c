"""The index maths: normalisation, weights, aggregation, contributions, ranks, sensitivity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zhikong.index.compute import (
    RANK_DECIMALS,
    IndexModel,
    Panel,
    Scheme,
    compute_index,
    draw_scenarios,
    goalposts_scores,
    minmax_scores,
    normalise,
    ordinal_scores,
    percentile_ranks,
    rank_descending,
    sensitivity,
    sensitivity_reference,
    zscore_scores,
)
from zhikong.index.indicators import load_config

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
NORMALISATIONS = ("goalposts", "minmax", "zscore")
AGGREGATIONS = ("arithmetic", "geometric")


def panel_strategy(
    max_regions: int = 6, max_days: int = 3, missing: bool = True
) -> st.SearchStrategy[Panel]:
    """Panels of the 12 zhikong indicators with values in range (and some gaps)."""
    config = load_config("zhikong-2020")
    ids = config.indicator_ids

    @st.composite
    def build(draw: st.DrawFn) -> Panel:
        regions = draw(st.integers(1, max_regions))
        days = draw(st.integers(1, max_days))
        cell = st.floats(0, 100, allow_nan=False) | (st.just(np.nan) if missing else st.nothing())
        values = draw(arrays(np.float64, (regions, days, len(ids)), elements=cell))
        return Panel(
            regions=tuple(f"r{i}" for i in range(regions)),
            dates=tuple(date(2020, 2, 1) + timedelta(days=d) for d in range(days)),
            indicators=ids,
            values=values,
        )

    return build()


def scheme(model: IndexModel, normalisation: str, aggregation: str) -> Scheme:
    return replace(model.base_scheme(), normalisation=normalisation, aggregation=aggregation)  # type: ignore[arg-type]


# --- normalisation ------------------------------------------------------------------------


@FAST
@given(st.lists(finite, min_size=2, max_size=30), finite, finite)
def test_goalposts_are_bounded_and_monotone(values: list[float], worst: float, best: float) -> None:
    if worst == best:
        return
    x = np.sort(np.array(values))
    low, high = np.array([worst]), np.array([best])
    scores = goalposts_scores(x, low, high)
    assert np.all((scores >= 0) & (scores <= 100))
    steps = np.diff(scores)
    if best > worst:  # higher is better: never decreases as the raw value grows
        assert np.all(steps >= -1e-9)
    else:
        assert np.all(steps <= 1e-9)
    assert goalposts_scores(low, low, high)[0] == 0
    assert goalposts_scores(high, low, high)[0] == 100


@FAST
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 8), st.integers(1, 4), st.just(2)), elements=finite
    ),
    st.sampled_from(["panel", "day"]),
)
def test_minmax_is_bounded_and_monotone_per_direction(values: np.ndarray, scope: str) -> None:
    direction = np.array([True, False])
    scores = minmax_scores(values, direction, scope)
    assert np.all((scores >= 0) & (scores <= 100))
    for k, higher in enumerate(direction):
        x, s = values[..., k], scores[..., k]
        groups = [(x, s)] if scope == "panel" else [(x[:, t], s[:, t]) for t in range(x.shape[1])]
        for raw, score in groups:
            order = np.argsort(raw.ravel(), kind="stable")
            ordered = score.ravel()[order]
            steps = np.diff(ordered)
            assert np.all(steps >= -1e-9) if higher else np.all(steps <= 1e-9)


@FAST
@given(
    arrays(np.float64, st.tuples(st.integers(2, 8), st.integers(1, 3), st.just(2)), elements=finite)
)
def test_zscore_is_monotone_per_direction_and_centred(values: np.ndarray) -> None:
    direction = np.array([True, False])
    scores = zscore_scores(values, direction, "panel")
    for k, higher in enumerate(direction):
        order = np.argsort(values[..., k].ravel(), kind="stable")
        steps = np.diff(scores[..., k].ravel()[order])
        assert np.all(steps >= -1e-6) if higher else np.all(steps <= 1e-6)
        assert abs(scores[..., k].mean() - 50) < 1e-6


def test_missing_values_stay_missing_after_normalisation(
    zhikong_model: IndexModel, synthetic_panel: Callable[..., Panel]
) -> None:
    panel = synthetic_panel()
    values = panel.values.copy()
    values[0, 0, 3] = np.nan
    gappy = replace(panel, values=values)
    for method in NORMALISATIONS:
        scores = normalise(gappy, zhikong_model, method)  # type: ignore[arg-type]
        assert np.isnan(scores[0, 0, 3])
        assert np.isfinite(np.delete(scores.reshape(-1), 3)).all()


def test_ordinal_scores_follow_the_oxcgrt_worked_example() -> None:
    """OxCGRT index methodology v3.6, 'explicit example': sub-index scores and the indices."""
    config = load_config("oxcgrt-government-response")
    model = IndexModel.from_config(config)
    example = {  # indicator: (value, flag); C2 has no data
        "C1": (2, 1), "C2": (np.nan, np.nan), "C3": (2, 0), "C4": (2, 0), "C5": (0, np.nan),
        "C6": (1, 0), "C7": (1, 1), "C8": (3, np.nan), "E1": (2, 0), "E2": (2, np.nan),
        "H1": (2, 0), "H2": (3, np.nan), "H3": (2, np.nan), "H6": (2, 0), "H7": (2, 1),
        "H8": (2, 1),
    }  # fmt: skip
    values = np.array([[[example[i][0] for i in config.indicator_ids]]], dtype=np.float64)
    flags = np.array([[[example[i][1] for i in config.indicator_ids]]], dtype=np.float64)
    scores = ordinal_scores(values, flags, model.ordinal_max, model.flagged, 0.0)[0, 0]
    published = [66.67, np.nan, 75.00, 37.50, 0.00, 16.67, 50.00, 75.00, 75.00, 100.00,
                 75.00, 100.00, 100.00, 37.50, 40.00, 66.67]  # fmt: skip
    assert np.allclose(scores, published, atol=0.005, equal_nan=True)
    expected = {
        "oxcgrt-government-response": 57.18,
        "oxcgrt-containment-health": 52.86,
        "oxcgrt-stringency": 43.98,
        "oxcgrt-economic-support": 87.50,
    }
    for config_id, value in expected.items():
        config = load_config(config_id)
        columns = [list(example).index(i) for i in config.indicator_ids]
        panel = Panel(
            regions=("X",),
            dates=(date(2020, 10, 22),),
            indicators=config.indicator_ids,
            values=np.array([[[list(example.values())[c][0] for c in columns]]], dtype=float),
            flags=np.array([[[list(example.values())[c][1] for c in columns]]], dtype=float),
        )
        total = compute_index(panel, IndexModel.from_config(config)).total[0, 0]
        assert abs(float(total) - value) <= 0.01, config_id  # the example truncates (66.66)


def test_ordinal_missing_flag_follows_the_configuration() -> None:
    config = load_config("oxcgrt-stringency")
    model = IndexModel.from_config(config)
    values = np.array([2.0, 2.0, 0.0])
    flags = np.array([np.nan, 1.0, np.nan])
    maximum, flagged = np.full(3, 3.0), np.full(3, True)
    targeted = ordinal_scores(values, flags, maximum, flagged, 0.0)
    general = ordinal_scores(values, flags, maximum, flagged, 1.0)
    assert targeted.tolist() == pytest.approx([50.0, 200 / 3, 0.0])
    assert general.tolist() == pytest.approx([200 / 3, 200 / 3, 0.0])
    assert model.missing_flag == 0.0  # the shipped configurations read it as targeted


# --- weights, aggregation, contributions --------------------------------------------------


@FAST
@given(panel_strategy(), st.sampled_from(NORMALISATIONS), st.sampled_from(AGGREGATIONS))
def test_weights_sum_to_one_and_contributions_add_up(
    panel: Panel, normalisation: str, aggregation: str
) -> None:
    model = IndexModel.from_config(load_config("zhikong-2020"))
    result = compute_index(panel, model, scheme(model, normalisation, aggregation))
    defined = np.isfinite(result.total)
    assert np.allclose(result.weights[defined].sum(axis=-1), 1.0)
    assert np.allclose(result.contributions[defined].sum(axis=-1), result.total[defined])
    for g, members in enumerate(model.members):
        group_defined = np.isfinite(result.groups[g])
        part = result.group_contributions[:, :, members][group_defined].sum(axis=-1)
        assert np.allclose(part, result.groups[g][group_defined])
    if normalisation != "zscore":
        assert np.all((result.total[defined] >= 0) & (result.total[defined] <= 100 + 1e-9))
    if aggregation == "arithmetic" or normalisation != "zscore":
        assert np.all(result.contributions[defined] >= -1e-9)


@FAST
@given(panel_strategy(missing=False), st.integers(0, 11), st.sampled_from(AGGREGATIONS))
def test_improving_an_indicator_never_lowers_the_total(
    panel: Panel, k: int, aggregation: str
) -> None:
    model = IndexModel.from_config(load_config("zhikong-2020"))
    chosen = scheme(model, "goalposts", aggregation)
    before = compute_index(panel, model, chosen).total
    better = panel.values.copy()
    step = 5.0 if model.higher_is_better[k] else -5.0
    better[:, :, k] = np.clip(better[:, :, k] + step, 0, 100)
    after = compute_index(replace(panel, values=better), model, chosen).total
    assert np.all(after >= before - 1e-9)


def test_min_present_makes_a_sub_index_and_the_total_undefined(
    zhikong_model: IndexModel, synthetic_panel: Callable[..., Panel]
) -> None:
    panel = synthetic_panel(regions=3, days=1)
    values = panel.values.copy()
    values[0, 0, 0] = np.nan  # one control indicator missing: still defined (4 of 5)
    values[1, 0, 0:2] = np.nan  # two missing: control undefined
    result = compute_index(replace(panel, values=values), zhikong_model)
    assert np.isfinite(result.total[0, 0]) and result.contributions[0, 0, 0] == 0
    assert np.isnan(result.groups[0, 1, 0]) and np.isfinite(result.groups[1, 1, 0])
    assert np.isnan(result.total[1, 0]) and result.rank[1, 0] == 0
    assert sorted(result.rank[:, 0].tolist()) == [0, 1, 2]


def test_missing_zero_counts_the_gap_as_a_zero_score() -> None:
    model = IndexModel.from_config(load_config("oxcgrt-stringency"))
    values = np.full((1, 1, 9), 2.0)
    flags = np.ones((1, 1, 9))
    values[0, 0, 0] = np.nan
    panel = Panel(("X",), (date(2020, 4, 1),), model.indicators, values, flags)
    full = np.full(9, 100.0)
    full[[0, 1, 5]] = 200 / 3
    full[3] = 50.0
    full[7] = 50.0
    full[0] = 0.0
    assert compute_index(panel, model).total[0, 0] == pytest.approx(full.sum() / 9)
    values[0, 0, 1] = np.nan  # two missing: fewer than k − 1 = 8 → undefined
    assert np.isnan(compute_index(replace(panel, values=values), model).total[0, 0])


# --- ranking ------------------------------------------------------------------------------


def naive_ranks(values: list[float]) -> list[int]:
    """1 + how many are higher; totals are compared at RANK_DECIMALS (float noise ties)."""
    rounded = [round(v, RANK_DECIMALS) for v in values]
    return [
        0 if np.isnan(v) else 1 + sum(1 for w in rounded if not np.isnan(w) and w > v)
        for v in rounded
    ]


@FAST
@given(st.lists(st.sampled_from([np.nan, 0.0, 1.0, 2.5, 2.5, 7.0]) | finite, max_size=25))
def test_rank_descending_is_competition_ranking(values: list[float]) -> None:
    ranks = rank_descending(np.array(values, dtype=np.float64))
    assert ranks.tolist() == naive_ranks(values)


def test_rank_descending_works_along_any_axis() -> None:
    values = np.random.default_rng(3).integers(0, 4, size=(5, 4, 3)).astype(float)
    for axis in range(3):
        ranks = rank_descending(values, axis=axis)
        moved_values = np.moveaxis(values, axis, -1).reshape(-1, values.shape[axis])
        moved_ranks = np.moveaxis(ranks, axis, -1).reshape(-1, values.shape[axis])
        for row_values, row_ranks in zip(moved_values, moved_ranks, strict=True):
            assert row_ranks.tolist() == naive_ranks(row_values.tolist())


# --- sensitivity --------------------------------------------------------------------------


@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=40).map(np.array),
    st.sampled_from([0.05, 0.5, 0.95]),
)
@FAST
def test_percentile_ranks_match_numpy_inverted_cdf(draws: np.ndarray, q: float) -> None:
    ranks = draws % 7 + 1
    counts = np.bincount(ranks - 1, minlength=7)
    expected = np.percentile(ranks, q * 100, method="inverted_cdf")
    assert percentile_ranks(counts, q) == int(expected)


def test_draws_keep_the_weight_noise_bounds_and_are_seeded(zhikong_model: IndexModel) -> None:
    first = draw_scenarios(zhikong_model, 200, seed=5)
    again = draw_scenarios(zhikong_model, 200, seed=5)
    other = draw_scenarios(zhikong_model, 200, seed=6)
    ratio = first.indicator_weights / zhikong_model.indicator_weights
    assert ratio.min() >= 0.75 and ratio.max() <= 1.25
    assert np.array_equal(first.indicator_weights, again.indicator_weights)
    assert np.array_equal(first.normalisation_index, again.normalisation_index)
    assert not np.array_equal(first.indicator_weights, other.indicator_weights)
    assert set(first.normalisation_index.tolist()) == {0, 1, 2}
    assert set(first.aggregation_index.tolist()) == {0, 1}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panel_strategy(max_regions=7, max_days=3), st.integers(0, 2**32 - 1))
def test_rank_intervals_contain_the_base_rank_and_are_ordered(panel: Panel, seed: int) -> None:
    model = IndexModel.from_config(load_config("zhikong-2020"))
    base = compute_index(panel, model)
    result = sensitivity(panel, model, 40, seed, base=base)
    defined = base.rank > 0
    assert np.array_equal(result.base_rank, base.rank)
    assert np.all(result.rank_min[defined] <= base.rank[defined])
    assert np.all(base.rank[defined] <= result.rank_max[defined])
    assert np.all(result.rank_min[defined] <= result.rank_p05[defined])
    assert np.all(result.rank_p05 <= result.rank_median)
    assert np.all(result.rank_median <= result.rank_p95)
    assert np.all(result.rank_p95[defined] <= result.rank_max[defined])
    for name in ("rank_p05", "rank_median", "rank_p95", "rank_min", "rank_max"):
        assert np.all(getattr(result, name)[~defined] == 0)
    assert result.mean_abs_shift.shape == (40,) and np.all(result.mean_abs_shift >= 0)


def test_sensitivity_is_deterministic_under_a_seed_and_independent_of_chunking(
    zhikong_model: IndexModel, synthetic_panel: Callable[..., Panel]
) -> None:
    panel = synthetic_panel(regions=9, days=4, seed=11)
    first = sensitivity(panel, zhikong_model, 120, seed=42)
    again = sensitivity(panel, zhikong_model, 120, seed=42)
    tiny = sensitivity(panel, zhikong_model, 120, seed=42, memory_budget=1)
    for name in ("rank_p05", "rank_median", "rank_p95", "rank_min", "rank_max"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
        assert np.array_equal(getattr(first, name), getattr(tiny, name))
    assert np.allclose(first.mean_abs_shift, tiny.mean_abs_shift)


def test_vectorised_sensitivity_equals_one_draw_at_a_time(
    zhikong_model: IndexModel, synthetic_panel: Callable[..., Panel]
) -> None:
    panel = synthetic_panel(regions=12, days=3, seed=4)
    values = panel.values.copy()
    values[2, 1, 7] = np.nan
    values[3, 0, 0:3] = np.nan  # control undefined for one region-day
    panel = replace(panel, values=values)
    fast = sensitivity(panel, zhikong_model, 60, seed=9)
    slow = sensitivity_reference(panel, zhikong_model, 60, seed=9)
    for name in ("base_rank", "rank_p05", "rank_median", "rank_p95", "rank_min", "rank_max"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
    assert np.allclose(fast.mean_abs_shift, slow.mean_abs_shift)


def test_without_a_sensitivity_section_only_weights_move(
    synthetic_panel: Callable[..., Panel],
) -> None:
    config = load_config("zhikong-2020").model_copy(update={"sensitivity": None})
    model = IndexModel.from_config(config)
    scenarios = draw_scenarios(model, 30, seed=1)
    assert set(scenarios.normalisation_index.tolist()) == {0}
    assert scenarios.normalisations == ("goalposts",)
    result = sensitivity(synthetic_panel(), model, 30, seed=1)
    assert result.draws == 30


def test_identical_regions_tie_in_every_draw(
    zhikong_model: IndexModel, synthetic_panel: Callable[..., Panel]
) -> None:
    panel = synthetic_panel(regions=4, days=2)
    values = panel.values.copy()
    values[1] = values[0]
    result = sensitivity(replace(panel, values=values), zhikong_model, 50, seed=3)
    assert np.array_equal(result.rank_min[0], result.rank_min[1])
    assert np.array_equal(result.rank_max[0], result.rank_max[1])
    assert np.array_equal(result.base_rank[0], result.base_rank[1])
