"""EARS C1, C2 and C3 exactly as `surveillance::earsC` (1.20.3), vectorised over series.

With baseline B (default 7) and z = qnorm(1 - alpha):

* C1: Ȳ, S = mean and sample SD (n − 1) of Y(t−B) … Y(t−1); U(t) = Ȳ + z·max(S, minSigma).
* C2: the same over Y(t−B−2) … Y(t−3) (guard band of 2).
* C3 (as the 1.20.3 *code*, not its help page): C₂(i) = (Y(i) − Ȳ₂(i)) / max(S₂(i), minSigma),
  U(t) = max(0, Y(t) + S₂(t)·(z − Σ_{i=t−2}^{t−1} max(0, C₂(i) − 1))).
* Alarm: Y(t) > U(t) (strict); NA where U is NaN (0/0 or 0·∞ when S = 0 in C3).
* Default alpha: 0.001 for C1 and C2, 0.025 for C3; default range: t = B+1, B+3, B+5 … n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy.special import ndtri

from zhikong.epi.errors import EpiInputError
from zhikong.epi.models import ALARM_NA, Detection, evaluated_mask, lengths_of

EarsMethod = Literal["C1", "C2", "C3"]
DEFAULT_ALPHA: dict[str, float] = {"C1": 0.001, "C2": 0.001, "C3": 0.025}
_LAG = {"C1": 0, "C2": 2, "C3": 4}


@dataclass(frozen=True)
class EarsOptions:
    """Control of `earsC`: method, baseline, alpha (None = R's default), minSigma, range."""

    method: EarsMethod = "C1"
    baseline: int = 7
    alpha: float | None = None
    min_sigma: float = 0.0
    start: int | None = None

    def __post_init__(self) -> None:
        if self.method not in _LAG:
            raise EpiInputError(f"EARS method must be C1, C2 or C3, not {self.method!r}")
        if self.baseline < 3:
            raise EpiInputError("the EARS baseline must be at least 3", field="baseline")
        if self.alpha is not None and not 0 < self.alpha < 1:
            raise EpiInputError("alpha must be between 0 and 1", field="alpha")
        if self.min_sigma < 0 or not np.isfinite(self.min_sigma):
            raise EpiInputError("minSigma must be a non-negative number", field="min_sigma")
        if self.start is not None and self.start < self.default_start:
            raise EpiInputError(
                f"EARS {self.method} with baseline {self.baseline} can start at "
                f"t = {self.default_start} at the earliest, not {self.start}",
                field="start",
            )

    @property
    def resolved_alpha(self) -> float:
        """The alpha in force (R's per-method default when none is given)."""
        return DEFAULT_ALPHA[self.method] if self.alpha is None else self.alpha

    @property
    def default_start(self) -> int:
        """First evaluated t (1-based) of R's default range: B+1, B+3 or B+5."""
        return self.baseline + 1 + _LAG[self.method]

    @property
    def first(self) -> int:
        """First evaluated t (1-based)."""
        return self.default_start if self.start is None else self.start

    @property
    def method_id(self) -> str:
        """Run id as in the reference outputs, e.g. earsC_C1, earsC_C3_a0.001."""
        out = f"earsC_{self.method}"
        if self.baseline != 7:
            out += f"_bl{self.baseline}"
        if self.alpha is not None and self.alpha != DEFAULT_ALPHA[self.method]:
            out += f"_a{self.alpha:g}"
        if self.min_sigma:
            out += f"_ms{self.min_sigma:g}"
        return out


def _baseline_stats(
    counts: NDArray[np.float64], baseline: int, guard: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and sample SD of Y(i−B−guard) … Y(i−1−guard) at every 0-based i (NaN if missing)."""
    series, width = counts.shape
    mean = np.full((series, width), np.nan)
    sd = np.full((series, width), np.nan)
    lead = baseline + guard
    if width <= lead:
        return mean, sd
    windows = sliding_window_view(counts, baseline, axis=1)[:, : width - lead]
    m = windows.sum(axis=2) / baseline
    dev = windows - m[:, :, None]
    v = (dev * dev).sum(axis=2) / (baseline - 1)
    mean[:, lead:] = m
    sd[:, lead:] = np.sqrt(v)
    return mean, sd


def ears(counts: NDArray[np.float64], options: EarsOptions) -> Detection:
    """Run EARS on counts [series × time] (NaN after each series' end)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[None, :]
    lengths = lengths_of(counts)
    series, width = counts.shape
    z = float(ndtri(1.0 - options.resolved_alpha))
    evaluated = evaluated_mask(lengths, width, options.first)
    method = options.method
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "C1":
            mean, sd = _baseline_stats(counts, options.baseline, 0)
            upper = mean + z * np.maximum(sd, options.min_sigma)
        elif method == "C2":
            mean, sd = _baseline_stats(counts, options.baseline, 2)
            upper = mean + z * np.maximum(sd, options.min_sigma)
        else:
            mean, sd = _baseline_stats(counts, options.baseline, 2)
            sigma = np.maximum(sd, options.min_sigma)
            c2 = (counts - mean) / sigma
            part = np.maximum(0.0, c2 - 1.0)
            lagged = np.full_like(part, np.nan)
            lagged[:, 2:] = part[:, :-2] + part[:, 1:-1]
            upper = np.maximum(0.0, counts + sigma * (z - lagged))
        upper = np.where(evaluated, upper, np.nan)
        defined = evaluated & ~np.isnan(upper)
        alarm = np.full((series, width), ALARM_NA, dtype=np.int8)
        alarm[defined] = (counts[defined] > upper[defined]).astype(np.int8)
    return Detection(method=options.method_id, evaluated=evaluated, upperbound=upper, alarm=alarm)
