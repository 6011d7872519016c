"""Calibration recovers known transmission rates and change day from simulated cases."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from zhikong.epi.calibration import calibrate, expected_cases
from zhikong.epi.errors import EpiInputError

EXTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "extdata"
SIGMA, GAMMA = 1 / 5.2, 1 / 5.0


@pytest.mark.parametrize("likelihood", ["poisson", "negbin"])
def test_recovers_parameters_of_a_simulated_outbreak(likelihood: str) -> None:
    truth = {"beta_before": 0.6, "beta_after": 0.12, "change_day": 25, "seed": 20.0}
    mean = expected_cases(
        60, 2_000_000, truth["beta_before"], truth["beta_after"], 25, 20.0, SIGMA, GAMMA
    )
    observed = np.random.default_rng(2020).poisson(mean).astype(float)
    fit = calibrate(
        observed,
        2_000_000,
        SIGMA,
        GAMMA,
        change_days=range(10, 45),
        likelihood=likelihood,  # type: ignore[arg-type]
    )
    assert abs(fit.change_day - 25) <= 2
    assert fit.r0_before == pytest.approx(3.0, rel=0.15)
    assert fit.r0_after == pytest.approx(0.6, rel=0.25)
    assert fit.expected.shape == observed.shape
    assert fit.profile[fit.change_day] == max(fit.profile.values())
    # the fit is at least as likely as the truth
    assert fit.log_likelihood >= max(fit.profile.values()) - 1e-9


def test_zhejiang_2020_first_wave() -> None:
    """The real province series: transmission falls sharply in late January 2020."""
    path = EXTDATA / "zj_covid_cases_2020" / "canghailan_zhejiang_daily_2020.csv"
    with open(path, encoding="utf-8") as stream:
        cumulative = np.array(
            [float(r["confirmed"]) for r in csv.DictReader(stream) if r["city"] == ""]
        )
    daily = np.maximum(np.diff(np.concatenate([[0.0], cumulative])), 0.0)[:50]
    fit = calibrate(daily, 64_567_588, SIGMA, GAMMA, change_days=range(1, 25))
    assert fit.r0_before > 1.5 > 1.0 > fit.r0_after
    assert 3 <= fit.change_day <= 20  # between the level-1 response (23 Jan) and mid-February
    assert abs(fit.expected.sum() - daily.sum()) / daily.sum() < 0.2


@pytest.mark.parametrize(
    ("cases", "message"),
    [
        (np.zeros(30), "no cases"),
        (np.array([1.0, 2.0]), "at least 10 days"),
        (np.array([1.0, -2.0] + [1.0] * 10), "non-negative integers"),
    ],
)
def test_refuses_unusable_series(cases: np.ndarray, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(EpiInputError, match=message):
        calibrate(cases, 1e6, SIGMA, GAMMA)
