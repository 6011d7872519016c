"""The tracing rule documents shipped in ``profiles/``: entry policy, contacts, companions."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from zhikong.rules.checks import load_bundled
from zhikong.rules.evaluation import CompiledRule, compile_rule

ENTRY_RULE = "venue-entry.zhejiang-2022"
CONTACT_RULE = "trace-contact.zhejiang-2020"
CO_PRESENCE_RULE = "co-presence.cn-2021"
RULES = (ENTRY_RULE, CONTACT_RULE, CO_PRESENCE_RULE)


@cache
def rule(rule_id: str) -> CompiledRule:
    """A shipped tracing rule, loaded, checked and compiled once."""
    if rule_id not in RULES:
        raise KeyError(f"unknown tracing rule {rule_id!r}; known: {', '.join(RULES)}")
    return compile_rule(load_bundled("zhikong.trace", rule_id))


def profile_texts() -> list[str]:
    """The text of every shipped tracing rule document (for publishing to the registry)."""
    folder = resources.files("zhikong.trace").joinpath("profiles")
    return [
        item.read_text(encoding="utf-8")
        for item in sorted(folder.iterdir(), key=lambda p: p.name)
        if item.name.endswith(".yaml")
    ]


def venue_types() -> dict[str, dict[str, str]]:
    """Every venue type the entry policy knows, with its zh/en label."""
    compiled = rule(ENTRY_RULE)
    schema = compiled.document.input.properties or {}
    names = [str(v) for v in (schema["venue_type"].enum or [])]
    return {
        name: dict(compiled.labels.values.get(name, {"zh": name, "en": name})) for name in names
    }


def contact_parameters(day: date) -> dict[str, Any]:
    """The contact rule's parameters in force on a day (window, retention, clusters...)."""
    return rule(CONTACT_RULE).parameters_on(day)


def retention_days(day: date) -> int:
    """How many days scans and pings are kept, in force on a day."""
    return int(contact_parameters(day)["retention_days"])


def entry_decision(colour: str | None, venue_type: str, day: date) -> tuple[str, str]:
    """The entry decision for a colour at a venue type, and the rule id@version that made it."""
    compiled = rule(ENTRY_RULE)
    day = max(day, compiled.document.validity.from_)
    result = compiled.evaluate({"colour": colour, "venue_type": venue_type}, day).result
    return str(result), f"{compiled.rule_id}@{compiled.rule_version}"


def decision_text(decision: str) -> dict[str, str]:
    """The zh/en wording of an entry decision."""
    labels = rule(ENTRY_RULE).labels.values
    return dict(labels.get(decision, {"zh": decision, "en": decision}))
