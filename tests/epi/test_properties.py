"""Properties of the pure core (hypothesis), and cross-checks against independent code."""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import replace

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from zhikong.epi.ears import EarsOptions, ears
from zhikong.epi.farrington import (
    FarringtonOptions,
    FlexibleOptions,
    farrington,
    farrington_flexible,
)
from zhikong.epi.glm import fit_quasipoisson
from zhikong.epi.models import ALARM_NA
from zhikong.epi.rt import SerialInterval, discr_si, estimate_rt
from zhikong.epi.seir import project, scenario_from_mapping, simulate

counts_strategy = st.lists(st.integers(min_value=0, max_value=60), min_size=12, max_size=60)


def naive_ears(
    y: list[int], method: str, alpha: float, baseline: int = 7
) -> list[tuple[float, int | None]]:
    """EARS written point by point from the 1.20.3 code, with the statistics module."""
    z = norm.ppf(1 - alpha)
    first = baseline + {"C1": 0, "C2": 2, "C3": 4}[method]
    out: list[tuple[float, int | None]] = []

    def c2(i: int) -> float:
        ref = y[i - baseline - 2 : i - 2]
        m, s = statistics.fmean(ref), statistics.stdev(ref)
        if s == 0:
            d = y[i] - m
            return math.nan if d == 0 else math.copysign(math.inf, d)
        return (y[i] - m) / s

    for i in range(first, len(y)):
        if method == "C1":
            ref = y[i - baseline : i]
            upper = statistics.fmean(ref) + z * statistics.stdev(ref)
        elif method == "C2":
            ref = y[i - baseline - 2 : i - 2]
            upper = statistics.fmean(ref) + z * statistics.stdev(ref)
        else:
            sd = statistics.stdev(y[i - baseline - 2 : i - 2])
            lag = sum(
                max(0.0, c2(j) - 1) if not math.isnan(c2(j)) else math.nan for j in (i - 2, i - 1)
            )
            with np.errstate(invalid="ignore"):
                upper = float(np.maximum(0.0, y[i] + np.float64(sd) * (z - lag)))
        out.append((upper, None if math.isnan(upper) else int(y[i] > upper)))
    return out


@settings(max_examples=150, deadline=None)
@given(
    y=counts_strategy,
    method=st.sampled_from(["C1", "C2", "C3"]),
    alpha=st.sampled_from([0.001, 0.025, 0.05]),
)
def test_ears_equals_a_point_by_point_implementation(
    y: list[int], method: str, alpha: float
) -> None:
    detection = ears(np.array(y, dtype=float), EarsOptions(method=method, alpha=alpha))  # type: ignore[arg-type]
    points = detection.points(0)
    expected = naive_ears(y, method, alpha)
    assert len(points) == len(expected)
    for i, (upper, alarm) in zip(points, expected, strict=True):
        ours = float(detection.upperbound[0, i])
        if math.isnan(upper):
            assert math.isnan(ours) and detection.alarm[0, i] == ALARM_NA
        else:
            assert ours == pytest.approx(upper, rel=1e-9, abs=1e-9)
            assert int(detection.alarm[0, i]) == alarm


@settings(max_examples=60, deadline=None)
@given(
    y=counts_strategy,
    shift=st.integers(min_value=1, max_value=1000),
    method=st.sampled_from(["C1", "C2"]),
)
def test_ears_c1_c2_shift_with_the_counts(y: list[int], shift: int, method: str) -> None:
    base = ears(np.array(y, dtype=float), EarsOptions(method=method))  # type: ignore[arg-type]
    moved = ears(np.array(y, dtype=float) + shift, EarsOptions(method=method))  # type: ignore[arg-type]
    np.testing.assert_allclose(moved.upperbound - shift, base.upperbound, rtol=1e-9, atol=1e-7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(counts_strategy, min_size=2, max_size=5))
def test_detection_of_a_batch_equals_one_series_at_a_time(data: list[list[int]]) -> None:
    width = max(len(y) for y in data)
    batch = np.full((len(data), width), np.nan)
    for i, y in enumerate(data):
        batch[i, : len(y)] = y
    together = ears(batch, EarsOptions(method="C3"))
    for i, y in enumerate(data):
        alone = ears(np.array(y, dtype=float), EarsOptions(method="C3"))
        np.testing.assert_array_equal(together.alarm[i, : len(y)], alone.alarm[0])
        np.testing.assert_array_equal(together.upperbound[i, : len(y)], alone.upperbound[0])
        assert not together.evaluated[i, len(y) :].any()


