"""Indicator definitions and index configurations, as data.

Two catalogues of indicator definitions ship with zhikong:

* ``zhikong`` — the 12 indicators of the 精密智控指数 (DESIGN §7): 5 control (管控) indicators
  and 7 smoothness (畅通) indicators. Zhejiang published two of the names (新增病例管控,
  公交开通率); the other ten names, all units and valid ranges are ours.
* ``oxcgrt`` — the 16 ordinal policy indicators of the Oxford COVID-19 Government Response
  Tracker with their maximum values N_j and whether they carry a flag F_j (OxCGRT index
  methodology v3.6 / v4.0).

An index configuration (a YAML document under ``zhikong/index/configs``, or a file given by
path) says which indicators form which sub-index, with which weights, how they are normalised
and how they are aggregated. Nothing about a particular index is written in code.

The end of the module reads indicator values in zhikong's CSV layout (``region``, ``date``,
one column per indicator) into a panel, checking each value against its definition; every
problem is an `InputError` naming the column and the CSV line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Direction(StrEnum):
    """Which way an indicator scores: a higher raw value gives a higher or a lower score."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True)
class IndicatorDefinition:
    """What one indicator measures, in which unit, which way is better, and where it comes from."""

    id: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    direction: Direction
    source: str
    description_en: str
    valid_min: float | None = None
    valid_max: float | None = None
    ordinal_max: int | None = None
    flagged: bool = False
    published_name: bool = False


_H = Direction.HIGHER_IS_BETTER
_L = Direction.LOWER_IS_BETTER

