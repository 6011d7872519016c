"""Metapopulation SEIR projections (推演): deterministic ODE and stochastic chain binomial.

For patches i = 1..K with populations N_i, a row-stochastic mobility matrix M (row i = where
residents of i spend their time) and a transmission rate β_i(t) that is a step function of
time per patch:

    λ_i(t) = Σ_j M_ij I_j(t) / N_j
    dS_i/dt = −β_i(t) S_i λ_i
    dE_i/dt =  β_i(t) S_i λ_i − σ E_i
    dI_i/dt =  σ E_i − γ I_i
    dR_i/dt =  γ I_i

The deterministic projection integrates this with LSODA (rtol = atol = 1e-10) and stops and
restarts the solver at every change of β, as the deSolve reference does. The stochastic
version draws, per step of length Δt, new exposures ~ Bin(S_i, 1 − exp(−β_i λ_i Δt)), new
infectious ~ Bin(E_i, 1 − exp(−σ Δt)) and removals ~ Bin(I_i, 1 − exp(−γ Δt)), for many runs
at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from zhikong.epi.errors import EpiInputError

RTOL = 1e-10
ATOL = 1e-10
STOCHASTIC_TOLERANCE = 1e-9
COMPARTMENTS = ("S", "E", "I", "R")


@dataclass(frozen=True)
class Patch:
    """One population (county or city) and its initial state."""

    id: str
    population: float
    S: float
    E: float
    I: float  # noqa: E741 — the compartment's name
    R: float


@dataclass(frozen=True)
class BetaStep:
    """β per patch in force from `from_day` until the next step."""

    from_day: float
    value: NDArray[np.float64]


@dataclass(frozen=True)
class Scenario:
    """A projection scenario (the JSON layout of `zhikong epi project --scenario`)."""

    patches: tuple[Patch, ...]
    mobility: NDArray[np.float64]
    beta: tuple[BetaStep, ...]
    sigma: float
    gamma: float
    days: int

    @property
    def k(self) -> int:
        """Number of patches."""
        return len(self.patches)

    @property
    def population(self) -> NDArray[np.float64]:
        """N_i per patch."""
        return np.array([p.population for p in self.patches])

    def initial_state(self) -> NDArray[np.float64]:
        """State vector (S_1..S_K, E_1..E_K, I_1..I_K, R_1..R_K) at day 0."""
        return np.array(
            [getattr(p, c) for c in COMPARTMENTS for p in self.patches], dtype=np.float64
        )

    def beta_at(self, day: float) -> NDArray[np.float64]:
        """β per patch in force at `day`."""
        current = self.beta[0].value
        for step in self.beta:
            if step.from_day <= day:
                current = step.value
        return current

    def segments(self) -> list[tuple[float, float, NDArray[np.float64]]]:
        """(start, end, β) pieces between changes of β, covering day 0 … days."""
        out = []
        for i, step in enumerate(self.beta):
            end = float(self.days) if i + 1 == len(self.beta) else self.beta[i + 1].from_day
            end = min(end, float(self.days))
            if step.from_day < end:
                out.append((step.from_day, end, step.value))
        return out

    def with_beta(self, beta: Sequence[BetaStep]) -> Scenario:
        """The same scenario with other transmission steps (what-if comparisons)."""
        return Scenario(self.patches, self.mobility, tuple(beta), self.sigma, self.gamma, self.days)


def _number(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EpiInputError(f"{where}: {key} must be a number", field=key)
    if not math.isfinite(value):
        raise EpiInputError(f"{where}: {key} must be finite", field=key)
    return float(value)


def scenario_from_mapping(data: Any) -> Scenario:
    """Validate a parsed scenario document; EpiInputError names the bad field."""
    if not isinstance(data, Mapping):
        raise EpiInputError("the scenario must be a JSON object", field="scenario")
    raw_patches = data.get("patches")
    if not isinstance(raw_patches, list) or not raw_patches:
        raise EpiInputError("patches must be a non-empty list", field="patches")
    patches = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_patches):
        where = f"patches[{i}]"
        if not isinstance(raw, Mapping):
            raise EpiInputError(f"{where} must be an object", field="patches")
        pid = str(raw.get("id", "")).strip()
        if not pid:
            raise EpiInputError(f"{where}: id is missing", field="patches")
        if pid in seen:
            raise EpiInputError(f"{where}: id {pid} occurs twice", field="patches")
        seen.add(pid)
        population = _number(raw, "population", where)
        state = {c: _number(raw, c, where) for c in COMPARTMENTS}
        if population <= 0:
            raise EpiInputError(f"{where}: population must be > 0", field="population")
        if any(v < 0 for v in state.values()):
            raise EpiInputError(f"{where}: S, E, I, R must be >= 0", field="patches")
        total = sum(state.values())
        if abs(total - population) > 1e-9 * population:
            raise EpiInputError(
                f"{where}: S+E+I+R = {total:g} differs from population {population:g}",
                field="population",
            )
        patches.append(Patch(pid, population, **state))
    k = len(patches)
    mobility = _mobility(data.get("mobility"), k)
    beta = _beta(data.get("beta"), k)
    sigma = _number(data, "sigma", "scenario")
    gamma = _number(data, "gamma", "scenario")
    if sigma <= 0:
        raise EpiInputError("sigma (1/incubation days) must be > 0", field="sigma")
    if gamma <= 0:
        raise EpiInputError("gamma (1/infectious days) must be > 0", field="gamma")
    days = data.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise EpiInputError("days must be a whole number >= 1", field="days")
    return Scenario(tuple(patches), mobility, beta, sigma, gamma, days)


def _mobility(raw: Any, k: int) -> NDArray[np.float64]:
    if raw is None:
        return np.eye(k)
    try:
        m = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise EpiInputError("mobility must be a K×K matrix of numbers", field="mobility") from None
    if m.shape != (k, k):
        raise EpiInputError(
            f"mobility must be {k}×{k} (one row and column per patch), not {m.shape}",
            field="mobility",
        )
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise EpiInputError("mobility must be finite and non-negative", field="mobility")
    rows = m.sum(axis=1)
    bad = np.flatnonzero(np.abs(rows - 1.0) > 1e-9)
    if bad.size:
        i = int(bad[0])
        raise EpiInputError(
            f"mobility is not row-stochastic: row {i} sums to {rows[i]:.12g}, not 1",
            field="mobility",
        )
    return m


def _beta(raw: Any, k: int) -> tuple[BetaStep, ...]:
    if not isinstance(raw, list) or not raw:
        raise EpiInputError("beta must be a non-empty list of steps", field="beta")
    steps = []
    last = -math.inf
    for i, item in enumerate(raw):
        where = f"beta[{i}]"
        if not isinstance(item, Mapping):
            raise EpiInputError(f"{where} must be an object", field="beta")
        day = _number(item, "from_day", where)
        if i == 0 and day != 0:
            raise EpiInputError("the first beta step must start on day 0", field="beta")
        if day <= last:
            raise EpiInputError(f"{where}: from_day must increase", field="beta")
        last = day
        value = item.get("value")
        if isinstance(value, bool):
            raise EpiInputError(f"{where}: value must be a number or a list", field="beta")
        if isinstance(value, int | float):
            values = np.full(k, float(value))
        elif isinstance(value, list) and len(value) == k:
            try:
                values = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise EpiInputError(f"{where}: value must hold numbers", field="beta") from None
        else:
            raise EpiInputError(
                f"{where}: value must be a number or a list of {k} numbers", field="beta"
            )
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise EpiInputError(f"{where}: beta must be finite and >= 0", field="beta")
        steps.append(BetaStep(day, values))
    return tuple(steps)


@dataclass(frozen=True)
class Trajectory:
    """Compartments per day (rows day 0 … days) and patch (columns)."""

    patch_ids: tuple[str, ...]
    days: NDArray[np.int64]
    S: NDArray[np.float64]
    E: NDArray[np.float64]
    I: NDArray[np.float64]  # noqa: E741
    R: NDArray[np.float64]

    def compartment(self, name: str) -> NDArray[np.float64]:
        """One compartment by name (S, E, I or R)."""
        out: NDArray[np.float64] = getattr(self, name)
        return out


def _rhs(
    n: NDArray[np.float64],
    m: NDArray[np.float64],
    beta: NDArray[np.float64],
    sigma: float,
    gamma: float,
) -> tuple[Any, Any]:
    k = n.shape[0]

    def rhs(_t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        s, e, i = y[:k], y[k : 2 * k], y[2 * k : 3 * k]
        infection = beta * s * (m @ (i / n))
        return np.concatenate([-infection, infection - sigma * e, sigma * e - gamma * i, gamma * i])

    mn = m / n[None, :]

    def jac(_t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        s = y[:k]
        lam = m @ (y[2 * k : 3 * k] / n)
        out = np.zeros((4 * k, 4 * k))
        d_s = np.diag(beta * lam)  # ∂infection/∂S
        d_i = (beta * s)[:, None] * mn  # ∂infection/∂I
        eye = np.eye(k)
        out[:k, :k] = -d_s
        out[:k, 2 * k : 3 * k] = -d_i
        out[k : 2 * k, :k] = d_s
        out[k : 2 * k, k : 2 * k] = -sigma * eye
        out[k : 2 * k, 2 * k : 3 * k] = d_i
        out[2 * k : 3 * k, k : 2 * k] = sigma * eye
        out[2 * k : 3 * k, 2 * k : 3 * k] = -gamma * eye
        out[3 * k :, 2 * k : 3 * k] = gamma * eye
        return out

    return rhs, jac


def project(scenario: Scenario, *, rtol: float = RTOL, atol: float = ATOL) -> Trajectory:
    """Deterministic projection at days 0 … days (LSODA, restarted at every β step)."""
    k = scenario.k
    n = scenario.population
    days = np.arange(scenario.days + 1)
    out = np.empty((days.size, 4 * k))
    y = scenario.initial_state()
    out[0] = y
    for start, end, beta in scenario.segments():
        rhs, jac = _rhs(n, scenario.mobility, beta, scenario.sigma, scenario.gamma)
        inside = days[(days > start) & (days <= end)].astype(np.float64)
        t_eval = np.unique(np.concatenate([[start], inside, [end]]))
        sol = solve_ivp(
            rhs,
            (start, end),
            y,
            method="LSODA",
            t_eval=t_eval,
            rtol=rtol,
            atol=atol,
            jac=jac,
        )
        if not sol.success:
            raise EpiInputError(f"the ODE solver failed: {sol.message}", field="scenario")
        for j, t in enumerate(sol.t):
            if t == int(t) and t > start:
                out[int(t)] = sol.y[:, j]
        y = sol.y[:, -1]
    return Trajectory(
        patch_ids=tuple(p.id for p in scenario.patches),
        days=days.astype(np.int64),
        S=out[:, :k],
        E=out[:, k : 2 * k],
        I=out[:, 2 * k : 3 * k],
        R=out[:, 3 * k :],
    )


@dataclass(frozen=True)
class Ensemble:
    """Stochastic runs: counts [run × day × patch] per compartment (32-bit to halve memory)."""

    patch_ids: tuple[str, ...]
    days: NDArray[np.int64]
    S: NDArray[np.int32]
    E: NDArray[np.int32]
    I: NDArray[np.int32]  # noqa: E741
    R: NDArray[np.int32]

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.S.shape[0])

    def band(self, compartment: str, q: float) -> NDArray[np.float64]:
        """Quantile q over runs, [day × patch]."""
        values = getattr(self, compartment)
        out: NDArray[np.float64] = np.quantile(values, q, axis=0)
        return out

    def mean(self, compartment: str) -> NDArray[np.float64]:
        """Mean over runs, [day × patch]."""
        out: NDArray[np.float64] = getattr(self, compartment).mean(axis=0)
        return out


def simulate(
    scenario: Scenario,
    runs: int,
    seed: int,
    *,
    steps_per_day: int = 1,
) -> Ensemble:
    """Chain-binomial ensemble of `runs` runs, vectorised over runs and patches."""
    if runs < 1:
        raise EpiInputError("runs must be at least 1", field="runs")
    if steps_per_day < 1:
        raise EpiInputError("steps per day must be at least 1", field="steps_per_day")
    y0 = scenario.initial_state()
    if np.any(np.abs(y0 - np.round(y0)) > STOCHASTIC_TOLERANCE):
        raise EpiInputError(
            "a stochastic run needs whole numbers of people in S, E, I, R", field="patches"
        )
    k = scenario.k
    rng = np.random.default_rng(seed)
    n = scenario.population
    m_over_n = scenario.mobility / n[None, :]
    dt = 1.0 / steps_per_day
    p_e = -math.expm1(-scenario.sigma * dt)
    p_i = -math.expm1(-scenario.gamma * dt)
    state = np.round(y0).astype(np.int64)
    s = np.tile(state[:k], (runs, 1))
    e = np.tile(state[k : 2 * k], (runs, 1))
    i = np.tile(state[2 * k : 3 * k], (runs, 1))
    r = np.tile(state[3 * k :], (runs, 1))
    shape = (runs, scenario.days + 1, k)
    if np.any(y0 > np.iinfo(np.int32).max):
        raise EpiInputError(
            "a patch is too large for a stochastic run (2^31 people)", field="patches"
        )
    out = {c: np.empty(shape, dtype=np.int32) for c in COMPARTMENTS}
    out["S"][:, 0], out["E"][:, 0], out["I"][:, 0], out["R"][:, 0] = s, e, i, r
    for day in range(scenario.days):
        for sub in range(steps_per_day):
            beta = scenario.beta_at(day + sub * dt)
            force = beta[None, :] * (i @ m_over_n.T)
            p_s = -np.expm1(-force * dt)
            new_e = rng.binomial(s, p_s)
            new_i = rng.binomial(e, p_e)
            new_r = rng.binomial(i, p_i)
            s = s - new_e
            e = e + new_e - new_i
            i = i + new_i - new_r
            r = r + new_r
        out["S"][:, day + 1], out["E"][:, day + 1] = s, e
        out["I"][:, day + 1], out["R"][:, day + 1] = i, r
    return Ensemble(
        patch_ids=tuple(p.id for p in scenario.patches),
        days=np.arange(scenario.days + 1, dtype=np.int64),
        S=out["S"],
        E=out["E"],
        I=out["I"],
        R=out["R"],
    )


@dataclass(frozen=True)
class PatchSummary:
    """Peak and final size of one patch (as `seir_summary.csv`)."""

    patch: str
    population: float
    peak_day: int
    peak_I: float
    final_size: float


def summarise(trajectory: Trajectory, population: NDArray[np.float64]) -> list[PatchSummary]:
    """First day of maximum I on the daily grid, that maximum, and R(last day)/N per patch."""
    out = []
    for j, pid in enumerate(trajectory.patch_ids):
        col = trajectory.I[:, j]
        peak = int(np.argmax(col))
        out.append(
            PatchSummary(
                patch=pid,
                population=float(population[j]),
                peak_day=int(trajectory.days[peak]),
                peak_I=float(col[peak]),
                final_size=float(trajectory.R[-1, j] / population[j]),
            )
        )
    return out
