"""File front end of the epidemiological core: CSV/JSON in, CSV out (used by the CLI).

Each function reads its input, validates it (one `SeriesError` per bad series, an
`EpiInputError` when nothing at all can be computed), runs the pure core and writes the
output atomically (a temporary file renamed into place, so a failed run leaves nothing
half-written).
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from zhikong.epi.detect import DetectorMethod, DetectorSettings, detect, detector_options
from zhikong.epi.errors import EpiInputError, SeriesError
from zhikong.epi.rt import QUANTILES, SerialInterval, estimate_rt
from zhikong.epi.seir import COMPARTMENTS, Scenario, project, scenario_from_mapping, simulate
from zhikong.epi.series import (
    REQUIRED_COLUMNS,
    CountSeries,
    Frequency,
    check_columns,
    series_from_rows,
    stack_counts,
    stack_population,
)


@dataclass
class FileReport:
    """What a file run did: rows written, series used, one error per rejected series."""

    rows: int = 0
    series: int = 0
    errors: list[SeriesError] = field(default_factory=list)


def _open_input(path: Path) -> TextIO:
    if not path.is_file():
        raise EpiInputError(f"input file {path} not found", field="input")
    return open(path, encoding="utf-8-sig", newline="")


def _read_csv(path: Path, required: Sequence[str]) -> tuple[list[str], list[dict[str, str]]]:
    with _open_input(path) as stream:
        try:
            reader = csv.DictReader(stream)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            reader.fieldnames = columns
            check_columns(columns, required)
            rows = list(reader)
        except UnicodeDecodeError:
            raise EpiInputError(f"{path} is not UTF-8 text", field="input") from None
        except csv.Error as exc:
            raise EpiInputError(f"{path}: unreadable CSV ({exc})", field="input") from None
    if not rows:
        raise EpiInputError(f"{path} has no data rows", field="input")
    return columns, rows


def _write_atomic(path: Path, write: Callable[[TextIO], None]) -> None:
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise EpiInputError(f"output folder {directory} does not exist", field="output")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def number(value: float) -> str:
    """A float for CSV: shortest round-trip text, empty for NaN (R's NA)."""
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value))


def read_series(
    path: Path, frequency: Frequency, *, with_population: bool = False
) -> tuple[list[CountSeries], list[SeriesError]]:
    """Validated series of a `series,date,count` CSV and the errors of the rejected ones."""
    required = (*REQUIRED_COLUMNS, "population") if with_population else REQUIRED_COLUMNS
    _, rows = _read_csv(path, required)
    table = series_from_rows(rows, frequency, with_population=with_population)
    return table.series, table.errors


def _no_result(report: FileReport, what: str) -> EpiInputError:
    if report.errors:
        first = report.errors[0]
        more = f" (and {len(report.errors) - 1} more series)" if len(report.errors) > 1 else ""
        return EpiInputError(f"nothing to {what}: {first}{more}", field="input")
    return EpiInputError(f"nothing to {what}: no series in the input", field="input")


def detect_file(
    input_path: Path,
    output_path: Path,
    method: DetectorMethod,
    *,
    frequency: Frequency = Frequency.day,
    settings: DetectorSettings | None = None,
    label: str | None = None,
) -> FileReport:
    """Run a detector over every series of a CSV and write `series,date,method,upperbound,alarm`."""
    settings = settings or DetectorSettings()
    options = detector_options(method, frequency, settings)
    series, errors = read_series(input_path, frequency, with_population=settings.population_offset)
    report = FileReport(errors=list(errors))
    unit = "days" if frequency is Frequency.day else "weeks"
    usable = []
    for s in series:
        if s.n < options.first:
            report.errors.append(
                SeriesError(
                    s.name,
                    f"too short for {method.value}: needs at least {options.first} {unit}, "
                    f"has {s.n}",
                )
            )
        else:
            usable.append(s)
    if not usable:
        raise _no_result(report, "detect")
    counts, _ = stack_counts(usable)
    population = stack_population(usable) if settings.population_offset else None
    result = detect(counts, options, population)
    method_id = label or result.method

    def write(stream: TextIO) -> None:
        out = csv.writer(stream, lineterminator="\n")
        out.writerow(["series", "date", "method", "upperbound", "alarm"])
        for j, s in enumerate(usable):
            for i in result.points(j):
                alarm = int(result.alarm[j, i])
                out.writerow(
                    [
                        s.name,
                        str(s.dates[i]),
                        method_id,
                        number(float(result.upperbound[j, i])),
                        "" if alarm < 0 else str(alarm),
                    ]
                )
                report.rows += 1

    _write_atomic(output_path, write)
    report.series = len(usable)
    return report


