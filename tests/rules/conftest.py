"""Helpers for the rule-engine tests: strict JSON equality and the three evaluation modes.

The project runs pytest with ``--import-mode=importlib``, so test modules cannot import a
sibling helper module; the helpers reach them through the session fixture ``support``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from zhikong.rules.certlogic import CertLogicError, DateTime, compile_expression, evaluate, explain

MODES: dict[str, Callable[[Any, Any], Any]] = {
    "interpreter": evaluate,
    "compiled": lambda expression, data: compile_expression(expression)(data),
    "explain": lambda expression, data: explain(expression, data).result,
}


def json_equal(left: Any, right: Any) -> bool:
    """Deep equality as JSON means it: ``True`` is not ``1``, ``1`` is ``1.0``.

    Date-times are equal when they denote the same instant (or are both invalid).
    """
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return bool(left == right)
    if isinstance(left, DateTime) and isinstance(right, DateTime):
        return left.epoch_ms == right.epoch_ms
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)


def outcome(function: Callable[[Any, Any], Any], expression: Any, data: Any) -> tuple[str, Any]:
    """``("value", result)`` or ``("error", message)`` for a CertLogicError."""
    try:
        return ("value", function(expression, data))
    except CertLogicError as error:
        return ("error", error.message)


def same_outcome(left: tuple[str, Any], right: tuple[str, Any]) -> bool:
    """Whether two outcomes are the same value (strictly) or the same error message."""
    if left[0] != right[0]:
        return False
    if left[0] == "error":
        return bool(left[1] == right[1])
    return json_equal(left[1], right[1])


class Support:
    """The helpers above, handed to tests by the ``support`` fixture."""

    modes = MODES
    json_equal = staticmethod(json_equal)
    outcome = staticmethod(outcome)
    same_outcome = staticmethod(same_outcome)


@pytest.fixture(scope="session")
def support() -> Support:
    """Strict JSON equality, outcomes and the evaluation modes."""
    return Support()
