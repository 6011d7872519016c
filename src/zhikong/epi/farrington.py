"""Farrington outbreak detection as `surveillance` 1.20.3, batched over series and weeks.

Two variants, both index-based (reference weeks are t − period·i, as R does for an `sts`
with `epochAsDate = FALSE`):

* `farrington` — classic `algo.farrington` with `algo.farrington.fitGLM.fast`
  (Farrington et al. 1996): reference windows t − period·i ± w, i = 1..b; Anscombe
  reweighting with threshold 1; z = qnorm(1 − α/2); when fewer than 5 cases in the last 4
  weeks the upper bound is 0 and there is no alarm.
* `farrington_flexible` — `farringtonFlexible` (Noufaily et al. 2013): optional seasonal
  factor (`noPeriods`), the w most recent weeks left out, reweighting threshold 2.58,
  z = qnorm(1 − α), trend p-value threshold, limit54 → upper bound NA, and the package's
  quirk that `model$weights` is replaced by the prior weights after reweighting (so the
  standard error of the prediction and the trend test use Σ ω r² / (n − k)).

Every GLM is fitted with `zhikong.epi.glm.fit_quasipoisson`, which follows `glm.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri, stdtr

from zhikong.epi.errors import EpiInputError
from zhikong.epi.glm import EPS, GlmBatch, fit_quasipoisson
from zhikong.epi.models import ALARM_NA, Detection, evaluated_mask, lengths_of

PowerTransform = Literal["none", "1/2", "2/3"]
CHUNK = 20_000


def _check_common(
    b: int, w: int, alpha: float, limit54: tuple[int, int], powertrans: str, period: int
) -> None:
    if b < 1:
        raise EpiInputError("b (years back) must be at least 1", field="b")
    if w < 0:
        raise EpiInputError("w (half window) must be at least 0", field="w")
    if 2 * w + 1 >= period:
        raise EpiInputError("the window 2w+1 must be shorter than one year", field="w")
    if not 0 < alpha < 1:
        raise EpiInputError("alpha must be between 0 and 1", field="alpha")
    if not (limit54[0] >= 0 and limit54[1] > 0):
        raise EpiInputError("limit54 needs cases >= 0 and a period > 0", field="limit54")
    if powertrans not in ("none", "1/2", "2/3"):
        raise EpiInputError("powertrans must be none, 1/2 or 2/3", field="powertrans")
    if period < 2:
        raise EpiInputError("the period (rows per year) must be at least 2", field="period")


@dataclass(frozen=True)
class FarringtonOptions:
    """Control of classic `farrington` / `algo.farrington` (index-based reference weeks)."""

    b: int = 5
    w: int = 3
    alpha: float = 0.05
    reweight: bool = True
    trend: bool = True
    limit54: tuple[int, int] = (5, 4)
    powertrans: PowerTransform = "2/3"
    period: int = 52
    start: int | None = None

    def __post_init__(self) -> None:
        _check_common(self.b, self.w, self.alpha, self.limit54, self.powertrans, self.period)
        if self.start is not None and self.start < self.default_start:
            raise EpiInputError(
                f"farrington with b = {self.b}, w = {self.w} needs all reference weeks: "
                f"it can start at t = {self.default_start} at the earliest, not {self.start}",
                field="start",
            )

    @property
    def default_start(self) -> int:
        """First t with every reference week present: period·b + w + 1."""
        return self.period * self.b + self.w + 1

    @property
    def first(self) -> int:
        """First evaluated t (1-based)."""
        return self.default_start if self.start is None else self.start

    @property
    def method_id(self) -> str:
        """Run id as in the reference outputs (`farrington` for b=5, w=3, alpha 0.05)."""
        out = "farrington"
        if (self.b, self.w) != (5, 3):
            out += f"_b{self.b}w{self.w}"
        if self.alpha != 0.05:
            out += f"_a{self.alpha:g}"
        if not self.reweight:
            out += "_noreweight"
        if not self.trend:
            out += "_notrend"
        if self.powertrans != "2/3":
            out += f"_pt{self.powertrans.replace('/', '')}"
        return out


@dataclass(frozen=True)
class FlexibleOptions:
    """Control of `farringtonFlexible` (delta threshold method, index-based reference weeks)."""

    b: int = 5
    w: int = 3
    alpha: float = 0.05
    reweight: bool = True
    weights_threshold: float = 2.58
    trend: bool = True
    p_threshold_trend: float = 0.05
    limit54: tuple[int, int] = (5, 4)
    powertrans: PowerTransform = "2/3"
    population_offset: bool = False
    no_periods: int = 1
    past_weeks_not_included: int | None = None
    period: int = 52
    start: int | None = None

    def __post_init__(self) -> None:
        _check_common(self.b, self.w, self.alpha, self.limit54, self.powertrans, self.period)
        if self.no_periods < 1:
            raise EpiInputError("noPeriods must be at least 1", field="no_periods")
        gap = self.period - 2 * self.w - 1
        if self.no_periods > 1 and self.no_periods - 1 > gap:
            raise EpiInputError(
                f"noPeriods {self.no_periods} is too big: {gap} weeks between two windows "
                f"cannot make {self.no_periods - 1} blocks",
                field="no_periods",
            )
        if self.past_weeks_not_included is not None and self.past_weeks_not_included < 0:
            raise EpiInputError("pastWeeksNotIncluded must be >= 0", field="past_weeks")
        if self.start is not None and self.start < self.default_start:
            raise EpiInputError(
                f"farringtonFlexible with b = {self.b}, w = {self.w} can start at "
                f"t = {self.default_start} at the earliest, not {self.start}",
                field="start",
            )

    @property
    def past_weeks(self) -> int:
        """Weeks before the current one left out of the fit (default w)."""
        return self.w if self.past_weeks_not_included is None else self.past_weeks_not_included

    @property
    def default_start(self) -> int:
        """R's default first week: period·b + w + 1."""
        return self.period * self.b + self.w + 1

    @property
    def first(self) -> int:
        """First evaluated t (1-based)."""
        return self.default_start if self.start is None else self.start

    @property
    def method_id(self) -> str:
        """Run id as in the reference outputs (e.g. farringtonFlexible_b3w3np10)."""
        default = FlexibleOptions()
        out = "farringtonFlexible"
        tags = ""
        if (self.b, self.w) != (5, 3) or self.no_periods != 1:
            tags += f"_b{self.b}w{self.w}"
        if self.no_periods != 1:
            tags += f"np{self.no_periods}"
        for name, short in (
            ("alpha", "a"),
            ("weights_threshold", "wt"),
            ("p_threshold_trend", "pt"),
            ("past_weeks_not_included", "pw"),
        ):
            value = getattr(self, name)
            if value != getattr(default, name):
                tags += f"_{short}{value:g}"
        if not self.reweight:
            tags += "_noreweight"
        if not self.trend:
            tags += "_notrend"
        if self.powertrans != "2/3":
            tags += f"_pow{self.powertrans.replace('/', '')}"
        if self.population_offset:
            tags += "_popoffset"
        if self.limit54 != (5, 4):
            tags += f"_lim{self.limit54[0]}x{self.limit54[1]}"
        return out + tags


