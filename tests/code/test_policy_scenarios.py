"""The colour lifecycle replayed from scenario files (tests as data)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from zhikong.code.policy import ColourPolicy, Event

HERE = Path(__file__).parent / "scenarios"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _scenarios() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in sorted(HERE.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for scenario in document["scenarios"]:
            found.append((f"{path.stem}: {scenario['name']}", document, scenario))
    return found


def _instant(start: datetime, text: str) -> datetime:
    day, clock = text.split()
    hours, minutes = (int(part) for part in clock.split(":"))
    return start + timedelta(days=int(day), hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("name", "document", "scenario"), _scenarios(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_scenario(name: str, document: dict[str, Any], scenario: dict[str, Any]) -> None:
    policy = ColourPolicy.named(document["profile"])
    start = datetime.fromisoformat(document["start"]).replace(tzinfo=SHANGHAI)
    events: list[Event] = []
    for number, item in enumerate(scenario["events"], start=1):
        data: dict[str, Any] = {k: v for k, v in item.items() if k not in {"at", "kind", "id"}}
        if "until" in data:
            data["until"] = _instant(start, data["until"]).isoformat()
        events.append(
            Event(item.get("id", number), item["kind"], _instant(start, item["at"]), data)
        )
    for day in range(
        scenario.get("checkins_daily_from", 0), scenario.get("checkins_daily_to", -1) + 1
    ):
        events.append(Event(1000 + day, "checkin", _instant(start, f"{day} 08:00"), {"facts": {}}))
    for expectation in scenario["expect"]:
        at = _instant(start, expectation["at"])
        decision = policy.decide(events, at)
        assert decision.colour == expectation["colour"], f"{name} at {expectation['at']}"
        assert decision.rule_id == document["profile"]
        if "checkins" in expectation:
            assert decision.progress is not None
            assert decision.progress.done["checkins"] == expectation["checkins"]