ZHIKONG_INDICATORS: tuple[IndicatorDefinition, ...] = (
    # 管控 · containment (control)
    IndicatorDefinition(
        id="new_cases_per_100k_7d",
        name_zh="新增病例管控（近 7 日每 10 万人新增病例）",
        name_en="New cases per 100,000 residents over the last 7 days",
        unit_zh="例/10 万人",
        unit_en="cases per 100k",
        direction=_L,
        source="case reports (confirmed + asymptomatic, by report date) / census population",
        description_en="Sum of new local cases in the 7 days ending on the date, per 100,000 "
        "residents. The published indicator 新增病例管控; its exact formula was not published.",
        valid_min=0.0,
        published_name=True,
    ),
    IndicatorDefinition(
        id="new_cases_in_quarantine_share",
        name_zh="新增病例中隔离管控人员占比",
        name_en="Share of new cases found already under quarantine",
        unit_zh="%",
        unit_en="percent",
        direction=_H,
        source="case reports joined with quarantine records, last 7 days",
        description_en="Of the new cases of the last 7 days, the percentage that were already "
        "in centralised or home quarantine when found (100 when there were no new cases).",
        valid_min=0.0,
        valid_max=100.0,
    ),
    IndicatorDefinition(
        id="active_clusters",
        name_zh="活跃聚集性疫情数",
        name_en="Active clusters",
        unit_zh="起",
        unit_en="clusters",
        direction=_L,
        source="tracing: clusters with a linked case in the last 14 days",
        description_en="Clusters (linked cases in one place and window) with at least one new "
        "case in the last 14 days.",
        valid_min=0.0,
    ),
    IndicatorDefinition(
        id="unknown_source_cases",
        name_zh="不明来源病例数（近 7 日）",
        name_en="Cases of unknown source over the last 7 days",
        unit_zh="例",
        unit_en="cases",
        direction=_L,
        source="epidemiological investigation results, last 7 days",
        description_en="New cases of the last 7 days whose source of infection the "
        "investigation could not establish.",
        valid_min=0.0,
    ),
    IndicatorDefinition(
        id="close_contacts_managed_24h_share",
        name_zh="密接 24 小时内落实管控率",
        name_en="Close contacts under management within 24 hours",
        unit_zh="%",
        unit_en="percent",
        direction=_H,
        source="tracing: close contacts and the time their quarantine started",
        description_en="Percentage of the close contacts identified on the date that were "
        "placed under quarantine or medical observation within 24 hours.",
        valid_min=0.0,
        valid_max=100.0,
    ),
    # 畅通 · flow (smoothness)
    IndicatorDefinition(
        id="bus_route_reopening_rate",
        name_zh="公交开通率",
        name_en="Bus-route reopening rate",
        unit_zh="%",
        unit_en="percent",
        direction=_H,
        source="transport bureau: routes in service / routes before the epidemic",
        description_en="Percentage of the bus routes running before the epidemic that are in "
        "service on the date. The published indicator 公交开通率.",
        valid_min=0.0,
        valid_max=100.0,
        published_name=True,
    ),
    IndicatorDefinition(
        id="green_code_share",
        name_zh="绿码占比",
        name_en="Green-code share",
        unit_zh="%",
        unit_en="percent",
        direction=_H,
        source="health-code records: residents holding a green code / residents with a code",
        description_en="Percentage of the region's residents with a health code whose code is "
        "green at the end of the date.",
        valid_min=0.0,
        valid_max=100.0,
    ),
    IndicatorDefinition(
        id="enterprise_resumption_rate",
        name_zh="企业复工率",
        name_en="Enterprise resumption rate",
        unit_zh="%",
        unit_en="percent",
        direction=_H,
        source="enterprise codes: enterprises reporting return to work / registered enterprises",
        description_en="Percentage of registered enterprises (above designated size) that have "
        "resumed work.",
        valid_min=0.0,
        valid_max=100.0,
    ),
    IndicatorDefinition(
        id="electricity_recovery",
        name_zh="用电量恢复率（对比基期）",
        name_en="Electricity-use recovery vs baseline",
        unit_zh="% 基期",
        unit_en="percent of baseline",
        direction=_H,
        source="grid company: industrial and commercial daily use / same period of the "
        "previous year (the 企业复工电力指数 idea)",
        description_en="Industrial and commercial electricity use on the date as a percentage "
        "of the baseline (same lunar-calendar period of the previous year). May exceed 100.",
        valid_min=0.0,
    ),
    IndicatorDefinition(
        id="traffic_flow_recovery",
        name_zh="交通流量恢复率",
        name_en="Traffic-flow recovery",
        unit_zh="% 基期",
        unit_en="percent of baseline",
        direction=_H,
        source="highway and urban traffic counters / baseline",
        description_en="Vehicle flow on the date as a percentage of the baseline flow. "
        "May exceed 100.",
        valid_min=0.0,
    ),
    IndicatorDefinition(
        id="parcel_volume_recovery",
        name_zh="快递业务量恢复率",
        name_en="Parcel-volume recovery",
        unit_zh="% 基期",
        unit_en="percent of baseline",
        direction=_H,
        source="postal administration: parcels handled / baseline",
        description_en="Parcels handled on the date as a percentage of the baseline volume. "
        "May exceed 100.",
        valid_min=0.0,
    ),
    IndicatorDefinition(
        id="retail_opening_rate",
        name_zh="商超门店开业率",
        name_en="Retail-opening rate",
        unit_zh="%",
        unit_en="percent",
        direction=_H,
        source="commerce bureau: supermarkets and retail outlets open / outlets before the "
        "epidemic",
        description_en="Percentage of supermarkets and retail outlets open on the date.",
        valid_min=0.0,
        valid_max=100.0,
    ),
)

_OXCGRT_SOURCE = "OxCGRT codebook (Hale et al. 2021, doi:10.1038/s41562-021-01079-8)"


def _ox(
    code: str, name_zh: str, name_en: str, ordinal_max: int, flagged: bool
) -> IndicatorDefinition:
    return IndicatorDefinition(
        id=code,
        name_zh=name_zh,
        name_en=name_en,
        unit_zh="等级",
        unit_en="ordinal level",
        direction=Direction.HIGHER_IS_BETTER,
        source=_OXCGRT_SOURCE,
        description_en=f"OxCGRT {code} on its ordinal scale 0…{ordinal_max}"
        + (", with a flag (0 = targeted, 1 = general)" if flagged else "")
        + "; a higher level scores higher (stricter or more supportive policy).",
        valid_min=0.0,
        valid_max=float(ordinal_max),
        ordinal_max=ordinal_max,
        flagged=flagged,
        published_name=True,
    )


