"""Risk-map service: indicators from the platform's data, stored assessments, overrides.

Each function works inside the caller's transaction and writes its audit entry there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.code.models import CodeEvent, ColourChange, HealthCode, Trip
from zhikong.code.policy import ColourPolicy
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.riskmap.engine import (
    Assessment,
    Override,
    ProfileError,
    State,
    assess_day,
    designation_for,
    load_profile,
    rollup,
)
from zhikong.riskmap.indicators import PLATFORM_INDICATORS
from zhikong.riskmap.models import IndicatorValue, RiskAssessment, RiskOverride


class AssessmentError(ValueError):
    """An assessment or override that cannot be made as asked (one line)."""


@dataclass(frozen=True)
class AssessmentReport:
    """What one assessment run stored."""

    profile_id: str
    rule_version: str
    day: date
    counts: Mapping[str, int]
    designations: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _within(session: Session, parent: str) -> list[Region]:
    ancestor = session.get(Region, parent)
    if ancestor is None:
        raise AssessmentError(f"no region with code {parent}")
    return list(
        session.scalars(
            select(Region)
            .where(Region.path.startswith(ancestor.path, autoescape=True))
            .order_by(Region.code)
        )
    )


# -- indicators from the platform's own data -------------------------------------------------


CaseRow = tuple[date, bool, str | None]
"""A confirmed case as the indicators count it: local report day, imported, cluster id."""


def confirmed_cases(
    session: Session, end: datetime, zone: ZoneInfo, codes: Sequence[str] | None = None
) -> dict[str, list[CaseRow]]:
    """Confirmed case reports before an instant, per county (all counties, or those given).

    A case is imported when its report says so or its person came back from abroad at most
    14 days before the report.
    """
    query = (
        select(CodeEvent.occurred_at, CodeEvent.data, Resident.county_code, Resident.id)
        .join(Resident, Resident.id == CodeEvent.resident_id)
        .where(CodeEvent.kind == "case_report", CodeEvent.occurred_at < end)
    )
    if codes is not None:
        query = query.where(Resident.county_code.in_(codes))
    cases = session.execute(query).all()
    overseas = {
        (row.resident_id, row.left_on)
        for row in session.execute(
            select(Trip.resident_id, Trip.left_on).where(Trip.overseas.is_(True))
        )
    }
    per: dict[str, list[CaseRow]] = defaultdict(list)
    for occurred, data, county, resident_id in cases:
        facts = (data or {}).get("facts") or {}
        if facts.get("case_status") != "confirmed":
            continue
        local_day = occurred.astimezone(zone).date()
        imported = bool((data or {}).get("imported")) or any(
            resident == resident_id and 0 <= (local_day - left).days <= 14
            for resident, left in overseas
        )
        per[county].append((local_day, imported, (data or {}).get("cluster")))
    return per


def compute_platform_indicators(
    session: Session, clock: Clock, day: date, counties: Sequence[Region], timezone: str
) -> int:
    """Compute and store the platform indicators of the counties for a date; rows written."""
    zone = ZoneInfo(timezone)
    codes = [county.code for county in counties]
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    per = confirmed_cases(session, end, zone, codes)
    colours = _colour_counts(session, end, codes)
    now = clock.now()
    existing = {
        (row.region_code, row.indicator)
        for row in session.execute(
            select(IndicatorValue.region_code, IndicatorValue.indicator).where(
                IndicatorValue.day == day,
                IndicatorValue.region_code.in_(codes),
                IndicatorValue.source != "platform",
            )
        )
    }
    session.execute(
        delete(IndicatorValue).where(
            IndicatorValue.day == day,
            IndicatorValue.region_code.in_(codes),
            IndicatorValue.source == "platform",
        )
    )
    rows: list[IndicatorValue] = []
    for county in counties:
        values = county_indicators(per.get(county.code, []), day, county.population)
        greens, total = colours.get(county.code, (0, 0))
        values["green_code_share"] = 100.0 * greens / total if total else None
        provenance = {
            "from": "code_event(case_report confirmed), code_colour_change",
            "cases_seen": len(per.get(county.code, [])),
            "codes": total,
        }
        for name, value in values.items():
            if (county.code, name) in existing:
                continue
            rows.append(
                IndicatorValue(
                    region_code=county.code,
                    day=day,
                    indicator=name,
                    value=value,
                    source="platform",
                    provenance=provenance,
                    recorded_at=now,
                )
            )
    session.add_all(rows)
    session.flush()
    return len(rows)


def county_indicators(
    cases: Sequence[tuple[date, bool, str | None]], day: date, population: int | None
) -> dict[str, float | None]:
    """A county's case indicators on a date from its confirmed cases (day, imported, cluster)."""
    upto = [case for case in cases if case[0] <= day]
    last14 = [case for case in upto if (day - case[0]).days < 14]
    last7 = [case for case in upto if (day - case[0]).days < 7]
    cumulative = len(upto)
    local = sum(1 for case in upto if not case[1])
    last = max((case[0] for case in upto), default=None)
    per100k = (lambda n: 1e5 * n / population) if population else (lambda n: None)
    seven = per100k(len(last7))
    return {
        "new_cases": float(sum(1 for case in upto if case[0] == day)),
        "new_cases_7d": float(len(last7)),
        "new_cases_14d": float(len(last14)),
        "cumulative_cases": float(cumulative),
        "new_local_cases": float(sum(1 for case in upto if case[0] == day and not case[1])),
        "new_imported_cases": float(sum(1 for case in upto if case[0] == day and case[1])),
        "local_case_share": 100.0 * local / cumulative if cumulative else None,
        "clusters_14d": float(len({case[2] for case in last14 if case[2]})),
        "cumulative_clusters": float(len({case[2] for case in upto if case[2]})),
        "days_since_last_case": None if last is None else float((day - last).days),
        "new_cases_per_100k_7d": seven,
        "new_cases_per_100k_7d_avg": None if seven is None else seven / 7,
    }


