"""CertLogic format validator, message for message as certlogic-js ``validateFormat``.

``dccDateOfBirth`` (added in specification 1.3.0) is validated with the message that
certlogic-kotlin uses, certlogic-js's validator having no case for it.
"""

from __future__ import annotations

from typing import Any, Final

from zhikong.rules.certlogic.dates import TIME_UNITS
from zhikong.rules.certlogic.errors import ValidationIssue
from zhikong.rules.certlogic.values import is_int, js_to_string

__all__ = ["INFIX_OPERATORS", "OPERATORS", "validate"]

#: Operators of the "infix" family (``{op: [operand, ...]}`` with all operands evaluated).
INFIX_OPERATORS: Final = frozenset(
    {"===", "and", ">", "<", ">=", "<=", "in", "+", "after", "before", "not-after", "not-before"}
)
_COMPARISONS: Final = frozenset(
    {"<", ">", "<=", ">=", "after", "before", "not-after", "not-before"}
)
#: Every operator of CertLogic 1.3.3.
OPERATORS: Final = INFIX_OPERATORS | {
    "var",
    "if",
    "!",
    "plusTime",
    "reduce",
    "extractFromUVCI",
    "dccDateOfBirth",
}


def _validate_var(expr: Any, values: Any) -> list[ValidationIssue]:
    if not isinstance(values, str):
        return [ValidationIssue(expr, 'not of the form { "var": "<path>" }')]
    if values == "" or all(values.split(".")):
        return []
    return [ValidationIssue(expr, f"data access path doesn't have a valid format: {values}")]


def _validate_if(expr: Any, values: list[Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if len(values) != 3:
        issues.append(
            ValidationIssue(
                expr,
                f'an "if"-operation must have exactly 3 values/operands, but it has {len(values)}',
            )
        )
    for value in values[:3]:
        issues.extend(validate(value))
    return issues


def _validate_infix(expr: Any, operator: str, values: list[Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    n = len(values)
    max_operands = n
    if operator == "and":
        if n < 2:
            issues.append(
                ValidationIssue(
                    expr, f'an "and" operation must have at least 2 operands, but it has {n}'
                )
            )
    elif operator in _COMPARISONS:
        max_operands = 3
        if n < 2 or n > 3:
            issues.append(
                ValidationIssue(
                    expr,
                    f'an operation with operator "{operator}" must have 2 or 3 operands, '
                    f"but it has {n}",
                )
            )
    else:
        max_operands = 2
        if n != 2:
            issues.append(
                ValidationIssue(
                    expr,
                    f'an operation with operator "{operator}" must have 2 operands, but it has {n}',
                )
            )
    for value in values[:max_operands]:
        issues.extend(validate(value))
    return issues


def _validate_not(expr: Any, values: list[Any]) -> list[ValidationIssue]:
    if len(values) == 1:
        return validate(values[0])
    return [
        ValidationIssue(
            expr,
            "a !-operation (logical not/negation) must have exactly 1 operand, "
            f"but it has {len(values)}",
        )
    ]


def _validate_plus_time(expr: Any, values: list[Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if len(values) != 3:
        issues.append(
            ValidationIssue(
                expr,
                'a "plusTime"-operation must have exactly 3 values/operands, '
                f"but it has {len(values)}",
            )
        )
    if len(values) > 0:
        issues.extend(validate(values[0]))
    if len(values) > 1 and not is_int(values[1]):
        issues.append(
            ValidationIssue(
                expr,
                '"amount" argument (#2) of "plusTime" must be an integer, '
                f"but it is: {js_to_string(values[1])}",
            )
        )
    if len(values) > 2 and not (isinstance(values[2], str) and values[2] in TIME_UNITS):
        issues.append(
            ValidationIssue(
                expr,
                '"unit" argument (#3) of "plusTime" must be a string equal to one of '
                f"{', '.join(TIME_UNITS)}, but it is: {js_to_string(values[2])}",
            )
        )
    return issues


def _validate_reduce(expr: Any, values: list[Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if len(values) != 3:
        issues.append(
            ValidationIssue(
                expr,
                'a "reduce"-operation must have exactly 3 values/operands, '
                f"but it has {len(values)}",
            )
        )
    for value in values[:3]:
        issues.extend(validate(value))
    return issues


def _validate_extract_from_uvci(expr: Any, values: list[Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if len(values) != 2:
        issues.append(
            ValidationIssue(
                expr,
                'an "extractFromUVCI"-operation must have exactly 2 values/operands, '
                f"but it has {len(values)}",
            )
        )
    if len(values) > 0:
        issues.extend(validate(values[0]))
    if len(values) > 1 and not is_int(values[1]):
        issues.append(
            ValidationIssue(
                expr,
                '"index" argument (#2) of "extractFromUVCI" must be an integer, '
                f"but it is: {js_to_string(values[1])}",
            )
        )
    return issues


def _validate_dcc_date_of_birth(expr: Any, values: list[Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if len(values) != 1:
        issues.append(
            ValidationIssue(
                expr,
                'a "dccDateOfBirth"-operation must have exactly 1 value/operand, '
                f"but it has {len(values)}",
            )
        )
    if len(values) > 0:
        issues.extend(validate(values[0]))
    return issues


def validate(expression: Any) -> list[ValidationIssue]:
    """List the format problems of a CertLogic expression (an empty list means valid)."""
    expr = expression
    if isinstance(expr, (str, bool)) or is_int(expr):
        return []
    if isinstance(expr, (int, float)):
        return [ValidationIssue(expr, f"{js_to_string(expr)} is a non-integer number")]
    if expr is None:
        return [ValidationIssue(expr, "invalid CertLogic expression")]
    if isinstance(expr, list):
        issues: list[ValidationIssue] = []
        for item in expr:
            issues.extend(validate(item))
        return issues
    if isinstance(expr, dict):
        if len(expr) != 1:
            return [
                ValidationIssue(
                    expr, f"expression object must have exactly one key, but it has {len(expr)}"
                )
            ]
        ((operator, values),) = expr.items()
        if operator == "var":
            return _validate_var(expr, values)
        if not isinstance(values, list):
            return [
                ValidationIssue(expr, 'operation not of the form { "<operator>": [ <values...> ] }')
            ]
        if operator == "if":
            return _validate_if(expr, values)
        if operator in INFIX_OPERATORS:
            return _validate_infix(expr, operator, values)
        if operator == "!":
            return _validate_not(expr, values)
        if operator == "plusTime":
            return _validate_plus_time(expr, values)
        if operator == "reduce":
            return _validate_reduce(expr, values)
        if operator == "extractFromUVCI":
            return _validate_extract_from_uvci(expr, values)
        if operator == "dccDateOfBirth":
            return _validate_dcc_date_of_birth(expr, values)
        return [ValidationIssue(expr, f'unrecognised operator: "{operator}"')]
    return [ValidationIssue(expr, "invalid CertLogic expression")]
