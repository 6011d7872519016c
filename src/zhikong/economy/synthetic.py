"""Synthetic enterprise customers and their daily kWh, Oct 2019 – Mar 2020. LABELLED SYNTHETIC.

Nothing here is real data. The generator makes enterprise electricity customers for every
county of the bundled Zhejiang pack and their daily consumption, through a resumption model
whose parameters are calibrated so that the power index computed from the generated kWh (by
`power_engine`, like any other input) follows the published trajectory: about 25 on 10 Feb,
51 on 19 Feb and 54 on 20 Feb 2020, with Wenzhou the lowest city and Zhoushan the highest on
10 Feb. The index values are never written; they emerge from the customers' kWh.

The model (all shares and sizes are ours, chosen to be plausible, not measured):

* **customers per county** ∝ the county's census population (the pack's 2020 census units),
  largest-remainder rounding, at least one per county. 333,427 by default, the universe
  State Grid Zhejiang reported.
* **industry** (GB/T 4754-2017 section) drawn from `SECTION_SHARES`; **size** (kWh on a
  normal working day) log-normal around a per-section median (`SECTION_MEDIAN_KWH`).
* **continuous-process** customers (power plants, chemicals, hospitals, …) never stop: a
  per-section probability, raised for manufacturing in Zhoushan (the Yushan petrochemical
  base, which the published commentary credits for Zhoushan's high index).
* everyone else works normally, using 75 % of a working day's load on days off (the national
  calendar of `zhikong.workdays`, so National Day 2019 and the make-up days show), shuts down
  for Spring Festival on a day between 15 and 23 Jan 2020 (stand-by load 3–22 %, below the
  30 % threshold), and **resumes** on the first day its city's resumption curve
  W_c(t) = w_max / (1 + exp(−(t − t50_c) / s)) reaches the customer's rank u_i. Ranks are
  correlated with size (ρ = `SIZE_RANK_CORRELATION`: large customers come back first, which
  is why the published 复产率 exceeded 复工率 early on).
* a resumed customer runs at its own capacity a_i ∈ [0.6, 1.05] times a provincial capacity
  ramp g(t) (supply chains and workers returning), with ±8 % daily noise.

Calibration (`calibrate`), on the drawn population, from expected values (no noise):
1. each city's position on its curve on 10 Feb, w_c, is solved so the city's expected index
   equals its target: Wenzhou 12.10 and Zhoushan 63.54 (published), the other nine cities
   x + δ_c with δ_c from `OTHER_CITY_OFFSETS` (ours) and x solved so that the province is
   25.42 (published);
2. the common steepness s is solved so the province is 51.44 on 19 Feb (published); t50_c
   follows from w_c and s. 20 Feb (published 53.71) is not fitted: it is the model's check.

A few customers can be made to game the index (`gaming`): their meters run flat around the
clock from 17 Feb at half their baseline (machines idling, lights on; Caixin and Yueqing,
Feb 2020). `hourly_load` produces hourly data on which the flat-load flag trips for them.
A few customers are new connections in mid-November (`new_connections`), which trips the
baseline-shift flag.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from zhikong.economy.geography import Region, counties, pack_regions
from zhikong.workdays import is_working_day

SYNTHETIC_LABEL = "zhikong synthetic enterprise electricity data — not real"
DEFAULT_CUSTOMERS = 333_427
START = date(2019, 9, 1)  # 30 days before the baseline window, for the baseline-shift check
END = date(2020, 3, 31)

SECTION_SHARES: dict[str, float] = {
    "A": 0.02, "B": 0.005, "C": 0.42, "D": 0.01, "E": 0.06, "F": 0.16, "G": 0.05,
    "H": 0.07, "I": 0.02, "J": 0.01, "K": 0.03, "L": 0.05, "M": 0.02, "N": 0.015,
    "O": 0.03, "P": 0.01, "Q": 0.01, "R": 0.01, "S": 0.01,
}  # fmt: skip
"""Share of enterprise customers per section (ours; manufacturing dominates in Zhejiang)."""

SECTION_MEDIAN_KWH: dict[str, float] = {
    "A": 150, "B": 1500, "C": 800, "D": 2000, "E": 300, "F": 120, "G": 400, "H": 150,
    "I": 200, "J": 150, "K": 200, "L": 100, "M": 150, "N": 200, "O": 80, "P": 300,
    "Q": 500, "R": 150, "S": 200,
}  # fmt: skip
"""Median kWh of a normal working day per section (ours)."""

SIZE_SIGMA = 1.2
CONTINUOUS_PROBABILITY: dict[str, float] = {"B": 0.15, "C": 0.02, "D": 0.5, "G": 0.04, "Q": 0.3}
DEFAULT_CONTINUOUS = 0.005
ZHOUSHAN = "330900"
ZHOUSHAN_MANUFACTURING_CONTINUOUS = 0.25
SIZE_RANK_CORRELATION = 0.6
W_MAX = 0.97
OFF_DAY_FACTOR = 0.75
NOISE_SIGMA = 0.08

PUBLISHED_PROVINCE = {date(2020, 2, 10): 25.42, date(2020, 2, 19): 51.44, date(2020, 2, 20): 53.71}
PUBLISHED_CITY_10_FEB = {"330300": 12.10, ZHOUSHAN: 63.54}  # Wenzhou lowest, Zhoushan highest
OTHER_CITY_OFFSETS: dict[str, float] = {
    "330100": 4.0, "330200": 3.0, "330400": 2.0, "330500": 6.0, "330600": -2.0,
    "330700": -3.0, "330800": 5.0, "331000": -4.0, "331100": 1.0,
}  # fmt: skip
"""Our spread of the nine unpublished cities around their common level on 10 Feb."""

GAMING_FROM = date(2020, 2, 17)
FIT_DAY = date(2020, 2, 10)
SLOPE_DAY = date(2020, 2, 19)


def capacity_ramp(day: date) -> float:
    """Provincial capacity of resumed customers: 0.55 on 1 Feb rising to 1.0 by 31 Mar."""
    progress = (day - date(2020, 2, 1)).days / (END - date(2020, 2, 1)).days
    return 0.55 + 0.45 * min(max(progress, 0.0), 1.0)


@dataclass(frozen=True)
class Customers:
    """The drawn customers (arrays aligned by customer)."""

    ids: npt.NDArray[np.str_]
    region: npt.NDArray[np.str_]
    city: npt.NDArray[np.str_]
    section: npt.NDArray[np.str_]
    size: npt.NDArray[np.float64]
    continuous: npt.NDArray[np.bool_]
    capacity: npt.NDArray[np.float64]
    standby: npt.NDArray[np.float64]
    closure: npt.NDArray[np.int64]
    """Day index (from START) of the Spring Festival shutdown."""
    rank: npt.NDArray[np.float64]
    """u_i in (0, 1): the customer resumes when its city's curve reaches it."""
    gaming: npt.NDArray[np.bool_]
    connected: npt.NDArray[np.int64]
    """Day index from which the customer exists (0 for all but new connections)."""

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Calibration:
    """Fitted resumption curves: per-city midpoint (day index) and the common steepness."""

    midpoint: dict[str, float]
    steepness: float
    fit_city_index: dict[str, float]
    """Expected city index on 10 Feb at the fitted curves (the targets, up to solver error)."""
    expected_province: dict[date, float]

    def curve(
        self, city: str, day_index: npt.NDArray[np.float64] | float
    ) -> npt.NDArray[np.float64]:
        """W_c(t): the share of a city's non-continuous customers resumed by day t."""
        z = (np.asarray(day_index, dtype=float) - self.midpoint[city]) / self.steepness
        return np.asarray(W_MAX / (1.0 + np.exp(-z)), dtype=np.float64)