def _colour_counts(
    session: Session, end: datetime, codes: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Per county: (green codes, all codes) as of an instant, from the colour history."""
    latest = (
        select(ColourChange.resident_id, func.max(ColourChange.id).label("last"))
        .where(ColourChange.at < end, ColourChange.county_code.in_(codes))
        .group_by(ColourChange.resident_id)
        .subquery()
    )
    rows = session.execute(
        select(ColourChange.county_code, ColourChange.new_colour, func.count())
        .join(latest, latest.c.last == ColourChange.id)
        .group_by(ColourChange.county_code, ColourChange.new_colour)
    ).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for county, colour, count in rows:
        counts[county][1] += int(count)
        if colour == "green":
            counts[county][0] += int(count)
    if not rows:
        current = session.execute(
            select(HealthCode.county_code, HealthCode.colour, func.count())
            .where(HealthCode.county_code.in_(codes), HealthCode.since < end)
            .group_by(HealthCode.county_code, HealthCode.colour)
        ).all()
        for county, colour, count in current:
            counts[county][1] += int(count)
            if colour == "green":
                counts[county][0] += int(count)
    return {county: (pair[0], pair[1]) for county, pair in counts.items()}


def store_indicator(
    session: Session,
    clock: Clock,
    *,
    region_code: str,
    day: date,
    indicator: str,
    value: float | None,
    source: str,
    provenance: Mapping[str, Any],
) -> None:
    """Store (or replace) one indicator value with its provenance."""
    session.execute(
        delete(IndicatorValue).where(
            IndicatorValue.region_code == region_code,
            IndicatorValue.day == day,
            IndicatorValue.indicator == indicator,
        )
    )
    session.add(
        IndicatorValue(
            region_code=region_code,
            day=day,
            indicator=indicator,
            value=value,
            source=source,
            provenance=dict(provenance),
            recorded_at=clock.now(),
        )
    )


# -- assessments -----------------------------------------------------------------------------


def _overrides(
    session: Session, profile_id: str, codes: Sequence[str], day: date
) -> dict[str, list[Override]]:
    found: dict[str, list[Override]] = defaultdict(list)
    for row in session.scalars(
        select(RiskOverride).where(
            RiskOverride.profile_id == profile_id,
            RiskOverride.region_code.in_(codes),
            RiskOverride.valid_from <= day,
            RiskOverride.valid_until >= day,
        )
    ):
        found[row.region_code].append(
            Override(
                row.id,
                row.region_code,
                row.level,
                row.valid_from,
                row.valid_until,
                row.legal_basis,
                row.officer,
            )
        )
    return found


def _previous(
    session: Session, profile_id: str, codes: Sequence[str], day: date
) -> dict[str, RiskAssessment]:
    latest = (
        select(RiskAssessment.region_code, func.max(RiskAssessment.day).label("day"))
        .where(
            RiskAssessment.profile_id == profile_id,
            RiskAssessment.region_code.in_(codes),
            RiskAssessment.day < day,
        )
        .group_by(RiskAssessment.region_code)
        .subquery()
    )
    rows = session.scalars(
        select(RiskAssessment)
        .join(
            latest,
            and_(
                latest.c.region_code == RiskAssessment.region_code,
                latest.c.day == RiskAssessment.day,
            ),
        )
        .where(RiskAssessment.profile_id == profile_id)
    )
    return {row.region_code: row for row in rows}


def run_assessment(
    session: Session,
    clock: Clock,
    policy: ColourPolicy,
    *,
    profile_id: str,
    day: date,
    parent: str,
    actor: str,
    timezone: str = "Asia/Shanghai",
    designate: bool = True,
    compute_indicators: bool = True,
) -> AssessmentReport:
    """Assess every county under a region for a date, roll up, store, recolour codes, audit."""
    try:
        profile = load_profile(profile_id)
        settings = profile.settings(day)
    except ProfileError as exc:
        raise AssessmentError(str(exc)) from exc
    except ValueError as exc:
        raise AssessmentError(f"profile {profile_id} is not in force on {day}: {exc}") from exc
    regions = _within(session, parent)
    counties = [region for region in regions if region.level == "county"]
    if not counties:
        raise AssessmentError(f"region {parent} has no counties to assess")
    codes = [region.code for region in regions]
    county_codes = [county.code for county in counties]
    if compute_indicators:
        compute_platform_indicators(session, clock, day, counties, timezone)
    values: dict[str, dict[str, float | None]] = defaultdict(dict)
    used: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.day == day,
            IndicatorValue.region_code.in_(county_codes),
            IndicatorValue.indicator.in_(profile.indicators),
        )
    ):
        values[row.region_code][row.indicator] = row.value
        used[row.region_code][row.indicator] = {"value": row.value, "source": row.source}
    previous = _previous(session, profile_id, codes, day)
    overrides = _overrides(session, profile_id, codes, day)
    results: dict[str, Assessment] = {}
    for county in counties:
        before = previous.get(county.code)
        results[county.code] = assess_day(
            profile,
            county.code,
            day,
            values.get(county.code, {}),
            State.from_json(before.state if before is not None else None),
            overrides.get(county.code, ()),
        )
    # Roll-up, finest parents first.
    by_code = {region.code: region for region in regions}
    rolled: dict[str, tuple[str | None, dict[str, str], int | None]] = {}
    for region in sorted(regions, key=lambda r: -r.depth):
        if region.level == "county":
            continue
        children = [
            (results[c.code].level, c.population)
            for c in counties
            if c.path.startswith(region.path)
        ]
        level, reason = rollup(settings, children)
        override = next(
            (o for o in sorted(overrides.get(region.code, ()), key=lambda o: -o.id)), None
        )
        rolled[region.code] = (
            override.level if override else level,
            reason,
            override.id if override else None,
        )
    now = clock.now()
    session.execute(
        delete(RiskAssessment).where(
            RiskAssessment.profile_id == profile_id,
            RiskAssessment.day == day,
            RiskAssessment.region_code.in_(codes),
        )
    )
    rows = []
    for code, result in results.items():
        rows.append(
            RiskAssessment(
                region_code=code,
                day=day,
                profile_id=profile.id,
                rule_version=profile.version,
                level=result.level,
                reasons=list(result.reasons),
                indicators=used.get(code, {}),
                state=None if result.state is None else result.state.as_json(),
                source="computed",
                override_id=result.override_id,
                assessed_at=now,
            )
        )
    for code, (level, reason, override_id) in rolled.items():
        rows.append(
            RiskAssessment(
                region_code=code,
                day=day,
                profile_id=profile.id,
                rule_version=profile.version,
                level=level,
                reasons=[reason],
                indicators={},
                state=None,
                source="rollup",
                override_id=override_id,
                assessed_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    counts: dict[str, int] = {level.code: 0 for level in settings.levels}
    for result in results.values():
        if result.level is not None:
            counts[result.level] += 1
    record(
        session,
        clock,
        actor=actor,
        action="map.assess",
        subject=f"region:{parent}",
        after={"profile": profile.id, "date": day.isoformat(), "counts": counts},
        rule=(profile.id, profile.version),
    )
    designations: list[tuple[str, str]] = []
    if designate:
        from zhikong.code.recolour import designate_region

        for code, result in results.items():
            before = previous.get(code)
            due = designation_for(settings, before.level if before else None, result.level)
            if due is None:
                continue
            label = settings.level(result.level or "")
            designate_region(
                session,
                clock,
                policy,
                actor=actor,
                region_code=code,
                level=due,
                window_days=settings.designation_window_days,
                basis=f"风险评估 {profile.id} {profile.version}：{by_code[code].name_zh}为"
                f"{label.zh} · risk assessment: {label.en} on {day}",
            )
            designations.append((code, due))
    return AssessmentReport(profile.id, profile.version, day, counts, tuple(designations))


def create_override(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    region_code: str,
    profile_id: str,
    level: str,
    valid_from: date,
    valid_until: date,
    legal_basis: str,
) -> RiskOverride:
    """Record a manual level with its legal basis and expiry (audited); applied by assessments."""
    try:
        profile = load_profile(profile_id)
        profile.settings(valid_from).level(level)
    except ProfileError as exc:
        raise AssessmentError(str(exc)) from exc
    if session.get(Region, region_code) is None:
        raise AssessmentError(f"no region with code {region_code}")
    if valid_until < valid_from:
        raise AssessmentError("until must not be before from")
    if not legal_basis.strip():
        raise AssessmentError("an override needs its legal basis")
    row = RiskOverride(
        region_code=region_code,
        profile_id=profile_id,
        level=level,
        valid_from=valid_from,
        valid_until=valid_until,
        legal_basis=legal_basis.strip(),
        officer=actor,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="map.override",
        subject=f"region:{region_code}",
        after={
            "override": row.id,
            "profile": profile_id,
            "level": level,
            "from": valid_from.isoformat(),
            "until": valid_until.isoformat(),
            "legal_basis": row.legal_basis,
        },
    )
    return row


def store_official(
    session: Session,
    clock: Clock,
    *,
    profile_id: str,
    rule_version: str,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Store published (not computed) levels as historical assessments, source "official"."""
    now = clock.now()
    for item in rows:
        session.execute(
            delete(RiskAssessment).where(
                RiskAssessment.profile_id == profile_id,
                RiskAssessment.day == item["day"],
                RiskAssessment.region_code == item["region"],
            )
        )
        session.add(
            RiskAssessment(
                region_code=item["region"],
                day=item["day"],
                profile_id=profile_id,
                rule_version=rule_version,
                level=item["level"],
                reasons=list(item["reasons"]),
                indicators={},
                state=None,
                source="official",
                override_id=None,
                assessed_at=now,
            )
        )
    session.flush()
    return len(rows)


__all__ = [
    "PLATFORM_INDICATORS",
    "AssessmentError",
    "AssessmentReport",
    "compute_platform_indicators",
    "county_indicators",
    "create_override",
    "run_assessment",
    "store_indicator",
    "store_official",
]
