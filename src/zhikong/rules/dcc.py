"""Evaluate EU DCC business rules (CertLogic rule envelopes) the way EU verifier apps do.

A rule envelope is the JSON object the EU DCC Gateway distributes (``Identifier``, ``Type``,
``Country``, ``Version``, ``SchemaVersion``, ``Engine``, ``EngineVersion``,
``CertificateType``, ``ValidFrom``, ``ValidTo``, ``AffectedFields``, ``Logic``,
``Description``). The data a rule sees is ``{"payload": <DCC payload>, "external":
{"validationClock", "valueSets", "countryCode", "exp", "iat"}}``.

Rule selection (:func:`select_rules`), as in the EU verifier apps:

* only rules for the certificate's type (``v`` → Vaccination, ``t`` → Test, ``r`` →
  Recovery) or for ``General``;
* only rules whose ``[ValidFrom, ValidTo]`` contains ``external.validationClock``;
* acceptance rules of the country of arrival (``external.countryCode``, when given) and,
  when ``issuer_country`` is given, invalidation rules of the issuing country;
* of several versions of one ``Identifier``, the highest ``Version``.

Each selected rule is evaluated on its own (:func:`evaluate_rule`): ``PASSED`` when the logic
yields ``true``, ``FAILED`` when it yields ``false``, and ``OPEN`` when it cannot be decided:
the engine or its version is not supported, the rule's ``SchemaVersion`` does not fit the
payload's ``ver``, the logic is invalid or throws, or the result is not a boolean. The
validation clock comes from the input; nothing here reads the wall clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Final

from zhikong.rules.certlogic import (
    SPECIFICATION_VERSION,
    CertLogicError,
    CompiledExpression,
    compile_expression,
    date_time_from_string,
)

__all__ = [
    "SUPPORTED_ENGINE",
    "SUPPORTED_ENGINE_VERSION",
    "CertificateType",
    "DccRule",
    "DccRuleFormatError",
    "DccValidation",
    "RuleOutcome",
    "RuleResult",
    "RuleType",
    "certificate_type_of",
    "evaluate_rule",
    "select_rules",
    "validate_dcc",
]

#: The only rule engine this module runs.
SUPPORTED_ENGINE: Final = "CERTLOGIC"
#: Rules needing a newer CertLogic than this are left OPEN.
SUPPORTED_ENGINE_VERSION: Final = SPECIFICATION_VERSION


class RuleOutcome(StrEnum):
    """The outcome of one rule, as EU verifier apps report it."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    OPEN = "OPEN"


class CertificateType(StrEnum):
    """The certificate types a rule can apply to."""

    GENERAL = "General"
    VACCINATION = "Vaccination"
    TEST = "Test"
    RECOVERY = "Recovery"


class RuleType(StrEnum):
    """Acceptance rules come from the country of arrival, invalidation rules from the issuer."""

    ACCEPTANCE = "Acceptance"
    INVALIDATION = "Invalidation"


class DccRuleFormatError(ValueError):
    """A rule envelope lacks a field or has a field of the wrong type."""


@dataclass(frozen=True)
class RuleDescription:
    """A rule's description in one language."""

    lang: str
    desc: str


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise DccRuleFormatError(f"rule field {key!r} must be a string, got {value!r}")
    return value


