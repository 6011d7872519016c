"""Evaluating rule documents: date-indexed parameters, the compiled logic and the test cases.

The logic sees one data context::

    {"input": <the input>, "parameters": {<name>: <value on the date>}, "evaluation": {"date":
    "YYYY-MM-DD"}}

:class:`CompiledRule` compiles the logic once and evaluates it; every :class:`Evaluation` names
the rule id and version that made it. :func:`run_tests` runs a document's test cases.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from zhikong.rules.certlogic import (
    CertLogicError,
    CompiledExpression,
    DateTime,
    Explanation,
    Labels,
    Language,
    compile_expression,
)
from zhikong.rules.certlogic import explain as explain_expression
from zhikong.rules.documents import (
    OutsideValidityError,
    Parameter,
    RuleDocument,
    RuleEvaluationError,
    ValueSchema,
    json_equal,
)


def parameter_value(parameter: Parameter, day: date) -> Any:
    """The value in force on a date: the last value whose ``from`` is on or before it."""
    dates = [item.from_ for item in parameter.values]
    index = bisect.bisect_right(dates, day) - 1
    if index < 0:
        raise OutsideValidityError(f"the parameter has no value before {dates[0].isoformat()}")
    return parameter.values[index].value


@dataclass(frozen=True)
class Evaluation:
    """What a rule decided: the result, named by the rule id and version that made it."""

    rule_id: str
    rule_version: str
    at: date
    result: Any
    parameters: Mapping[str, Any]
    explanation: Explanation | None = None
    labels: Labels | None = None

    def summary(self, lang: Language = "zh") -> str | None:
        """The explanation in one sentence (None when evaluated without explain)."""
        if self.explanation is None:
            return None
        return self.explanation.summary(lang, self.labels)

    def as_json(self) -> dict[str, Any]:
        """The evaluation as a JSON object (with the explanation's summaries if any)."""
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "at": self.at.isoformat(),
            "result": self.result,
            "parameters": dict(self.parameters),
        }
        if self.explanation is not None:
            data["explanation"] = {"zh": self.summary("zh"), "en": self.summary("en")}
        return data


def _json_result(value: Any) -> Any:
    """The evaluation result as JSON: a date-time becomes its ISO text (invalid: null)."""
    if isinstance(value, DateTime):
        return value.iso() if value.is_valid else None
    return value


def _labels(document: RuleDocument) -> Labels:
    paths: dict[str, dict[str, str]] = {
        "evaluation.date": {"zh": "评估日期", "en": "evaluation date"}
    }

    def add(schema: ValueSchema, path: str) -> None:
        if schema.title is not None:
            paths[path] = {"zh": schema.title.zh, "en": schema.title.en}
        for name, child in (schema.properties or {}).items():
            add(child, f"{path}.{name}")

    add(document.input, "input")
    for name, parameter in document.parameters.items():
        if parameter.title is not None:
            paths[f"parameters.{name}"] = {"zh": parameter.title.zh, "en": parameter.title.en}
    values: dict[str, dict[str, str]] = {}
    subject: dict[str, str] = {}
    if document.labels is not None:
        values = {key: {"zh": t.zh, "en": t.en} for key, t in document.labels.values.items()}
        if document.labels.subject is not None:
            subject = {"zh": document.labels.subject.zh, "en": document.labels.subject.en}
    return Labels(paths=paths, values=values, subject=subject)


class CompiledRule:
    """A rule document with its logic compiled once; evaluate it as often as needed."""

    def __init__(self, document: RuleDocument) -> None:
        self.document = document
        self.rule_id = document.id
        self.rule_version = document.version
        self._logic: CompiledExpression = compile_expression(document.logic)
        self._first = document.validity.from_
        self._last = document.validity.until
        # date -> (parameter values, read-only view of them, evaluation context)
        self._days: dict[date, tuple[dict[str, Any], Mapping[str, Any], dict[str, str]]] = {}
        self.labels = _labels(document)

    def parameters_on(self, day: date) -> dict[str, Any]:
        """Every parameter's value on a date (a fresh dict)."""
        return dict(self._day(day)[0])

    def _day(self, day: date) -> tuple[dict[str, Any], Mapping[str, Any], dict[str, str]]:
        known = self._days.get(day)
        if known is None:
            values = {
                name: parameter_value(parameter, day)
                for name, parameter in self.document.parameters.items()
            }
            known = (values, MappingProxyType(values), {"date": day.isoformat()})
            if len(self._days) >= 4096:
                self._days.clear()
            self._days[day] = known
        return known

    def evaluate(self, input: Mapping[str, Any], at: date, *, explain: bool = False) -> Evaluation:
        """Decide on an input at a date; a missing input field reads as null, never a crash.

        Raises OutsideValidityError for a date outside the validity window and
        RuleEvaluationError where CertLogic says the logic throws (operands of wrong types).
        """
        if at < self._first or (self._last is not None and at > self._last):
            until = f"until {self._last.isoformat()}" if self._last else "with no end date"
            raise OutsideValidityError(
                f"rule {self.rule_id} {self.rule_version} is in force from "
                f"{self._first.isoformat()} {until}, not on {at.isoformat()}"
            )
        if type(input) is not dict:
            if not isinstance(input, Mapping):
                error = CertLogicError("the input must be an object")
                raise RuleEvaluationError(self.rule_id, self.rule_version, error)
            input = dict(input)
        values, view, context = self._day(at)
        data = {"input": input, "parameters": values, "evaluation": context}
        explanation: Explanation | None = None
        try:
            if explain:
                explanation = explain_expression(self.document.logic, data)
                result = explanation.result
            else:
                result = self._logic(data)
        except CertLogicError as exc:
            raise RuleEvaluationError(self.rule_id, self.rule_version, exc) from exc
        except RecursionError as exc:
            error = CertLogicError("the input is nested too deeply")
            raise RuleEvaluationError(self.rule_id, self.rule_version, error) from exc
        if type(result) is DateTime:
            result = _json_result(result)
        # Positional arguments: this is the hot path of population-scale evaluation.
        labels = self.labels if explain else None
        return Evaluation(self.rule_id, self.rule_version, at, result, view, explanation, labels)


def compile_rule(document: RuleDocument) -> CompiledRule:
    """The document's compiled form, made once per document object."""
    compiled: CompiledRule | None = document._compiled
    if compiled is None:
        compiled = CompiledRule(document)
        document._compiled = compiled
    return compiled


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one test case."""

    index: int
    name: str
    at: date
    expected: Any
    actual: Any = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the logic gave the expected result."""
        return self.error is None and json_equal(self.actual, self.expected)


@dataclass(frozen=True)
class TestReport:
    """The outcome of a document's test cases, named by the rule id and version."""

    __test__ = False  # not a pytest test class

    rule_id: str
    rule_version: str
    cases: tuple[CaseResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return all(case.passed for case in self.cases)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        """The cases that failed."""
        return tuple(case for case in self.cases if not case.passed)


def run_tests(document: RuleDocument) -> TestReport:
    """Run every test case of a document against its logic."""
    compiled = compile_rule(document)
    results: list[CaseResult] = []
    for index, case in enumerate(document.tests):
        try:
            actual = compiled.evaluate(case.input, case.at).result
        except (RuleEvaluationError, OutsideValidityError) as exc:
            results.append(CaseResult(index, case.name, case.at, case.expected, error=str(exc)))
            continue
        results.append(CaseResult(index, case.name, case.at, case.expected, actual))
    return TestReport(document.id, document.version, tuple(results))