OXCGRT_INDICATORS: tuple[IndicatorDefinition, ...] = (
    _ox("C1", "学校关闭", "School closing", 3, True),
    _ox("C2", "工作场所关闭", "Workplace closing", 3, True),
    _ox("C3", "取消公共活动", "Cancel public events", 2, True),
    _ox("C4", "限制聚集", "Restrictions on gatherings", 4, True),
    _ox("C5", "关闭公共交通", "Close public transport", 2, True),
    _ox("C6", "居家要求", "Stay at home requirements", 3, True),
    _ox("C7", "限制境内流动", "Restrictions on internal movement", 2, True),
    _ox("C8", "国际旅行管控", "International travel controls", 4, False),
    _ox("E1", "收入支持", "Income support", 2, True),
    _ox("E2", "债务/合同减免", "Debt/contract relief", 2, False),
    _ox("H1", "公共宣传", "Public information campaigns", 2, True),
    _ox("H2", "检测政策", "Testing policy", 3, False),
    _ox("H3", "接触者追踪", "Contact tracing", 2, False),
    _ox("H6", "佩戴口罩", "Facial Coverings", 4, True),
    _ox("H7", "疫苗接种政策", "Vaccination policy", 5, True),
    _ox("H8", "保护老年人", "Protection of elderly people", 3, True),
)

CATALOGUES: Mapping[str, Mapping[str, IndicatorDefinition]] = {
    "zhikong": {item.id: item for item in ZHIKONG_INDICATORS},
    "oxcgrt": {item.id: item for item in OXCGRT_INDICATORS},
}

NormalisationMethod = Literal["goalposts", "minmax", "zscore", "ordinal"]
AggregationMethod = Literal["arithmetic", "geometric"]


class ConfigError(ValueError):
    """An index configuration that is unknown, unreadable or inconsistent."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Goalposts(_Model):
    """Raw values that score 0 (worst) and 100 (best); values beyond are clipped."""

    worst: float
    best: float


class IndicatorSpec(_Model):
    """One indicator of a sub-index: its weight and, for goalposts, its goalposts."""

    id: str
    weight: float = Field(gt=0)
    goalposts: Goalposts | None = None


class SubIndexSpec(_Model):
    """A sub-index: a weighted group of indicators (管控指数 / 畅通指数 …)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    weight: float = Field(gt=0)
    min_present: int = Field(ge=1)
    indicators: tuple[IndicatorSpec, ...] = Field(min_length=1)


class SensitivitySpec(_Model):
    """What the Monte Carlo uncertainty analysis varies (OECD/JRC Handbook, step 8)."""

    weight_noise: float = Field(default=0.25, ge=0, lt=1)
    normalisations: tuple[NormalisationMethod, ...] = Field(min_length=1)
    aggregations: tuple[AggregationMethod, ...] = Field(min_length=1)


class IndexConfig(_Model):
    """An index as data: indicators, sub-indices, weights, normalisation, aggregation."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    version: int = Field(ge=1)
    name_zh: str
    name_en: str
    description: str = ""
    provenance: str
    catalogue: Literal["zhikong", "oxcgrt"]
    normalisation: NormalisationMethod
    normalisation_scope: Literal["panel", "day"] = "panel"
    aggregation: AggregationMethod
    geometric_floor: float = Field(default=1.0, ge=1.0, le=100.0)
    missing: Literal["exclude", "zero"]
    missing_flag: Literal["targeted", "general"] = "targeted"
    decimals: int | None = Field(default=None, ge=0, le=12)
    published_column: str | None = None
    sub_indices: tuple[SubIndexSpec, ...] = Field(min_length=1)
    sensitivity: SensitivitySpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> IndexConfig:
        catalogue = CATALOGUES[self.catalogue]
        seen: set[str] = set()
        group_ids: set[str] = set()
        methods: set[str] = {self.normalisation}
        if self.sensitivity is not None:
            methods.update(self.sensitivity.normalisations)
        for group in self.sub_indices:
            if group.id in group_ids or group.id in {"region", "date", "total", "rank", "value"}:
                raise ValueError(f"sub-index id {group.id!r} is repeated or reserved")
            group_ids.add(group.id)
            if group.min_present > len(group.indicators):
                raise ValueError(
                    f"sub-index {group.id!r}: min_present {group.min_present} exceeds its "
                    f"{len(group.indicators)} indicators"
                )
            for spec in group.indicators:
                definition = catalogue.get(spec.id)
                if definition is None:
                    raise ValueError(
                        f"unknown indicator {spec.id!r} (catalogue {self.catalogue!r})"
                    )
                if spec.id in seen:
                    raise ValueError(f"indicator {spec.id!r} appears twice")
                seen.add(spec.id)
                _check_methods(spec, definition, methods)
        return self

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        """All indicator ids, sub-index by sub-index, in configuration order."""
        return tuple(spec.id for group in self.sub_indices for spec in group.indicators)

    def definition(self, indicator_id: str) -> IndicatorDefinition:
        """The catalogue definition of one of this index's indicators."""
        return CATALOGUES[self.catalogue][indicator_id]