@dataclass(frozen=True)
class DccRule:
    """One version of an EU DCC business rule (a CertLogic rule envelope)."""

    identifier: str
    type: RuleType
    country: str
    version: str
    schema_version: str
    engine: str
    engine_version: str
    certificate_type: CertificateType
    valid_from: str
    valid_to: str
    logic: Any
    affected_fields: tuple[str, ...] = ()
    descriptions: tuple[RuleDescription, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> DccRule:
        """Read a rule envelope (a parsed JSON object)."""
        if not isinstance(obj, Mapping):
            raise DccRuleFormatError("a rule must be a JSON object")
        try:
            rule_type = RuleType(_text(obj, "Type"))
            certificate_type = CertificateType(_text(obj, "CertificateType"))
        except ValueError as error:
            raise DccRuleFormatError(str(error)) from error
        if "Logic" not in obj:
            raise DccRuleFormatError("rule field 'Logic' is missing")
        fields = obj.get("AffectedFields", [])
        descriptions = obj.get("Description", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise DccRuleFormatError("rule field 'AffectedFields' must be a list of strings")
        if not isinstance(descriptions, list) or not all(
            isinstance(d, Mapping)
            and isinstance(d.get("lang"), str)
            and isinstance(d.get("desc"), str)
            for d in descriptions
        ):
            raise DccRuleFormatError("rule field 'Description' must be a list of {lang, desc}")
        return cls(
            identifier=_text(obj, "Identifier"),
            type=rule_type,
            country=_text(obj, "Country"),
            version=_text(obj, "Version"),
            schema_version=_text(obj, "SchemaVersion"),
            engine=_text(obj, "Engine"),
            engine_version=_text(obj, "EngineVersion"),
            certificate_type=certificate_type,
            valid_from=_text(obj, "ValidFrom"),
            valid_to=_text(obj, "ValidTo"),
            logic=obj["Logic"],
            affected_fields=tuple(fields),
            descriptions=tuple(RuleDescription(d["lang"], d["desc"]) for d in descriptions),
            raw=obj,
        )

    def description(self, lang: str = "en") -> str | None:
        """The description in ``lang``, else the English one, else the first one."""
        by_lang = {d.lang: d.desc for d in self.descriptions}
        if lang in by_lang:
            return by_lang[lang]
        if "en" in by_lang:
            return by_lang["en"]
        return self.descriptions[0].desc if self.descriptions else None

    @cached_property
    def compiled(self) -> CompiledExpression:
        """The rule's logic compiled once (raises CertLogicError if the logic is invalid)."""
        return compile_expression(self.logic)


@dataclass(frozen=True)
class RuleResult:
    """The outcome of evaluating one rule against one DCC."""

    rule: DccRule
    outcome: RuleOutcome
    value: Any = None
    error: str | None = None

    @property
    def identifier(self) -> str:
        """The rule's identifier, e.g. ``VR-EU-0003``."""
        return self.rule.identifier


@dataclass(frozen=True)
class DccValidation:
    """All rule results for one DCC; the overall outcome is the worst of them."""

    certificate_type: CertificateType | None
    results: tuple[RuleResult, ...]

    @property
    def outcome(self) -> RuleOutcome:
        """FAILED if any rule failed, else OPEN if any is open, else PASSED."""
        outcomes = {result.outcome for result in self.results}
        if RuleOutcome.FAILED in outcomes:
            return RuleOutcome.FAILED
        if RuleOutcome.OPEN in outcomes:
            return RuleOutcome.OPEN
        return RuleOutcome.PASSED

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """The rules that failed."""
        return tuple(r for r in self.results if r.outcome is RuleOutcome.FAILED)

    @property
    def open(self) -> tuple[RuleResult, ...]:
        """The rules that could not be decided."""
        return tuple(r for r in self.results if r.outcome is RuleOutcome.OPEN)


_VERSION_RE: Final = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)")


def _version(text: Any) -> tuple[int, int, int] | None:
    if not isinstance(text, str):
        return None
    match = _VERSION_RE.fullmatch(text.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _epoch_ms(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return date_time_from_string(text).epoch_ms
    except CertLogicError:
        return None


def certificate_type_of(payload: Any) -> CertificateType | None:
    """The type of a DCC payload: the one of ``v``, ``t``, ``r`` that holds an entry."""
    if not isinstance(payload, Mapping):
        return None
    kinds = [
        kind
        for key, kind in (
            ("v", CertificateType.VACCINATION),
            ("t", CertificateType.TEST),
            ("r", CertificateType.RECOVERY),
        )
        if isinstance(payload.get(key), list) and payload[key]
    ]
    return kinds[0] if len(kinds) == 1 else None


def _external(data: Mapping[str, Any]) -> Mapping[str, Any]:
    external = data.get("external")
    return external if isinstance(external, Mapping) else {}


def select_rules(
    rules: Iterable[DccRule],
    data: Mapping[str, Any],
    *,
    issuer_country: str | None = None,
) -> list[DccRule]:
    """The rules that apply to ``data`` (type, validity window, country, latest version)."""
    external = _external(data)
    clock = _epoch_ms(external.get("validationClock"))
    if clock is None:
        raise ValueError("external.validationClock must be a date-time string")
    certificate_type = certificate_type_of(data.get("payload"))
    arrival_country = external.get("countryCode")
    latest: dict[str, DccRule] = {}
    for rule in rules:
        if rule.certificate_type not in (CertificateType.GENERAL, certificate_type):
            continue
        valid_from, valid_to = _epoch_ms(rule.valid_from), _epoch_ms(rule.valid_to)
        if valid_from is None or valid_to is None or not valid_from <= clock <= valid_to:
            continue
        if rule.type is RuleType.ACCEPTANCE:
            if isinstance(arrival_country, str) and rule.country != arrival_country:
                continue
        elif issuer_country is not None and rule.country != issuer_country:
            continue
        current = latest.get(rule.identifier)
        if current is None or (_version(rule.version) or (-1, -1, -1)) > (
            _version(current.version) or (-1, -1, -1)
        ):
            latest[rule.identifier] = rule
    return sorted(latest.values(), key=lambda r: r.identifier)


def _incompatibility(rule: DccRule, payload: Any) -> str | None:
    if rule.engine != SUPPORTED_ENGINE:
        return f"unsupported rule engine: {rule.engine!r}"
    engine_version = _version(rule.engine_version)
    supported = _version(SUPPORTED_ENGINE_VERSION)
    if engine_version is None or supported is None or engine_version > supported:
        return f"unsupported engine version: {rule.engine_version!r}"
    schema_version = _version(rule.schema_version)
    dcc_version = _version(payload.get("ver")) if isinstance(payload, Mapping) else None
    if schema_version is None or dcc_version is None:
        return "the rule's SchemaVersion or the payload's ver is missing or malformed"
    if dcc_version[0] != schema_version[0] or dcc_version < schema_version:
        return (
            f"the payload's schema version {payload.get('ver')} does not satisfy "
            f"the rule's SchemaVersion {rule.schema_version}"
        )
    return None


def evaluate_rule(rule: DccRule, data: Mapping[str, Any]) -> RuleResult:
    """Evaluate one rule: PASSED on true, FAILED on false, OPEN when it cannot be decided."""
    problem = _incompatibility(rule, data.get("payload"))
    if problem is not None:
        return RuleResult(rule, RuleOutcome.OPEN, error=problem)
    try:
        value = rule.compiled(data)
    except (CertLogicError, RecursionError) as error:
        return RuleResult(rule, RuleOutcome.OPEN, error=str(error))
    if value is True:
        return RuleResult(rule, RuleOutcome.PASSED, value)
    if value is False:
        return RuleResult(rule, RuleOutcome.FAILED, value)
    return RuleResult(rule, RuleOutcome.OPEN, value, "the rule did not evaluate to a boolean")


def validate_dcc(
    rules: Iterable[DccRule | Mapping[str, Any]],
    data: Mapping[str, Any],
    *,
    issuer_country: str | None = None,
) -> DccValidation:
    """Select the rules that apply to a DCC and evaluate each of them."""
    parsed = [rule if isinstance(rule, DccRule) else DccRule.from_json(rule) for rule in rules]
    selected = select_rules(parsed, data, issuer_country=issuer_country)
    return DccValidation(
        certificate_type_of(data.get("payload")),
        tuple(evaluate_rule(rule, data) for rule in selected),
    )