def test_glm_agrees_with_statsmodels() -> None:
    rng = np.random.default_rng(16)
    n = 35
    design = np.column_stack([np.ones(n), np.linspace(-1, -0.1, n)])
    y = rng.poisson(np.exp(1.5 + 0.8 * design[:, 1]) * rng.gamma(2.0, 0.5, size=(200, n))).astype(
        float
    )
    prior = rng.uniform(0.2, 2.0, size=y.shape)
    ours = fit_quasipoisson(design, y, prior=prior)
    assert ours.converged.all()
    for b in range(0, 200, 17):
        model = sm.GLM(y[b], design, family=sm.families.Poisson(), var_weights=prior[b]).fit(
            tol=1e-12
        )
        np.testing.assert_allclose(ours.beta[b], model.params, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ours.mu[b], model.mu, rtol=1e-6)
        pearson = float(np.sum(prior[b] * (y[b] - model.mu) ** 2 / model.mu) / (n - 2))
        # As R, the dispersion and hat values use the working weights of the last iteration
        # (μ before the final update): they differ from a fully converged fit in the 4th digit.
        assert ours.pearson_dispersion(y)[b] == pytest.approx(pearson, rel=1e-3)
        hat = model.get_hat_matrix_diag()
        np.testing.assert_allclose(ours.hat(design)[b], hat, rtol=1e-3, atol=1e-9)


weekly_strategy = st.lists(st.integers(min_value=0, max_value=40), min_size=280, max_size=300)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(y=weekly_strategy, flexible=st.booleans())
def test_farrington_alarm_and_limit54_rules(y: list[int], flexible: bool) -> None:
    counts = np.array(y, dtype=float)
    if flexible:
        detection = farrington_flexible(counts, FlexibleOptions())
    else:
        detection = farrington(counts, FarringtonOptions())
    for i in detection.points(0):
        upper, alarm = float(detection.upperbound[0, i]), int(detection.alarm[0, i])
        recent = counts[i - 3 : i + 1].sum()
        if recent < 5:
            assert alarm == 0
            assert math.isnan(upper) if flexible else upper == 0.0
        else:
            assert math.isfinite(upper) and upper > 0
            assert alarm == int(counts[i] > upper)


@settings(max_examples=40, deadline=None)
@given(
    mean=st.floats(min_value=1.2, max_value=15.0),
    sd=st.floats(min_value=0.3, max_value=8.0),
)
def test_discr_si_is_a_distribution_with_the_right_mean(mean: float, sd: float) -> None:
    assume(sd <= mean)  # keeps the gamma tail inside 400 days
    w = discr_si(np.arange(400), mean, sd)
    assert w[0] == 0.0 and np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)
    assert float(np.sum(np.arange(400) * w)) == pytest.approx(mean, rel=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    incidence=st.lists(st.integers(min_value=0, max_value=500), min_size=20, max_size=80),
    window=st.integers(min_value=1, max_value=14),
)
def test_rt_posterior_shape(incidence: list[int], window: int) -> None:
    est = estimate_rt(
        np.array(incidence, dtype=float), SerialInterval(mean=4.0, sd=2.0), window=window
    )
    ok = est.estimated[0]
    q = [
        est.quantiles[name][0, ok]
        for name in ("q025", "q05", "q25", "median", "q75", "q95", "q975")
    ]
    for lower, upper in itertools.pairwise(q):
        assert np.all(lower <= upper)
    np.testing.assert_allclose(est.mean[0, ok], est.shape[0, ok] * est.scale[0, ok])
    np.testing.assert_allclose(est.std[0, ok], np.sqrt(est.shape[0, ok]) * est.scale[0, ok])
    assert np.all(est.shape[0, ok] >= 1.0)  # prior shape 1 plus non-negative counts


def test_rt_recovers_the_reproduction_number_of_a_renewal_process() -> None:
    si = SerialInterval(mean=5.0, sd=2.0)
    w = si.weights(200)
    incidence = np.zeros(120)
    incidence[0] = 50.0
    for t in range(1, 120):
        reproduction = 1.6 if t < 60 else 0.7
        incidence[t] = reproduction * np.dot(w[1 : t + 1], incidence[t - 1 :: -1][:t])
    est = estimate_rt(np.round(incidence), si, window=7)
    assert est.mean[0, 40] == pytest.approx(1.6, rel=0.02)
    assert est.mean[0, 110] == pytest.approx(0.7, rel=0.02)


def test_rt_window_without_infectivity_is_the_prior() -> None:
    est = estimate_rt(np.zeros(30), SerialInterval(mean=3.0, sd=1.0), window=7)
    i = 20
    assert est.mean[0, i] == pytest.approx(5.0)
    assert est.quantiles["q025"][0, i] == pytest.approx(0.1266, abs=1e-4)
    assert est.quantiles["q975"][0, i] == pytest.approx(18.44, abs=1e-2)


def scenario(
    k: int, seed_patch: int, mobility: list[list[float]] | None, days: int = 120
) -> dict[str, object]:
    patches = []
    for i in range(k):
        n = 10_000 * (i + 1)
        infectious = 20 if i == seed_patch else 0
        patches.append(
            {"id": f"p{i}", "population": n, "S": n - infectious, "E": 0, "I": infectious, "R": 0}
        )
    doc: dict[str, object] = {
        "patches": patches,
        "beta": [{"from_day": 0, "value": 0.6}, {"from_day": 30, "value": [0.3] * k}],
        "sigma": 0.25,
        "gamma": 0.2,
        "days": days,
    }
    if mobility is not None:
        doc["mobility"] = mobility
    return doc


