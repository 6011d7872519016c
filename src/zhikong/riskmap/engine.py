"""The risk-assessment engine (pure): per-region indicators → a level, with hysteresis,
manual overrides and roll-up.

A *risk profile* is a rule document shipped in ``profiles/``. Its CertLogic logic turns one
region-day of indicators into a *raw* level; its date-indexed parameters say everything the
engine needs around that logic:

- ``levels``: the levels, lowest first, each ``{code, zh, en, colour_hex, rank}``;
- ``scale``: indicators multiplied by a factor and rounded down before the logic sees them
  (CertLogic compares integers only);
- ``required``: indicators without which a region-day is not assessed;
- ``fall_after_quiet_days``: hysteresis — a level may fall one step only after this many
  consecutive days whose raw level is below it (the count restarts after each fall);
- ``rollup``: ``worst`` (a parent takes its worst child) or ``population_weighted``;
- ``designate`` and ``designation_window_days``: which levels recolour the health codes of a
  county's recent visitors, and as what (``medium``/``high``).

Nothing here reads files (except the shipped profiles), clocks or databases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from zhikong.rules.checks import load_bundled
from zhikong.rules.documents import RuleDocument
from zhikong.rules.evaluation import CompiledRule, compile_rule

PROFILES = (
    "cn-2020",
    "zhejiang-2020",
    "cn-2022",
    "us-cdc-community-levels-2022",
    "hghi",
)
OFFICIAL_SUFFIX = ".official"
ROLLUPS = ("worst", "population_weighted")


class ProfileError(ValueError):
    """A risk profile that is unknown or whose parameters are inconsistent."""


@dataclass(frozen=True)
class Level:
    """One level of a profile: code, names, map colour and rank (0 = lowest)."""

    code: str
    zh: str
    en: str
    colour_hex: str
    rank: int

    def as_json(self) -> dict[str, Any]:
        """The level as the API shows it."""
        return {
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            "colour_hex": self.colour_hex,
            "rank": self.rank,
        }


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


@dataclass(frozen=True)
class Settings:
    """A profile's engine parameters on one date."""

    levels: tuple[Level, ...]
    scale: Mapping[str, float]
    required: tuple[str, ...]
    fall_after_quiet_days: Mapping[str, int]
    rollup: str
    designate: Mapping[str, str]
    designation_window_days: int

    def level(self, code: str) -> Level:
        """The level with a code (ProfileError if the profile has none)."""
        for level in self.levels:
            if level.code == code:
                return level
        raise ProfileError(f"unknown level {code!r}")

    def by_rank(self, rank: int) -> Level:
        """The level of a rank."""
        return self.levels[rank]


class RiskProfile:
    """A loaded risk profile: its rule document, compiled logic and per-date settings."""

    def __init__(self, document: RuleDocument) -> None:
        self.document = document
        self.rule: CompiledRule = compile_rule(document)
        self.id = document.id
        self.version = document.version
        self.indicators: tuple[str, ...] = tuple((document.input.properties or {}).keys())
        self._settings: dict[date, Settings] = {}

    def settings(self, day: date) -> Settings:
        """The engine parameters in force on a date."""
        known = self._settings.get(day)
        if known is None:
            known = _settings(self.rule.parameters_on(day), self.id)
            self._settings[day] = known
        return known

    def title(self) -> dict[str, str]:
        """The profile's name in Chinese and English."""
        return _text(self.document.title.zh, self.document.title.en)