@dataclass(frozen=True)
class _Template:
    """Reference rows relative to the evaluated week, and their design columns."""

    offsets: NDArray[np.int64]  # [n] relative positions (negative)
    levels: NDArray[np.int64] | None  # seasonal factor level of each row, or None
    n_levels: int
    period: int

    def design(self, trend: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Design matrix [n × p] and the prediction row x₀ (time centred at the current week)."""
        n = self.offsets.shape[0]
        cols: list[NDArray[np.float64]] = []
        x0: list[float] = []
        if self.levels is None:
            cols.append(np.ones(n))
            x0.append(1.0)
        else:
            for level in range(1, self.n_levels + 1):
                cols.append((self.levels == level).astype(np.float64))
                x0.append(1.0 if level == self.n_levels else 0.0)
        if trend:
            cols.append(self.offsets.astype(np.float64) / self.period)
            x0.append(0.0)
        return np.stack(cols, axis=1), np.array(x0)

    @property
    def trend_column(self) -> int:
        """Index of the time column in the trend design."""
        return 1 if self.levels is None else self.n_levels


def _classic_template(options: FarringtonOptions) -> _Template:
    offsets = [
        -options.period * i + d
        for i in range(options.b, 0, -1)
        for d in range(-options.w, options.w + 1)
    ]
    return _Template(np.array(offsets, dtype=np.int64), None, 1, options.period)


def _flexible_template(options: FlexibleOptions) -> _Template:
    b, w, p, period = options.b, options.w, options.no_periods, options.period
    span = period * b + w
    factor = np.zeros(span + 1, dtype=np.int64)  # position j ↔ relative offset j − span

    def put(lo: int, hi: int, level: int) -> None:
        factor[lo + span : hi + span + 1] = level

    put(-w, 0, p)
    for i in range(1, b + 1):
        ref = -period * i
        put(ref - w, ref + w, p)
        if p != 1:
            gap = period - 2 * w - 1
            size, rest = divmod(gap, p - 1)
            lengths = [size + (1 if j < rest else 0) for j in range(p - 1)]
            start = ref + w + 1
            for j, length in enumerate(lengths, start=1):
                put(start, start + length - 1, j)
                start += length
    factor[span - options.past_weeks : span + 1] = 0
    keep = np.flatnonzero(factor > 0)
    offsets = keep - span
    levels = factor[keep]
    if p == 1:
        if offsets.size == 0:
            raise EpiInputError("no reference weeks left", field="past_weeks")
        return _Template(offsets.astype(np.int64), None, 1, period)
    if set(levels.tolist()) != set(range(1, p + 1)):
        raise EpiInputError(
            "pastWeeksNotIncluded leaves a seasonal factor level without weeks", field="past_weeks"
        )
    return _Template(offsets.astype(np.int64), levels, p, period)


@dataclass
class _Spec:
    flexible: bool
    z: float
    reweight: bool
    weights_threshold: float
    trend: bool
    p_threshold: float
    b: int
    limit54: tuple[int, int]
    powertrans: str
    first: int
    population_offset: bool = False
    template: _Template = field(
        default_factory=lambda: _Template(np.zeros(0, np.int64), None, 1, 52)
    )


@dataclass(frozen=True)
class _Pass:
    """One `fitGLM` call: first fit, optional reweighted refit, dispersions."""

    fit: GlmBatch
    first_converged: NDArray[np.bool_]
    phi: NDArray[np.float64]  # max(1, dispersion) of the final fit
    se_dispersion: NDArray[np.float64]  # dispersion used for se(μ₀) and the trend test


def _fit_pass(
    spec: _Spec,
    design: NDArray[np.float64],
    y: NDArray[np.float64],
    offset: NDArray[np.float64] | None,
) -> _Pass:
    first = fit_quasipoisson(design, y, offset=offset)
    phi = np.maximum(first.pearson_dispersion(y), 1.0)
    if not spec.reweight:
        disp = first.pearson_dispersion(y)
        se_disp = disp if spec.flexible else phi
        return _Pass(first, first.converged, phi, se_disp)
    mu = first.mu
    h = first.hat(design)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1.5 * (np.cbrt(y * y) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
        s = s / np.sqrt(phi[:, None] * (1.0 - h))
        high = s > spec.weights_threshold
        factor = np.where(high, s ** (-2.0), 1.0)
    gamma = y.shape[1] / factor.sum(axis=1)
    omega = gamma[:, None] * factor
    refit = fit_quasipoisson(design, y, prior=omega, offset=offset)
    disp = refit.pearson_dispersion(y)
    phi = np.maximum(disp, 1.0)
    se_disp = refit.dispersion_with(omega, y) if spec.flexible else phi
    return _Pass(refit, first.converged, phi, se_disp)


def _trend_pvalue(result: _Pass, spec: _Spec, y: NDArray[np.float64]) -> NDArray[np.float64]:
    fit = result.fit
    col = spec.template.trend_column
    disp = result.se_dispersion if spec.flexible else fit.pearson_dispersion(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = fit.beta[:, col] / np.sqrt(disp * fit.cov_unscaled[:, col, col])
    pvalue: NDArray[np.float64] = 2.0 * stdtr(fit.df_residual, -np.abs(t))
    return pvalue


def _predict(
    result: _Pass, x0: NDArray[np.float64], offset0: NDArray[np.float64] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    fit = result.fit
    eta0 = fit.beta @ x0
    if offset0 is not None:
        eta0 = eta0 + offset0
    var = np.einsum("i,bij,j->b", x0, fit.cov_unscaled, x0)
    with np.errstate(over="ignore", invalid="ignore"):
        mu0 = np.maximum(np.exp(eta0), EPS)
        se = np.sqrt(var * result.se_dispersion) * mu0
    return mu0, se


def _threshold(
    spec: _Spec, mu0: NDArray[np.float64], se: NDArray[np.float64], phi: NDArray[np.float64]
) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tau = phi + se * se / mu0
        if spec.powertrans == "none":
            sd, exponent = np.sqrt(mu0 * tau), 1.0
        elif spec.powertrans == "1/2":
            sd, exponent = np.sqrt(0.25 * tau), 0.5
        else:
            sd, exponent = np.sqrt(4.0 / 9.0 * np.cbrt(mu0) * tau), 2.0 / 3.0
        upper: NDArray[np.float64] = (mu0**exponent + spec.z * sd) ** (1.0 / exponent)
    return upper


def _run(
    spec: _Spec,
    counts: NDArray[np.float64],
    population: NDArray[np.float64] | None,
    method_id: str,
) -> Detection:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[None, :]
    lengths = lengths_of(counts)
    n_series, width = counts.shape
    evaluated = evaluated_mask(lengths, width, spec.first)
    upper_out = np.full((n_series, width), np.nan)
    alarm_out = np.full((n_series, width), ALARM_NA, dtype=np.int8)
    s_all, k_all = np.nonzero(evaluated)
    template = spec.template
    rel = template.offsets
    design_t, x0_t = template.design(trend=True)
    design_n, x0_n = template.design(trend=False)
    use_trend = spec.trend and spec.b >= 3
    lim_cases, lim_weeks = spec.limit54
    for lo in range(0, s_all.size, CHUNK):
        s_idx = s_all[lo : lo + CHUNK]
        k_idx = k_all[lo : lo + CHUNK]
        cols = k_idx[:, None] + rel[None, :]
        y = counts[s_idx[:, None], cols]
        observed = counts[s_idx, k_idx]
        offset = offset0 = None
        if spec.population_offset:
            if population is None:
                raise EpiInputError("the population offset needs a population column")
            offset = np.log(population[s_idx[:, None], cols])
            offset0 = np.log(population[s_idx, k_idx])
        batch = y.shape[0]
        mu0 = np.full(batch, np.nan)
        se = np.full(batch, np.nan)
        phi = np.full(batch, np.nan)
        ok = np.ones(batch, dtype=bool)
        need_plain = np.ones(batch, dtype=bool)
        if use_trend:
            with_trend = _fit_pass(spec, design_t, y, offset)
            conv = with_trend.first_converged
            pvalue = _trend_pvalue(with_trend, spec, y)
            m0, s0 = _predict(with_trend, x0_t, offset0)
            keep = conv & (pvalue < spec.p_threshold) & (m0 <= y.max(axis=1))
            mu0[keep], se[keep], phi[keep] = m0[keep], s0[keep], with_trend.phi[keep]
            need_plain = ~keep
        idx = np.flatnonzero(need_plain)
        if idx.size:
            plain = _fit_pass(spec, design_n, y[idx], None if offset is None else offset[idx])
            m0, s0 = _predict(plain, x0_n, None if offset0 is None else offset0[idx])
            mu0[idx], se[idx], phi[idx] = m0, s0, plain.phi
            if spec.flexible:
                ok[idx] = plain.first_converged
        upper = _threshold(spec, mu0, se, phi)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = (observed - mu0) / (upper - mu0)
        recent = np.zeros(batch)
        for d in range(lim_weeks):
            recent += counts[s_idx, k_idx - d]
        enough = recent >= lim_cases
        if spec.flexible:
            alarm = (enough & ~np.isnan(score) & (score > 1) & (observed != 0)).astype(np.int8)
            bound = np.where(enough, upper, np.nan)
            alarm[~ok] = ALARM_NA
            bound[~ok] = np.nan
        else:
            x = np.where(enough, score, 0.0)
            alarm = np.where(np.isnan(x), ALARM_NA, x > 1).astype(np.int8)
            bound = np.where(enough, upper, 0.0)
        upper_out[s_idx, k_idx] = bound
        alarm_out[s_idx, k_idx] = alarm
    return Detection(method=method_id, evaluated=evaluated, upperbound=upper_out, alarm=alarm_out)


def farrington(counts: NDArray[np.float64], options: FarringtonOptions) -> Detection:
    """Classic Farrington (`algo.farrington`, fast GLM fit) on counts [series × time]."""
    spec = _Spec(
        flexible=False,
        z=float(ndtri(1.0 - options.alpha / 2.0)),
        reweight=options.reweight,
        weights_threshold=1.0,
        trend=options.trend,
        p_threshold=0.05,
        b=options.b,
        limit54=options.limit54,
        powertrans=options.powertrans,
        first=options.first,
        template=_classic_template(options),
    )
    return _run(spec, counts, None, options.method_id)


def farrington_flexible(
    counts: NDArray[np.float64],
    options: FlexibleOptions,
    population: NDArray[np.float64] | None = None,
) -> Detection:
    """`farringtonFlexible` (delta threshold) on counts [series × time]."""
    if options.population_offset and population is None:
        raise EpiInputError("populationOffset needs a population column", field="population")
    spec = _Spec(
        flexible=True,
        z=float(ndtri(1.0 - options.alpha)),
        reweight=options.reweight,
        weights_threshold=options.weights_threshold,
        trend=options.trend,
        p_threshold=options.p_threshold_trend,
        b=options.b,
        limit54=options.limit54,
        powertrans=options.powertrans,
        first=options.first,
        population_offset=options.population_offset,
        template=_flexible_template(options),
    )
    return _run(spec, counts, population, options.method_id)
