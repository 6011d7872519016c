"""Demo of the index: labelled synthetic values for the outside indicators the platform does not
hold (bus routes, enterprises, electricity, traffic, parcels, retail, contact management), and
the index computed over the risk map's replayed days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from zhikong.clock import Clock
from zhikong.index.service import compute_and_store
from zhikong.regions.models import Region
from zhikong.riskmap.models import IndicatorValue
from zhikong.store.engine import transaction

INDEX_CONFIG = "zhikong-2020"
INDEX_DRAWS = 200
ACTOR = "system:demo"
# Outside data the platform does not hold: (indicator, low, high, daily gain, ceiling).
_OUTSIDE_FLOW: tuple[tuple[str, float, float, float, float], ...] = (
    ("bus_route_reopening_rate", 40.0, 85.0, 2.0, 100.0),
    ("enterprise_resumption_rate", 30.0, 75.0, 2.5, 100.0),
    ("electricity_recovery", 45.0, 80.0, 1.5, 120.0),
    ("traffic_flow_recovery", 35.0, 75.0, 2.0, 120.0),
    ("parcel_volume_recovery", 50.0, 90.0, 1.5, 120.0),
    ("retail_opening_rate", 40.0, 85.0, 2.0, 100.0),
)


def synthetic_outside_data(
    session: Session, clock: Clock, *, seed: int, days: Sequence[date]
) -> int:
    """Store labelled synthetic values for the index indicators the platform does not hold."""
    counties = list(
        session.scalars(select(Region.code).where(Region.level == "county").order_by(Region.code))
    )
    cases = {
        (row.region_code, row.day): row.value or 0.0
        for row in session.execute(
            select(IndicatorValue.region_code, IndicatorValue.day, IndicatorValue.value).where(
                IndicatorValue.indicator == "new_cases_7d",
                IndicatorValue.day.in_(list(days)),
                IndicatorValue.source == "platform",
            )
        )
    }
    rng = np.random.default_rng(seed + 2020)
    names = [
        *(spec[0] for spec in _OUTSIDE_FLOW),
        "close_contacts_managed_24h_share",
        "new_cases_in_quarantine_share",
        "unknown_source_cases",
    ]
    session.execute(
        delete(IndicatorValue).where(
            IndicatorValue.indicator.in_(names),
            IndicatorValue.day.in_(list(days)),
            IndicatorValue.source == "synthetic",
        )
    )
    now: datetime = clock.now()
    provenance = {
        "synthetic": True,
        "note": "合成演示数据，非真实数据 · synthetic demo data, not real",
        "generator": "zhikong.index.demo.synthetic_outside_data",
        "seed": seed,
    }
    base = {
        name: rng.uniform(low, high, size=len(counties))
        for name, low, high, _gain, _ceiling in _OUTSIDE_FLOW
    }
    rows: list[dict[str, Any]] = []

    def add(code: str, day: date, name: str, value: float) -> None:
        rows.append(
            {
                "region_code": code,
                "day": day,
                "indicator": name,
                "value": round(value, 2),
                "source": "synthetic",
                "provenance": provenance,
                "recorded_at": now,
            }
        )

    for t, day in enumerate(sorted(days)):
        noise = rng.normal(0.0, 2.0, size=(len(_OUTSIDE_FLOW), len(counties)))
        managed = rng.uniform(80.0, 100.0, size=len(counties))
        quarantined = rng.uniform(20.0, 95.0, size=len(counties))
        unknown_share = rng.uniform(0.0, 0.5, size=len(counties))
        for c, code in enumerate(counties):
            for f, (name, _low, _high, gain, ceiling) in enumerate(_OUTSIDE_FLOW):
                value = base[name][c] + gain * t + noise[f, c]
                add(code, day, name, float(min(ceiling, max(0.0, value))))
            add(code, day, "close_contacts_managed_24h_share", float(managed[c]))
            recent = cases.get((code, day), 0.0)
            if recent > 0:
                add(code, day, "new_cases_in_quarantine_share", float(quarantined[c]))
            add(code, day, "unknown_source_cases", float(int(recent * unknown_share[c] + 0.5)))
    if rows:
        session.execute(insert(IndicatorValue), rows)
    return len(rows)


def replay(
    factory: sessionmaker[Session], clock: Clock, seed: int, days: Sequence[date]
) -> dict[str, int]:
    """Store the synthetic outside data of the days and compute the index over them."""
    with transaction(factory) as session:
        outside = synthetic_outside_data(session, clock, seed=seed, days=days)
        index = compute_and_store(
            session,
            clock,
            days=days,
            config_id=INDEX_CONFIG,
            parent="330000",
            draws=INDEX_DRAWS,
            seed=seed,
            actor=ACTOR,
        )
    return {"map_synthetic_outside_values": outside, "index_rows": index.rows}
