"""The index maths (pure): normalisation, weighting, aggregation, contributions, ranking and
the Monte Carlo sensitivity analysis of the OECD/JRC Handbook on Constructing Composite
Indicators (Nardo et al., OECD 2008).

Everything here works on a dense panel of regions × days × indicators held in numpy arrays;
nothing reads files, clocks or databases. Array shapes: R regions, T days, K indicators,
G sub-indices, N draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from zhikong.index.indicators import (
    AggregationMethod,
    Direction,
    IndexConfig,
    NormalisationMethod,
    SensitivitySpec,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NORMALISATIONS: tuple[NormalisationMethod, ...] = ("goalposts", "minmax", "zscore", "ordinal")
AGGREGATIONS: tuple[AggregationMethod, ...] = ("arithmetic", "geometric")
RANK_DECIMALS = 9
"""Totals are rounded to this many decimals before ranking, so float noise never splits a tie."""
PERCENTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class Panel:
    """Raw indicator values per region and day (NaN = missing), with optional OxCGRT flags."""

    regions: tuple[str, ...]
    dates: tuple[date, ...]
    indicators: tuple[str, ...]
    values: FloatArray
    flags: FloatArray | None = None
    present: BoolArray | None = None

    def __post_init__(self) -> None:
        shape = (len(self.regions), len(self.dates), len(self.indicators))
        if self.values.shape != shape:
            raise ValueError(f"values have shape {self.values.shape}, expected {shape}")
        if self.flags is not None and self.flags.shape != shape:
            raise ValueError(f"flags have shape {self.flags.shape}, expected {shape}")
        if self.present is not None and self.present.shape != shape[:2]:
            raise ValueError(f"present has shape {self.present.shape}, expected {shape[:2]}")

    @property
    def rows(self) -> BoolArray:
        """Which (region, day) cells are rows of the input (all, unless `present` says)."""
        if self.present is None:
            return np.ones(self.values.shape[:2], dtype=np.bool_)
        return self.present


@dataclass(frozen=True)
class Scheme:
    """One way of building the index: normalisation, aggregation and raw weights."""

    normalisation: NormalisationMethod
    aggregation: AggregationMethod
    indicator_weights: FloatArray
    group_weights: FloatArray


@dataclass(frozen=True)
class IndexModel:
    """A configuration compiled to arrays (indicator order = configuration order)."""

    config_id: str
    indicators: tuple[str, ...]
    group_ids: tuple[str, ...]
    group_of: IntArray
    higher_is_better: BoolArray
    worst: FloatArray
    best: FloatArray
    ordinal_max: FloatArray
    flagged: BoolArray
    min_present: IntArray
    indicator_weights: FloatArray
    group_weights: FloatArray
    normalisation: NormalisationMethod
    scope: str
    aggregation: AggregationMethod
    floor: float
    missing: str
    missing_flag: float
    sensitivity: SensitivitySpec | None = None
    members: tuple[IntArray, ...] = field(default=(), compare=False)

    @classmethod
    def from_config(cls, config: IndexConfig) -> IndexModel:
        """Compile a validated configuration."""
        ids = config.indicator_ids
        definitions = [config.definition(i) for i in ids]
        specs = [spec for group in config.sub_indices for spec in group.indicators]
        group_of = np.array(
            [g for g, group in enumerate(config.sub_indices) for _ in group.indicators],
            dtype=np.int64,
        )
        nan = math.nan
        return cls(
            config_id=config.id,
            indicators=ids,
            group_ids=tuple(group.id for group in config.sub_indices),
            group_of=group_of,
            higher_is_better=np.array(
                [d.direction is Direction.HIGHER_IS_BETTER for d in definitions], dtype=np.bool_
            ),
            worst=np.array([s.goalposts.worst if s.goalposts else nan for s in specs]),
            best=np.array([s.goalposts.best if s.goalposts else nan for s in specs]),
            ordinal_max=np.array(
                [float(d.ordinal_max) if d.ordinal_max is not None else nan for d in definitions]
            ),
            flagged=np.array([d.flagged for d in definitions], dtype=np.bool_),
            min_present=np.array([group.min_present for group in config.sub_indices]),
            indicator_weights=np.array([s.weight for s in specs], dtype=np.float64),
            group_weights=np.array([group.weight for group in config.sub_indices]),
            normalisation=config.normalisation,
            scope=config.normalisation_scope,
            aggregation=config.aggregation,
            floor=config.geometric_floor,
            missing=config.missing,
            missing_flag=1.0 if config.missing_flag == "general" else 0.0,
            sensitivity=config.sensitivity,
            members=tuple(
                np.flatnonzero(group_of == g).astype(np.int64)
                for g in range(len(config.sub_indices))
            ),
        )

    def base_scheme(self) -> Scheme:
        """The scheme the configuration itself prescribes."""
        return Scheme(
            normalisation=self.normalisation,
            aggregation=self.aggregation,
            indicator_weights=self.indicator_weights,
            group_weights=self.group_weights,
        )


# --- normalisation ------------------------------------------------------------------------


def goalposts_scores(values: FloatArray, worst: FloatArray, best: FloatArray) -> FloatArray:
    """Scores 0–100 by distance between goalposts (worst → 0, best → 100), clipped."""
    with np.errstate(invalid="ignore", over="ignore"):
        scores = 100.0 * np.clip((values - worst) / (best - worst), 0.0, 1.0)
    return np.asarray(scores, dtype=np.float64)


def _stats_axes(scope: str) -> tuple[int, ...]:
    if scope not in ("panel", "day"):
        raise ValueError(f"unknown normalisation scope {scope!r}")
    return (0, 1) if scope == "panel" else (0,)


def minmax_scores(values: FloatArray, higher_is_better: BoolArray, scope: str) -> FloatArray:
    """Scores 0–100 by min-max over the panel or over each day's regions (constant → 50)."""
    axes = _stats_axes(scope)
    finite = np.isfinite(values)
    low = np.min(np.where(finite, values, np.inf), axis=axes, keepdims=True)
    high = np.max(np.where(finite, values, -np.inf), axis=axes, keepdims=True)
    span = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        up = np.where(span > 0, (values - low) / span, 0.5)
    scores = 100.0 * np.where(higher_is_better, up, 1.0 - up)
    return np.asarray(np.where(finite, scores, np.nan), dtype=np.float64)


