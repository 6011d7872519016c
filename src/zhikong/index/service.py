"""Index persistence: compute a configuration's index per county and day from the stored
indicator values (`map_indicator_value`), with a sensitivity analysis, into `index_value`.

Each function works inside the caller's transaction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.index.compute import IndexModel, Panel, compute_index, sensitivity
from zhikong.index.indicators import IndexConfig, load_config
from zhikong.index.models import IndexValue
from zhikong.regions.models import Region
from zhikong.riskmap.models import IndicatorValue

# Stored indicator names that feed an index indicator (first found wins, in this order).
ALIASES: Mapping[str, tuple[str, ...]] = {"active_clusters": ("active_clusters", "clusters_14d")}
# Real data before synthetic: a value measured by the platform or imported beats a made-up one.
SOURCE_ORDER: Mapping[str, int] = {"import": 0, "platform": 1, "synthetic": 2}
DEFAULT_DRAWS = 200


class IndexStoreError(ValueError):
    """An index that cannot be computed as asked (one line)."""


@dataclass(frozen=True)
class IndexStoreReport:
    """What one index run stored."""

    config_id: str
    config_version: int
    days: tuple[date, ...]
    regions: int
    rows: int
    ranked: int
    draws: int


def counties_under(session: Session, parent: str) -> list[Region]:
    """The counties under a region (itself, if it is a county), by code."""
    ancestor = session.get(Region, parent)
    if ancestor is None:
        raise IndexStoreError(f"no region with code {parent}")
    return list(
        session.scalars(
            select(Region)
            .where(Region.level == "county", Region.path.startswith(ancestor.path, autoescape=True))
            .order_by(Region.code)
        )
    )


def stored_panel(
    session: Session, config: IndexConfig, counties: Sequence[str], days: Sequence[date]
) -> tuple[Panel, dict[str, dict[str, int]]]:
    """The stored indicator values as a dense panel, and how many cells came from each source."""
    indicators = config.indicator_ids
    wanted: dict[str, list[int]] = {}
    for k, indicator in enumerate(indicators):
        for position, name in enumerate(ALIASES.get(indicator, (indicator,))):
            wanted.setdefault(name, []).append(k * 16 + position)
    region_at = {code: r for r, code in enumerate(counties)}
    day_at = {day: t for t, day in enumerate(days)}
    values = np.full((len(counties), len(days), len(indicators)), math.nan)
    priority = np.full(values.shape, np.iinfo(np.int64).max, dtype=np.int64)
    chosen: dict[tuple[int, int, int], str] = {}
    rows = session.execute(
        select(
            IndicatorValue.region_code,
            IndicatorValue.day,
            IndicatorValue.indicator,
            IndicatorValue.value,
            IndicatorValue.source,
        ).where(
            IndicatorValue.indicator.in_(list(wanted)),
            IndicatorValue.day.in_(list(days)),
            IndicatorValue.region_code.in_(list(counties)),
        )
    )
    for region, day, name, value, source in rows:
        if value is None or not math.isfinite(value):
            continue
        for slot in wanted[name]:
            k, position = divmod(slot, 16)
            cell = (region_at[region], day_at[day], k)
            rank = SOURCE_ORDER.get(source, 3) * 16 + position
            if rank < priority[cell]:
                priority[cell] = rank
                values[cell] = float(value)
                chosen[cell] = source
    sources: dict[str, dict[str, int]] = {indicator: {} for indicator in indicators}
    for (_, _, k), source in chosen.items():
        tally = sources[indicators[k]]
        tally[source] = tally.get(source, 0) + 1
    panel = Panel(regions=tuple(counties), dates=tuple(days), indicators=indicators, values=values)
    return panel, sources


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def compute_and_store(
    session: Session,
    clock: Clock,
    *,
    days: Sequence[date],
    config_id: str = "zhikong-2020",
    parent: str = "330000",
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    actor: str = "system",
) -> IndexStoreReport:
    """Compute the index of every county under a region for the days, rank, store, audit."""
    if not days:
        raise IndexStoreError("no days to compute")
    try:
        config = load_config(config_id)
    except Exception as exc:
        raise IndexStoreError(str(exc).splitlines()[0]) from exc
    ordered = tuple(sorted(set(days)))
    counties = counties_under(session, parent)
    if not counties:
        raise IndexStoreError(f"region {parent} has no counties")
    codes = [county.code for county in counties]
    panel, sources = stored_panel(session, config, codes, ordered)
    model = IndexModel.from_config(config)
    result = compute_index(panel, model)
    spread = sensitivity(panel, model, draws, seed, base=result) if draws > 0 else None
    now = clock.now()
    session.execute(
        delete(IndexValue).where(
            IndexValue.config_id == config.id,
            IndexValue.day.in_(list(ordered)),
            IndexValue.region_code.in_(codes),
        )
    )
    containment = model.group_ids.index("containment") if "containment" in model.group_ids else 0
    flow = (
        model.group_ids.index("flow")
        if "flow" in model.group_ids
        else min(1, len(model.group_ids) - 1)
    )
    rows: list[dict[str, Any]] = []
    ranked = 0
    for r, code in enumerate(codes):
        for t, day in enumerate(ordered):
            rank = int(result.rank[r, t])
            ranked += rank > 0
            contributions = {
                indicator: float(result.contributions[r, t, k])
                for k, indicator in enumerate(model.indicators)
                if rank > 0 and math.isfinite(float(result.contributions[r, t, k]))
            }
            rows.append(
                {
                    "region_code": code,
                    "day": day,
                    "config_id": config.id,
                    "config_version": config.version,
                    "total": _number(float(result.total[r, t])),
                    "containment": _number(float(result.groups[containment, r, t])),
                    "flow": _number(float(result.groups[flow, r, t])),
                    "rank": rank or None,
                    "rank_p5": int(spread.rank_p05[r, t]) or None if spread else None,
                    "rank_p95": int(spread.rank_p95[r, t]) or None if spread else None,
                    "contributions": contributions,
                    "computed_at": now,
                }
            )
    if rows:
        session.execute(insert(IndexValue), rows)
    record(
        session,
        clock,
        actor=actor,
        action="index.compute",
        subject=f"region:{parent}",
        after={
            "config": config.id,
            "version": config.version,
            "from": ordered[0].isoformat(),
            "until": ordered[-1].isoformat(),
            "days": len(ordered),
            "regions": len(codes),
            "ranked": ranked,
            "draws": draws,
            "seed": seed,
            "sources": sources,
        },
    )
    session.flush()
    return IndexStoreReport(
        config.id, config.version, ordered, len(codes), len(rows), ranked, draws
    )


__all__ = [
    "ALIASES",
    "DEFAULT_DRAWS",
    "IndexStoreError",
    "IndexStoreReport",
    "compute_and_store",
    "counties_under",
    "stored_panel",
]
