"""Result types shared by the detectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ALARM_NA = -1
"""Alarm code where R gives NA (threshold undefined) or the point is not evaluated."""


@dataclass(frozen=True)
class Detection:
    """Upper bounds and alarms of one detector over series × time (0-based time index).

    `evaluated[s, i]` marks the time points the method evaluates (R's `range`);
    `upperbound` is NaN where R gives NA/NaN or the point is not evaluated; `alarm` is
    1 or 0, or `ALARM_NA` (-1) where R's alarm is NA or the point is not evaluated.
    """

    method: str
    evaluated: NDArray[np.bool_]
    upperbound: NDArray[np.float64]
    alarm: NDArray[np.int8]

    def points(self, series: int) -> NDArray[np.int64]:
        """0-based time indices evaluated for one series."""
        return np.flatnonzero(self.evaluated[series])


def evaluated_mask(lengths: NDArray[np.int64], width: int, first: int) -> NDArray[np.bool_]:
    """Mask [series × time] of 1-based t in first..n_s for each series."""
    index = np.arange(width)
    return (index[None, :] >= first - 1) & (index[None, :] < lengths[:, None])


def lengths_of(counts: NDArray[np.float64]) -> NDArray[np.int64]:
    """Length of each row of a NaN-padded [series × time] array (NaN only at the end)."""
    present = ~np.isnan(counts)
    if counts.shape[1] == 0:
        return np.zeros(counts.shape[0], dtype=np.int64)
    # index of the last non-NaN + 1
    last = counts.shape[1] - np.argmax(present[:, ::-1], axis=1)
    return np.where(present.any(axis=1), last, 0).astype(np.int64)
