"""Validator messages beyond the official suite, compile-time behaviour, and evaluation errors."""

from __future__ import annotations

from typing import Any

import pytest

from zhikong.rules import certlogic
from zhikong.rules.certlogic import (
    CertLogicError,
    DateTime,
    InvalidExpressionError,
    ValidationIssue,
    compile_expression,
    dcc_date_of_birth,
    evaluate,
    validate,
)
from zhikong.rules.certlogic.values import js_number_to_str, js_parse_int, js_to_string

# --- validator ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "messages"),
    [
        (
            {"if": [True, 1]},
            ['an "if"-operation must have exactly 3 values/operands, but it has 2'],
        ),
        ({"and": [True]}, ['an "and" operation must have at least 2 operands, but it has 1']),
        (
            {"<": [1, 2, 3, 4]},
            ['an operation with operator "<" must have 2 or 3 operands, but it has 4'],
        ),
        ({"in": [1]}, ['an operation with operator "in" must have 2 operands, but it has 1']),
        (
            {"!": [True, False]},
            ["a !-operation (logical not/negation) must have exactly 1 operand, but it has 2"],
        ),
        (
            {"plusTime": [{"var": "d"}, 1.5, "week"]},
            [
                '"amount" argument (#2) of "plusTime" must be an integer, but it is: 1.5',
                '"unit" argument (#3) of "plusTime" must be a string equal to one of '
                "year, month, day, hour, but it is: week",
            ],
        ),
        (
            {"plusTime": [{"var": "d"}, 1]},
            ['a "plusTime"-operation must have exactly 3 values/operands, but it has 2'],
        ),
        (
            {"reduce": [{"var": "x"}, {"var": "current"}]},
            ['a "reduce"-operation must have exactly 3 values/operands, but it has 2'],
        ),
        (
            {"extractFromUVCI": [{"var": "u"}, "1"]},
            ['"index" argument (#2) of "extractFromUVCI" must be an integer, but it is: 1'],
        ),
        (
            {"dccDateOfBirth": []},
            ['a "dccDateOfBirth"-operation must have exactly 1 value/operand, but it has 0'],
        ),
        ({"!!": [True]}, ['unrecognised operator: "!!"']),
        ({"var": "x..y"}, ["data access path doesn't have a valid format: x..y"]),
        ({"var": ".x"}, ["data access path doesn't have a valid format: .x"]),
        ({"var": ["x"]}, ['not of the form { "var": "<path>" }']),
        (
            [1, 2.5, {"var": 3}],
            ["2.5 is a non-integer number", 'not of the form { "var": "<path>" }'],
        ),
        (float("nan"), ["NaN is a non-integer number"]),
        ((1, 2), ["invalid CertLogic expression"]),
    ],
)
def test_validator_messages(expression: Any, messages: list[str]) -> None:
    assert [issue.message for issue in validate(expression)] == messages


def test_validator_reports_nested_issues_with_their_sub_expression() -> None:
    bad = {"plusTime": [{"var": "d"}, 0, "minute"]}
    expression = {"if": [{"var": "x"}, {"and": [True, bad]}, False]}
    issues = validate(expression)
    assert len(issues) == 1
    assert issues[0].expr is bad


def test_integral_floats_are_integers_as_in_javascript() -> None:
    assert validate({"plusTime": [{"var": "d"}, 2.0, "day"]}) == []
    assert validate(42.0) == []
    assert evaluate({"extractFromUVCI": ["a/b/c", 1.0]}, None) == "b"


# --- JavaScript conversions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (3.14, "3.14"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (-2.5, "-2.5"),
        (float("inf"), "Infinity"),
        (-0.0, "0"),
        (2**60, "1152921504606847000"),  # shortest round-trip digits, as JS prints
        (12, "12"),
    ],
)
def test_js_number_to_str(number: float, text: str) -> None:
    assert js_number_to_str(number) == text


def test_js_helpers() -> None:
    assert js_parse_int("  12ab") == 12
    assert js_parse_int("-0") == 0
    assert js_parse_int("+7") == 7
    assert js_parse_int("x1") is None
    assert js_parse_int("") is None
    assert js_to_string([1, None, "a", [2, 3]]) == "1,,a,2,3"
    assert js_to_string({"a": 1}) == "[object Object]"
    assert js_to_string(None) == "null"


# --- compiler -----------------------------------------------------------------------------


def test_compile_rejects_invalid_expressions_with_the_issues() -> None:
    expression = {"if": [{"var": "x."}, 1]}
    with pytest.raises(InvalidExpressionError) as raised:
        compile_expression(expression)
    assert raised.value.issues == (
        ValidationIssue(
            expression, 'an "if"-operation must have exactly 3 values/operands, but it has 2'
        ),
        ValidationIssue({"var": "x."}, "data access path doesn't have a valid format: x."),
    )
    assert isinstance(raised.value, CertLogicError)


def test_compiled_expression_is_reusable_and_returns_fresh_arrays() -> None:
    compiled = compile_expression({"if": [{"var": "x"}, ["a", "b"], [{"var": "x"}]]})
    first = compiled({"x": True})
    second = compiled({"x": True})
    assert first == ["a", "b"] == second
    assert first is not second
    first.append("mutated")
    assert compiled({"x": True}) == ["a", "b"]
    assert compiled({"x": 0}) == [0]