def _check_methods(spec: IndicatorSpec, definition: IndicatorDefinition, methods: set[str]) -> None:
    if "goalposts" in methods:
        if spec.goalposts is None:
            raise ValueError(f"indicator {spec.id!r} needs goalposts (worst, best)")
        worst, best = spec.goalposts.worst, spec.goalposts.best
        if worst == best:
            raise ValueError(f"indicator {spec.id!r}: goalposts worst and best are equal")
        if (best > worst) != (definition.direction is Direction.HIGHER_IS_BETTER):
            raise ValueError(
                f"indicator {spec.id!r}: goalposts contradict its direction "
                f"{definition.direction.value}"
            )
    if "ordinal" in methods and definition.ordinal_max is None:
        raise ValueError(f"indicator {spec.id!r} is not ordinal; it cannot use 'ordinal'")


def _configs_dir() -> resources.abc.Traversable:
    return resources.files("zhikong.index").joinpath("configs")


def bundled_config_ids() -> tuple[str, ...]:
    """Ids of the configurations shipped with zhikong, sorted."""
    names = (item.name for item in _configs_dir().iterdir() if item.name.endswith(".yaml"))
    return tuple(sorted(name.removesuffix(".yaml") for name in names))


def parse_config(text: str, origin: str) -> IndexConfig:
    """An index configuration from YAML text (ConfigError with one line when invalid)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: a configuration must be a YAML mapping")
    try:
        return IndexConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{origin}: {where + ': ' if where else ''}{message}") from exc


def load_config(name_or_path: str) -> IndexConfig:
    """A bundled configuration by id, or a configuration file by path."""
    if name_or_path in bundled_config_ids():
        item = _configs_dir().joinpath(f"{name_or_path}.yaml")
        return parse_config(item.read_text(encoding="utf-8"), name_or_path)
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        return parse_config(path.read_text(encoding="utf-8"), path.name)
    known = ", ".join(bundled_config_ids())
    raise ConfigError(f"unknown index configuration {name_or_path!r} (known: {known})")


# --- input tables -------------------------------------------------------------------------


class InputError(ValueError):
    """Bad input data; the message names the CSV line and column, Chinese first."""

    def __init__(self, line: int, column: str | None, zh: str, en: str) -> None:
        self.line = line
        self.column = column
        where_zh = f"第 {line} 行" + (f" {column} 列" if column else "")
        where_en = f"line {line}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where_zh}：{zh} · {where_en}: {en}")


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line number each ends on (header = line 1)."""
    reader = csv.reader(lines)
    try:
        for record in reader:
            if record and any(cell.strip() for cell in record):
                yield reader.line_num, record
    except csv.Error as exc:
        raise InputError(reader.line_num, None, "CSV 格式错误", f"malformed CSV ({exc})") from exc


def parse_number(text: str, line: int, column: str) -> float:
    """A finite number from a cell (NaN when empty)."""
    cell = text.strip()
    if not cell:
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(line, column, f"不是数值 {cell!r}", f"not a number: {cell!r}")
    return value


def parse_date(text: str, line: int, column: str) -> date:
    """A date written YYYY-MM-DD (or OxCGRT's YYYYMMDD)."""
    cell = text.strip()
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(cell, pattern).date()
        except ValueError:
            continue
    raise InputError(
        line, column, f"日期无效 {cell!r}（应为 YYYY-MM-DD）", f"not a date: {cell!r} (YYYY-MM-DD)"
    )