def day_index(day: date) -> int:
    """Days since START."""
    return (day - START).days


def _base36(number: int, width: int = 3) -> str:
    """`number` in base 36 (0-9, A-Z), at least `width` characters: ids stay 12 characters."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text.rjust(width, "0")


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder allocation of `total` by weights, at least one each."""
    count = len(weights)
    if total < count:
        raise ValueError(f"at least {count} customers are needed (one per county)")
    share = np.asarray(weights, dtype=float)
    raw = (total - count) * share / share.sum()
    base = np.floor(raw).astype(int)
    remainder = total - count - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:remainder]] += 1
    return [int(n) + 1 for n in base]


def draw_customers(
    total: int = DEFAULT_CUSTOMERS,
    *,
    seed: int = 2020,
    gaming: int = 0,
    new_connections: int = 0,
    gaming_county: str = "330382",
) -> Customers:
    """Draw the customers: county, industry, size, continuous process, shutdown, rank."""
    rng = np.random.default_rng(seed)
    places = counties()
    parents = {region.code: region.parent_code for region in pack_regions()}
    per_county = _allocate(total, [float(place.population or 1) for place in places])
    region = np.repeat(np.array([place.code for place in places]), per_county)
    city = np.array([parents[code] or code for code in region])
    sections = list(SECTION_SHARES)
    shares = np.array([SECTION_SHARES[s] for s in sections])
    section = rng.choice(np.array(sections), size=total, p=shares / shares.sum())
    median = np.array([SECTION_MEDIAN_KWH[s] for s in section])
    size = median * np.exp(SIZE_SIGMA * rng.standard_normal(total))
    probability = np.array([CONTINUOUS_PROBABILITY.get(s, DEFAULT_CONTINUOUS) for s in section])
    probability[(city == ZHOUSHAN) & (section == "C")] = ZHOUSHAN_MANUFACTURING_CONTINUOUS
    continuous = rng.random(total) < probability
    capacity = rng.uniform(0.6, 1.05, total)
    capacity[continuous] = rng.uniform(0.85, 1.0, int(continuous.sum()))
    standby = rng.uniform(0.03, 0.22, total)
    closure = rng.integers(day_index(date(2020, 1, 15)), day_index(date(2020, 1, 23)) + 1, total)
    log_size = np.log(size)
    z = (log_size - log_size.mean()) / log_size.std()
    latent = -SIZE_RANK_CORRELATION * z + math.sqrt(1 - SIZE_RANK_CORRELATION**2) * (
        rng.standard_normal(total)
    )
    rank = np.empty(total)
    for code in np.unique(city):  # ranks are uniform within each city
        members = np.flatnonzero(city == code)
        order = np.argsort(np.argsort(latent[members], kind="stable"), kind="stable")
        rank[members] = (order + 0.5) / len(members)
    chosen_gaming = np.zeros(total, dtype=bool)
    candidates = np.flatnonzero((region == gaming_county) & ~continuous)
    if gaming:
        picked = rng.choice(candidates, size=min(gaming, len(candidates)), replace=False)
        chosen_gaming[picked] = True
    connected = np.zeros(total, dtype=np.int64)
    if new_connections:
        others = np.flatnonzero(~chosen_gaming & ~continuous)
        picked = rng.choice(others, size=min(new_connections, len(others)), replace=False)
        connected[picked] = day_index(date(2019, 11, 15))
    county_index = np.concatenate([np.arange(n) for n in per_county])
    ids = np.array([f"SYN{code}{_base36(n)}" for code, n in zip(region, county_index, strict=True)])
    return Customers(
        ids=ids,
        region=region,
        city=city,
        section=section,
        size=size,
        continuous=continuous,
        capacity=capacity,
        standby=standby,
        closure=closure,
        rank=rank,
        gaming=chosen_gaming,
        connected=connected,
    )


