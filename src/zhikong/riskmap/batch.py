"""Batch assessment of a CSV of region-days (pure: text rows in, result rows out).

The input has one row per region and date, with columns named as the profile's indicators.
Empty cells and ``NA``/``N/A`` are missing values (the region-day is then not assessed, with a
reason); any other text that is not a number is an error naming its column and line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from zhikong.riskmap.engine import Assessment, RiskProfile, assess_series, classify

MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null"})
OUTPUT_COLUMNS = ("region", "date", "level", "reasons_zh", "reasons_en", "profile", "rule_version")


class BatchInputError(ValueError):
    """Bad batch input; the message is one line naming the column and the line."""


@dataclass(frozen=True)
class BatchRow:
    """One region-day of the input, with the line it came from."""

    line: int
    region: str
    day: date
    indicators: Mapping[str, float | None]


def read_rows(
    lines: Iterable[str], profile: RiskProfile, *, region_col: str, date_col: str
) -> list[BatchRow]:
    """Parse and check the input (BatchInputError on the first problem)."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise BatchInputError("the input is empty (no header line)") from None
    header = [name.strip().lstrip("\ufeff") for name in header]
    positions = {name: i for i, name in enumerate(header)}
    for needed in (region_col, date_col):
        if needed not in positions:
            raise BatchInputError(f"missing column {needed!r} (line 1)")
    first_day = profile.document.validity.from_
    required = profile.settings(first_day).required
    for name in required:
        if name not in positions:
            raise BatchInputError(
                f"missing column {name!r} required by profile {profile.id} (line 1)"
            )
    used = [name for name in profile.indicators if name in positions]
    rows: list[BatchRow] = []
    seen: dict[tuple[str, date], int] = {}
    for number, cells in enumerate(reader, start=2):
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise BatchInputError(
                f"line {number} has {len(cells)} cells, the header has {len(header)}"
            )
        region = cells[positions[region_col]].strip()
        if not region:
            raise BatchInputError(f"column {region_col!r}, line {number}: empty region")
        text = cells[positions[date_col]].strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise BatchInputError(
                f"column {date_col!r}, line {number}: {text!r} is not a date (YYYY-MM-DD)"
            ) from None
        key = (region, day)
        if key in seen:
            raise BatchInputError(
                f"columns {region_col!r}/{date_col!r}, line {number}: duplicate of line "
                f"{seen[key]} ({region}, {day})"
            )
        seen[key] = number
        values: dict[str, float | None] = {}
        for name in used:
            raw = cells[positions[name]].strip().replace(",", "").removesuffix("%")
            if raw.lower() in MISSING_TEXT:
                values[name] = None
                continue
            try:
                value = float(raw)
            except ValueError:
                raise BatchInputError(
                    f"column {name!r}, line {number}: {raw!r} is not a number"
                ) from None
            if not math.isfinite(value) or value < 0:
                raise BatchInputError(
                    f"column {name!r}, line {number}: {raw!r} must be a finite number ≥ 0"
                )
            values[name] = value
        rows.append(BatchRow(number, region, day, values))
    return rows


def assess_rows(
    profile: RiskProfile, rows: Iterable[BatchRow], *, explain: bool = True
) -> Iterator[Assessment]:
    """Assess every region's days in date order (hysteresis carried per region)."""
    by_region: dict[str, list[BatchRow]] = {}
    for row in rows:
        by_region.setdefault(row.region, []).append(row)
    for region in sorted(by_region):
        series = [(row.day, row.indicators) for row in by_region[region]]
        yield from assess_series(profile, region, series, explain=explain)


def assess_rows_memoised(profile: RiskProfile, rows: Iterable[BatchRow]) -> Iterator[Assessment]:
    """As `assess_rows`, but classify each distinct (date, inputs) once (profiles without
    hysteresis only; otherwise the same as `assess_rows`)."""
    materialised = list(rows)
    days = {row.day for row in materialised}
    if any(profile.settings(day).fall_after_quiet_days for day in days):
        yield from assess_rows(profile, materialised)
        return
    memo: dict[tuple[date, tuple[tuple[str, float | None], ...]], Assessment] = {}
    for row in sorted(materialised, key=lambda r: (r.region, r.day)):
        key = (row.day, tuple(sorted(row.indicators.items())))
        known = memo.get(key)
        if known is None:
            found = classify(profile, row.indicators, row.day)
            known = Assessment(
                region="",
                day=row.day,
                level=found.level,
                raw_level=found.level,
                reasons=found.reasons,
                inputs=found.inputs,
                state=None,
            )
            memo[key] = known
        yield Assessment(
            region=row.region,
            day=row.day,
            level=known.level,
            raw_level=known.raw_level,
            reasons=known.reasons,
            inputs=known.inputs,
            state=None,
        )


def output_row(profile: RiskProfile, assessment: Assessment) -> list[str]:
    """One output CSV row."""
    return [
        assessment.region,
        assessment.day.isoformat(),
        assessment.level or "",
        " | ".join(reason["zh"] for reason in assessment.reasons),
        " | ".join(reason["en"] for reason in assessment.reasons),
        profile.id,
        profile.version,
    ]
