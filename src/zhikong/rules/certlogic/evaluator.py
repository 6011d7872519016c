"""The CertLogic 1.3.3 interpreter: walks the expression tree on every evaluation.

It mirrors certlogic-js ``evaluate``: it does not run the validator first, checks each
operation's form just before evaluating it, and throws :class:`CertLogicError` exactly where
the reference implementation throws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from zhikong.rules.certlogic.dates import TIME_UNITS
from zhikong.rules.certlogic.errors import CertLogicError
from zhikong.rules.certlogic.operations import (
    DATE_COMPARISONS,
    INT_COMPARISONS,
    MSG_AND_NEITHER,
    MSG_OPERATION_FORM,
    MSG_REDUCE_NOT_ARRAY,
    MSG_VAR_FORM,
    add,
    compare_dates,
    compare_ints,
    date_of_birth_of,
    extract_from_uvci,
    guard_error,
    member_of,
    negate,
    plus_time_of,
)
from zhikong.rules.certlogic.values import (
    access,
    boolsiness,
    compile_path,
    is_int,
    js_to_string,
    strict_equals,
)

__all__ = ["evaluate"]


def evaluate(expression: Any, data: Any) -> Any:
    """Evaluate a CertLogic expression against a data context (CertLogic 1.3.3 semantics)."""
    return _evaluate(expression, data)


def _evaluate(expr: Any, data: Any) -> Any:
    if isinstance(expr, (str, bool)) or is_int(expr):
        return expr
    if isinstance(expr, list):
        return [_evaluate(item, data) for item in expr]
    if isinstance(expr, dict):
        if len(expr) != 1:
            raise CertLogicError("unrecognised expression object encountered", expr)
        ((operator, values),) = expr.items()
        if operator == "var":
            return _evaluate_var(expr, values, data)
        if not (isinstance(values, list) and len(values) > 0):
            raise CertLogicError(MSG_OPERATION_FORM, expr)
        handler = _HANDLERS.get(operator)
        if handler is None:
            raise CertLogicError(f'unrecognised operator: "{operator}"', expr)
        return handler(expr, operator, values, data)
    raise CertLogicError(f"invalid CertLogic expression: {js_to_string(expr)}", expr)


def _evaluate_var(expr: Any, path: Any, data: Any) -> Any:
    if not isinstance(path, str):
        raise CertLogicError(MSG_VAR_FORM, expr)
    if path == "":
        return data
    return access(data, compile_path(path))


def _evaluate_if(expr: Any, _operator: str, values: list[Any], data: Any) -> Any:
    # (values is never empty here, so the guard is always present)
    if len(values) < 2:
        raise CertLogicError("an if-operation must have a then (argument #2)", expr)
    if len(values) < 3:
        raise CertLogicError("an if-operation must have an else (argument #3)", expr)
    guard = _evaluate(values[0], data)
    b = boolsiness(guard)
    if b is True:
        return _evaluate(values[1], data)
    if b is False:
        return _evaluate(values[2], data)
    raise guard_error(guard)


def _check_infix_arity(expr: Any, operator: str, n: int) -> None:
    if operator == "and":
        if n < 2:
            raise CertLogicError('an "and" operation must have at least 2 operands', expr)
    elif operator in INT_COMPARISONS or operator in DATE_COMPARISONS:
        if n < 2 or n > 3:
            raise CertLogicError(
                f'an operation with operator "{operator}" must have 2 or 3 operands', expr
            )
    elif n != 2:
        raise CertLogicError(f'an operation with operator "{operator}" must have 2 operands', expr)


def _evaluate_infix(expr: Any, operator: str, values: list[Any], data: Any) -> Any:
    _check_infix_arity(expr, operator, len(values))
    if operator == "and":
        acc: Any = True
        for operand in values:
            b = boolsiness(acc)
            if b is False:
                return acc
            if b is None:
                raise CertLogicError(MSG_AND_NEITHER, expr)
            acc = _evaluate(operand, data)
        return acc
    args = [_evaluate(operand, data) for operand in values]
    if operator == "===":
        return strict_equals(args[0], args[1])
    if operator == "in":
        return member_of(args[0], args[1])
    if operator == "+":
        return add(args[0], args[1])
    if operator in INT_COMPARISONS:
        return compare_ints(operator, args)
    return compare_dates(operator, args)


def _evaluate_not(_expr: Any, _operator: str, values: list[Any], data: Any) -> Any:
    return negate(_evaluate(values[0], data))


def _evaluate_plus_time(expr: Any, _operator: str, values: list[Any], data: Any) -> Any:
    amount: Any = values[1] if len(values) > 1 else None
    unit = values[2] if len(values) > 2 else None
    if not is_int(amount):
        raise CertLogicError('"amount" argument (#2) of "plusTime" must be an integer', expr)
    if not (isinstance(unit, str) and unit in TIME_UNITS):
        raise CertLogicError(
            '"unit" argument (#3) of "plusTime" must be a string with one of the time units: '
            + ", ".join(TIME_UNITS),
            expr,
        )
    return plus_time_of(_evaluate(values[0], data), int(amount), unit)


def _evaluate_reduce(expr: Any, _operator: str, values: list[Any], data: Any) -> Any:
    if len(values) < 3:
        raise CertLogicError(
            f'a "reduce"-operation must have exactly 3 values/operands, but it has {len(values)}',
            expr,
        )
    operand = _evaluate(values[0], data)
    if operand is None:
        return _evaluate(values[2], data)
    if not isinstance(operand, list):
        raise CertLogicError(MSG_REDUCE_NOT_ARRAY, expr)
    lambda_ = values[1]
    accumulator = _evaluate(values[2], data)
    for current in operand:
        accumulator = _evaluate(lambda_, {"accumulator": accumulator, "current": current})
    return accumulator


def _evaluate_extract_from_uvci(_expr: Any, _operator: str, values: list[Any], data: Any) -> Any:
    uvci = _evaluate(values[0], data)
    return extract_from_uvci(uvci, values[1] if len(values) > 1 else None)


def _evaluate_dcc_date_of_birth(_expr: Any, _operator: str, values: list[Any], data: Any) -> Any:
    return date_of_birth_of(_evaluate(values[0], data))


_Handler = Callable[[Any, str, list[Any], Any], Any]
_HANDLERS: Final[dict[str, _Handler]] = {
    "if": _evaluate_if,
    **dict.fromkeys(
        (
            "===",
            "and",
            ">",
            "<",
            ">=",
            "<=",
            "in",
            "+",
            "after",
            "before",
            "not-after",
            "not-before",
        ),
        _evaluate_infix,
    ),
    "!": _evaluate_not,
    "plusTime": _evaluate_plus_time,
    "reduce": _evaluate_reduce,
    "extractFromUVCI": _evaluate_extract_from_uvci,
    "dccDateOfBirth": _evaluate_dcc_date_of_birth,
}