def _calendar(first: date, last: date) -> tuple[list[date], npt.NDArray[np.float64]]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    working = np.array([1.0 if is_working_day(d) else 0.0 for d in days])
    return days, working


def _expected_baseline(customers: Customers) -> npt.NDArray[np.float64]:
    """Expected mean kWh over the baseline window (working-day mix, no noise)."""
    _, working = _calendar(date(2019, 10, 1), date(2019, 12, 31))
    off_share = 1.0 - working.mean()
    factor = np.where(customers.continuous, 1.0, 1.0 - off_share * (1.0 - OFF_DAY_FACTOR))
    return customers.size * factor


@dataclass(frozen=True)
class _CityModel:
    ranks: npt.NDArray[np.float64]
    cumulative_kwh: dict[float, npt.NDArray[np.float64]]
    continuous_count: float
    continuous_kwh: float
    customers: int
    baseline: float

    def totals(self, w: float, g: float) -> tuple[float, float]:
        """Expected resumed count and kWh when the curve stands at w."""
        k = int(np.searchsorted(self.ranks, w, side="right"))
        kwh = self.cumulative_kwh[g][k - 1] if k else 0.0
        return self.continuous_count + k, self.continuous_kwh + float(kwh)

    def index(self, w: float, g: float) -> float:
        """Expected city index when the curve stands at w."""
        count, kwh = self.totals(w, g)
        return 50.0 * (count / self.customers + kwh / self.baseline)


