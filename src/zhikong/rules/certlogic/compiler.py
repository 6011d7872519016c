"""Compile a CertLogic expression once into a tree of Python closures.

The expression is validated first; every operator is dispatched at compile time, so that
evaluating the result is a chain of direct closure calls (no look-up of operator names, no
re-checking of the expression's form). Literal operands are specialised: membership in a
literal array becomes a set look-up, equality with a literal a type test and a comparison,
and ``plusTime`` of a literal date string is parsed only once.

The closures agree with :func:`zhikong.rules.certlogic.evaluate` on every value and raise the
same :class:`CertLogicError` messages: both use :mod:`zhikong.rules.certlogic.operations`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhikong.rules.certlogic.dates import (
    MAX_TIME_MS,
    MS_PER_DAY,
    MS_PER_HOUR,
    DateTime,
    plus_time_ms,
    plus_time_operand_ms,
)
from zhikong.rules.certlogic.errors import CertLogicError, InvalidExpressionError
from zhikong.rules.certlogic.operations import (
    DATE_COMPARISONS,
    INT_COMPARISONS,
    MSG_AND_NEITHER,
    MSG_PLUS_TIME_NOT_STRING,
    MSG_REDUCE_NOT_ARRAY,
    add,
    compare_dates,
    compare_ints,
    date_of_birth_of,
    extract_from_uvci,
    guard_error,
    member_of,
    negate,
)
from zhikong.rules.certlogic.validator import validate
from zhikong.rules.certlogic.values import (
    PathStep,
    access,
    boolsiness,
    compile_path,
    is_int,
    strict_equals,
)

__all__ = ["CompiledExpression", "compile_expression"]

#: A compiled CertLogic expression: call it with a data context to evaluate it.
CompiledExpression = Callable[[Any], Any]


def compile_expression(expression: Any) -> CompiledExpression:
    """Validate a CertLogic expression once and compile it to a fast Python callable."""
    issues = validate(expression)
    if issues:
        raise InvalidExpressionError(issues, expression)
    return _compile(expression)


def _is_scalar_literal(expr: Any) -> bool:
    return isinstance(expr, (str, bool)) or is_int(expr)


def _constant(value: Any) -> CompiledExpression:
    def run(_data: Any) -> Any:
        return value

    return run


def _compile(expr: Any) -> CompiledExpression:
    if _is_scalar_literal(expr):
        return _constant(expr)
    if isinstance(expr, list):
        return _compile_array(expr)
    # validated: a one-key operation object
    ((operator, values),) = expr.items()
    if operator == "var":
        return _compile_var(values)
    if operator == "if":
        return _compile_if(values)
    if operator == "and":
        return _compile_and(expr, values)
    if operator in INT_COMPARISONS:
        return _compile_int_comparison(operator, values)
    if operator in DATE_COMPARISONS:
        return _compile_date_comparison(operator, values)
    if operator == "===":
        return _compile_equals(values)
    if operator == "in":
        return _compile_in(values)
    if operator == "+":
        return _compile_plus(values)
    if operator == "!":
        return _compile_not(values)
    if operator == "plusTime":
        return _compile_plus_time(values)
    if operator == "reduce":
        return _compile_reduce(expr, values)
    if operator == "extractFromUVCI":
        return _compile_extract_from_uvci(values)
    if operator == "dccDateOfBirth":
        return _compile_dcc_date_of_birth(values)
    raise CertLogicError(f'unrecognised operator: "{operator}"', expr)  # pragma: no cover


def _compile_array(items: list[Any]) -> CompiledExpression:
    if all(_is_scalar_literal(item) for item in items):
        constants = tuple(items)

        def run_constant(_data: Any) -> Any:
            return list(constants)  # a fresh array on every evaluation, as in JavaScript

        return run_constant
    compiled = tuple(_compile(item) for item in items)

    def run(data: Any) -> Any:
        return [f(data) for f in compiled]

    return run


def _compile_var(path: str) -> CompiledExpression:
    if path == "":

        def run_it(data: Any) -> Any:
            return data

        return run_it
    steps = compile_path(path)
    if len(steps) == 1:
        return _compile_var_single(steps)

    def run(data: Any) -> Any:
        acc = data
        for key, index in steps:
            kind = type(acc)
            if kind is dict:
                acc = acc.get(key)
            elif kind is list:
                if index is None or not 0 <= index < len(acc):
                    return None
                acc = acc[index]
            elif acc is None:
                return None
            else:
                return access(data, steps)  # subclasses and undrillable values
        return acc

    return run


def _compile_var_single(steps: tuple[PathStep, ...]) -> CompiledExpression:
    ((key, index),) = steps

    def run(data: Any) -> Any:
        kind = type(data)
        if kind is dict:
            return data.get(key)
        if kind is list and index is not None:
            return data[index] if 0 <= index < len(data) else None
        return access(data, steps)

    return run


def _compile_if(values: list[Any]) -> CompiledExpression:
    guard, then, else_ = (_compile(value) for value in values)

    def run(data: Any) -> Any:
        value = guard(data)
        if value is True:
            return then(data)
        if value is False or value is None:
            return else_(data)
        b = boolsiness(value)
        if b is True:
            return then(data)
        if b is False:
            return else_(data)
        raise guard_error(value)

    return run


def _compile_and(expr: Any, values: list[Any]) -> CompiledExpression:
    first, *rest = (_compile(value) for value in values)
    if len(rest) == 1:
        (second,) = rest

        def run_binary(data: Any) -> Any:
            value = first(data)
            if value is True:
                return second(data)
            b = boolsiness(value)
            if b is False:
                return value
            if b is None:
                raise CertLogicError(MSG_AND_NEITHER, expr)
            return second(data)

        return run_binary
    others = tuple(rest)

    def run(data: Any) -> Any:
        acc = first(data)
        for operand in others:
            if acc is not True:
                b = boolsiness(acc)
                if b is False:
                    return acc
                if b is None:
                    raise CertLogicError(MSG_AND_NEITHER, expr)
            acc = operand(data)
        return acc

    return run


def _compile_int_comparison(operator: str, values: list[Any]) -> CompiledExpression:
    compare = INT_COMPARISONS[operator]
    operands = tuple(_compile(value) for value in values)
    if len(operands) == 2:
        left, right = operands

        def run_binary(data: Any) -> Any:
            a = left(data)
            b = right(data)
            if type(a) is int and type(b) is int:
                return compare(a, b)
            return compare_ints(operator, (a, b))

        return run_binary
    first, second, third = operands

    def run_ternary(data: Any) -> Any:
        a = first(data)
        b = second(data)
        c = third(data)
        if type(a) is int and type(b) is int and type(c) is int:
            return compare(a, b) and compare(b, c)
        return compare_ints(operator, (a, b, c))

    return run_ternary


def _compile_date_comparison(operator: str, values: list[Any]) -> CompiledExpression:
    compare = DATE_COMPARISONS[operator]
    operands = tuple(_compile(value) for value in values)
    if len(operands) == 2:
        left, right = operands

        def run_binary(data: Any) -> Any:
            a = left(data)
            b = right(data)
            if type(a) is DateTime and type(b) is DateTime:
                x = a.epoch_ms
                y = b.epoch_ms
                return x is not None and y is not None and compare(x, y)
            return compare_dates(operator, (a, b))

        return run_binary
    first, second, third = operands

    def run_ternary(data: Any) -> Any:
        a = first(data)
        b = second(data)
        c = third(data)
        if type(a) is DateTime and type(b) is DateTime and type(c) is DateTime:
            x = a.epoch_ms
            y = b.epoch_ms
            z = c.epoch_ms
            if x is None or y is None or z is None:
                return False
            return compare(x, y) and compare(y, z)
        return compare_dates(operator, (a, b, c))

    return run_ternary


def _compile_equals(values: list[Any]) -> CompiledExpression:
    left_expr, right_expr = values
    if _is_scalar_literal(right_expr) and not _is_scalar_literal(left_expr):
        return _equals_literal(_compile(left_expr), right_expr)
    if _is_scalar_literal(left_expr) and not _is_scalar_literal(right_expr):
        return _equals_literal(_compile(right_expr), left_expr)
    left, right = _compile(left_expr), _compile(right_expr)

    def run(data: Any) -> Any:
        return strict_equals(left(data), right(data))

    return run


def _equals_literal(operand: CompiledExpression, literal: Any) -> CompiledExpression:
    if isinstance(literal, bool):

        def run_bool(data: Any) -> Any:
            return operand(data) is literal

        return run_bool
    if isinstance(literal, str):

        def run_str(data: Any) -> Any:
            value = operand(data)
            return isinstance(value, str) and value == literal

        return run_str

    def run_number(data: Any) -> Any:
        value = operand(data)
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value == literal

    return run_number


def _compile_in(values: list[Any]) -> CompiledExpression:
    needle_expr, haystack_expr = values
    needle = _compile(needle_expr)
    if isinstance(haystack_expr, list) and all(_is_scalar_literal(x) for x in haystack_expr):
        strings = frozenset(x for x in haystack_expr if isinstance(x, str))
        numbers = frozenset(
            x for x in haystack_expr if isinstance(x, (int, float)) and not isinstance(x, bool)
        )
        booleans = tuple(x for x in haystack_expr if isinstance(x, bool))
        if not numbers and not booleans:

            def run_strings(data: Any) -> Any:
                value = needle(data)
                return isinstance(value, str) and value in strings

            return run_strings

        def run_literals(data: Any) -> Any:
            value = needle(data)
            if isinstance(value, str):
                return value in strings
            if isinstance(value, bool):
                return value in booleans
            if isinstance(value, (int, float)):
                return value in numbers
            return False

        return run_literals
    haystack = _compile(haystack_expr)

    def run(data: Any) -> Any:
        value = needle(data)
        return member_of(value, haystack(data))

    return run


def _compile_plus(values: list[Any]) -> CompiledExpression:
    left, right = (_compile(value) for value in values)

    def run(data: Any) -> Any:
        a = left(data)
        b = right(data)
        if type(a) is int and type(b) is int:
            return a + b
        return add(a, b)

    return run


def _compile_not(values: list[Any]) -> CompiledExpression:
    operand = _compile(values[0])

    def run(data: Any) -> Any:
        value = operand(data)
        if value is True:
            return False
        if value is False or value is None:
            return True
        return negate(value)

    return run


def _compile_plus_time(values: list[Any]) -> CompiledExpression:
    date_expr, amount_value, unit = values
    amount = int(amount_value)
    if isinstance(date_expr, str):
        try:
            millis = plus_time_ms(date_expr, amount, unit)
        except CertLogicError as error:
            message = error.message

            def run_failing(_data: Any) -> Any:
                raise CertLogicError(message)

            return run_failing

        def run_literal(_data: Any) -> Any:
            return DateTime(millis)  # a fresh Date on every evaluation, as in JavaScript

        return run_literal
    operand = _compile(date_expr)
    if unit in ("day", "hour"):  # an exact duration: no calendar arithmetic needed
        delta = amount * (MS_PER_DAY if unit == "day" else MS_PER_HOUR)

        def run_duration(data: Any) -> Any:
            text = operand(data)
            if not isinstance(text, str):
                raise CertLogicError(MSG_PLUS_TIME_NOT_STRING)
            millis = plus_time_operand_ms(text)
            if millis is not None and delta:
                millis += delta
                if not -MAX_TIME_MS <= millis <= MAX_TIME_MS:
                    millis = None
            return DateTime(millis)

        return run_duration

    def run(data: Any) -> Any:
        text = operand(data)
        if not isinstance(text, str):
            raise CertLogicError(MSG_PLUS_TIME_NOT_STRING)
        return DateTime(plus_time_ms(text, amount, unit))

    return run


def _compile_reduce(expr: Any, values: list[Any]) -> CompiledExpression:
    operand, lambda_, initial = (_compile(value) for value in values)

    def run(data: Any) -> Any:
        array = operand(data)
        if array is None:
            return initial(data)
        if not isinstance(array, list):
            raise CertLogicError(MSG_REDUCE_NOT_ARRAY, expr)
        accumulator = initial(data)
        for current in array:
            accumulator = lambda_({"accumulator": accumulator, "current": current})
        return accumulator

    return run


def _compile_extract_from_uvci(values: list[Any]) -> CompiledExpression:
    operand = _compile(values[0])
    index = int(values[1])

    def run(data: Any) -> Any:
        return extract_from_uvci(operand(data), index)

    return run


def _compile_dcc_date_of_birth(values: list[Any]) -> CompiledExpression:
    operand = _compile(values[0])

    def run(data: Any) -> Any:
        return date_of_birth_of(operand(data))

    return run
