"""Conformance with EpiEstim 2.2-4 (R_t, discr_si) and deSolve 1.34 (SEIR trajectories).

Acceptance (issue 16): R_t mean and every quantile within relative 1e-4 (NA windows where
EpiEstim gives NA); SEIR S, E, I, R within relative 1e-4 of deSolve where the value is > 1.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from zhikong.epi.rt import QUANTILES, SerialInterval, discr_si, estimate_rt
from zhikong.epi.seir import project, scenario_from_mapping, summarise
from zhikong.epi.series import Frequency, series_from_rows

RT_RUNS = [
    ("rt_parametric_w7", 7, False),
    ("rt_parametric_w14", 14, False),
    ("rt_nonparametric_w7", 7, True),
]
FIELDS = ("mean_r", "std_r", *(name for name, _ in QUANTILES))
Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def rt_inputs(epi_reference: Path, input_rows: Callable[[Path], Rows]):  # type: ignore[no-untyped-def]
    folder = epi_reference / "inputs"
    rows = input_rows(folder / "rt_incidence.csv") + input_rows(
        folder / "rt_incidence_epiestim.csv"
    )
    table = series_from_rows(rows, Frequency.day)
    assert not table.errors
    info = {
        r["series"]: r
        for name in ("rt_series.csv", "rt_series_epiestim.csv")
        for r in input_rows(folder / name)
    }
    distributions: dict[str, dict[int, float]] = {}
    for name in ("si_distributions.csv", "si_distributions_epiestim.csv"):
        for r in input_rows(folder / name):
            distributions.setdefault(r["si_name"], {})[int(r["k"])] = float(r["w"])
    si = {k: tuple(v[i] for i in range(len(v))) for k, v in distributions.items()}
    return table.series, info, si


@pytest.mark.parametrize(("run", "window", "nonparametric"), RT_RUNS)
def test_rt_matches_epiestim(
    run, window, nonparametric, rt_inputs, epi_reference, reference_rows
) -> None:  # type: ignore[no-untyped-def]
    series, info, distributions = rt_inputs
    reference = reference_rows(epi_reference, run)
    by_series: dict[str, Rows] = {}
    for row in reference:
        by_series.setdefault(row["series"], []).append(row)
    assert set(by_series) == {s.name for s in series}
    worst = 0.0
    for s in series:
        meta = info[s.name]
        si = (
            SerialInterval(distribution=distributions[meta["si_distr"]])
            if nonparametric
            else SerialInterval(mean=float(meta["mean_si"]), sd=float(meta["std_si"]))
        )
        est = estimate_rt(s.counts, si, window=window)
        rows = by_series[s.name]
        assert int(est.window[0].sum()) == len(rows)
        for row in rows:
            i = int(row["t_end"]) - 1
            assert est.window[0, i] and est.t_start[0, i] == int(row["t_start"])
            assert str(s.dates[i]) == row["date_end"]
            if row["mean_r"] == "NA":
                assert not est.estimated[0, i], (s.name, row["t_end"])
                assert math.isnan(est.mean[0, i])
                continue
            assert est.estimated[0, i], (s.name, row["t_end"])
            ours = [est.mean[0, i], est.std[0, i]] + [est.quantiles[q][0, i] for q, _ in QUANTILES]
            for field, value in zip(FIELDS, ours, strict=True):
                ref = float(row[field])
                rel = abs(value - ref) / abs(ref)
                worst = max(worst, rel)
                assert rel <= 1e-4, (s.name, row["t_end"], field, value, ref)
    assert worst < 1e-9  # in fact the 12 printed digits of the reference


def test_discr_si_matches_epiestim(epi_reference: Path, reference_rows) -> None:  # type: ignore[no-untyped-def]
    rows = reference_rows(epi_reference, "rt_discr_si")
    assert rows
    for (mean, sd), group in _group(rows).items():
        k = np.array([int(r["k"]) for r in group])
        ref = np.array([float(r["w"]) for r in group])
        ours = discr_si(k, mean, sd)
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-13)


def _group(rows: Rows) -> dict[tuple[float, float], Rows]:
    out: dict[tuple[float, float], Rows] = {}
    for r in rows:
        out.setdefault((float(r["mean_si"]), float(r["std_si"])), []).append(r)
    return out


def _scenarios(epi_reference: Path) -> list[Path]:
    return sorted((epi_reference / "inputs" / "scenarios").glob("*.json"))


@pytest.fixture(scope="module")
def seir_reference(epi_reference: Path, reference_rows):  # type: ignore[no-untyped-def]
    out: dict[str, Rows] = {}
    for stem in ("seir_single_traj", "seir_meta_traj"):
        for row in reference_rows(epi_reference, stem):
            out.setdefault(row["case"], []).append(row)
    summary = {(r["case"], r["patch"]): r for r in reference_rows(epi_reference, "seir_summary")}
    return out, summary


def test_every_reference_case_has_a_scenario(epi_reference: Path, seir_reference) -> None:  # type: ignore[no-untyped-def]
    trajectories, _ = seir_reference
    assert {p.stem for p in _scenarios(epi_reference)} == set(trajectories)


@pytest.mark.parametrize(
    "case",
    [
        p.stem
        for p in _scenarios(
            Path(__file__).resolve().parents[2].parent / "shared" / "extdata" / "epi_reference"
        )
    ],
)
def test_seir_matches_desolve(case: str, epi_reference: Path, seir_reference) -> None:  # type: ignore[no-untyped-def]
    trajectories, summary = seir_reference
    path = epi_reference / "inputs" / "scenarios" / f"{case}.json"
    scenario = scenario_from_mapping(json.loads(path.read_text()))
    trajectory = project(scenario)
    column = {pid: j for j, pid in enumerate(trajectory.patch_ids)}
    rows = trajectories[case]
    assert len(rows) == scenario.k * (scenario.days + 1)
    worst = 0.0
    for row in rows:
        j, day = column[row["patch"]], int(row["day"])
        for c in "SEIR":
            ref = float(row[c])
            if ref > 1:
                worst = max(worst, abs(trajectory.compartment(c)[day, j] - ref) / ref)
    assert worst <= 1e-4, worst
    assert worst < 1e-8  # LSODA at 1e-10 agrees far better than the criterion
    for item in summarise(trajectory, scenario.population):
        ref_row = summary[(case, item.patch)]
        assert item.peak_day == int(ref_row["peak_day"])
        assert item.peak_I == pytest.approx(float(ref_row["peak_I"]), rel=1e-6)
        assert item.final_size == pytest.approx(float(ref_row["final_size"]), rel=1e-6)