def zscore_scores(values: FloatArray, higher_is_better: BoolArray, scope: str) -> FloatArray:
    """Standardised scores shown on a 50 ± 10 scale (50 + 10·z; no spread → 50)."""
    axes = _stats_axes(scope)
    finite = np.isfinite(values)
    count = np.sum(finite, axis=axes, keepdims=True)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(filled, axis=axes, keepdims=True) / count
        deviation = np.where(finite, values - mean, 0.0)
        sd = np.sqrt(np.sum(deviation * deviation, axis=axes, keepdims=True) / count)
        spread = sd > 1e-12 * np.maximum(1.0, np.abs(mean))  # float noise is no spread
        z = np.where(spread, deviation / sd, 0.0)
    z = np.where(higher_is_better, z, -z)
    return np.asarray(np.where(finite, 50.0 + 10.0 * z, np.nan), dtype=np.float64)


def ordinal_scores(
    values: FloatArray,
    flags: FloatArray | None,
    ordinal_max: FloatArray,
    flagged: BoolArray,
    missing_flag: float,
) -> FloatArray:
    """OxCGRT sub-index scores: 100·(v − 0.5·(F − f))/N, and 0 where v = 0."""
    if flags is None:
        flags = np.full(values.shape, np.nan)
    flag = np.where(np.isfinite(flags), flags, missing_flag)
    penalty = np.where(flagged, 0.5 * (1.0 - flag), 0.0)
    with np.errstate(invalid="ignore"):
        scores = np.where(values == 0, 0.0, 100.0 * (values - penalty) / ordinal_max)
    return np.asarray(np.where(np.isfinite(values), scores, np.nan), dtype=np.float64)


