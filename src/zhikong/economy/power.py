"""The enterprise resumption power index (企业复工电力指数): definitions, configuration, maths.

Definitions (State Grid Zhejiang, February 2020; see docs/economy.md for the sources):

* baseline of a customer = its mean daily kWh over the baseline window (default the 2019 Q4,
  2019-10-01..2019-12-31), over the days it has a reading, when it has at least
  ``baseline.min_days`` of them and the mean is positive ("a customer with a baseline");
* a customer is *resumed* on day D when kWh(D) ≥ threshold × baseline (default 0.30; Zhejiang's
  own threshold was never published);
* 复工率 (work rate) = resumed customers ÷ customers with a baseline;
* 复产率 (output rate) = Σ kWh(D) of resumed customers ÷ Σ baselines of customers with a
  baseline;
* index = scale × (w_work × 复工率 + w_output × 复产率), default 100 × (0.5, 0.5), rounded
  half-up to 2 decimals for display only.

A customer with a baseline and no reading on D counts as not resumed on D. Customers flagged by
the anti-gaming checks (flat hourly load; a baseline that differs abruptly from the month
before it) are reported and left out of numerators and denominators until an officer clears
them. Regions roll up by their GB/T 2260 code: county 330102 → city 330100 → province 330000.

This module is pure: the configuration model, the formulas and a small reference computation
over in-memory readings (the specification the DuckDB engine in `power_engine` is tested
against). Reading files is the engine's business.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from zhikong.enterprise.industry import section_of

GroupBy = Literal["region", "industry"]
DEFAULT_CONFIG = "power-index.zhejiang-2020"


class ConfigError(ValueError):
    """A power-index configuration that is unknown, unreadable or inconsistent."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Window(_Model):
    """An inclusive date range."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"'to' {self.end} is before 'from' {self.start}")
        return self

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


class BaselineSpec(Window):
    """The baseline window and how many days with a reading a customer needs in it."""

    min_days: int = Field(default=1, ge=1)


class Weights(_Model):
    """Weights of the two ratios; they sum to 1."""

    work_rate: float = Field(ge=0, le=1)
    output_rate: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        if not math.isclose(self.work_rate + self.output_rate, 1.0, abs_tol=1e-12):
            raise ValueError("weights work_rate and output_rate must sum to 1")
        return self


class FlatLoadSpec(_Model):
    """Flat hourly load: CV of the 24 hourly values below max_cv on ≥ min_days days."""

    max_cv: float = Field(gt=0, le=1)
    min_days: int = Field(ge=1)


class BaselineShiftSpec(_Model):
    """Abrupt baseline: the reference days before the window vs the window, ratio > max_ratio."""

    reference_days: int = Field(ge=1, le=366)
    min_reference_days: int = Field(ge=1)
    max_ratio: float = Field(gt=1)

    @model_validator(mode="after")
    def _fits(self) -> BaselineShiftSpec:
        if self.min_reference_days > self.reference_days:
            raise ValueError("min_reference_days exceeds reference_days")
        return self


class FlagsSpec(_Model):
    """The anti-gaming checks."""

    flat_load: FlatLoadSpec
    baseline_shift: BaselineShiftSpec


class PowerIndexConfig(_Model):
    """A versioned power-index definition (a YAML document under economy/configs)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    version: int = Field(ge=1)
    title_zh: str
    title_en: str
    sources: tuple[str, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()
    baseline: BaselineSpec
    threshold: float = Field(gt=0, le=10)
    weights: Weights
    scale: float = Field(gt=0)
    dates: Window
    display_decimals: int = Field(default=2, ge=0, le=6)
    flags: FlagsSpec
    overrides: tuple[str, ...] = ()
    """Parameters changed from the published document for this run (e.g. 'threshold=0.25')."""

    @model_validator(mode="after")
    def _consistent(self) -> PowerIndexConfig:
        if self.baseline.start not in self.dates or self.baseline.end not in self.dates:
            raise ValueError(
                f"the baseline window {self.baseline.start}..{self.baseline.end} must lie "
                f"within the data dates {self.dates.start}..{self.dates.end}"
            )
        return self

    @property
    def reference_window(self) -> Window:
        """The days just before the baseline window, used by the baseline-shift check."""
        days = self.flags.baseline_shift.reference_days
        return Window.model_validate(
            {
                "from": self.baseline.start - timedelta(days=days),
                "to": self.baseline.start - timedelta(days=1),
            }
        )

    def label(self) -> str:
        """'id vN' plus the overrides, for output headers and logs."""
        extra = f" ({', '.join(self.overrides)})" if self.overrides else ""
        return f"{self.id} v{self.version}{extra}"


def _configs_dir() -> resources.abc.Traversable:
    return resources.files("zhikong.economy").joinpath("configs")


def bundled_config_ids() -> tuple[str, ...]:
    """Ids of the power-index configurations shipped with zhikong."""
    names = (item.name for item in _configs_dir().iterdir() if item.name.endswith(".yaml"))
    return tuple(sorted(name.removesuffix(".yaml") for name in names))


def parse_config(text: str, origin: str) -> PowerIndexConfig:
    """A configuration from YAML text (ConfigError with one line when invalid)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: a configuration must be a YAML mapping")
    try:
        return PowerIndexConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{origin}: {where + ': ' if where else ''}{message}") from exc


def load_config(name_or_path: str = DEFAULT_CONFIG) -> PowerIndexConfig:
    """A bundled configuration by id, or a YAML file by path."""
    if name_or_path in bundled_config_ids():
        item = _configs_dir().joinpath(f"{name_or_path}.yaml")
        return parse_config(item.read_text(encoding="utf-8"), name_or_path)
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        return parse_config(path.read_text(encoding="utf-8"), path.name)
    known = ", ".join(bundled_config_ids())
    raise ConfigError(f"unknown power-index configuration {name_or_path!r} (known: {known})")


def with_overrides(
    config: PowerIndexConfig,
    *,
    baseline_from: date | None = None,
    baseline_to: date | None = None,
    threshold: float | None = None,
) -> PowerIndexConfig:
    """The configuration with some parameters replaced, each recorded in `overrides`."""
    data = config.model_dump(by_alias=True)
    changed = list(config.overrides)
    if baseline_from is not None:
        data["baseline"]["from"] = baseline_from
        changed.append(f"baseline.from={baseline_from.isoformat()}")
    if baseline_to is not None:
        data["baseline"]["to"] = baseline_to
        changed.append(f"baseline.to={baseline_to.isoformat()}")
    if threshold is not None:
        data["threshold"] = threshold
        changed.append(f"threshold={threshold:g}")
    data["overrides"] = tuple(changed)
    try:
        return PowerIndexConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where + ': ' if where else ''}{message}") from exc


# --- the formulas ----------------------------------------------------------------------------


def index_value(work_rate: float, output_rate: float, config: PowerIndexConfig) -> float:
    """The index from the two ratios: scale × (w_work × 复工率 + w_output × 复产率)."""
    weights = config.weights
    return config.scale * (weights.work_rate * work_rate + weights.output_rate * output_rate)


def rates(
    customers: int, resumed: int, resumed_kwh: float, baseline_kwh: float
) -> tuple[float, float]:
    """(复工率, 复产率) from the counts and sums; NaN when there is no customer with a baseline."""
    if customers <= 0 or baseline_kwh <= 0:
        return math.nan, math.nan
    return resumed / customers, resumed_kwh / baseline_kwh


def display(value: float, decimals: int = 2) -> str:
    """A value rounded half-up for display ('25.42'); computation always keeps the float."""
    if not math.isfinite(value):
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def region_chain(code: str) -> tuple[str, ...]:
    """The region and its GB/T 2260 ancestors by code prefix: 330102 → 330100 → 330000."""
    chain = [code]
    for ancestor in (code[:4] + "00", code[:2] + "0000"):
        if ancestor != chain[-1] and ancestor not in chain:
            chain.append(ancestor)
    return tuple(chain)


def region_level(code: str) -> str:
    """'province', 'city' or 'county' from the shape of a 6-digit code."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


# --- rows, errors, flags, results ------------------------------------------------------------


class RowProblem(StrEnum):
    """Why an input row is refused."""

    MISSING_CUSTOMER = "missing_customer_id"
    UNKNOWN_REGION = "unknown_region"
    UNKNOWN_INDUSTRY = "unknown_industry"
    BAD_DATE = "bad_date"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    MISSING_KWH = "missing_kwh"
    BAD_KWH = "bad_kwh"
    NEGATIVE_KWH = "negative_kwh"
    DUPLICATE = "duplicate"
    INCONSISTENT_REGION = "inconsistent_region"
    INCONSISTENT_INDUSTRY = "inconsistent_industry"
    BAD_HOUR = "bad_hour"
    UNKNOWN_CUSTOMER = "unknown_customer"


@dataclass(frozen=True, order=True)
class RowError:
    """One refused input row: its 1-based record number (header excluded) and what is wrong."""

    row: int
    field: str
    problem: RowProblem
    message: str
    source: str = "daily"
    """'daily' for the readings, 'hourly' for the optional hourly load."""


class InvalidInputError(ValueError):
    """The input has refused rows; nothing was computed (all-or-nothing)."""

    def __init__(self, errors: Sequence[RowError], total: int) -> None:
        self.errors = tuple(errors)
        self.total = total
        first = self.errors[0] if self.errors else None
        where = f"{first.source} row {first.row}: {first.message}" if first else "no detail"
        super().__init__(f"{total} invalid row(s); first: {where}")


class FlagKind(StrEnum):
    """The anti-gaming flags."""

    FLAT_LOAD = "flat_load"
    BASELINE_SHIFT = "baseline_shift"


@dataclass(frozen=True, order=True)
class Flag:
    """A customer held for review and left out of the index (unless cleared)."""

    customer_id: str
    kind: FlagKind
    detail: str
    cleared: bool = False


@dataclass(frozen=True)
class IndexRow:
    """The index of one group (region code or industry section) on one day, unrounded."""

    key: str
    date: date
    customers: int
    resumed: int
    resumed_kwh: float
    baseline_kwh: float
    work_rate: float
    output_rate: float
    index: float


@dataclass(frozen=True)
class PowerIndexResult:
    """Everything one computation produced."""

    config: PowerIndexConfig
    by: GroupBy
    rows: tuple[IndexRow, ...]
    flags: tuple[Flag, ...]
    customers: int
    """Distinct customers in the input."""
    with_baseline: int
    """Customers with a baseline that are counted (flagged ones excluded)."""
    excluded: int
    """Customers with a baseline left out because of an uncleared flag."""

    def row(self, key: str, day: date) -> IndexRow:
        """The row for one group and day (KeyError when absent)."""
        for item in self.rows:
            if item.key == key and item.date == day:
                return item
        raise KeyError((key, day))


@dataclass(frozen=True)
class GroupTotals:
    """Additive totals of one group on one day, from which the rates follow."""

    customers: int
    baseline_kwh: float
    resumed: int = 0
    resumed_kwh: float = 0.0


def build_rows(
    denominators: Mapping[str, tuple[int, float]],
    numerators: Mapping[tuple[str, date], tuple[int, float]],
    days: Iterable[date],
    config: PowerIndexConfig,
    by: GroupBy,
) -> tuple[IndexRow, ...]:
    """Index rows for every group × day, rolling regions up to city and province."""
    groups: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    parents: dict[str, tuple[str, ...]] = {}
    for key, (customers, baseline) in denominators.items():
        chain = region_chain(key) if by == "region" else (key,)
        parents[key] = chain
        for target in chain:
            count, total = groups[target]
            groups[target] = (count + customers, total + baseline)
    resumed: dict[tuple[str, date], tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for (key, day), (count, kwh) in numerators.items():
        for target in parents.get(key, ()):
            before_count, before_kwh = resumed[(target, day)]
            resumed[(target, day)] = (before_count + count, before_kwh + kwh)
    ordered_days = sorted(set(days))
    rows = []
    for key in sorted(groups):
        customers, baseline = groups[key]
        if customers == 0:
            continue
        for day in ordered_days:
            count, kwh = resumed.get((key, day), (0, 0.0))
            work, output = rates(customers, count, kwh, baseline)
            rows.append(
                IndexRow(
                    key=key,
                    date=day,
                    customers=customers,
                    resumed=count,
                    resumed_kwh=kwh,
                    baseline_kwh=baseline,
                    work_rate=work,
                    output_rate=output,
                    index=index_value(work, output, config),
                )
            )
    return tuple(rows)


# --- the reference computation (pure Python, small inputs) -----------------------------------


@dataclass(frozen=True)
class Reading:
    """One input row: a customer's kWh on one day. Fields are as read (strings may be bad)."""

    customer_id: str | None
    region: str | None
    industry: str | None
    date: str | date | None
    kwh: str | float | None


@dataclass(frozen=True)
class HourlyReading:
    """One optional hourly load row."""

    customer_id: str | None
    date: str | date | None
    hour: str | int | None
    kwh: str | float | None


def _parse_date(value: str | date | None) -> date | None:
    if isinstance(value, date):
        return value
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_kwh(value: str | float | None) -> tuple[float | None, RowProblem | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, RowProblem.MISSING_KWH
    try:
        number = float(value)
    except ValueError:
        return None, RowProblem.BAD_KWH
    if math.isnan(number):
        return None, RowProblem.MISSING_KWH
    if not math.isfinite(number):
        return None, RowProblem.BAD_KWH
    if number < 0:
        return None, RowProblem.NEGATIVE_KWH
    return number, None


_KWH_MESSAGES = {
    RowProblem.MISSING_KWH: "kwh is missing",
    RowProblem.BAD_KWH: "kwh is not a finite number",
    RowProblem.NEGATIVE_KWH: "kwh is negative",
}


@dataclass
class _Customer:
    region: str
    industry: str
    section: str | None
    first_row: int
    readings: dict[date, float] = field(default_factory=dict)


def compute_reference(
    readings: Sequence[Reading],
    config: PowerIndexConfig,
    *,
    known_regions: Collection[str],
    by: GroupBy = "region",
    hourly: Sequence[HourlyReading] = (),
    cleared: Collection[str] = frozenset(),
) -> PowerIndexResult:
    """The index over in-memory readings, in plain Python: the specification of the engine."""
    errors: list[RowError] = []
    customers: dict[str, _Customer] = {}
    seen: dict[tuple[str, date], int] = {}

    def refuse(row: int, name: str, problem: RowProblem, message: str) -> None:
        errors.append(RowError(row, name, problem, message))

    for row, reading in enumerate(readings, start=1):
        customer_id = (reading.customer_id or "").strip()
        region = (reading.region or "").strip()
        industry = (reading.industry or "").strip()
        if not customer_id:
            refuse(row, "customer_id", RowProblem.MISSING_CUSTOMER, "customer_id is missing")
        if region not in known_regions:
            refuse(row, "region", RowProblem.UNKNOWN_REGION, f"unknown region {region!r}")
        section = section_of(industry)
        if section is None:
            refuse(row, "industry", RowProblem.UNKNOWN_INDUSTRY, f"unknown industry {industry!r}")
        day = _parse_date(reading.date)
        if day is None:
            refuse(row, "date", RowProblem.BAD_DATE, f"not a date: {reading.date!r}")
        elif day not in config.dates:
            refuse(
                row,
                "date",
                RowProblem.DATE_OUT_OF_RANGE,
                f"date {day} outside {config.dates.start}..{config.dates.end}",
            )
        kwh, problem = _parse_kwh(reading.kwh)
        if problem is not None:
            refuse(row, "kwh", problem, _KWH_MESSAGES[problem])
        if not customer_id:
            continue
        customer = customers.get(customer_id)
        if customer is None:
            customer = _Customer(region, industry, section, row)
            customers[customer_id] = customer
        else:
            if region != customer.region:
                refuse(
                    row,
                    "region",
                    RowProblem.INCONSISTENT_REGION,
                    f"customer {customer_id} has region {customer.region} on row "
                    f"{customer.first_row}",
                )
            if industry != customer.industry:
                refuse(
                    row,
                    "industry",
                    RowProblem.INCONSISTENT_INDUSTRY,
                    f"customer {customer_id} has industry {customer.industry} on row "
                    f"{customer.first_row}",
                )
        if day is not None and day in config.dates:
            earlier = seen.setdefault((customer_id, day), row)
            if earlier != row:
                refuse(
                    row,
                    "date",
                    RowProblem.DUPLICATE,
                    f"customer {customer_id} already has {day} on row {earlier}",
                )
            elif kwh is not None:
                customer.readings[day] = kwh
    hourly_days = _check_hourly(hourly, customers, config, errors)
    if errors:
        errors.sort()
        raise InvalidInputError(errors, len(errors))

    flags = _reference_flags(customers, hourly_days, config, cleared)
    flagged = {flag.customer_id for flag in flags if not flag.cleared}
    denominators: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    numerators: dict[tuple[str, date], tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    all_days: set[date] = set()
    counted = excluded = 0
    for customer_id, customer in customers.items():
        all_days.update(customer.readings)
        baseline = _baseline(customer.readings, config)
        if baseline is None:
            continue
        if customer_id in flagged:
            excluded += 1
            continue
        counted += 1
        key = customer.region if by == "region" else str(customer.section)
        count, total = denominators[key]
        denominators[key] = (count + 1, total + baseline)
        limit = config.threshold * baseline
        for day, kwh in customer.readings.items():
            if kwh >= limit:
                resumed, resumed_kwh = numerators[(key, day)]
                numerators[(key, day)] = (resumed + 1, resumed_kwh + kwh)
    rows = build_rows(denominators, numerators, all_days, config, by)
    return PowerIndexResult(
        config=config,
        by=by,
        rows=rows,
        flags=tuple(sorted(flags)),
        customers=len(customers),
        with_baseline=counted,
        excluded=excluded,
    )


def _baseline(readings: Mapping[date, float], config: PowerIndexConfig) -> float | None:
    window = [kwh for day, kwh in readings.items() if day in config.baseline]
    if len(window) < config.baseline.min_days:
        return None
    mean = math.fsum(window) / len(window)
    return mean if mean > 0 else None


def _check_hourly(
    hourly: Sequence[HourlyReading],
    customers: Mapping[str, _Customer],
    config: PowerIndexConfig,
    errors: list[RowError],
) -> dict[str, dict[date, list[float]]]:
    days: dict[str, dict[date, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    first_seen: dict[tuple[str, date, int], int] = {}
    for row, reading in enumerate(hourly, start=1):
        bad = False

        def refuse(name: str, problem: RowProblem, message: str, row: int = row) -> None:
            errors.append(RowError(row, name, problem, message, source="hourly"))

        customer_id = (reading.customer_id or "").strip()
        if customer_id not in customers:
            refuse("customer_id", RowProblem.UNKNOWN_CUSTOMER, f"unknown customer {customer_id!r}")
            bad = True
        day = _parse_date(reading.date)
        if day is None:
            refuse("date", RowProblem.BAD_DATE, f"not a date: {reading.date!r}")
            bad = True
        elif day not in config.dates:
            refuse("date", RowProblem.DATE_OUT_OF_RANGE, f"date {day} outside the data dates")
            bad = True
        hour = _parse_hour(reading.hour)
        if hour is None:
            refuse("hour", RowProblem.BAD_HOUR, f"hour must be 0-23, got {reading.hour!r}")
            bad = True
        kwh, problem = _parse_kwh(reading.kwh)
        if problem is not None:
            refuse("kwh", problem, _KWH_MESSAGES[problem])
            bad = True
        if day is not None and day in config.dates and hour is not None:
            earlier = first_seen.setdefault((customer_id, day, hour), row)
            if earlier != row:
                refuse(
                    "hour", RowProblem.DUPLICATE, f"customer {customer_id} {day} hour {hour} twice"
                )
                bad = True
        if bad or day is None or hour is None or kwh is None:
            continue
        days[customer_id][day][hour] = kwh
    return {
        customer_id: {day: [hours[h] for h in sorted(hours)] for day, hours in per_day.items()}
        for customer_id, per_day in days.items()
    }


def _parse_hour(value: str | int | None) -> int | None:
    if value is None:
        return None
    try:
        hour = int(value)
    except ValueError:
        return None
    return hour if 0 <= hour <= 23 else None


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Population standard deviation over the mean (NaN when the mean is not positive)."""
    mean = math.fsum(values) / len(values)
    if mean <= 0:
        return math.nan
    return statistics.pstdev(values) / mean


def _reference_flags(
    customers: Mapping[str, _Customer],
    hourly_days: Mapping[str, Mapping[date, list[float]]],
    config: PowerIndexConfig,
    cleared: Collection[str],
) -> list[Flag]:
    flags: list[Flag] = []
    flat = config.flags.flat_load
    for customer_id, per_day in hourly_days.items():
        report = base = base_flat = 0
        for day, values in per_day.items():
            if len(values) != 24:
                continue
            cv = coefficient_of_variation(values)
            is_flat = cv < flat.max_cv  # NaN (no load) is never flat
            if day > config.baseline.end:
                report += is_flat
            elif day in config.baseline:
                base += 1
                base_flat += is_flat
        if flat_load_flagged(report, base, base_flat, config):
            flags.append(
                Flag(
                    customer_id,
                    FlagKind.FLAT_LOAD,
                    f"hourly load flat (CV < {flat.max_cv:g}) on {report} day(s) after the "
                    "baseline window",
                    customer_id in cleared,
                )
            )
    shift = config.flags.baseline_shift
    reference = config.reference_window
    for customer_id, customer in customers.items():
        before = [kwh for day, kwh in customer.readings.items() if day in reference]
        window = [kwh for day, kwh in customer.readings.items() if day in config.baseline]
        if len(before) < shift.min_reference_days or len(window) < config.baseline.min_days:
            continue
        ratio = shift_ratio(math.fsum(before) / len(before), math.fsum(window) / len(window))
        if ratio > shift.max_ratio:
            flags.append(
                Flag(
                    customer_id,
                    FlagKind.BASELINE_SHIFT,
                    f"mean kWh of the {shift.reference_days} days before the baseline window "
                    f"and of the window differ by a factor {ratio:.3g} (> {shift.max_ratio:g})",
                    customer_id in cleared,
                )
            )
    return flags


def flat_load_flagged(
    flat_report_days: int, baseline_days: int, flat_baseline_days: int, config: PowerIndexConfig
) -> bool:
    """Flat on enough days after the window, unless the load was already flat in the window.

    A continuous-process plant runs flat all year; what gives away idling machines is a load
    that *became* flat. When hourly data of the window exist (≥ min_days days) and at least
    half of those days were flat too, the customer is not flagged.
    """
    spec = config.flags.flat_load
    if flat_report_days < spec.min_days:
        return False
    return not (baseline_days >= spec.min_days and 2 * flat_baseline_days >= baseline_days)


def shift_ratio(before: float, window: float) -> float:
    """How many times larger the larger of two means is (inf when only one is zero)."""
    low, high = sorted((before, window))
    if high <= 0:
        return 1.0
    if low <= 0:
        return math.inf
    return high / low