def test_compiled_plus_time_of_a_literal_makes_a_new_date_each_time() -> None:
    compiled = compile_expression({"plusTime": ["2021-06-01", 1, "day"]})
    first, second = compiled(None), compiled(None)
    assert isinstance(first, DateTime)
    assert first is not second
    assert first.same_instant(second)
    assert first.iso() == "2021-06-02T00:00:00.000Z"


def test_compiled_plus_time_of_a_malformed_literal_throws_when_evaluated() -> None:
    compiled = compile_expression({"plusTime": ["01/06/2021", 0, "day"]})
    with pytest.raises(CertLogicError, match="not an allowed date or date-time format"):
        compiled(None)


def test_compile_is_independent_of_data_and_does_not_leak_between_calls() -> None:
    rule = {
        "reduce": [
            {"var": "xs"},
            {"+": [{"var": "accumulator"}, {"if": [{"var": "current"}, 1, 0]}]},
            0,
        ]
    }
    compiled = compile_expression(rule)
    assert compiled({"xs": [1, 0, 2, "", "a"]}) == 3
    assert compiled({"xs": None}) == 0
    assert compiled({}) == 0
    with pytest.raises(CertLogicError, match="non-null non-array"):
        compiled({"xs": "abc"})


# --- evaluation errors (the interpreter does not validate first, like certlogic-js) -------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (None, "invalid CertLogic expression: null"),
        (2.5, "invalid CertLogic expression: 2.5"),
        ({}, "unrecognised expression object encountered"),
        ({"a": [1], "b": [2]}, "unrecognised expression object encountered"),
        ({"var": 1}, 'not of the form { "var": "<path>" }'),
        ({"if": []}, 'operation not of the form { "<operator>": [ <values...> ] }'),
        ({"all": [1]}, 'unrecognised operator: "all"'),
        ({"if": [True, 1]}, "an if-operation must have an else (argument #3)"),
        ({"and": [True]}, 'an "and" operation must have at least 2 operands'),
        ({"===": [1, 1, 1]}, 'an operation with operator "===" must have 2 operands'),
        ({"plusTime": ["2021-01-01", "1", "day"]}, '"amount" argument (#2) of "plusTime"'),
        ({"plusTime": ["2021-01-01", 1, "days"]}, '"unit" argument (#3) of "plusTime"'),
        ({"plusTime": [1, 1, "day"]}, 'date argument of "plusTime" must be a string'),
        ({"extractFromUVCI": [1, 0]}, '"UVCI" argument (#1) of "extractFromUVCI"'),
        ({"extractFromUVCI": ["a", "0"]}, '"index" argument (#2) of "extractFromUVCI"'),
        ({"dccDateOfBirth": [{"var": "dob"}]}, 'operand of "dccDateOfBirth" must be a string'),
        ({"dccDateOfBirth": ["1.1.2000"]}, 'can\'t parse "1.1.2000" as an EU DCC date-of-birth'),
        ({"if": [{"plusTime": ["2021-01-01", 0, "day"]}, 1, 2]}, "if-guard evaluates to"),
    ],
)
def test_interpreter_errors(expression: Any, message: str) -> None:
    with pytest.raises(CertLogicError) as raised:
        evaluate(expression, {})
    assert raised.value.message.startswith(message)


def test_missing_data_yields_null_not_an_exception() -> None:
    rule = {
        "if": [
            {"var": "payload.v.0"},
            {"in": [{"var": "payload.v.0.mp"}, ["EU/1/20/1528"]]},
            True,
        ]
    }
    cases: list[Any] = [
        None,
        {},
        {"payload": None},
        {"payload": {"v": []}},
        {"payload": {"v": [{}]}},
    ]
    for data in cases:
        evaluate(rule, data)
        compile_expression(rule)(data)
    assert evaluate({"var": "a.b.c"}, {"a": {"b": None}}) is None


def test_dcc_date_of_birth_is_the_last_consistent_instant() -> None:
    assert dcc_date_of_birth("2004").iso() == "2004-12-31T00:00:00.000Z"
    assert dcc_date_of_birth("2004-02").iso() == "2004-02-29T00:00:00.000Z"
    assert dcc_date_of_birth("2004-12").iso() == "2004-12-31T00:00:00.000Z"
    assert dcc_date_of_birth("2004-06-15").iso() == "2004-06-15T00:00:00.000Z"
    assert not dcc_date_of_birth("2004-13").is_valid


def test_public_api() -> None:
    assert certlogic.SPECIFICATION_VERSION == "1.3.3"
    assert "dccDateOfBirth" in certlogic.OPERATORS
    assert "!!" not in certlogic.OPERATORS
    assert certlogic.is_truthy({"a": 1})
    assert certlogic.is_falsy({})
    assert certlogic.boolsiness(DateTime(0)) is None
    assert DateTime(0).to_datetime() is not None
    assert DateTime(None).iso() == "Invalid Date"