def check_range(value: float, definition: IndicatorDefinition, line: int, column: str) -> None:
    """Refuse a value outside the indicator's valid range."""
    low, high = definition.valid_min, definition.valid_max
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{'' if low is None else f'{low:g}'}…{'' if high is None else f'{high:g}'}"
        raise InputError(
            line,
            column,
            f"{value:g} 超出有效范围 {span}",
            f"{value:g} is outside the valid range {span}",
        )


@dataclass(frozen=True)
class PanelRows:
    """Indicator values of an input table as a dense panel, with where each row went."""

    regions: tuple[str, ...]
    dates: tuple[date, ...]
    values: npt.NDArray[np.float64]
    """(R, T, K) raw values, NaN = missing or no row."""
    present: npt.NDArray[np.bool_]
    """(R, T) cells that are rows of the input."""
    region_index: npt.NDArray[np.int64]
    """(rows,) region of each input row, in input order."""
    date_index: npt.NDArray[np.int64]
    """(rows,) date of each input row."""


def dense_panel(
    keys: list[tuple[str, date]], records: list[list[float]], lines: list[int], columns: int
) -> PanelRows:
    """Rows keyed by (region, date) laid out as a dense panel; duplicates are refused."""
    regions = tuple(dict.fromkeys(region for region, _ in keys))
    dates = tuple(sorted({day for _, day in keys}))
    region_at = {region: i for i, region in enumerate(regions)}
    date_at = {day: i for i, day in enumerate(dates)}
    first_line: dict[tuple[str, date], int] = {}
    for key, line in zip(keys, lines, strict=True):
        earlier = first_line.setdefault(key, line)
        if earlier != line:
            raise InputError(
                line,
                "region, date",
                f"地区 {key[0]} 日期 {key[1].isoformat()} 重复（首见于第 {earlier} 行）",
                f"duplicate region {key[0]} and date {key[1].isoformat()} (first on line "
                f"{earlier})",
            )
    region_index = np.array([region_at[region] for region, _ in keys], dtype=np.int64)
    date_index = np.array([date_at[day] for _, day in keys], dtype=np.int64)
    values = np.full((len(regions), len(dates), columns), np.nan)
    present = np.zeros((len(regions), len(dates)), dtype=np.bool_)
    if keys:
        values[region_index, date_index] = np.array(records, dtype=np.float64).reshape(
            len(keys), columns
        )
        present[region_index, date_index] = True
    return PanelRows(regions, dates, values, present, region_index, date_index)


def read_panel(lines: Iterable[str], config: IndexConfig) -> PanelRows:
    """Indicator values in zhikong's layout: `region`, `date`, one column per indicator."""
    rows = csv_rows(lines)
    first = next(rows, None)
    if first is None:
        raise InputError(1, None, "输入为空（缺少表头）", "the input is empty (no header)")
    header_line, header = first
    header = [name.strip().lstrip("\ufeff") for name in header]
    position: dict[str, int] = {}
    catalogue = CATALOGUES[config.catalogue]
    for i, name in enumerate(header):
        if name in position:
            raise InputError(header_line, name, "列名重复", "the column appears twice")
        if name not in ("region", "date") and name not in catalogue:
            raise InputError(
                header_line, name, "未知指标列", f"unknown indicator column (config {config.id})"
            )
        position[name] = i
    for name in ("region", "date", *config.indicator_ids):
        if name not in position:
            raise InputError(header_line, name, "缺少必需列", "missing required column")
    ids = config.indicator_ids
    definitions = [config.definition(i) for i in ids]
    slots = [position[i] for i in ids]
    keys: list[tuple[str, date]] = []
    records: list[list[float]] = []
    lines_of: list[int] = []
    for line, record in rows:
        if len(record) != len(header):
            raise InputError(
                line,
                None,
                f"有 {len(record)} 个字段，表头有 {len(header)} 个",
                f"{len(record)} fields where the header has {len(header)}",
            )
        region = record[position["region"]].strip()
        if not region:
            raise InputError(line, "region", "地区为空", "the region is empty")
        day = parse_date(record[position["date"]], line, "date")
        values: list[float] = []
        for name, slot, definition in zip(ids, slots, definitions, strict=True):
            value = parse_number(record[slot], line, name)
            if not math.isnan(value):
                check_range(value, definition, line, name)
            values.append(value)
        keys.append((region, day))
        records.append(values)
        lines_of.append(line)
    return dense_panel(keys, records, lines_of, len(ids))
