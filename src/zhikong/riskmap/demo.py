"""Demo replay of the five-colour map: Zhejiang's official Feb-2020 levels, a few synthetic
confirmed cases and 14 replayed days of the `zhejiang-2020` assessment (the index of those days
is `zhikong.index.demo`).

Everything here is deterministic under the demo seed. Synthetic values are labelled as such:
case reports carry a note saying so, outside data are stored with source `synthetic`.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from zhikong.clock import Clock
from zhikong.code import events
from zhikong.code.policy import ColourPolicy
from zhikong.code.schemas import EventCreate
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.riskmap.engine import OFFICIAL_SUFFIX
from zhikong.riskmap.models import IndicatorValue
from zhikong.riskmap.service import (
    _colour_counts,
    confirmed_cases,
    county_indicators,
    run_assessment,
    store_official,
)
from zhikong.store.engine import transaction

PROFILE = "zhejiang-2020"
OFFICIAL_PROFILE = PROFILE + OFFICIAL_SUFFIX
OFFICIAL_VERSION = "2020-02"
OFFICIAL_FILE = "zhejiang_five_colour_county_risk_feb2020.csv"
REPLAY_DAYS = 14
ACTOR = "system:demo"
SYNTHETIC_NOTE = "合成演示病例，非真实病例 · synthetic demo case, not a real case"
SYNTHETIC_COUNTIES = 6
LEVEL_CODES = {"1": "green", "2": "blue", "3": "yellow", "4": "orange", "5": "red"}


def official_rows() -> list[dict[str, Any]]:
    """The bundled official Feb-2020 county levels, as rows for `store_official`."""
    text = (
        resources.files("zhikong.riskmap")
        .joinpath("data", OFFICIAL_FILE)
        .read_text(encoding="utf-8")
    )
    rows = []
    for item in csv.DictReader(io.StringIO(text)):
        sources = item["source_ids"].replace(";", ", ")
        rows.append(
            {
                "region": item["adcode"],
                "day": date.fromisoformat(item["as_of_date"]),
                "level": LEVEL_CODES[item["risk_level"]],
                "reasons": [
                    {
                        "zh": f"浙江省官方发布（{item['published_date']}）：{item['name_zh']}为"
                        f"{item['risk_level_zh']}；判定方式 {item['determination']}；"
                        f"来源 {sources}",
                        "en": f"published by Zhejiang on {item['published_date']}: "
                        f"{item['risk_level_en']} ({item['determination']}; sources {sources})",
                    }
                ],
            }
        )
    return rows


def load_official(session: Session, clock: Clock) -> int:
    """Store the official Feb-2020 levels under `zhejiang-2020.official`; rows stored."""
    return store_official(
        session,
        clock,
        profile_id=OFFICIAL_PROFILE,
        rule_version=OFFICIAL_VERSION,
        rows=official_rows(),
    )


def synthetic_cases(
    session: Session, clock: Clock, policy: ColourPolicy, *, seed: int, today: date
) -> int:
    """Report a few synthetic confirmed cases in several counties over the last 14 days."""
    rng = random.Random(seed + 14)
    counties = list(
        session.scalars(select(Region.code).where(Region.level == "county").order_by(Region.code))
    )
    now = clock.now()
    # Events are judged by the colour rule in force on their day: stay inside its validity.
    window = min(REPLAY_DAYS, (today - policy.rule.document.validity.from_).days + 1)
    reported = 0
    if window <= 0:
        return reported
    for county in sorted(rng.sample(counties, min(SYNTHETIC_COUNTIES, len(counties)))):
        people = list(
            session.scalars(
                select(Resident)
                .where(Resident.county_code == county)
                .order_by(Resident.id)
                .limit(40)
            )
        )
        if not people:
            continue
        for person in rng.sample(people, min(len(people), rng.randint(1, 3))):
            at = now - timedelta(days=rng.randrange(0, window))
            reported += 1
            events.officer_event(
                session,
                clock,
                policy,
                person,
                actor=ACTOR,
                body=EventCreate(
                    client_request_id=f"demo-map-case-{reported:04d}",
                    kind="case_report",
                    case_status="confirmed",
                    occurred_at=at,
                    note=SYNTHETIC_NOTE,
                ),
            )
    return reported


def platform_indicators(session: Session, clock: Clock, days: Sequence[date], timezone: str) -> int:
    """Compute and store the platform indicators of every county for many days at once.

    The same values as `compute_platform_indicators`, day by day, written with one bulk insert
    (the demo replays 14 days for 90 counties and must stay fast); rows written.
    """
    zone = ZoneInfo(timezone)
    counties = list(
        session.execute(
            select(Region.code, Region.population)
            .where(Region.level == "county")
            .order_by(Region.code)
        )
    )
    codes = [code for code, _ in counties]
    last = max(days)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    per = confirmed_cases(session, end, zone)
    session.execute(
        delete(IndicatorValue).where(
            IndicatorValue.day.in_(list(days)),
            IndicatorValue.region_code.in_(codes),
            IndicatorValue.source == "platform",
        )
    )
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for day in days:
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        colours = _colour_counts(session, day_end, codes)
        for code, population in counties:
            seen = [case for case in per.get(code, []) if case[0] <= day]
            values = county_indicators(seen, day, population)
            greens, total = colours.get(code, (0, 0))
            values["green_code_share"] = 100.0 * greens / total if total else None
            provenance = {
                "from": "code_event(case_report confirmed), code_colour_change",
                "cases_seen": len(seen),
                "codes": total,
            }
            rows.extend(
                {
                    "region_code": code,
                    "day": day,
                    "indicator": name,
                    "value": value,
                    "source": "platform",
                    "provenance": provenance,
                    "recorded_at": now,
                }
                for name, value in values.items()
            )
    if rows:
        session.execute(insert(IndicatorValue), rows)
    return len(rows)


def replay_days(today: date) -> list[date]:
    """The days the demo replays, oldest first, ending today."""
    return [today - timedelta(days=back) for back in range(REPLAY_DAYS - 1, -1, -1)]


def replay(
    factory: sessionmaker[Session],
    clock: Clock,
    policy: ColourPolicy,
    seed: int,
    today: date,
    timezone: str = "Asia/Shanghai",
) -> dict[str, int]:
    """Load the official maps, add synthetic cases, replay 14 days of assessment."""
    days = replay_days(today)
    with transaction(factory) as session:
        official = load_official(session, clock)
        cases = synthetic_cases(session, clock, policy, seed=seed, today=today)
    with transaction(factory) as session:
        platform_indicators(session, clock, days, timezone)
        for day in days:
            run_assessment(
                session,
                clock,
                policy,
                profile_id=PROFILE,
                day=day,
                parent="330000",
                actor=ACTOR,
                timezone=timezone,
                designate=False,
                compute_indicators=False,
            )
    return {
        "map_official_rows": official,
        "map_synthetic_cases": cases,
        "map_replayed_days": len(days),
    }


__all__ = [
    "OFFICIAL_PROFILE",
    "REPLAY_DAYS",
    "load_official",
    "official_rows",
    "replay",
    "replay_days",
    "synthetic_cases",
]
