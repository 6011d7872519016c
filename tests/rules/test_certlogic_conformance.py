"""The official CertLogic test suites (evaluator and validator), every assertion a test case.

Assertions marked ``directive: skip`` (at file, case or assertion level) are not generated at
all, and their number must be the 14 that the suite's provenance documents. If the suite's
folder is missing, the tests fail: they never skip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zhikong.rules.certlogic import compile_expression, explain, validate

SUITE_ROOT = (
    Path(__file__).resolve().parents[2].parent / "shared" / "extdata" / "certlogic-testsuite"
)
SPECIFICATION = SUITE_ROOT / "certlogic" / "specification"
DOCUMENTED_FILES = 14
DOCUMENTED_ASSERTIONS = 232
DOCUMENTED_SKIPS = 14
DOCUMENTED_VALIDATION_FILES = 4
DOCUMENTED_VALIDATION_CASES = 23


@dataclass(frozen=True)
class Assertion:
    """One evaluator assertion with its effective expression."""

    test_id: str
    expression: Any
    data: Any
    expected: Any


@dataclass(frozen=True)
class ValidationCase:
    """One validator case: an expression and the issues expected for it."""

    test_id: str
    expression: Any
    issues: list[tuple[Any, str]]


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_evaluator_suite() -> tuple[list[Assertion], int, int]:
    """All non-skipped assertions, the number of skipped ones, and the number of files."""
    files = sorted((SPECIFICATION / "testSuite").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no CertLogic test suite files in {SPECIFICATION / 'testSuite'}")
    assertions: list[Assertion] = []
    skipped = 0
    for path in files:
        suite = _load_json(path)
        for case_no, case in enumerate(suite["cases"]):
            for no, assertion in enumerate(case["assertions"]):
                directives = {suite.get("directive"), case.get("directive")}
                directives.add(assertion.get("directive"))
                if "skip" in directives:
                    skipped += 1
                    continue
                expression = assertion.get("certLogicExpression", case.get("certLogicExpression"))
                assertions.append(
                    Assertion(
                        f"{path.stem}[{case_no}]{case['name']}#{no}",
                        expression,
                        assertion["data"],
                        assertion["expected"],
                    )
                )
    return assertions, skipped, len(files)


def load_validation_suite() -> tuple[list[ValidationCase], int]:
    """All validator cases and the number of files."""
    files = sorted((SPECIFICATION / "validation-testSuite").glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no CertLogic validation suite files in {SPECIFICATION}")
    cases = [
        ValidationCase(
            f"{path.stem}#{no}",
            case["certLogicExpression"],
            [(issue["expr"], issue["message"]) for issue in case["issues"]],
        )
        for path in files
        for no, case in enumerate(_load_json(path)["cases"])
    ]
    return cases, len(files)


try:
    ASSERTIONS, SKIPPED, FILES = load_evaluator_suite()
    VALIDATION_CASES, VALIDATION_FILES = load_validation_suite()
    LOAD_ERROR: Exception | None = None
except (OSError, ValueError, KeyError) as error:  # reported by the tests below, never skipped
    ASSERTIONS, SKIPPED, FILES, VALIDATION_CASES, VALIDATION_FILES = [], 0, 0, [], 0
    LOAD_ERROR = error

# A missing suite must fail, not produce an empty (skipped) parametrisation.
_MISSING = [pytest.param(None, id="certlogic-testsuite-missing")]


def _params(items: list[Any]) -> list[Any]:
    return [pytest.param(item, id=item.test_id) for item in items] if items else _MISSING


def test_suite_is_present_and_complete() -> None:
    assert LOAD_ERROR is None, f"cannot load the CertLogic test suites: {LOAD_ERROR}"
    assert FILES == DOCUMENTED_FILES
    assert len(ASSERTIONS) + SKIPPED == DOCUMENTED_ASSERTIONS
    assert SKIPPED == DOCUMENTED_SKIPS
    assert VALIDATION_FILES == DOCUMENTED_VALIDATION_FILES
    assert len(VALIDATION_CASES) == DOCUMENTED_VALIDATION_CASES


@pytest.mark.parametrize("mode", ["interpreter", "compiled", "explain"])
@pytest.mark.parametrize("assertion", _params(ASSERTIONS))
def test_evaluator_assertion(assertion: Assertion | None, mode: str, support: Any) -> None:
    assert assertion is not None, f"the CertLogic test suite is missing: {LOAD_ERROR}"
    result = support.modes[mode](assertion.expression, assertion.data)
    assert support.json_equal(result, assertion.expected), (
        f"{mode}: {json.dumps(assertion.expression)} on {json.dumps(assertion.data)} "
        f"gave {result!r}, expected {assertion.expected!r}"
    )


@pytest.mark.parametrize("assertion", _params(ASSERTIONS))
def test_suite_expression_is_valid_and_explainable(assertion: Assertion | None) -> None:
    assert assertion is not None, f"the CertLogic test suite is missing: {LOAD_ERROR}"
    assert validate(assertion.expression) == []
    compile_expression(assertion.expression)
    explanation = explain(assertion.expression, assertion.data)
    for lang in ("zh", "en"):
        lines = explanation.render(lang)
        assert lines
        assert all(isinstance(line, str) and line for line in lines)


@pytest.mark.parametrize("case", _params(VALIDATION_CASES))
def test_validation_case(case: ValidationCase | None) -> None:
    assert case is not None, f"the CertLogic validation suite is missing: {LOAD_ERROR}"
    issues = [(issue.expr, issue.message) for issue in validate(case.expression)]
    assert issues == case.issues
