"""OxCGRT: read Oxford's own CSV layouts and compute its indices with zhikong's index machinery.

Two layouts carry what the published indices are computed from:

* **legacy single-value** (``C1_School closing``, ``C1_Flag``, …, ``StringencyIndex``): one
  value per indicator — OxCGRT's legacy repository, e.g. ``OxCGRT_latest.csv`` and its
  time series;
* **v1 vaccine-differentiated** (``C1E_School closing``, ``C1NV_…``, ``C1V_…``, ``C1M_…``, each
  with a flag; ``StringencyIndex_NonVaccinated`` … ``_WeightedAverage``): the final dataset's
  ``fullwithnotes`` files. The non-vaccinated (vaccinated) index uses the NV (V) value and flag
  of a differentiated indicator where one is recorded, else the E value; the simple average is
  their mean; the weighted average weights them by ``PopulationVaccinated`` (percent).

A v1 file with only the majority (``M``) columns — OxCGRT's ``compact`` files — does not
carry the NV/V values the indices are computed from, so it is refused rather than
approximated. The index configuration (which indicators, N_j, flags, the k − 1 rule) is data:
``configs/oxcgrt-*.yaml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from zhikong.index.compute import FloatArray, IndexModel, Panel, compute_index
from zhikong.index.indicators import (
    IndexConfig,
    InputError,
    PanelRows,
    csv_rows,
    dense_panel,
    parse_date,
    parse_number,
)

LEGACY = "legacy"
V1 = "v1"
VARIANTS: dict[str, str] = {
    "non-vaccinated": "NonVaccinated",
    "vaccinated": "Vaccinated",
    "simple-average": "SimpleAverage",
    "weighted-average": "WeightedAverage",
}
"""Command-line variant → suffix of OxCGRT's published v1 index columns."""
DEFAULT_V1_VARIANT = "weighted-average"
DIFFERENTIATED = frozenset({"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "H6", "H8"})
"""Indicators the v1 files record separately for everyone (E), non-vaccinated and vaccinated."""

_V1_COLUMN = re.compile(r"^[CEH]\d+(E|NV|V|M|EV)_")


def detect_layout(header: Iterable[str]) -> str:
    """`legacy` or `v1` from a header (InputError for a v1 file without E/NV/V columns)."""
    versions = {match.group(1) for name in header if (match := _V1_COLUMN.match(name))}
    if not versions:
        return LEGACY
    if versions & {"E", "NV", "V"}:
        return V1
    raise InputError(
        1,
        "C1M_School closing",
        "只有多数人适用（M）列，OxCGRT 指数需由 E/NV/V 列计算；请用 fullwithnotes 文件",
        "only the majority (M) columns: OxCGRT computes its indices from the E/NV/V columns; "
        "use a fullwithnotes file",
    )


@dataclass(frozen=True)
class OxcgrtTable:
    """An OxCGRT file read for one configuration: per-row indicator values and flags."""

    layout: str
    rows: PanelRows
    columns: dict[str, tuple[FloatArray, FloatArray]]
    """Indicator version (``C1`` legacy, ``C1E``/``C1NV``/``C1V`` v1) → (values, flags) per row."""
    population_vaccinated: FloatArray | None


def _versions(layout: str, code: str) -> tuple[str, ...]:
    if layout == V1 and code in DIFFERENTIATED:
        return ("E", "NV", "V")
    return ("",)


def _find(header: list[str], prefix: str) -> int | None:
    for i, name in enumerate(header):
        if name.startswith(prefix) and not name.endswith(("_Flag", "_Notes")):
            return i
    return None


def read_oxcgrt(lines: Iterable[str], config: IndexConfig) -> OxcgrtTable:
    """Read OxCGRT's CSV (legacy or v1 layout) for the indicators of a configuration."""
    rows = csv_rows(lines)
    first = next(rows, None)
    if first is None:
        raise InputError(1, None, "输入为空（缺少表头）", "the input is empty (no header)")
    header_line, header = first
    header = [name.strip().lstrip("\ufeff") for name in header]
    layout = detect_layout(header)
    position = {name: i for i, name in reversed(list(enumerate(header)))}
    for name in ("CountryCode", "Date"):
        if name not in position:
            raise InputError(header_line, name, "缺少必需列", "missing required column")
    wanted: list[tuple[str, int, int | None, int]] = []
    for code in config.indicator_ids:
        definition = config.definition(code)
        maximum = definition.ordinal_max or 0
        for version in _versions(layout, code):
            key = f"{code}{version}"
            value_at = _find(header, f"{key}_")
            if value_at is None:
                column = f"{key}_{definition.name_en}"
                raise InputError(header_line, column, "缺少必需列", "missing required column")
            flag_at = None
            if definition.flagged:
                flag_at = position.get(f"{key}_Flag")
                if flag_at is None:
                    raise InputError(
                        header_line, f"{key}_Flag", "缺少必需列", "missing required column"
                    )
            wanted.append((key, value_at, flag_at, maximum))
    population_at = position.get("PopulationVaccinated") if layout == V1 else None
    region_at = position.get("RegionCode")
    keys: list[tuple[str, date]] = []
    records: list[list[float]] = []
    lines_of: list[int] = []
    population: list[float] = []
    cache: dict[tuple[str, int], float] = {}
    for line, record in rows:
        if len(record) != len(header):
            raise InputError(
                line,
                None,
                f"有 {len(record)} 个字段，表头有 {len(header)} 个",
                f"{len(record)} fields where the header has {len(header)}",
            )
        region = record[region_at].strip() if region_at is not None else ""
        region = region or record[position["CountryCode"]].strip()
        if not region:
            raise InputError(line, "CountryCode", "国家代码为空", "the country code is empty")
        keys.append((region, parse_date(record[position["Date"]], line, "Date")))
        values: list[float] = []
        for _key, value_at, flag_at, maximum in wanted:
            values.append(_ordinal(record[value_at], cache, line, header[value_at], maximum))
            if flag_at is not None:
                values.append(_ordinal(record[flag_at], cache, line, header[flag_at], 1))
            else:
                values.append(math.nan)
        if population_at is not None:
            share = parse_number(record[population_at], line, "PopulationVaccinated")
            if not (math.isnan(share) or 0 <= share <= 100):
                raise InputError(
                    line,
                    "PopulationVaccinated",
                    f"{share:g} 不在 0…100 之间",
                    f"{share:g} is not a percentage 0…100",
                )
            population.append(share)
        records.append(values)
        lines_of.append(line)
    table = dense_panel(keys, [[0.0]] * len(keys), lines_of, 1)
    matrix = np.array(records, dtype=np.float64).reshape(len(keys), 2 * len(wanted))
    columns = {key: (matrix[:, 2 * i], matrix[:, 2 * i + 1]) for i, (key, *_) in enumerate(wanted)}
    return OxcgrtTable(
        layout=layout,
        rows=table,
        columns=columns,
        population_vaccinated=np.array(population) if population_at is not None else None,
    )


def _ordinal(
    text: str, cache: dict[tuple[str, int], float], line: int, column: str, maximum: int
) -> float:
    """An OxCGRT ordinal value or flag: a whole number 0…maximum, NaN when empty."""
    value = cache.get((text, maximum))
    if value is not None:
        return value
    value = parse_number(text, line, column)
    if not math.isnan(value) and (value != round(value) or not 0 <= value <= maximum):
        raise InputError(
            line,
            column,
            f"{value:g} 不是 0…{maximum} 的整数等级",
            f"{value:g} is not a whole level 0…{maximum}",
        )
    cache[(text, maximum)] = value
    return value


def _panel(table: OxcgrtTable, config: IndexConfig, version: str) -> Panel:
    """The panel one index version is computed from (version: '' legacy, 'NV' or 'V')."""
    rows = table.rows
    count = rows.region_index.size
    k = len(config.indicator_ids)
    values = np.full((count, k), np.nan)
    flags = np.full((count, k), np.nan)
    for j, code in enumerate(config.indicator_ids):
        if version and code in DIFFERENTIATED:
            own_values, own_flags = table.columns[f"{code}{version}"]
            everyone_values, everyone_flags = table.columns[f"{code}E"]
            recorded = ~np.isnan(own_values)
            values[:, j] = np.where(recorded, own_values, everyone_values)
            flags[:, j] = np.where(recorded, own_flags, everyone_flags)
        else:
            values[:, j], flags[:, j] = table.columns[code]
    shape = (len(rows.regions), len(rows.dates), k)
    dense_values, dense_flags = np.full(shape, np.nan), np.full(shape, np.nan)
    dense_values[rows.region_index, rows.date_index] = values
    dense_flags[rows.region_index, rows.date_index] = flags
    return Panel(
        regions=rows.regions,
        dates=rows.dates,
        indicators=config.indicator_ids,
        values=dense_values,
        flags=dense_flags,
        present=rows.present,
    )


def oxcgrt_index(table: OxcgrtTable, config: IndexConfig, variant: str | None = None) -> FloatArray:
    """The index of every input row, in input order (NaN where OxCGRT's index is undefined)."""
    model = IndexModel.from_config(config)
    rows = table.rows

    def total(version: str) -> FloatArray:
        result = compute_index(_panel(table, config, version), model)
        return result.total[rows.region_index, rows.date_index]

    if table.layout == LEGACY:
        if variant is not None:
            raise ValueError("variants apply only to the v1 layout")
        return total("")
    variant = variant or DEFAULT_V1_VARIANT
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    if variant in ("non-vaccinated", "vaccinated"):
        return total("NV" if variant == "non-vaccinated" else "V")
    unvaccinated, vaccinated = total("NV"), total("V")
    if variant == "simple-average":
        return (unvaccinated + vaccinated) / 2
    share = table.population_vaccinated
    if share is None:
        raise InputError(
            1,
            "PopulationVaccinated",
            "缺少必需列（加权平均需要接种人口比例）",
            "missing required column (the weighted average needs it)",
        )
    return (vaccinated * share + unvaccinated * (100.0 - share)) / 100.0


def published_column(config: IndexConfig, layout: str, variant: str | None = None) -> str:
    """The column of an OxCGRT file that holds the index this configuration reproduces."""
    if config.published_column is None:
        raise ValueError(f"configuration {config.id} does not reproduce a published index")
    differentiated = any(code in DIFFERENTIATED for code in config.indicator_ids)
    if layout == LEGACY or not differentiated:
        return config.published_column
    return f"{config.published_column}_{VARIANTS[variant or DEFAULT_V1_VARIANT]}"


def format_value(value: float, decimals: int | None) -> str:
    """An index value as written to CSV: rounded like OxCGRT's files, empty when undefined."""
    if not math.isfinite(value):
        return ""
    return f"{value:.{decimals}f}" if decimals is not None else repr(float(value))
