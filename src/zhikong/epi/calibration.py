"""Calibration: fit transmission rates and a change point to a case series (maximum likelihood).

Model: one population of size N, SEIR as in `zhikong.epi.seir` with β(t) = β₁ before the
change day τ and β₂ from τ on (an intervention), started at day 0 with E(0) = seed and
I(0) = 0 (so the seed itself shows up as cases).
The expected number of cases reported on day t (t = 0 … T−1) is the number of people who
became infectious that day, ρ·∫_t^{t+1} σE(u) du, with a known reporting fraction ρ.
Observed counts are Poisson or negative binomial (size k, fitted) around it.

For every candidate τ the log-likelihood is maximised over (log β₁, log β₂, log seed[, log k])
with L-BFGS-B; the best τ wins (profile likelihood). The ODE is integrated with classical
Runge–Kutta at a fixed step (default 1/4 day). Change days are searched on a coarse grid
first, then day by day around the best one, each with two starting points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import gammaln

from zhikong.epi.errors import EpiInputError

Likelihood = Literal["poisson", "negbin"]


@dataclass(frozen=True)
class CalibrationResult:
    """The maximum-likelihood fit and the expected daily cases it implies."""

    beta_before: float
    beta_after: float
    change_day: int
    seed: float
    dispersion: float | None
    log_likelihood: float
    expected: NDArray[np.float64]
    observed: NDArray[np.float64]
    gamma: float
    profile: dict[int, float]

    @property
    def r0_before(self) -> float:
        """β₁/γ: the basic reproduction number before the change."""
        return self.beta_before / self.gamma

    @property
    def r0_after(self) -> float:
        """β₂/γ: the reproduction number (in a susceptible population) after the change."""
        return self.beta_after / self.gamma


def expected_cases(
    days: int,
    population: float,
    beta_before: float,
    beta_after: float,
    change_day: int,
    seed: float,
    sigma: float,
    gamma: float,
    *,
    reporting: float = 1.0,
    steps_per_day: int = 4,
) -> NDArray[np.float64]:
    """Expected reported cases on days 0 … days−1 under the change-point SEIR."""
    h = 1.0 / steps_per_day
    s, e, i, c = population - seed, seed, 0.0, 0.0
    out = np.empty(days)

    def f(s: float, e: float, i: float, beta: float) -> tuple[float, float, float, float]:
        inf = beta * s * i / population
        return -inf, inf - sigma * e, sigma * e - gamma * i, sigma * e

    for day in range(days):
        beta = beta_before if day < change_day else beta_after
        start = c
        for _ in range(steps_per_day):
            k1 = f(s, e, i, beta)
            k2 = f(s + 0.5 * h * k1[0], e + 0.5 * h * k1[1], i + 0.5 * h * k1[2], beta)
            k3 = f(s + 0.5 * h * k2[0], e + 0.5 * h * k2[1], i + 0.5 * h * k2[2], beta)
            k4 = f(s + h * k3[0], e + h * k3[1], i + h * k3[2], beta)
            s += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            e += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            i += h / 6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
            c += h / 6 * (k1[3] + 2 * k2[3] + 2 * k3[3] + k4[3])
        out[day] = reporting * (c - start)
    return out


def _log_likelihood(y: NDArray[np.float64], mu: NDArray[np.float64], size: float | None) -> float:
    mu = np.maximum(mu, 1e-12)
    if size is None:
        return float(np.sum(y * np.log(mu) - mu - gammaln(y + 1)))
    return float(
        np.sum(
            gammaln(y + size)
            - gammaln(size)
            - gammaln(y + 1)
            + size * np.log(size / (size + mu))
            + y * np.log(mu / (size + mu))
        )
    )


def calibrate(
    cases: NDArray[np.float64],
    population: float,
    sigma: float,
    gamma: float,
    *,
    change_days: range | None = None,
    likelihood: Likelihood = "negbin",
    reporting: float = 1.0,
    steps_per_day: int = 4,
) -> CalibrationResult:
    """Fit β before/after a change day (and the seed) to daily cases by maximum likelihood."""
    y = np.asarray(cases, dtype=np.float64)
    if y.ndim != 1 or y.size < 10:
        raise EpiInputError("calibration needs a case series of at least 10 days", field="cases")
    if np.any(y < 0) or np.any(y != np.floor(y)):
        raise EpiInputError("cases must be non-negative integers", field="cases")
    if y.sum() == 0:
        raise EpiInputError("the case series has no cases", field="cases")
    if population <= y.sum() or not math.isfinite(population):
        raise EpiInputError("the population must exceed the total cases", field="population")
    if sigma <= 0 or gamma <= 0:
        raise EpiInputError("sigma and gamma must be > 0", field="sigma")
    if not 0 < reporting <= 1:
        raise EpiInputError("the reporting fraction must be in (0, 1]", field="reporting")
    days = y.size
    candidates = change_days if change_days is not None else range(3, days - 3)
    candidates = range(max(candidates.start, 1), min(candidates.stop, days), candidates.step)
    if len(candidates) == 0:
        raise EpiInputError("no candidate change day inside the series", field="change_days")
    first = int(np.flatnonzero(y)[0])
    seed0 = max(1.0, float(y[first : first + 7].sum()) / max(reporting, 1e-9) / 3.0)
    negbin = likelihood == "negbin"

    def unpack(theta: NDArray[np.float64]) -> tuple[float, float, float, float | None]:
        b1, b2, seed = (float(math.exp(v)) for v in theta[:3])
        size = float(math.exp(theta[3])) if negbin else None
        return b1, b2, seed, size

    best: tuple[float, int, NDArray[np.float64]] | None = None
    profile: dict[int, float] = {}
    starts = [
        np.log([r0 * gamma, 0.5 * gamma, seed0] + ([5.0] if negbin else [])) for r0 in (1.5, 3.0)
    ]
    bounds = [(-12.0, 3.0), (-12.0, 3.0), (-5.0, math.log(population / 10))]
    if negbin:
        bounds.append((-5.0, 12.0))

    def fit_at(tau: int, initial: list[NDArray[np.float64]]) -> tuple[float, NDArray[np.float64]]:
        def objective(theta: NDArray[np.float64]) -> float:
            b1, b2, seed, size = unpack(theta)
            mu = expected_cases(
                days, population, b1, b2, tau, seed, sigma, gamma,
                reporting=reporting, steps_per_day=steps_per_day,
            )  # fmt: skip
            value = -_log_likelihood(y, mu, size)
            return value if math.isfinite(value) else 1e300

        found: tuple[float, NDArray[np.float64]] | None = None
        for x0 in initial:
            result = minimize(objective, x0, method="L-BFGS-B", bounds=bounds)
            ll = -float(result.fun)
            if found is None or ll > found[0]:
                found = (ll, np.asarray(result.x, dtype=np.float64))
        assert found is not None
        return found

    # coarse grid of change days, then every day around the best one (profile likelihood)
    stride = max(1, len(candidates) // 12)
    coarse = list(candidates)[::stride]
    for tau in coarse:
        ll, theta = fit_at(tau, starts)
        profile[tau] = ll
        if best is None or ll > best[0]:
            best = (ll, tau, theta)
    assert best is not None
    around = [t for t in candidates if abs(t - best[1]) < stride and t not in profile]
    warm = best[2]
    for tau in around:
        ll, theta = fit_at(tau, [warm, *starts])
        profile[tau] = ll
        if ll > best[0]:
            best = (ll, tau, theta)
    assert best is not None
    ll, tau, theta = best
    b1, b2, seed, size = unpack(theta)
    expected = expected_cases(
        days, population, b1, b2, tau, seed, sigma, gamma,
        reporting=reporting, steps_per_day=steps_per_day,
    )  # fmt: skip
    return CalibrationResult(
        beta_before=b1,
        beta_after=b2,
        change_day=tau,
        seed=seed,
        dispersion=size,
        log_likelihood=ll,
        expected=expected,
        observed=y,
        gamma=gamma,
        profile=profile,
    )