@st.composite
def stochastic_matrices(draw: st.DrawFn) -> list[list[float]]:
    k = draw(st.integers(min_value=1, max_value=5))
    rows = []
    for _ in range(k):
        raw = [draw(st.floats(min_value=0.01, max_value=1.0)) for _ in range(k)]
        total = sum(raw)
        row = [v / total for v in raw]
        row[-1] = 1.0 - sum(row[:-1])
        rows.append(row)
    return rows


@settings(max_examples=25, deadline=None)
@given(mobility=stochastic_matrices())
def test_seir_conserves_every_population(mobility: list[list[float]]) -> None:
    k = len(mobility)
    sc = scenario_from_mapping(scenario(k, 0, mobility))
    trajectory = project(sc)
    total = trajectory.S + trajectory.E + trajectory.I + trajectory.R
    np.testing.assert_allclose(total, np.broadcast_to(sc.population, total.shape), rtol=1e-9)
    for compartment in (trajectory.S, trajectory.E, trajectory.I, trajectory.R):
        assert np.all(compartment > -1e-6)
    assert np.all(np.diff(trajectory.S, axis=0) <= 1e-6)
    ensemble = simulate(sc, runs=20, seed=1)
    totals = ensemble.S + ensemble.E + ensemble.I + ensemble.R
    assert np.all(totals == sc.population.astype(np.int64))
    assert np.all(ensemble.S >= 0) and np.all(ensemble.E >= 0) and np.all(ensemble.I >= 0)


def test_without_mobility_an_unseeded_patch_stays_untouched() -> None:
    sc = scenario_from_mapping(scenario(3, 1, None))
    trajectory = project(sc)
    assert np.all(trajectory.S[:, 0] == sc.patches[0].S) and np.all(trajectory.I[:, 2] == 0)
    ensemble = simulate(sc, runs=10, seed=3)
    assert np.all(ensemble.S[:, :, 0] == sc.patches[0].S)


def test_stochastic_mean_follows_the_ode_in_large_populations() -> None:
    doc = scenario(2, 0, [[0.9, 0.1], [0.1, 0.9]], days=90)
    for p in doc["patches"]:  # type: ignore[attr-defined]
        p["population"] *= 100
        p["S"] = p["population"] - p["I"] * 100
        p["I"] *= 100
    sc = scenario_from_mapping(doc)
    ode = project(sc)
    peak = ode.I.max(axis=0)

    def error(steps_per_day: int) -> float:
        ensemble = simulate(sc, runs=50, seed=7, steps_per_day=steps_per_day)
        return float(np.max(np.abs(ensemble.mean("I") - ode.I) / peak))

    # the chain binomial is a first-order scheme: the bias shrinks with Δt, to 2 % at Δt = 1/16
    coarse, fine = error(4), error(16)
    assert fine < 0.03
    assert fine < coarse / 3
    first = simulate(sc, runs=5, seed=11)
    again = simulate(sc, runs=5, seed=11)
    assert np.array_equal(first.I, again.I)  # a seed reproduces the runs


def test_population_offset_with_a_constant_population_changes_nothing() -> None:
    rng = np.random.default_rng(5)
    counts = rng.poisson(8.0, size=(3, 300)).astype(float)
    plain = farrington_flexible(counts, FlexibleOptions())
    constant = farrington_flexible(
        counts, FlexibleOptions(population_offset=True), population=np.full(counts.shape, 5e5)
    )
    np.testing.assert_allclose(constant.upperbound, plain.upperbound, rtol=1e-8, equal_nan=True)
    np.testing.assert_array_equal(constant.alarm, plain.alarm)
    growing = np.linspace(4e5, 8e5, 300)[None, :].repeat(3, axis=0)
    scaled = farrington_flexible(
        counts, FlexibleOptions(population_offset=True), population=growing
    )
    assert scaled.method == "farringtonFlexible_popoffset"
    ok = ~np.isnan(plain.upperbound)
    assert not np.allclose(scaled.upperbound[ok], plain.upperbound[ok])


@pytest.mark.parametrize("flexible", [False, True])
def test_farrington_one_week_at_a_time_equals_the_batch(flexible: bool) -> None:
    rng = np.random.default_rng(9)
    counts = rng.negative_binomial(3, 3 / (3 + 6.0), size=(1, 290)).astype(float)
    options: FarringtonOptions | FlexibleOptions
    options = FlexibleOptions(b=3, no_periods=4) if flexible else FarringtonOptions(b=4)
    batch = farrington_flexible(counts, options) if flexible else farrington(counts, options)  # type: ignore[arg-type]
    for k in range(options.first, 291, 7):
        single = replace(options, start=k)
        one = (
            farrington_flexible(counts[:, :k], single)
            if flexible
            else farrington(counts[:, :k], single)
        )  # type: ignore[arg-type]
        assert one.evaluated[0].sum() == 1
        assert one.alarm[0, k - 1] == batch.alarm[0, k - 1]
        assert np.allclose(
            one.upperbound[0, k - 1], batch.upperbound[0, k - 1], rtol=1e-12, equal_nan=True
        )
