"""Conformance with R `surveillance` 1.20.3: every method id of early_warning_reference.

Acceptance (issue 16): alarms equal on >= 99 % of the evaluated points per method, upper
bounds within relative 1e-6 where finite, NA exactly where R gives NA, and the same set of
evaluated points (R's `range`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from zhikong.epi.detect import DetectorMethod, DetectorSettings, detect, detector_options
from zhikong.epi.models import Detection
from zhikong.epi.series import Frequency, series_from_rows, stack_counts

EARS_RUNS = [
    ("earsC_C1", DetectorMethod.ears_c1, None),
    ("earsC_C2", DetectorMethod.ears_c2, None),
    ("earsC_C3", DetectorMethod.ears_c3, None),
    ("earsC_C3_a0.001", DetectorMethod.ears_c3, 0.001),
    ("earsC_C1_a0.05", DetectorMethod.ears_c1, 0.05),
    ("earsC_C2_a0.05", DetectorMethod.ears_c2, 0.05),
    ("earsC_C3_a0.05", DetectorMethod.ears_c3, 0.05),
]
FARRINGTON_RUNS = [
    ("farrington", DetectorMethod.farrington, DetectorSettings()),
    ("farringtonFlexible", DetectorMethod.farrington_flexible, DetectorSettings()),
    (
        "farringtonFlexible_b3w3np10",
        DetectorMethod.farrington_flexible,
        DetectorSettings(b=3, w=3, no_periods=10, powertrans="2/3", population_offset=False),
    ),
]


def compare(
    detection: Detection, names: list[str], reference: list[dict[str, str]]
) -> dict[str, float]:
    """Agreement figures of a detection against reference rows (series, t, upperbound, alarm)."""
    index = {name: i for i, name in enumerate(names)}
    agree = 0
    worst = 0.0
    na_mismatch = 0
    expected = np.zeros_like(detection.evaluated)
    for row in reference:
        s = index[row["series"]]
        i = int(row["t"]) - 1
        expected[s, i] = True
        ours_alarm = int(detection.alarm[s, i])
        ref_alarm = None if row["alarm"] == "NA" else int(row["alarm"])
        agree += (None if ours_alarm < 0 else ours_alarm) == ref_alarm
        ours_ub = float(detection.upperbound[s, i])
        if row["upperbound"] == "NA":
            na_mismatch += not math.isnan(ours_ub)
        elif math.isnan(ours_ub):
            na_mismatch += 1
        else:
            ref_ub = float(row["upperbound"])
            worst = max(worst, abs(ours_ub - ref_ub) / max(abs(ref_ub), 1e-9))
    return {
        "rows": len(reference),
        "agreement": agree / len(reference),
        "max_rel": worst,
        "na_mismatch": na_mismatch,
        "extra_points": int((detection.evaluated & ~expected).sum()),
        "missing_points": int((expected & ~detection.evaluated).sum()),
    }


@pytest.fixture(scope="module")
def weekly(early_warning: Path, input_rows: Callable[[Path], list[dict[str, str]]]):  # type: ignore[no-untyped-def]
    table = series_from_rows(input_rows(early_warning / "inputs" / "weekly.csv"), Frequency.week)
    assert not table.errors
    return table.series


@pytest.fixture(scope="module")
def daily(early_warning: Path, input_rows: Callable[[Path], list[dict[str, str]]]):  # type: ignore[no-untyped-def]
    table = series_from_rows(input_rows(early_warning / "inputs" / "daily.csv"), Frequency.day)
    assert not table.errors
    return table.series


def check(figures: dict[str, float]) -> None:
    assert figures["rows"] > 0
    assert figures["agreement"] >= 0.99, figures
    assert figures["max_rel"] <= 1e-6, figures
    assert figures["na_mismatch"] == 0, figures
    assert figures["extra_points"] == 0 and figures["missing_points"] == 0, figures


@pytest.mark.parametrize(("run", "method", "alpha"), EARS_RUNS)
@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_ears_matches_surveillance(  # type: ignore[no-untyped-def]
    run, method, alpha, frequency, daily, weekly, early_warning, reference_rows
) -> None:
    series = daily if frequency == "daily" else weekly
    freq = Frequency.day if frequency == "daily" else Frequency.week
    counts, _ = stack_counts(series)
    options = detector_options(method, freq, DetectorSettings(alpha=alpha))
    detection = detect(counts, options)
    assert detection.method == run
    reference = reference_rows(early_warning, f"{frequency}_{run}")
    check(compare(detection, [s.name for s in series], reference))


@pytest.mark.parametrize(("run", "method", "settings"), FARRINGTON_RUNS)
def test_farrington_matches_surveillance(  # type: ignore[no-untyped-def]
    run, method, settings, weekly, early_warning, reference_rows
) -> None:
    options = detector_options(method, Frequency.week, settings)
    long_enough = [s for s in weekly if s.n >= options.first]
    counts, _ = stack_counts(long_enough)
    detection = detect(counts, options)
    assert detection.method == run
    reference = reference_rows(early_warning, f"weekly_{run}")
    assert {r["series"] for r in reference} == {s.name for s in long_enough}
    check(compare(detection, [s.name for s in long_enough], reference))
