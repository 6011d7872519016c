"""Instantaneous reproduction number R_t (Cori et al. 2013) as `EpiEstim::estimate_R` 2.2-4.

For a window [t_s, t_e] (1-based days, t_s ≥ 2) and a discrete serial interval w_0 … w_K
(w_0 = 0), with the Gamma prior (shape a = (mean/sd)², scale b = sd²/mean; EpiEstim's
default mean 5, sd 5 gives a = 1, b = 5):

    Λ_t = Σ_{s=1}^{t−1} w_s I_{t−s}                       (all cases, day 1 included)
    R | I ~ Gamma(shape = a + Σ_{t=t_s}^{t_e} I_t, scale = 1 / (1/b + Σ_{t=t_s}^{t_e} Λ_t))

Day-1 cases count as imported: they enter Λ but never the shape (t_s ≥ 2 anyway). A window
is not estimated (NA) when t_e ≤ Σ_k k·w_k, the mean of the SI actually used. A window with
Σ Λ = 0 is estimated from the prior (mean 5 without cases). The parametric SI is
`discr_si(0:(T−1), mean, sd)` — a gamma on SI − 1 integrated against a linear hat —
truncated at T − 1 and not renormalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import toeplitz
from scipy.special import gammainc, gammaincinv

from zhikong.epi.errors import EpiInputError
from zhikong.epi.models import lengths_of

QUANTILES: tuple[tuple[str, float], ...] = (
    ("q025", 0.025),
    ("q05", 0.05),
    ("q25", 0.25),
    ("median", 0.5),
    ("q75", 0.75),
    ("q95", 0.95),
    ("q975", 0.975),
)
SI_SUM_TOLERANCE = 0.01


def _pgamma(x: NDArray[np.float64], shape: float, scale: float) -> NDArray[np.float64]:
    """Gamma cdf with F(x) = 0 for x ≤ 0 (R's `pgamma(x, shape, scale = scale)`)."""
    positive = x > 0
    out = np.zeros_like(x)
    out[positive] = gammainc(shape, x[positive] / scale)
    return out


def discr_si(
    k: NDArray[np.float64] | NDArray[np.int64], mean: float, sd: float
) -> NDArray[np.float64]:
    """`EpiEstim::discr_si`: discretised shifted-gamma serial interval at days k ≥ 0."""
    if sd <= 0 or not np.isfinite(sd):
        raise EpiInputError("the serial interval sd must be > 0", field="si_sd")
    if mean <= 1 or not np.isfinite(mean):
        raise EpiInputError("the serial interval mean must be > 1 day", field="si_mean")
    kk = np.asarray(k, dtype=np.float64)
    if np.any(kk < 0):
        raise EpiInputError("serial interval days must be >= 0", field="k")
    a = ((mean - 1.0) / sd) ** 2
    b = sd * sd / (mean - 1.0)
    res = (
        kk * _pgamma(kk, a, b)
        + (kk - 2.0) * _pgamma(kk - 2.0, a, b)
        - 2.0 * (kk - 1.0) * _pgamma(kk - 1.0, a, b)
    )
    res = res + a * b * (
        2.0 * _pgamma(kk - 1.0, a + 1.0, b)
        - _pgamma(kk - 2.0, a + 1.0, b)
        - _pgamma(kk, a + 1.0, b)
    )
    out: NDArray[np.float64] = np.maximum(0.0, res)
    return out


@dataclass(frozen=True)
class SerialInterval:
    """A serial interval: parametric (mean, sd → `discr_si`) or a given distribution w_0..w_K."""

    mean: float | None = None
    sd: float | None = None
    distribution: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.distribution is None:
            if self.mean is None or self.sd is None:
                raise EpiInputError("give the SI mean and sd, or an SI distribution", field="si")
            discr_si(np.zeros(1), self.mean, self.sd)  # validates mean > 1, sd > 0
            return
        if self.mean is not None or self.sd is not None:
            raise EpiInputError("give either the SI mean and sd or a distribution", field="si")
        w = np.asarray(self.distribution, dtype=np.float64)
        if w.size < 2:
            raise EpiInputError("the SI distribution needs w_0 = 0 and at least w_1", field="si")
        if not np.all(np.isfinite(w)):
            raise EpiInputError("the SI distribution has a non-finite value", field="si")
        if w[0] != 0:
            raise EpiInputError("the SI distribution must have w_0 = 0", field="si")
        if np.any(w < 0):
            raise EpiInputError("the SI distribution has a negative value", field="si")
        total = float(w.sum())
        if total <= 0:
            raise EpiInputError("the SI distribution has no mass", field="si")
        if abs(total - 1.0) > SI_SUM_TOLERANCE:
            raise EpiInputError(
                f"the SI distribution must sum to 1 (sums to {total:.6g})", field="si"
            )

    @property
    def parametric(self) -> bool:
        """True for a mean/sd serial interval."""
        return self.distribution is None

    def weights(self, length: int) -> NDArray[np.float64]:
        """w_0 … w_{length−1} as EpiEstim uses them (zero beyond a given distribution)."""
        if self.distribution is None:
            assert self.mean is not None and self.sd is not None
            return discr_si(np.arange(length), self.mean, self.sd)
        w = np.zeros(length)
        given = np.asarray(self.distribution, dtype=np.float64)[:length]
        w[: given.size] = given
        return w

    def describe(self) -> str:
        """Short parameter text (as in the reference `params` column)."""
        if self.distribution is None:
            return f"mean_si={self.mean:g};std_si={self.sd:g}"
        return f"si_distr=w0..w{len(self.distribution) - 1}"


@dataclass(frozen=True)
class RtEstimate:
    """Posterior of R_t per series and window, indexed [series, t_end − 1].

    `window[s, i]` marks the windows that exist (t_end = i + 1); `estimated` those EpiEstim
    estimates (t_end > mean SI); statistics are NaN elsewhere.
    """

    t_start: NDArray[np.int64]
    window: NDArray[np.bool_]
    estimated: NDArray[np.bool_]
    shape: NDArray[np.float64]
    scale: NDArray[np.float64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    quantiles: dict[str, NDArray[np.float64]]


def _lambda(incidence: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Λ[:, i] = Σ_{s≥1} w_s I[:, i − s] (0-based i) for every series at once."""
    width = incidence.shape[1]
    support = np.flatnonzero(w[:width])
    if support.size == 0:
        return np.zeros_like(incidence)
    reach = int(support[-1]) + 1
    if width <= 4096:
        column = np.zeros(width)
        column[:reach] = w[:reach]
        kernel = toeplitz(column, np.zeros(width))  # kernel[i, j] = w_{i−j}
        out: NDArray[np.float64] = incidence @ kernel.T
        return out
    lam = np.zeros_like(incidence)
    for s in support:
        if s == 0:
            lam += w[0] * incidence
        else:
            lam[:, s:] += w[s] * incidence[:, :-s]
    return lam


def estimate_rt(
    incidence: NDArray[np.float64],
    si: SerialInterval,
    *,
    window: int = 7,
    prior_mean: float = 5.0,
    prior_sd: float = 5.0,
) -> RtEstimate:
    """R_t on sliding windows of `window` days (t_start = 2 … T − window + 1) per series.

    `incidence` is [series × day] (NaN after each series' end), or one series as a vector.
    """
    counts = np.asarray(incidence, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[None, :]
    if window < 1:
        raise EpiInputError("the window must be at least 1 day", field="window")
    if not (prior_mean > 0 and prior_sd > 0):
        raise EpiInputError("the prior mean and sd must be > 0", field="prior")
    lengths = lengths_of(counts)
    n_series, width = counts.shape
    values = np.nan_to_num(counts, nan=0.0)
    w = si.weights(max(width, 1))
    lam = _lambda(values, w)
    if si.parametric:
        # EpiEstim truncates discr_si at T − 1 for each series: the mean SI depends on T.
        cum_mean = np.cumsum(np.arange(w.size) * w)
        mean_si = cum_mean[np.maximum(lengths - 1, 0)]
    else:
        full = np.asarray(si.distribution, dtype=np.float64)
        mean_si = np.full(n_series, float(np.sum(np.arange(full.size) * full)))
    a_prior = (prior_mean / prior_sd) ** 2
    b_prior = prior_sd**2 / prior_mean

    cum_i = np.concatenate([np.zeros((n_series, 1)), np.cumsum(values, axis=1)], axis=1)
    cum_l = np.concatenate([np.zeros((n_series, 1)), np.cumsum(lam, axis=1)], axis=1)
    t_end = np.arange(1, width + 1)
    t_start = t_end - window + 1
    exists = (t_start[None, :] >= 2) & (t_end[None, :] <= lengths[:, None])
    estimated = exists & (t_end[None, :] > mean_si[:, None])
    lo = np.clip(t_start - 1, 0, width)
    sum_i = cum_i[:, t_end] - cum_i[:, lo]
    sum_l = cum_l[:, t_end] - cum_l[:, lo]
    if window <= 64:
        # direct window sums (no cancellation in long cumulative sums)
        sum_l = np.zeros((n_series, width))
        for d in range(window):
            sum_l[:, window - 1 :] += lam[:, d : width - window + 1 + d]
    shape = np.where(estimated, a_prior + sum_i, np.nan)
    scale = np.where(estimated, 1.0 / (1.0 / b_prior + sum_l), np.nan)
    # The shape is the prior shape plus a whole number of cases: few distinct values, so the
    # Gamma inverse cdf is evaluated once per distinct shape (the costly part) and scaled.
    distinct, where = np.unique(shape[estimated], return_inverse=True)
    quantiles = {}
    for name, p in QUANTILES:
        values = np.full((n_series, width), np.nan)
        values[estimated] = gammaincinv(distinct, p)[where] * scale[estimated]
        quantiles[name] = values
    return RtEstimate(
        t_start=np.broadcast_to(t_start, (n_series, width)).astype(np.int64),
        window=exists,
        estimated=estimated,
        shape=shape,
        scale=scale,
        mean=shape * scale,
        std=np.sqrt(shape) * scale,
        quantiles=quantiles,
    )
