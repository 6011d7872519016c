"""CertLogic 1.3.3: a pure rule engine for EU DCC business rules and health-code policies.

``evaluate`` interprets an expression, ``compile_expression`` validates it once and returns
a fast callable with identical results, ``validate`` lists format problems exactly as
certlogic-js does, and ``explain`` returns the result with the trace that decided it.
See ``docs/certlogic.md``.
"""

from zhikong.rules.certlogic.compiler import CompiledExpression, compile_expression
from zhikong.rules.certlogic.dates import (
    TIME_UNITS,
    DateTime,
    date_time_from_string,
    dcc_date_of_birth,
    plus_time,
)
from zhikong.rules.certlogic.errors import (
    CertLogicError,
    InvalidExpressionError,
    ValidationIssue,
)
from zhikong.rules.certlogic.evaluator import evaluate
from zhikong.rules.certlogic.explain import Explanation, Labels, Language, TraceNode, explain
from zhikong.rules.certlogic.validator import OPERATORS, validate
from zhikong.rules.certlogic.values import boolsiness, is_falsy, is_truthy, strict_equals

#: The version of the CertLogic specification this engine implements.
SPECIFICATION_VERSION = "1.3.3"

__all__ = [
    "OPERATORS",
    "SPECIFICATION_VERSION",
    "TIME_UNITS",
    "CertLogicError",
    "CompiledExpression",
    "DateTime",
    "Explanation",
    "InvalidExpressionError",
    "Labels",
    "Language",
    "TraceNode",
    "ValidationIssue",
    "boolsiness",
    "compile_expression",
    "date_time_from_string",
    "dcc_date_of_birth",
    "evaluate",
    "explain",
    "is_falsy",
    "is_truthy",
    "plus_time",
    "strict_equals",
    "validate",
]
