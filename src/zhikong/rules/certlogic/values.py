"""CertLogic value semantics on the JSON data model, as JavaScript (certlogic-js) defines them.

Values are what ``json.loads`` produces (``None``, ``bool``, ``int``, ``float``, ``str``,
``list``, ``dict``) plus :class:`~zhikong.rules.certlogic.dates.DateTime` for date-times.
JavaScript has a single number type, so ``1`` and ``1.0`` are the same integer here too, while
``True`` is never a number (Python's ``True == 1`` must not leak in).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from zhikong.rules.certlogic.dates import DateTime

__all__ = [
    "access",
    "boolsiness",
    "compile_path",
    "is_falsy",
    "is_int",
    "is_number",
    "is_truthy",
    "js_number_to_str",
    "js_parse_int",
    "js_to_string",
    "normalise_number",
    "strict_equals",
]


def is_number(value: Any) -> bool:
    """Whether ``value`` is a JavaScript number (``typeof value === "number"``)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer number (JS ``Number.isInteger``); booleans are not."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def normalise_number(value: int | float) -> int | float:
    """Return an integer-valued float as ``int`` (JS has no int/float distinction)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def is_truthy(value: Any) -> bool:
    """CertLogic truthiness: true, non-empty string/array/object, non-zero number."""
    return boolsiness(value) is True


def is_falsy(value: Any) -> bool:
    """CertLogic falsiness: false, null, "", 0, [] and {}."""
    return boolsiness(value) is False


def boolsiness(value: Any) -> bool | None:
    """Return ``True`` for truthy, ``False`` for falsy and ``None`` for neither."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    if isinstance(value, (int, float)):
        # JS: `value !== 0` is truthy, so NaN is truthy too.
        return value != 0
    return None


def strict_equals(left: Any, right: Any) -> bool:
    """JavaScript ``===``: by value for strings, numbers, booleans and null; by identity else."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return bool(left == right)
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left is right


_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_PARSE_INT_RE: Final = re.compile("[" + re.escape(_JS_WHITESPACE) + "]*([+-]?[0-9]+)")


def js_parse_int(text: str) -> int | None:
    """JavaScript ``parseInt(text, 10)``; ``None`` stands for ``NaN``."""
    match = _PARSE_INT_RE.match(text)
    if match is None:
        return None
    return int(match.group(1))


def js_number_to_str(value: int | float) -> str:
    """JavaScript ``Number.prototype.toString()`` of a number."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).as_tuple()
    digits = "".join(str(d) for d in digit_tuple).rstrip("0") or "0"
    assert isinstance(exponent, int)
    k = len(digits)
    n = exponent + len(digit_tuple)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = ("+" if e >= 0 else "-") + str(abs(e))
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return sign + mantissa + "e" + exp


def js_to_string(value: Any) -> str:
    """JavaScript ``String(value)`` as used in template literals of error messages."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return js_number_to_str(value)
    if isinstance(value, list):
        return ",".join("" if item is None else js_to_string(item) for item in value)
    if isinstance(value, DateTime):
        return value.iso()
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


#: One step of a compiled ``var`` path: the key to use on objects, the index to use on arrays.
PathStep = tuple[str, int | None]


@lru_cache(maxsize=2048)
def compile_path(path: str) -> tuple[PathStep, ...]:
    """Pre-compute the steps of a non-empty ``var`` path exactly as certlogic-js reads them.

    certlogic-js does ``index = parseInt(fragment, 10)`` and then ``acc[fragment]`` if that is
    NaN, else ``acc[index]``. On an object ``acc[index]`` reads the key ``String(index)``.
    """
    steps: list[PathStep] = []
    for fragment in path.split("."):
        index = js_parse_int(fragment)
        if index is None:
            steps.append((fragment, None))
        else:
            key = js_number_to_str(index) if abs(index) >= 2**53 else str(index)
            steps.append((key, index))
    return tuple(steps)


def access(data: Any, steps: tuple[PathStep, ...]) -> Any:
    """Drill into ``data`` along compiled path steps; anything missing yields ``None``.

    Only objects and arrays can be drilled into (strings, numbers and booleans yield null,
    unlike JavaScript, whose prototypes would leak ``"foo".length`` or ``"foo"[0]``).
    Array indices must be within ``0 <= index < len``: there is no Python negative indexing.
    """
    acc = data
    for key, index in steps:
        if isinstance(acc, dict):
            acc = acc.get(key)
        elif isinstance(acc, list):
            if index is None or not 0 <= index < len(acc):
                return None
            acc = acc[index]
        else:
            return None
    return acc
