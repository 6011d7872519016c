"""The colour policy (pure): the colour of a code is a function of its events and the clock.

A profile (a rule document in `profiles/`) decides which colour each event *demands*
(its CertLogic logic over the event's facts) and, through date-indexed parameters, when a
demanded colour is released (quarantine days, consecutive normal check-ins, consecutive daily
negative tests). The lifecycle here replays the events in time order:

- a demand more severe than the current colour raises it; an equal demand restarts its count;
- release conditions are checked before and after every event and at the evaluation instant;
- a confirmed, suspected or asymptomatic case holds red until the case is closed;
- events voided by an upheld appeal (or a case excluded) are ignored;
- an active manual override shows its colour until it expires, without touching the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from zhikong.code.models import SEVERITY
from zhikong.rules.checks import load_bundled
from zhikong.rules.documents import RuleDocument
from zhikong.rules.evaluation import CompiledRule, compile_rule

PROFILES = ("code-colour.zhejiang-2020", "code-colour.cn-2022", "code-colour.minimal")
DEFAULT_PROFILE = "code-colour.zhejiang-2020"
# Kinds whose facts are put to the profile's logic.
DEMANDING = frozenset(
    {
        "declaration",
        "checkin",
        "case_report",
        "test_result",
        "close_contact",
        "secondary_contact",
        "co_presence",
        "region_risk",
        "quarantine_start",
        "false_declaration",
    }
)
CASE_STATUSES = frozenset({"confirmed", "suspected", "asymptomatic"})


@dataclass(frozen=True)
class Event:
    """One stored event, as the policy sees it."""

    id: int
    kind: str
    at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Reason:
    """An event behind the current colour and the colour it demanded."""

    event_id: int
    kind: str
    at: datetime
    demanded: str


@dataclass(frozen=True)
class Progress:
    """How far a non-green code is towards green (per the profile's release parameters)."""

    colour: str
    required: Mapping[str, int]
    done: Mapping[str, int]
    blocked_by_case: bool = False

    def remaining(self) -> dict[str, int]:
        """What is still missing, per condition."""
        return {key: max(0, need - self.done.get(key, 0)) for key, need in self.required.items()}


@dataclass(frozen=True)
class Decision:
    """A code's colour at an instant, with the rule that made it and the events behind it."""

    colour: str
    since: datetime | None
    rule_id: str
    rule_version: str
    reasons: tuple[Reason, ...]
    progress: Progress | None
    override_until: datetime | None = None
    override_basis: str | None = None
    released_at: datetime | None = None

    def key(self) -> tuple[str, str | None]:
        """What must change for the stored code to be updated (colour and since)."""
        return self.colour, None if self.since is None else self.since.isoformat()


@cache
def load_profile(profile_id: str) -> RuleDocument:
    """A shipped colour profile (rule document), parsed and checked once."""
    if profile_id not in PROFILES:
        raise KeyError(f"unknown colour profile {profile_id!r}; known: {', '.join(PROFILES)}")
    return load_bundled("zhikong.code", profile_id)


@dataclass
class _State:
    colour: str = "green"
    since: datetime | None = None
    reasons: list[Reason] = field(default_factory=list)
    released_at: datetime | None = None


class ColourPolicy:
    """A colour profile ready to decide codes; memoises the rule's verdicts on repeated facts."""

    def __init__(self, rule: CompiledRule, timezone: str = "Asia/Shanghai") -> None:
        self.rule = rule
        self.rule_id = rule.rule_id
        self.rule_version = rule.rule_version
        self.zone = ZoneInfo(timezone)
        self._verdicts: dict[tuple[date, tuple[tuple[str, Any], ...]], str] = {}

    @classmethod
    def named(
        cls, profile_id: str = DEFAULT_PROFILE, timezone: str = "Asia/Shanghai"
    ) -> ColourPolicy:
        """The policy of a shipped profile."""
        return cls(compile_rule(load_profile(profile_id)), timezone)

    def local_day(self, instant: datetime) -> date:
        """The local calendar day of an instant."""
        return instant.astimezone(self.zone).date()

    def demand(self, facts: Mapping[str, Any], day: date) -> str:
        """The colour that an event's facts demand on a day."""
        key = (day, tuple(sorted((k, _hashable(v)) for k, v in facts.items())))
        colour = self._verdicts.get(key)
        if colour is None:
            colour = str(self.rule.evaluate(dict(facts), day).result)
            if len(self._verdicts) > 100_000:
                self._verdicts.clear()
            self._verdicts[key] = colour
        return colour

    def explain(self, facts: Mapping[str, Any], day: date) -> dict[str, str]:
        """Plain-language reasons (zh, en) why these facts demand their colour."""
        evaluation = self.rule.evaluate(dict(facts), day, explain=True)
        return {"zh": evaluation.summary("zh") or "", "en": evaluation.summary("en") or ""}

    def release_requirements(self, colour: str, day: date) -> dict[str, int]:
        """The release parameters of a colour in force on a day."""
        values = self.rule.parameters_on(day)
        return {
            "quarantine_days": int(values.get(f"{colour}_release_quarantine_days", 0)),
            "checkins": int(values.get(f"{colour}_release_checkins", 0)),
            "negative_tests": int(values.get(f"{colour}_release_negative_tests", 0)),
        }

    # -- the lifecycle ---------------------------------------------------------------------

    def decide(self, events: Iterable[Event], now: datetime) -> Decision:
        """The colour at `now` given every event of one code (in any order)."""
        ordered = sorted((e for e in events if e.at <= now), key=lambda e: (e.at, e.id))
        voided = _voided(ordered)
        live = [e for e in ordered if e.id not in voided]
        state = _State()
        quarantines: list[tuple[datetime, datetime | None]] = []
        checkins: dict[date, list[tuple[datetime, bool]]] = {}
        tests: dict[date, list[tuple[datetime, bool]]] = {}
        case_active = False
        overrides: list[Event] = []

        def release_if_due(at: datetime) -> None:
            if state.colour == "green" or case_active or state.since is None:
                return
            day = self.local_day(at)
            need = self.release_requirements(state.colour, day)
            if not any(need.values()):
                return
            done = self._done(state.since, at, quarantines, checkins, tests)
            if all(done[key] >= value for key, value in need.items()):
                state.colour, state.since, state.reasons = "green", at, []
                state.released_at = at

        for event in live:
            release_if_due(event.at)
            day = self.local_day(event.at)
            if event.kind == "quarantine_start":
                quarantines.append((event.at, None))
            elif event.kind == "quarantine_end":
                quarantines = [(s, event.at if e is None else e) for s, e in quarantines]
            elif event.kind == "case_report":
                case_active = event.data.get("facts", {}).get("case_status") in CASE_STATUSES
            elif event.kind == "case_closed":
                case_active = False
                if state.colour != "green":
                    state.since = event.at  # release is counted from the case's end
            elif event.kind == "override":
                overrides.append(event)
            if event.kind in DEMANDING:
                facts = event.data.get("facts", {})
                demanded = self.demand(facts, day)
                if event.kind == "checkin":
                    checkins.setdefault(day, []).append((event.at, demanded == "green"))
                if event.kind == "test_result":
                    negative = event.data.get("result") == "negative"
                    tests.setdefault(day, []).append((event.at, negative))
                rank, current = SEVERITY[demanded], SEVERITY[state.colour]
                reason = Reason(event.id, event.kind, event.at, demanded)
                if rank > current:
                    state.colour, state.since, state.reasons = demanded, event.at, [reason]
                    state.released_at = None
                elif rank == current and rank > 0:
                    state.since = event.at
                    state.reasons.append(reason)
            release_if_due(event.at)
        release_if_due(now)

        progress = None
        if state.colour != "green" and state.since is not None:
            need = self.release_requirements(state.colour, self.local_day(now))
            done = self._done(state.since, now, quarantines, checkins, tests)
            progress = Progress(state.colour, need, done, blocked_by_case=case_active)
        decision = Decision(
            colour=state.colour,
            since=state.since,
            rule_id=self.rule_id,
            rule_version=self.rule_version,
            reasons=tuple(state.reasons[-20:]),
            progress=progress,
            released_at=state.released_at,
        )
        active = [o for o in overrides if _until(o) > now]
        if active:
            override = active[-1]
            return Decision(
                colour=str(override.data["colour"]),
                since=override.at,
                rule_id=self.rule_id,
                rule_version=self.rule_version,
                reasons=(
                    Reason(override.id, "override", override.at, str(override.data["colour"])),
                ),
                progress=None,
                override_until=_until(override),
                override_basis=str(override.data.get("legal_basis", "")),
            )
        return decision

    def _done(
        self,
        since: datetime,
        at: datetime,
        quarantines: Sequence[tuple[datetime, datetime | None]],
        checkins: Mapping[date, Sequence[tuple[datetime, bool]]],
        tests: Mapping[date, Sequence[tuple[datetime, bool]]],
    ) -> dict[str, int]:
        """Quarantine days, normal check-ins and negative tests completed since `since`."""
        first_day = self.local_day(since)
        today = self.local_day(at)
        quarantine_days = 0
        for start, end in quarantines:
            begin = max(start, since)
            finish = min(end or at, at)
            if finish > begin:
                quarantine_days += (self.local_day(finish) - self.local_day(begin)).days
        return {
            "quarantine_days": quarantine_days,
            "checkins": _streak(checkins, since, at, first_day, today),
            "negative_tests": _streak(tests, since, at, first_day, today),
        }


def _streak(
    days: Mapping[date, Sequence[tuple[datetime, bool]]],
    since: datetime,
    at: datetime,
    first_day: date,
    today: date,
) -> int:
    """Consecutive days, ending today or yesterday, whose entries after `since` are all good."""

    def good(day: date) -> bool:
        entries = [ok for when, ok in days.get(day, ()) if since <= when <= at]
        return bool(entries) and all(entries)

    day = today if good(today) else today - timedelta(days=1)
    count = 0
    while day >= first_day and good(day):
        count += 1
        day -= timedelta(days=1)
    return count


def _voided(events: Sequence[Event]) -> set[int]:
    """Events that upheld appeals voided, and case reports of cases later excluded."""
    voided: set[int] = set()
    for event in events:
        if event.kind == "appeal_upheld":
            voided.update(int(i) for i in event.data.get("voids", ()))
    open_reports: list[int] = []
    for event in events:
        if event.id in voided:
            continue
        if event.kind == "case_report":
            open_reports.append(event.id)
        elif event.kind == "case_closed":
            if event.data.get("outcome") == "excluded":
                voided.update(open_reports)
            open_reports = []
    return voided


def _until(event: Event) -> datetime:
    return datetime.fromisoformat(str(event.data["until"]))


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