def normalise(panel: Panel, model: IndexModel, method: NormalisationMethod) -> FloatArray:
    """Normalised scores (R, T, K) of the panel by one method; NaN where a value is missing."""
    values = np.where(panel.rows[:, :, None], panel.values, np.nan)
    if method == "goalposts":
        return goalposts_scores(values, model.worst, model.best)
    if method == "minmax":
        return minmax_scores(values, model.higher_is_better, model.scope)
    if method == "zscore":
        return zscore_scores(values, model.higher_is_better, model.scope)
    if method == "ordinal":
        flags = panel.flags
        return ordinal_scores(values, flags, model.ordinal_max, model.flagged, model.missing_flag)
    raise ValueError(f"unknown normalisation {method!r}")


# --- weighting and aggregation ------------------------------------------------------------


@dataclass(frozen=True)
class IndexResult:
    """Sub-indices, total, per-indicator contributions and ranks of one scheme on a panel."""

    panel: Panel
    model: IndexModel
    scheme: Scheme
    scores: FloatArray
    """(R, T, K) normalised score of each indicator (NaN = missing)."""
    weights: FloatArray
    """(R, T, K) effective weight of each indicator in the total (sums to 1 where defined)."""
    groups: FloatArray
    """(G, R, T) sub-index values (NaN = undefined)."""
    total: FloatArray
    """(R, T) the index (NaN = undefined)."""
    contributions: FloatArray
    """(R, T, K) each indicator's part of the total (they sum to the total)."""
    group_contributions: FloatArray
    """(R, T, K) each indicator's part of its sub-index (they sum to the sub-index)."""
    rank: IntArray
    """(R, T) rank among the day's regions, 1 = highest total, ties share; 0 = undefined."""


def _valid_groups(present: BoolArray, rows: BoolArray, model: IndexModel) -> BoolArray:
    """(G, R, T) whether each sub-index has enough indicators present to be defined."""
    valid = np.empty((len(model.group_ids), *present.shape[:2]), dtype=np.bool_)
    for g, members in enumerate(model.members):
        count = present[:, :, members].sum(axis=-1)
        valid[g] = (count >= model.min_present[g]) & rows
    return valid


def _log_share(value: FloatArray, parts: FloatArray, logs: FloatArray) -> FloatArray:
    """Split a geometric aggregate `value` = exp(Σ parts) by log shares (weights if Σ = 0)."""
    log_total = logs.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(log_total > 0, logs / log_total, parts)
    return np.asarray(value[..., None] * share, dtype=np.float64)