def _models(customers: Customers, days: Sequence[date]) -> dict[str, _CityModel]:
    baseline = _expected_baseline(customers)
    models = {}
    for code in np.unique(customers.city):
        members = np.flatnonzero(customers.city == code)
        flexible = members[~customers.continuous[members]]
        order = flexible[np.argsort(customers.rank[flexible], kind="stable")]
        continuous = members[customers.continuous[members]]
        load = customers.size[order] * customers.capacity[order]
        models[str(code)] = _CityModel(
            ranks=customers.rank[order],
            cumulative_kwh={capacity_ramp(d): np.cumsum(load * capacity_ramp(d)) for d in days},
            continuous_count=float(len(continuous)),
            continuous_kwh=float(
                (customers.size[continuous] * customers.capacity[continuous]).sum()
            ),
            customers=len(members),
            baseline=float(baseline[members].sum()),
        )
    return models


def _solve_w(model: _CityModel, target: float, g: float) -> float:
    low, high = 0.0, W_MAX
    for _ in range(60):
        middle = (low + high) / 2
        if model.index(middle, g) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _province(models: dict[str, _CityModel], positions: dict[str, float], g: float) -> float:
    count = kwh = customers = baseline = 0.0
    for code, model in models.items():
        c, k = model.totals(positions[code], g)
        count, kwh = count + c, kwh + k
        customers += model.customers
        baseline += model.baseline
    return 50.0 * (count / customers + kwh / baseline)


def _logistic_position(w10: float, steepness: float, days_after: int) -> float:
    w10 = min(max(w10, 1e-6), W_MAX - 1e-6)
    logit = math.log(w10 / (W_MAX - w10))
    return W_MAX / (1.0 + math.exp(-(days_after / steepness + logit)))