def _settings(values: Mapping[str, Any], profile_id: str) -> Settings:
    try:
        levels = tuple(
            Level(
                code=str(item["code"]),
                zh=str(item["zh"]),
                en=str(item["en"]),
                colour_hex=str(item["colour_hex"]),
                rank=int(item["rank"]),
            )
            for item in values["levels"]
        )
        if [level.rank for level in levels] != list(range(len(levels))):
            raise ProfileError(f"profile {profile_id}: level ranks must be 0, 1, 2 … in order")
        rollup = str(values["rollup"])
        if rollup not in ROLLUPS:
            raise ProfileError(f"profile {profile_id}: unknown roll-up {rollup!r}")
        settings = Settings(
            levels=levels,
            scale={str(k): float(v) for k, v in dict(values.get("scale") or {}).items()},
            required=tuple(str(v) for v in values["required"]),
            fall_after_quiet_days={
                str(k): int(v) for k, v in dict(values["fall_after_quiet_days"]).items()
            },
            rollup=rollup,
            designate={str(k): str(v) for k, v in dict(values["designate"]).items()},
            designation_window_days=int(values["designation_window_days"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ProfileError):
            raise
        raise ProfileError(f"profile {profile_id}: bad engine parameters ({exc})") from exc
    codes = {level.code for level in levels}
    for name in (*settings.fall_after_quiet_days, *settings.designate):
        if name not in codes:
            raise ProfileError(f"profile {profile_id}: parameter names unknown level {name!r}")
    return settings


@cache
def load_profile(profile_id: str) -> RiskProfile:
    """A shipped risk profile, parsed, checked and compiled once."""
    if profile_id not in PROFILES:
        raise ProfileError(f"unknown risk profile {profile_id!r}; known: {', '.join(PROFILES)}")
    return RiskProfile(load_bundled("zhikong.riskmap", profile_id))


# -- one region-day --------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """The raw level the logic gave one region-day, with its explanation."""

    level: str | None
    reasons: tuple[dict[str, str], ...]
    inputs: Mapping[str, float]


def scaled_input(settings: Settings, indicators: Mapping[str, float | None]) -> dict[str, Any]:
    """The logic's input: each present indicator times its scale, rounded down to an integer."""
    data: dict[str, Any] = {}
    for name, value in indicators.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        factor = settings.scale.get(name)
        if factor is None:
            data[name] = int(value) if float(value).is_integer() else value
        else:
            data[name] = math.floor(round(float(value) * factor, 6))
    return data


def missing_required(settings: Settings, indicators: Mapping[str, float | None]) -> list[str]:
    """The required indicators that are absent (None or NaN)."""
    missing = []
    for name in settings.required:
        value = indicators.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(name)
    return missing


def classify(
    profile: RiskProfile,
    indicators: Mapping[str, float | None],
    day: date,
    *,
    explain: bool = True,
) -> Classification:
    """The raw level of one region-day (None, with a reason, when a required input is missing)."""
    settings = profile.settings(day)
    known = {
        k: float(v) for k, v in indicators.items() if k in profile.indicators and v is not None
    }
    missing = missing_required(settings, indicators)
    if missing:
        names = ", ".join(missing)
        return Classification(
            None, (_text(f"缺少必需指标：{names}", f"missing required indicators: {names}"),), known
        )
    evaluation = profile.rule.evaluate(scaled_input(settings, indicators), day, explain=explain)
    result = evaluation.result
    if not isinstance(result, str):
        raise ProfileError(f"profile {profile.id} gave {result!r}, not a level code")
    settings.level(result)
    reasons: tuple[dict[str, str], ...] = ()
    if explain:
        reasons = (
            _text(evaluation.summary("zh") or "", evaluation.summary("en") or ""),
            _inputs_reason(profile, known),
        )
    return Classification(result, reasons, known)


def _inputs_reason(profile: RiskProfile, known: Mapping[str, float]) -> dict[str, str]:
    """The indicators used, with their titles, as one bilingual line."""
    properties = profile.document.input.properties or {}
    zh, en = [], []
    for name, value in known.items():
        title = properties[name].title
        shown = f"{value:g}"
        zh.append(f"{title.zh.split('（单位')[0] if title else name} {shown}")
        en.append(f"{title.en.split(' (in ')[0] if title else name} {shown}")
    return _text("所用指标：" + "；".join(zh), "indicators used: " + "; ".join(en))


# -- hysteresis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What hysteresis carries from one day to the next: the level and its quiet days."""

    level: str
    quiet_days: int = 0

    def as_json(self) -> dict[str, Any]:
        """The state as stored with an assessment."""
        return {"level": self.level, "quiet_days": self.quiet_days}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> State | None:
        """A stored state (None when absent)."""
        if not data or "level" not in data:
            return None
        return cls(str(data["level"]), int(data.get("quiet_days", 0)))


@dataclass(frozen=True)
class Step:
    """The level after hysteresis, the new state and why the level is held, if it is."""

    level: str
    state: State
    reasons: tuple[dict[str, str], ...] = ()


def step(settings: Settings, previous: State | None, raw: str) -> Step:
    """Apply hysteresis: a rise is immediate; a fall waits for the level's quiet days."""
    raw_rank = settings.level(raw).rank
    if previous is None:
        return Step(raw, State(raw, 0))
    current = settings.level(previous.level)
    if raw_rank >= current.rank:
        return Step(raw, State(raw, 0))
    quiet = previous.quiet_days + 1
    need = settings.fall_after_quiet_days.get(current.code, 0)
    if need == 0:
        return Step(raw, State(raw, 0))
    if quiet >= need:
        lower = settings.by_rank(max(raw_rank, current.rank - 1))
        fell = _text(
            f"已连续 {quiet} 天低于{current.zh}（需 {need} 天），降为{lower.zh}",
            f"{quiet} consecutive days below {current.en} (needs {need}): lowered to {lower.en}",
        )
        return Step(lower.code, State(lower.code, 0), (fell,))
    held = _text(
        f"保持{current.zh}：已连续 {quiet} 天低于此等级，需满 {need} 天方可下调",
        f"held at {current.en}: {quiet} consecutive days below it, {need} needed before it may "
        "fall",
    )
    return Step(current.code, State(current.code, quiet), (held,))


# -- overrides -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """A manual level for a region from one date to another (inclusive), with a legal basis."""

    id: int
    region: str
    level: str
    valid_from: date
    valid_until: date
    legal_basis: str
    officer: str

    def active(self, day: date) -> bool:
        """Whether the override applies on a date."""
        return self.valid_from <= day <= self.valid_until


def active_override(overrides: Iterable[Override], day: date) -> Override | None:
    """The override in force on a date (the latest created wins)."""
    found = [o for o in overrides if o.active(day)]
    return max(found, key=lambda o: o.id) if found else None


# -- a region's assessment -------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """One region-day: the level shown, why, the state carried on, and what it rests on."""

    region: str
    day: date
    level: str | None
    raw_level: str | None
    reasons: tuple[dict[str, str], ...]
    inputs: Mapping[str, float]
    state: State | None
    override_id: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def overridden(self) -> bool:
        """Whether a manual override set the level."""
        return self.override_id is not None


def assess_day(
    profile: RiskProfile,
    region: str,
    day: date,
    indicators: Mapping[str, float | None],
    previous: State | None,
    overrides: Sequence[Override] = (),
    *,
    explain: bool = True,
) -> Assessment:
    """Assess one region-day: the logic, then hysteresis from the previous state, then overrides."""
    settings = profile.settings(day)
    found = classify(profile, indicators, day, explain=explain)
    if found.level is None:
        level, state, reasons = None, previous, list(found.reasons)
    else:
        moved = step(settings, previous, found.level)
        level, state, reasons = moved.level, moved.state, [*found.reasons, *moved.reasons]
    override = active_override(overrides, day)
    if override is not None:
        chosen = settings.level(override.level)
        reasons.insert(
            0,
            _text(
                f"人工调整为{chosen.zh}（{override.valid_from}–{override.valid_until}），"
                f"依据：{override.legal_basis}",
                f"manually set to {chosen.en} ({override.valid_from} to "
                f"{override.valid_until}), legal basis: {override.legal_basis}",
            ),
        )
        level = chosen.code
    return Assessment(
        region=region,
        day=day,
        level=level,
        raw_level=found.level,
        reasons=tuple(reasons),
        inputs=found.inputs,
        state=state,
        override_id=None if override is None else override.id,
    )


def assess_series(
    profile: RiskProfile,
    region: str,
    days: Sequence[tuple[date, Mapping[str, float | None]]],
    *,
    previous: State | None = None,
    overrides: Sequence[Override] = (),
    explain: bool = True,
) -> list[Assessment]:
    """Assess a region's days in date order, carrying hysteresis from one to the next."""
    results = []
    state = previous
    for day, indicators in sorted(days, key=lambda item: item[0]):
        assessment = assess_day(profile, region, day, indicators, state, overrides, explain=explain)
        state = assessment.state
        results.append(assessment)
    return results


# -- roll-up ---------------------------------------------------------------------------------


def rollup(
    settings: Settings, children: Sequence[tuple[str | None, int | None]]
) -> tuple[str | None, dict[str, str]]:
    """A parent's level from its children's (level, population), as the profile says."""
    ranks = [(settings.level(level).rank, population) for level, population in children if level]
    if not ranks:
        return None, _text("下级地区均无评估", "no assessed sub-region")
    if settings.rollup == "worst":
        top = settings.by_rank(max(rank for rank, _ in ranks))
        return top.code, _text(
            f"取下级地区最高等级：{top.zh}（{len(ranks)} 个地区）",
            f"worst of {len(ranks)} sub-regions: {top.en}",
        )
    weights = [(rank, float(population or 0)) for rank, population in ranks]
    total = sum(weight for _, weight in weights)
    if total <= 0:
        weights = [(rank, 1.0) for rank, _ in ranks]
        total = float(len(weights))
    mean = sum(rank * weight for rank, weight in weights) / total
    chosen = settings.by_rank(min(len(settings.levels) - 1, math.floor(mean + 0.5)))
    return chosen.code, _text(
        f"按人口加权平均等级 {mean:.2f}，取{chosen.zh}",
        f"population-weighted mean rank {mean:.2f}: {chosen.en}",
    )


def designation_for(settings: Settings, previous: str | None, current: str | None) -> str | None:
    """The code designation (medium/high) due when a county rises into a designating level."""
    if current is None or current not in settings.designate:
        return None
    if previous is not None and settings.level(previous).rank >= settings.level(current).rank:
        return None
    return settings.designate[current]
