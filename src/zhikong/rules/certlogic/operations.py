"""The operations of CertLogic on already-evaluated operands, shared by every evaluation mode.

The interpreter, the compiler and the explainer all call these functions (or inline exactly
the same checks), so that they agree on every value and on every error message.
"""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Sequence
from typing import Any, Final

from zhikong.rules.certlogic.dates import DateTime, dcc_date_of_birth, plus_time
from zhikong.rules.certlogic.errors import CertLogicError
from zhikong.rules.certlogic.values import (
    boolsiness,
    is_int,
    js_to_string,
    normalise_number,
    strict_equals,
)

INT_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": _op.lt,
    ">": _op.gt,
    "<=": _op.le,
    ">=": _op.ge,
}
#: after/before/not-after/not-before are >, <, <=, >= on date-times.
DATE_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "after": _op.gt,
    "before": _op.lt,
    "not-after": _op.le,
    "not-before": _op.ge,
}

MSG_NOT_INT_COMPARISON: Final = "all operands of a comparison operation must be of integer type"
MSG_NOT_DATE_COMPARISON: Final = "all operands of a date-time comparison must be date-times"
MSG_IN_NOT_ARRAY: Final = 'right-hand side of an "in" operation must be an array'
MSG_PLUS_NOT_INTS: Final = "operands of this operation must both be integers"
MSG_AND_NEITHER: Final = 'all operands of an "and" operation must be either truthy or falsy'
MSG_REDUCE_NOT_ARRAY: Final = "operand of reduce evaluated to a non-null non-array"
MSG_PLUS_TIME_NOT_STRING: Final = 'date argument of "plusTime" must be a string'
MSG_UVCI_OPERAND: Final = (
    '"UVCI" argument (#1) of "extractFromUVCI" must be either a string or null'
)
MSG_UVCI_INDEX: Final = '"index" argument (#2) of "extractFromUVCI" must be an integer'
MSG_DOB_NOT_STRING: Final = 'operand of "dccDateOfBirth" must be a string'
MSG_VAR_FORM: Final = 'not of the form { "var": "<path>" }'
MSG_OPERATION_FORM: Final = 'operation not of the form { "<operator>": [ <values...> ] }'


def guard_error(value: Any) -> CertLogicError:
    """The error for an ``if`` guard that is neither truthy nor falsy."""
    return CertLogicError(
        f"if-guard evaluates to something neither truthy, nor falsy: {js_to_string(value)}"
    )


def not_error(value: Any) -> CertLogicError:
    """The error for a ``!`` operand that is neither truthy nor falsy."""
    return CertLogicError(
        f"operand of ! evaluates to something neither truthy, nor falsy: {js_to_string(value)}"
    )


def negate(value: Any) -> bool:
    """The ``!`` operation: true for falsy, false for truthy, error otherwise."""
    b = boolsiness(value)
    if b is None:
        raise not_error(value)
    return not b


def compare_ints(operator: str, values: Sequence[Any]) -> bool:
    """``<``, ``>``, ``<=``, ``>=`` in binary or ternary ("between") form on integers."""
    for value in values:
        if not is_int(value):
            raise CertLogicError(MSG_NOT_INT_COMPARISON)
    compare = INT_COMPARISONS[operator]
    if len(values) == 2:
        return compare(values[0], values[1])
    return compare(values[0], values[1]) and compare(values[1], values[2])


def compare_dates(operator: str, values: Sequence[Any]) -> bool:
    """``after``, ``before``, ``not-after``, ``not-before``; Invalid Dates compare false."""
    millis: list[int | None] = []
    for value in values:
        if not isinstance(value, DateTime):
            raise CertLogicError(MSG_NOT_DATE_COMPARISON)
        millis.append(value.epoch_ms)
    compare = DATE_COMPARISONS[operator]

    def pair(left: int | None, right: int | None) -> bool:
        return left is not None and right is not None and compare(left, right)

    if len(millis) == 2:
        return pair(millis[0], millis[1])
    return pair(millis[0], millis[1]) and pair(millis[1], millis[2])


def member_of(value: Any, array: Any) -> bool:
    """The ``in`` operation: strict-equality membership in an array."""
    if not isinstance(array, list):
        raise CertLogicError(MSG_IN_NOT_ARRAY)
    return any(strict_equals(value, item) for item in array)


def add(left: Any, right: Any) -> int | float:
    """The ``+`` operation on two integers."""
    if not (is_int(left) and is_int(right)):
        raise CertLogicError(MSG_PLUS_NOT_INTS)
    return normalise_number(left + right)


def plus_time_of(date_text: Any, amount: int, unit: str) -> DateTime:
    """``plusTime`` on an evaluated date operand."""
    if not isinstance(date_text, str):
        raise CertLogicError(MSG_PLUS_TIME_NOT_STRING)
    return plus_time(date_text, amount, unit)


def date_of_birth_of(value: Any) -> DateTime:
    """``dccDateOfBirth`` on an evaluated operand."""
    if not isinstance(value, str):
        raise CertLogicError(MSG_DOB_NOT_STRING)
    return dcc_date_of_birth(value)


_UVCI_PREFIX: Final = "URN:UVCI:"


def extract_from_uvci(uvci: Any, index: Any) -> str | None:
    """The fragment at ``index`` of a UVCI split on ``/``, ``#`` and ``:``, or None."""
    if not (uvci is None or isinstance(uvci, str)):
        raise CertLogicError(MSG_UVCI_OPERAND)
    if not is_int(index):
        raise CertLogicError(MSG_UVCI_INDEX)
    index = int(index)
    if uvci is None or index < 0:
        return None
    if uvci.startswith(_UVCI_PREFIX):
        uvci = uvci[len(_UVCI_PREFIX) :]
    # the same as splitting on /[/#:]/, only faster
    fragments = uvci.replace("#", "/").replace(":", "/").split("/")
    return fragments[index] if index < len(fragments) else None