def calibrate(customers: Customers) -> Calibration:
    """Fit each city's curve to its 10 Feb target and the steepness to the 19 Feb province."""
    check_days = [FIT_DAY, SLOPE_DAY, date(2020, 2, 20)]
    models = _models(customers, check_days)
    g10 = capacity_ramp(FIT_DAY)

    def positions_for(level: float) -> dict[str, float]:
        targets = {
            code: PUBLISHED_CITY_10_FEB.get(code, level + OTHER_CITY_OFFSETS.get(code, 0.0))
            for code in models
        }
        return {code: _solve_w(model, targets[code], g10) for code, model in models.items()}

    low, high = 0.0, 100.0
    for _ in range(50):
        middle = (low + high) / 2
        if _province(models, positions_for(middle), g10) < PUBLISHED_PROVINCE[FIT_DAY]:
            low = middle
        else:
            high = middle
    w10 = positions_for((low + high) / 2)

    def province_on(day: date, steepness: float) -> float:
        after = (day - FIT_DAY).days
        moved = {code: _logistic_position(w, steepness, after) for code, w in w10.items()}
        return _province(models, moved, capacity_ramp(day))

    low, high = 0.5, 60.0
    for _ in range(60):
        middle = (low + high) / 2
        if province_on(SLOPE_DAY, middle) > PUBLISHED_PROVINCE[SLOPE_DAY]:
            low = middle
        else:
            high = middle
    steepness = (low + high) / 2
    fit = day_index(FIT_DAY)
    midpoint = {}
    for code, w in w10.items():
        w = min(max(w, 1e-6), W_MAX - 1e-6)
        midpoint[code] = fit - steepness * math.log(w / (W_MAX - w))
    return Calibration(
        midpoint=midpoint,
        steepness=steepness,
        fit_city_index={code: models[code].index(w, g10) for code, w in w10.items()},
        expected_province={d: province_on(d, steepness) for d in check_days},
    )


def resumption_day(customers: Customers, calibration: Calibration) -> npt.NDArray[np.int64]:
    """Day index on which each non-continuous customer resumes (a large number if never)."""
    result = np.full(len(customers), 10**6, dtype=np.int64)
    for code, middle in calibration.midpoint.items():
        members = np.flatnonzero(customers.city == code)
        u = customers.rank[members]
        reachable = u < W_MAX
        t = np.full(len(members), 10**6, dtype=np.int64)
        logit = np.log(u[reachable] / (W_MAX - u[reachable]))
        t[reachable] = np.ceil(middle + calibration.steepness * logit - 1e-9).astype(np.int64)
        result[members] = t
    return np.maximum(result, customers.closure + 1)


def daily_kwh(
    customers: Customers,
    calibration: Calibration,
    *,
    seed: int = 2020,
    first: date = START,
    last: date = END,
    chunk: int = 20_000,
) -> Iterator[pa.RecordBatch]:
    """Record batches of customer_id, region, industry, date, kwh (customer by customer)."""
    days, working = _calendar(first, last)
    offset = day_index(first)
    t = np.arange(len(days)) + offset
    ramp = np.array([capacity_ramp(d) for d in days])
    resumes = resumption_day(customers, calibration)
    gaming_from = day_index(GAMING_FROM)
    dates = np.array(days, dtype="datetime64[D]")
    schema = schema_with_label()
    for start in range(0, len(customers), chunk):
        rng = np.random.default_rng([seed, start])
        sl = slice(start, min(start + chunk, len(customers)))
        n = sl.stop - sl.start
        size = customers.size[sl][:, None]
        continuous = customers.continuous[sl][:, None]
        week = np.where(continuous, 1.0, np.where(working[None, :] > 0, 1.0, OFF_DAY_FACTOR))
        closed = (t[None, :] >= customers.closure[sl][:, None]) & (
            t[None, :] < resumes[sl][:, None]
        )
        level = np.where(
            continuous,
            customers.capacity[sl][:, None],
            np.where(
                closed,
                customers.standby[sl][:, None],
                np.where(
                    t[None, :] >= resumes[sl][:, None],
                    customers.capacity[sl][:, None] * ramp[None, :],
                    1.0,
                ),
            ),
        )
        gaming = customers.gaming[sl][:, None] & (t[None, :] >= gaming_from)
        level = np.where(gaming, 0.5, level)
        week = np.where(gaming, 1.0, week)
        noise = np.exp(NOISE_SIGMA * rng.standard_normal((n, len(days))) - NOISE_SIGMA**2 / 2)
        kwh = np.round(size * week * level * noise, 1)
        kwh[t[None, :] < customers.connected[sl][:, None]] = 0.0
        repeat = pa.array(np.repeat(np.arange(n), len(days)))
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(customers.ids[sl]).take(repeat),
                pa.array(customers.region[sl]).take(repeat),
                pa.array(customers.section[sl]).take(repeat),
                pa.array(np.tile(dates, n), type=pa.date32()),
                pa.array(kwh.ravel()),
            ],
            schema=schema,
        )


