"""Errors raised by the CertLogic engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found by the validator: the offending sub-expression and a message."""

    expr: Any
    message: str


class CertLogicError(ValueError):
    """Evaluation threw, as the specification says it must (invalid expression or operand)."""

    def __init__(self, message: str, expr: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.expr = expr


class InvalidExpressionError(CertLogicError):
    """An expression failed validation, so it cannot be compiled."""

    def __init__(self, issues: Sequence[ValidationIssue], expr: Any = None) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        first = self.issues[0].message if self.issues else "invalid CertLogic expression"
        more = f" (and {len(self.issues) - 1} more issue(s))" if len(self.issues) > 1 else ""
        super().__init__(f"invalid CertLogic expression: {first}{more}", expr)