def read_si_distribution(path: Path) -> tuple[float, ...]:
    """A serial interval `k,w` CSV (k = 0..n in order) as w_0..w_n."""
    _, rows = _read_csv(path, ("k", "w"))
    values = []
    for line, row in enumerate(rows, start=2):
        try:
            k = int(row["k"].strip())
            w = float(row["w"].strip())
        except (ValueError, AttributeError):
            raise EpiInputError(f"{path}:{line}: k must be an integer and w a number") from None
        if k != line - 2:
            raise EpiInputError(f"{path}:{line}: expected k = {line - 2}, got {k}", field="k")
        values.append(w)
    return tuple(values)


RT_COLUMNS = (
    "series",
    "t_start",
    "t_end",
    "date_end",
    "mean_r",
    "std_r",
    *(name for name, _ in QUANTILES),
)


def rt_file(
    input_path: Path,
    output_path: Path,
    si: SerialInterval,
    *,
    window: int = 7,
    prior_mean: float = 5.0,
    prior_sd: float = 5.0,
) -> FileReport:
    """R_t on sliding windows for every series of a daily CSV (EpiEstim's output columns)."""
    if window < 1:
        raise EpiInputError("--window must be at least 1", field="window")
    series, errors = read_series(input_path, Frequency.day)
    report = FileReport(errors=list(errors))
    usable = []
    for s in series:
        if s.n < window + 1:
            report.errors.append(
                SeriesError(
                    s.name,
                    f"too short for R_t with a {window}-day window: needs at least "
                    f"{window + 1} days, has {s.n}",
                )
            )
        else:
            usable.append(s)
    if not usable:
        raise _no_result(report, "estimate")
    counts, _ = stack_counts(usable)
    est = estimate_rt(counts, si, window=window, prior_mean=prior_mean, prior_sd=prior_sd)

    def write(stream: TextIO) -> None:
        out = csv.writer(stream, lineterminator="\n")
        out.writerow(RT_COLUMNS)
        for j, s in enumerate(usable):
            for i in np.flatnonzero(est.window[j]):
                stats = [est.mean[j, i], est.std[j, i]] + [
                    est.quantiles[q][j, i] for q, _ in QUANTILES
                ]
                out.writerow(
                    [s.name, int(est.t_start[j, i]), i + 1, str(s.dates[i])]
                    + [number(float(v)) for v in stats]
                )
                report.rows += 1

    _write_atomic(output_path, write)
    report.series = len(usable)
    return report


def read_scenario(path: Path) -> Scenario:
    """Parse a scenario JSON file (EpiInputError with the line on a syntax error)."""
    with _open_input(path) as stream:
        try:
            return scenario_from_mapping(json.load(stream))
        except json.JSONDecodeError as exc:
            raise EpiInputError(
                f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})", field="scenario"
            ) from None
        except UnicodeDecodeError:
            raise EpiInputError(f"{path} is not UTF-8 text", field="scenario") from None


BAND_QUANTILES = (("q025", 0.025), ("q25", 0.25), ("median", 0.5), ("q75", 0.75), ("q975", 0.975))


def project_file(
    scenario_path: Path,
    output_path: Path,
    *,
    runs: int | None = None,
    seed: int = 2020,
) -> FileReport:
    """Project a scenario: `patch,day,S,E,I,R` (deterministic) or uncertainty bands (runs)."""
    scenario = read_scenario(scenario_path)
    report = FileReport(series=scenario.k)
    if runs is None:
        trajectory = project(scenario)

        def write(stream: TextIO) -> None:
            out = csv.writer(stream, lineterminator="\n")
            out.writerow(["patch", "day", *COMPARTMENTS])
            for j, pid in enumerate(trajectory.patch_ids):
                for d in range(trajectory.days.size):
                    out.writerow(
                        [pid, d]
                        + [number(float(trajectory.compartment(c)[d, j])) for c in COMPARTMENTS]
                    )
                    report.rows += 1

    else:
        ensemble = simulate(scenario, runs, seed)
        bands = {
            c: [ensemble.mean(c)] + [ensemble.band(c, q) for _, q in BAND_QUANTILES]
            for c in COMPARTMENTS
        }

        def write(stream: TextIO) -> None:
            out = csv.writer(stream, lineterminator="\n")
            out.writerow(["patch", "day", "compartment", "mean", *(n for n, _ in BAND_QUANTILES)])
            for j, pid in enumerate(ensemble.patch_ids):
                for d in range(ensemble.days.size):
                    for c in COMPARTMENTS:
                        out.writerow([pid, d, c] + [number(float(a[d, j])) for a in bands[c]])
                        report.rows += 1

    _write_atomic(output_path, write)
    return report