def schema_with_label() -> pa.Schema:
    """The readings schema, labelled synthetic in its metadata."""
    return pa.schema(
        [
            ("customer_id", pa.string()),
            ("region", pa.string()),
            ("industry", pa.string()),
            ("date", pa.date32()),
            ("kwh", pa.float64()),
        ],
        metadata={"synthetic": "true", "label": SYNTHETIC_LABEL},
    )


def generate(
    total: int = DEFAULT_CUSTOMERS,
    *,
    seed: int = 2020,
    gaming: int = 0,
    new_connections: int = 0,
    first: date = START,
    last: date = END,
) -> tuple[Customers, Calibration, pa.Table]:
    """Customers, their calibration and all their daily kWh as one Arrow table."""
    customers = draw_customers(total, seed=seed, gaming=gaming, new_connections=new_connections)
    calibration = calibrate(customers)
    batches = list(daily_kwh(customers, calibration, seed=seed, first=first, last=last))
    return customers, calibration, pa.Table.from_batches(batches, schema=schema_with_label())


HOURLY_SHAPE = np.array([0.3] * 7 + [0.8] + [1.6] * 10 + [0.9, 0.6] + [0.3] * 4)
"""A day-shift factory's hourly load relative to its daily mean (CV ≈ 0.6)."""


def hourly_load(
    customer_ids: Sequence[str],
    readings: pa.Table,
    *,
    flat: Sequence[str] = (),
    flat_from: date = GAMING_FROM,
    seed: int = 2020,
) -> pa.Table:
    """Hourly load (customer_id, date, hour, kwh) that adds up to each listed daily reading.

    Customers in `flat` draw the same load every hour (CV ≈ 1 %) from `flat_from` on, a
    day-shift shape before; the others always a day-shift shape. The flat-load flag trips for
    the first kind only (their load *became* flat).
    """
    rng = np.random.default_rng(seed)
    wanted = pa.array(list(customer_ids))
    rows = readings.filter(pc.is_in(readings["customer_id"], value_set=wanted))
    ids = np.asarray(rows["customer_id"].to_pylist())
    dates = rows["date"].to_pylist()
    totals = rows["kwh"].to_numpy(zero_copy_only=False)
    is_flat = np.isin(ids, np.asarray(list(flat))) & (
        np.asarray(dates, dtype="datetime64[D]") >= np.datetime64(flat_from)
    )
    shape = np.where(is_flat[:, None], 1.0, HOURLY_SHAPE[None, :] / HOURLY_SHAPE.mean())
    jitter = np.exp(0.01 * rng.standard_normal((len(ids), 24)))
    values = shape * jitter
    values = values / values.sum(axis=1, keepdims=True) * totals[:, None]
    return pa.table(
        {
            "customer_id": pa.array(np.repeat(ids, 24)),
            "date": pa.array([d for d in dates for _ in range(24)], type=pa.date32()),
            "hour": pa.array(np.tile(np.arange(24), len(ids)), type=pa.int32()),
            "kwh": pa.array(np.round(values.ravel(), 3)),
        },
        schema=pa.schema(
            [
                ("customer_id", pa.string()),
                ("date", pa.date32()),
                ("hour", pa.int32()),
                ("kwh", pa.float64()),
            ],
            metadata={"synthetic": "true", "label": SYNTHETIC_LABEL},
        ),
    )


def city_names() -> dict[str, Region]:
    """The cities of the pack by code (for reports)."""
    return {r.code: r for r in pack_regions() if r.level == "city"}