def aggregate(
    scores: FloatArray, rows: BoolArray, model: IndexModel, scheme: Scheme
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Weights, sub-indices, total and contributions of normalised scores under one scheme."""
    present = np.isfinite(scores)
    counted = present if model.missing == "exclude" else np.ones_like(present)
    filled = np.where(present, scores, 0.0)
    raw = np.where(counted, scheme.indicator_weights, 0.0)
    share = np.zeros_like(raw)
    for members in model.members:
        denominator = raw[:, :, members].sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share[:, :, members] = np.where(denominator > 0, raw[:, :, members] / denominator, 0)
    group_share = scheme.group_weights / scheme.group_weights.sum()
    weights = share * group_share[model.group_of]
    valid = _valid_groups(present, rows, model)
    defined: BoolArray = np.all(valid, axis=0)
    if scheme.aggregation == "arithmetic":
        terms = share * filled
        groups = np.stack([terms[:, :, m].sum(axis=-1) for m in model.members])
        total = np.tensordot(group_share, groups, axes=1)
        contributions = weights * filled
        group_contributions = terms
    elif scheme.aggregation == "geometric":
        logs = np.log(np.maximum(filled, model.floor))
        terms = share * logs
        log_groups = np.stack([terms[:, :, m].sum(axis=-1) for m in model.members])
        groups = np.exp(log_groups)
        total = np.exp(np.tensordot(group_share, log_groups, axes=1))
        contributions = _log_share(total, weights, weights * logs)
        group_contributions = np.empty_like(terms)
        for g, m in enumerate(model.members):
            group_contributions[:, :, m] = _log_share(groups[g], share[:, :, m], terms[:, :, m])
    else:
        raise ValueError(f"unknown aggregation {scheme.aggregation!r}")
    groups = np.where(valid, groups, np.nan)
    total = np.where(defined, total, np.nan)
    contributions = np.where(defined[:, :, None], contributions, np.nan)
    group_contributions = np.where(
        valid[model.group_of].transpose(1, 2, 0), group_contributions, np.nan
    )
    weights = np.where(defined[:, :, None], weights, np.nan)
    return weights, groups, total, contributions, group_contributions


# --- ranking ------------------------------------------------------------------------------


def rank_descending(values: FloatArray, axis: int = 0) -> IntArray:
    """Competition ranks along an axis: 1 = highest, ties share the best rank, NaN → 0."""
    moved = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    missing = ~np.isfinite(moved)
    key = np.round(moved, RANK_DECIMALS)
    np.negative(key, out=key)
    key[missing] = np.inf
    order = np.argsort(key, axis=-1)
    ordered = np.sort(key, axis=-1)
    count = moved.shape[-1]
    position = np.arange(1, count + 1, dtype=np.int64)
    ties = (ordered[..., 1:] == ordered[..., :-1]) & np.isfinite(ordered[..., 1:])
    if ties.any():
        starts = np.ones(ordered.shape, dtype=np.bool_)
        starts[..., 1:] = ~ties
        sorted_ranks = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    else:
        sorted_ranks = np.broadcast_to(position, ordered.shape)
    ranks = np.empty(ordered.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, sorted_ranks, axis=-1)
    ranks[missing] = 0
    return np.moveaxis(ranks, -1, axis)


def compute_index(panel: Panel, model: IndexModel, scheme: Scheme | None = None) -> IndexResult:
    """The index of every region and day under a scheme (default: the configuration's own)."""
    if panel.indicators != model.indicators:
        raise ValueError("the panel's indicators are not the model's, in the model's order")
    scheme = scheme or model.base_scheme()
    scores = normalise(panel, model, scheme.normalisation)
    weights, groups, total, contributions, group_contributions = aggregate(
        scores, panel.rows, model, scheme
    )
    return IndexResult(
        panel=panel,
        model=model,
        scheme=scheme,
        scores=scores,
        weights=weights,
        groups=groups,
        total=total,
        contributions=contributions,
        group_contributions=group_contributions,
        rank=rank_descending(total, axis=0),
    )


# --- sensitivity analysis -----------------------------------------------------------------


@dataclass(frozen=True)
class Scenarios:
    """The random draws of a sensitivity analysis: one scheme per draw."""

    normalisations: tuple[NormalisationMethod, ...]
    aggregations: tuple[AggregationMethod, ...]
    normalisation_index: IntArray
    aggregation_index: IntArray
    indicator_weights: FloatArray
    group_weights: FloatArray

    def __len__(self) -> int:
        return int(self.normalisation_index.shape[0])

    def scheme(self, draw: int) -> Scheme:
        """The scheme of one draw."""
        return Scheme(
            normalisation=self.normalisations[int(self.normalisation_index[draw])],
            aggregation=self.aggregations[int(self.aggregation_index[draw])],
            indicator_weights=self.indicator_weights[draw],
            group_weights=self.group_weights[draw],
        )


def sensitivity_spec(model: IndexModel) -> SensitivitySpec:
    """What the analysis varies: the configuration's choice, or only the weights."""
    if model.sensitivity is not None:
        return model.sensitivity
    return SensitivitySpec(normalisations=(model.normalisation,), aggregations=(model.aggregation,))


def draw_scenarios(model: IndexModel, draws: int, seed: int) -> Scenarios:
    """N random schemes: weights × U(1 − δ, 1 + δ), normalisation and aggregation at random."""
    if draws < 0:
        raise ValueError("the number of draws cannot be negative")
    spec = sensitivity_spec(model)
    rng = np.random.default_rng(seed)
    k, g = model.indicator_weights.size, model.group_weights.size
    indicator_noise = rng.uniform(-1.0, 1.0, size=(draws, k))
    group_noise = rng.uniform(-1.0, 1.0, size=(draws, g))
    normalisation_index = rng.integers(0, len(spec.normalisations), size=draws)
    aggregation_index = rng.integers(0, len(spec.aggregations), size=draws)
    return Scenarios(
        normalisations=spec.normalisations,
        aggregations=spec.aggregations,
        normalisation_index=normalisation_index.astype(np.int64),
        aggregation_index=aggregation_index.astype(np.int64),
        indicator_weights=model.indicator_weights * (1.0 + spec.weight_noise * indicator_noise),
        group_weights=model.group_weights * (1.0 + spec.weight_noise * group_noise),
    )


@dataclass(frozen=True)
class SensitivityResult:
    """How each region's rank moves over the draws (ranks 0 where the index is undefined)."""

    draws: int
    seed: int
    base_rank: IntArray
    rank_p05: IntArray
    rank_median: IntArray
    rank_p95: IntArray
    rank_min: IntArray
    """Best rank over the draws and the base scheme (so the base rank is always inside)."""
    rank_max: IntArray
    """Worst rank over the draws and the base scheme."""
    mean_abs_shift: FloatArray
    """(N,) per draw, the mean |rank − base rank| over defined region-days (OECD's R̄_S)."""


def percentile_ranks(counts: IntArray, quantile: float) -> IntArray:
    """Rank at a quantile from per-rank counts on the last axis (inverted-CDF definition)."""
    cumulative = np.cumsum(counts, axis=-1)
    total = cumulative[..., -1:]
    threshold = np.maximum(np.ceil(quantile * total - 1e-9), 1)
    ranks = np.argmax(cumulative >= threshold, axis=-1) + 1
    return np.where(total[..., 0] > 0, ranks, 0).astype(np.int64)


def _rank_summary(counts: IntArray, base: IntArray) -> tuple[IntArray, ...]:
    """p05, median, p95, min and max ranks (min/max including the base rank)."""
    seen = counts > 0
    any_seen = seen.any(axis=-1)
    lowest = np.where(any_seen, np.argmax(seen, axis=-1) + 1, 0)
    highest = np.where(any_seen, counts.shape[-1] - np.argmax(seen[..., ::-1], axis=-1), 0)
    defined = base > 0
    rank_min = np.where(defined, np.where(any_seen, np.minimum(lowest, base), base), 0)
    rank_max = np.where(defined, np.maximum(highest, base), 0)
    p05, median, p95 = (np.where(defined, percentile_ranks(counts, q), 0) for q in PERCENTILES)
    return p05, median, p95, rank_min.astype(np.int64), rank_max.astype(np.int64)


def sensitivity(
    panel: Panel,
    model: IndexModel,
    draws: int,
    seed: int,
    *,
    base: IndexResult | None = None,
    memory_budget: int = 64 * 1024 * 1024,
    progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Monte Carlo over weights, normalisation and aggregation: rank intervals per region-day."""
    base = base or compute_index(panel, model)
    scenarios = draw_scenarios(model, draws, seed)
    regions, days, _ = panel.values.shape
    base_rank = base.rank
    present = np.isfinite(panel.values) & panel.rows[:, :, None]
    counted = (present if model.missing == "exclude" else np.ones_like(present)).astype(np.float64)
    valid_total: BoolArray = np.all(_valid_groups(present, panel.rows, model), axis=0)
    # Per (normalisation, aggregation): the terms the weights multiply (scores or their logs).
    terms: dict[tuple[int, int], FloatArray] = {}
    for n, method in enumerate(scenarios.normalisations):
        scores = normalise(panel, model, method)
        filled = np.where(np.isfinite(scores), scores, 0.0)
        for a, aggregation in enumerate(scenarios.aggregations):
            if aggregation == "arithmetic":
                terms[(n, a)] = filled
            else:
                terms[(n, a)] = np.log(np.maximum(filled, model.floor))
    group_share = scenarios.group_weights / scenarios.group_weights.sum(axis=1, keepdims=True)

    # Day-major layout: each day's regions are contiguous, so ranking sorts along the last axis.
    day_major = {key: np.ascontiguousarray(term.transpose(1, 0, 2)) for key, term in terms.items()}
    counted_days = np.ascontiguousarray(counted.transpose(1, 0, 2))
    valid_days, base_days = valid_total.T, base_rank.T
    block_days = max(1, min(days, memory_budget // max(1, regions * regions * 8)))
    blocks = [(start, min(days, start + block_days)) for start in range(0, days, block_days)]
    shift_sum = np.zeros(draws)
    results = [np.zeros((regions, days), dtype=np.int64) for _ in range(5)]
    done, work = 0, draws * len(blocks)
    for start, stop in blocks:
        width = stop - start
        cells = width * regions
        chunk = max(1, memory_budget // max(1, cells * 8 * 8))
        counts = np.zeros(cells * regions, dtype=np.int64)
        invalid = ~valid_days[start:stop]
        base_block = base_days[start:stop]
        offsets = (np.arange(cells, dtype=np.int64) * regions).reshape(width, regions)
        counted_groups = [
            counted_days[start:stop][:, :, m].reshape(cells, m.size).T.copy() for m in model.members
        ]
        complete = [bool(group.all()) for group in counted_groups]
        for (n, a), term in day_major.items():
            selected = np.flatnonzero(
                (scenarios.normalisation_index == n) & (scenarios.aggregation_index == a)
            )
            if selected.size == 0:
                continue
            term_groups = [
                term[start:stop][:, :, m].reshape(cells, m.size).T.copy() for m in model.members
            ]
            geometric = scenarios.aggregations[a] == "geometric"
            for first in range(0, selected.size, chunk):
                batch = selected[first : first + chunk]
                weights = scenarios.indicator_weights[batch]
                total = np.zeros((batch.size, cells))
                for g, members in enumerate(model.members):
                    # einsum, not BLAS: with a handful of indicators a threaded GEMM only
                    # contends for cores (it ran 1.5–3× slower on a busy 2-core machine).
                    part = weights[:, members]
                    numerator = np.einsum("dk,kc->dc", part, term_groups[g])
                    if complete[g]:
                        denominator = part.sum(axis=1, keepdims=True)
                    else:
                        denominator = np.einsum("dk,kc->dc", part, counted_groups[g])
                    with np.errstate(invalid="ignore", divide="ignore"):
                        total += group_share[batch, g][:, None] * (numerator / denominator)
                if geometric:
                    np.exp(total, out=total)
                shaped = total.reshape(batch.size, width, regions)
                shaped[:, invalid] = np.nan
                ranks = rank_descending(shaped, axis=-1)
                slots = offsets + (ranks - 1)
                if invalid.any():
                    defined = ranks > 0
                    slots = slots[defined]
                    shift = np.abs(ranks - base_block) * defined
                else:
                    shift = np.abs(ranks - base_block)
                counts += np.bincount(slots.ravel(), minlength=cells * regions)
                shift_sum[batch] += shift.sum(axis=(1, 2))
                done += batch.size
                if progress is not None:
                    progress(done, work)
        summary = _rank_summary(counts.reshape(width, regions, regions), base_block)
        for target, values in zip(results, summary, strict=True):
            target[:, start:stop] = values.T
    defined_cells = int((base_rank > 0).sum())
    return SensitivityResult(
        draws=draws,
        seed=seed,
        base_rank=base_rank,
        rank_p05=results[0],
        rank_median=results[1],
        rank_p95=results[2],
        rank_min=results[3],
        rank_max=results[4],
        mean_abs_shift=shift_sum / defined_cells if defined_cells else np.zeros(draws),
    )


def sensitivity_reference(
    panel: Panel, model: IndexModel, draws: int, seed: int
) -> SensitivityResult:
    """The same analysis one draw at a time through `compute_index` (slow; a cross-check)."""
    base = compute_index(panel, model)
    scenarios = draw_scenarios(model, draws, seed)
    regions, days = base.rank.shape
    ranks = np.zeros((draws, regions, days), dtype=np.int64)
    for draw in range(draws):
        ranks[draw] = compute_index(panel, model, scenarios.scheme(draw)).rank
    counts = np.zeros((regions, days, regions), dtype=np.int64)
    for rank in range(1, regions + 1):
        counts[:, :, rank - 1] = (ranks == rank).sum(axis=0)
    summary = _rank_summary(counts, base.rank)
    defined = base.rank > 0
    shifts = np.abs(ranks - base.rank) * defined
    cells = int(defined.sum())
    return SensitivityResult(
        draws=draws,
        seed=seed,
        base_rank=base.rank,
        rank_p05=summary[0],
        rank_median=summary[1],
        rank_p95=summary[2],
        rank_min=summary[3],
        rank_max=summary[4],
        mean_abs_shift=shifts.sum(axis=(1, 2)) / cells if cells else np.zeros(draws),
    )
