"""Rule engines: CertLogic (the EU DCC rule language) and EU DCC business-rule evaluation."""

from zhikong.rules.certlogic import (
    SPECIFICATION_VERSION,
    CertLogicError,
    CompiledExpression,
    DateTime,
    Explanation,
    InvalidExpressionError,
    Labels,
    TraceNode,
    ValidationIssue,
    compile_expression,
    evaluate,
    explain,
    validate,
)

__all__ = [
    "SPECIFICATION_VERSION",
    "CertLogicError",
    "CompiledExpression",
    "DateTime",
    "Explanation",
    "InvalidExpressionError",
    "Labels",
    "TraceNode",
    "ValidationIssue",
    "compile_expression",
    "evaluate",
    "explain",
    "validate",
]
