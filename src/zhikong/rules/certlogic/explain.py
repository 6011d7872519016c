"""Explain a CertLogic evaluation: the result plus the sub-expressions that decided it.

:func:`explain` evaluates like :func:`~zhikong.rules.certlogic.evaluate` (same values, same
errors) while recording a tree of :class:`TraceNode`. Only what decided the result is kept:
for ``if`` the guard and the chosen branch, for ``and`` the first falsy operand (or all of
them when none is falsy), for comparisons, ``in``, ``===`` and ``+`` every operand with its
value. :meth:`Explanation.summary` turns that tree into one sentence a resident can read, in
Chinese or English, using optional human labels for data paths and values::

    你的健康码为黄码，因为：症状 fever 属于 [fever, cough]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from zhikong.rules.certlogic.dates import TIME_UNITS, DateTime
from zhikong.rules.certlogic.errors import CertLogicError
from zhikong.rules.certlogic.evaluator import evaluate
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
    js_number_to_str,
    js_to_string,
    strict_equals,
)

__all__ = ["Explanation", "Labels", "Language", "TraceNode", "explain"]

Language = Literal["zh", "en"]


@dataclass(frozen=True)
class TraceNode:
    """One evaluated sub-expression and the sub-expressions that decided its value.

    ``operator`` is the CertLogic operator, or ``"literal"`` / ``"array"`` for literals.
    ``role`` says what the node is to its parent (``guard``, ``then``, ``else``, ``operand``).
    ``params`` holds the non-evaluated arguments (``plusTime`` amount and unit,
    ``extractFromUVCI`` index); ``path`` the data path of a ``var``.
    """

    expression: Any
    operator: str
    value: Any
    children: tuple[TraceNode, ...] = ()
    role: str = "operand"
    path: str | None = None
    params: tuple[Any, ...] = ()

    def walk(self) -> Iterator[TraceNode]:
        """Yield this node and all its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Labels:
    """Human labels: data path → {lang: text}, value → {lang: text}, and the subject.

    Values are looked up by their text (strings as they are, other scalars as JSON, e.g.
    ``"true"``). ``subject`` names what the result is, e.g. ``{"zh": "你的健康码"}``.
    """

    paths: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    subject: Mapping[str, str] = field(default_factory=dict)


_NO_LABELS: Final = Labels()
_BOOLEAN_OPERATORS: Final = frozenset(
    {"!", "and", "===", "in", *INT_COMPARISONS, *DATE_COMPARISONS}
)
_TEXT: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "subject": "结果",
        "is": "为",
        "because": "，因为：",
        "sep": "；",
        "and": "，且 ",
        "true": "是",
        "false": "否",
        "null": "空",
        "invalid_date": "无效日期",
        "data": "数据",
        "missing": "缺失或为空",
        "present": "存在",
        "none": "（无）",
        "holds": "成立",
        "fails": "不成立",
        "guard": "条件",
        "then": "则",
        "else": "否则",
    },
    "en": {
        "subject": "The result",
        "is": " is ",
        "because": " because: ",
        "sep": "; ",
        "and": " and ",
        "true": "true",
        "false": "false",
        "null": "null",
        "invalid_date": "Invalid Date",
        "data": "data",
        "missing": "is missing or empty",
        "present": "is present",
        "none": " (none)",
        "holds": "holds",
        "fails": "does not hold",
        "guard": "if",
        "then": "then",
        "else": "else",
    },
}
#: operator → (phrase when it holds, phrase when it does not), per language.
_RELATIONS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "zh": {
        "in": ("属于", "不属于"),
        "===": ("等于", "不等于"),
        "<": ("小于", "不小于"),
        ">": ("大于", "不大于"),
        "<=": ("不大于", "大于"),
        ">=": ("不小于", "小于"),
        "before": ("早于", "不早于"),
        "after": ("晚于", "不晚于"),
        "not-after": ("不晚于", "晚于"),
        "not-before": ("不早于", "早于"),
    },
    "en": {
        "in": ("is in", "is not in"),
        "===": ("equals", "does not equal"),
        "<": ("is less than", "is not less than"),
        ">": ("is greater than", "is not greater than"),
        "<=": ("is at most", "is greater than"),
        ">=": ("is at least", "is less than"),
        "before": ("is before", "is not before"),
        "after": ("is after", "is not after"),
        "not-after": ("is not after", "is after"),
        "not-before": ("is not before", "is before"),
    },
}
_UNITS_ZH: Final = {"year": "年", "month": "个月", "day": "天", "hour": "小时"}


@dataclass(frozen=True)
class Explanation:
    """The result of an evaluation and the trace of what decided it."""

    result: Any
    trace: TraceNode

    def reasons(self, lang: Language = "zh", labels: Labels | None = None) -> list[str]:
        """The conditions that decided the result, one phrase each."""
        return _Renderer(lang, labels or _NO_LABELS).reasons(self.trace)

    def summary(self, lang: Language = "zh", labels: Labels | None = None) -> str:
        """One sentence: the result and, if any, the conditions that decided it."""
        renderer = _Renderer(lang, labels or _NO_LABELS)
        text = _TEXT[lang]
        subject = renderer.labels.subject.get(lang, text["subject"])
        sentence = f"{subject}{text['is']}{renderer.value(self.result)}"
        reasons = renderer.reasons(self.trace)
        if reasons:
            sentence += text["because"] + text["sep"].join(reasons)
        return sentence

    def render(self, lang: Language = "zh", labels: Labels | None = None) -> list[str]:
        """The summary sentence followed by the decision tree, one indented line per node."""
        renderer = _Renderer(lang, labels or _NO_LABELS)
        return [self.summary(lang, labels), *renderer.tree(self.trace, 0)]


def explain(expression: Any, data: Any) -> Explanation:
    """Evaluate a CertLogic expression and record the sub-expressions that decided it."""
    trace = _trace(expression, data, "operand")
    return Explanation(trace.value, trace)


# --- tracing evaluation (mirrors evaluator.py) ---------------------------------------------


def _trace(expr: Any, data: Any, role: str) -> TraceNode:
    if isinstance(expr, (str, bool)) or is_int(expr):
        return TraceNode(expr, "literal", expr, role=role)
    if isinstance(expr, list):
        items = tuple(_trace(item, data, "item") for item in expr)
        return TraceNode(expr, "array", [item.value for item in items], items, role)
    if isinstance(expr, dict):
        if len(expr) != 1:
            raise CertLogicError("unrecognised expression object encountered", expr)
        ((operator, values),) = expr.items()
        if operator == "var":
            if not isinstance(values, str):
                raise CertLogicError(MSG_VAR_FORM, expr)
            value = data if values == "" else access(data, compile_path(values))
            return TraceNode(expr, "var", value, role=role, path=values)
        if not (isinstance(values, list) and len(values) > 0):
            raise CertLogicError(MSG_OPERATION_FORM, expr)
        if operator == "if":
            return _trace_if(expr, values, data, role)
        if operator in _BOOLEAN_OPERATORS or operator == "+":
            return _trace_infix(expr, operator, values, data, role)
        if operator == "plusTime":
            return _trace_plus_time(expr, values, data, role)
        if operator == "reduce":
            return _trace_reduce(expr, values, data, role)
        if operator == "extractFromUVCI":
            operand = _trace(values[0], data, "operand")
            index = values[1] if len(values) > 1 else None
            value = extract_from_uvci(operand.value, index)
            return TraceNode(expr, operator, value, (operand,), role, params=(index,))
        if operator == "dccDateOfBirth":
            operand = _trace(values[0], data, "operand")
            return TraceNode(expr, operator, date_of_birth_of(operand.value), (operand,), role)
        raise CertLogicError(f'unrecognised operator: "{operator}"', expr)
    raise CertLogicError(f"invalid CertLogic expression: {js_to_string(expr)}", expr)


def _trace_if(expr: Any, values: list[Any], data: Any, role: str) -> TraceNode:
    if len(values) < 2:
        raise CertLogicError("an if-operation must have a then (argument #2)", expr)
    if len(values) < 3:
        raise CertLogicError("an if-operation must have an else (argument #3)", expr)
    guard = _trace(values[0], data, "guard")
    b = boolsiness(guard.value)
    if b is None:
        raise guard_error(guard.value)
    branch = _trace(values[1], data, "then") if b else _trace(values[2], data, "else")
    return TraceNode(expr, "if", branch.value, (guard, branch), role)


def _trace_infix(expr: Any, operator: str, values: list[Any], data: Any, role: str) -> TraceNode:
    n = len(values)
    if operator == "!":
        operand = _trace(values[0], data, "operand")
        return TraceNode(expr, operator, negate(operand.value), (operand,), role)
    if operator == "and":
        if n < 2:
            raise CertLogicError('an "and" operation must have at least 2 operands', expr)
        evaluated: list[TraceNode] = []
        for operand_expr in values:
            if evaluated:
                b = boolsiness(evaluated[-1].value)
                if b is False:
                    last = evaluated[-1]
                    return TraceNode(expr, operator, last.value, (last,), role)
                if b is None:
                    raise CertLogicError(MSG_AND_NEITHER, expr)
            evaluated.append(_trace(operand_expr, data, "operand"))
        last = evaluated[-1]
        # the last operand decides alone when it is falsy; otherwise all of them decided
        deciding = (last,) if boolsiness(last.value) is False else tuple(evaluated)
        return TraceNode(expr, operator, last.value, deciding, role)
    if operator in INT_COMPARISONS or operator in DATE_COMPARISONS:
        if n < 2 or n > 3:
            raise CertLogicError(
                f'an operation with operator "{operator}" must have 2 or 3 operands', expr
            )
    elif n != 2:
        raise CertLogicError(f'an operation with operator "{operator}" must have 2 operands', expr)
    operands = tuple(_trace(value, data, "operand") for value in values)
    args = [operand.value for operand in operands]
    if operator == "===":
        value: Any = strict_equals(args[0], args[1])
    elif operator == "in":
        value = member_of(args[0], args[1])
    elif operator == "+":
        value = add(args[0], args[1])
    elif operator in INT_COMPARISONS:
        value = compare_ints(operator, args)
    else:
        value = compare_dates(operator, args)
    return TraceNode(expr, operator, value, operands, role)


def _trace_plus_time(expr: Any, values: list[Any], data: Any, role: str) -> TraceNode:
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
    operand = _trace(values[0], data, "operand")
    value = plus_time_of(operand.value, int(amount), unit)
    return TraceNode(expr, "plusTime", value, (operand,), role, params=(int(amount), unit))


def _trace_reduce(expr: Any, values: list[Any], data: Any, role: str) -> TraceNode:
    if len(values) < 3:
        raise CertLogicError(
            f'a "reduce"-operation must have exactly 3 values/operands, but it has {len(values)}',
            expr,
        )
    operand = _trace(values[0], data, "operand")
    if operand.value is None:
        initial = _trace(values[2], data, "initial")
        return TraceNode(expr, "reduce", initial.value, (operand, initial), role)
    if not isinstance(operand.value, list):
        raise CertLogicError(MSG_REDUCE_NOT_ARRAY, expr)
    initial = _trace(values[2], data, "initial")
    accumulator = initial.value
    for current in operand.value:
        accumulator = evaluate(values[1], {"accumulator": accumulator, "current": current})
    return TraceNode(expr, "reduce", accumulator, (operand, initial), role)


# --- rendering ------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, lang: Language, labels: Labels) -> None:
        if lang not in _TEXT:
            raise ValueError(f"unsupported language: {lang!r}")
        self.lang = lang
        self.labels = labels
        self.text = _TEXT[lang]

    def value(self, value: Any) -> str:
        """A value as a resident reads it, using the value labels where given."""
        key = value if isinstance(value, str) else _json_text(value)
        if key is not None:
            label = self.labels.values.get(key, {}).get(self.lang)
            if label is not None:
                return label
        if isinstance(value, str):
            return value
        if value is True:
            return self.text["true"]
        if value is False:
            return self.text["false"]
        if value is None:
            return self.text["null"]
        if isinstance(value, (int, float)):
            return js_number_to_str(value)
        if isinstance(value, DateTime):
            return value.iso() if value.is_valid else self.text["invalid_date"]
        if isinstance(value, list):
            return "[" + ", ".join(self.value(item) for item in value) + "]"
        return json.dumps(value, ensure_ascii=False, default=str)

    def path(self, path: str) -> str:
        if path == "":
            return self.text["data"]
        return self.labels.paths.get(path, {}).get(self.lang, path)

    def describe(self, node: TraceNode) -> str:
        """An operand: what it is and what it evaluated to."""
        op = node.operator
        if op in ("literal", "array"):
            return self.value(node.value)
        if op == "var":
            label = self.path(node.path or "")
            if node.value is None:
                return label + self.text["none"]
            if isinstance(node.value, dict):
                return label
            return f"{label} {self.value(node.value)}"
        if op == "plusTime":
            return self._describe_plus_time(node)
        if op == "dccDateOfBirth":
            base = self.describe(node.children[0])
            date = self.value(node.value)
            return f"{base}（按 {date} 计）" if self.lang == "zh" else f"{base} (taken as {date})"
        if op == "+":
            left, right = (self.describe(child) for child in node.children)
            result = self.value(node.value)
            suffix = f"（= {result}）" if self.lang == "zh" else f" (= {result})"
            return f"{left} + {right}{suffix}"
        if op == "reduce":
            base = self.describe(node.children[0])
            result = self.value(node.value)
            if self.lang == "zh":
                return f"对 {base} 归约的结果 {result}"
            return f"the reduction of {base}: {result}"
        if op == "extractFromUVCI":
            base = self.describe(node.children[0])
            index = js_to_string(node.params[0])
            result = self.value(node.value)
            if self.lang == "zh":
                return f"{base} 的第 {index} 段 {result}"
            return f"fragment {index} of {base}: {result}"
        if op == "if":
            return self.describe(node.children[1])
        conditions = self.conditions(node)
        if self.lang == "zh":
            return "（" + self.text["sep"].join(conditions) + "）"
        return "(" + self.text["sep"].join(conditions) + ")"

    def _describe_plus_time(self, node: TraceNode) -> str:
        (operand,) = node.children
        amount, unit = node.params
        base = self.describe(operand)
        if amount == 0:
            return base if operand.operator != "literal" else self.value(node.value)
        moment = self.value(node.value)
        if self.lang == "zh":
            sign = "加" if amount > 0 else "减"
            return f"{base} {sign} {abs(amount)} {_UNITS_ZH[unit]}（即 {moment}）"
        sign = "plus" if amount > 0 else "minus"
        plural = "" if abs(amount) == 1 else "s"
        return f"{base} {sign} {abs(amount)} {unit}{plural} (= {moment})"

    def conditions(self, node: TraceNode) -> list[str]:
        """Why a node has the truth value it has, as phrases over its deciding operands."""
        op = node.operator
        if op == "!":
            return self.conditions(node.children[0])
        if op == "and":
            return [phrase for child in node.children for phrase in self.conditions(child)]
        if op == "if":
            return self.conditions(node.children[0]) + self.conditions(node.children[1])
        if op == "literal":
            return []
        holds = boolsiness(node.value) is True
        relations = _RELATIONS[self.lang]
        if op in relations:
            return [self._relation(node, holds)]
        if op == "var":
            label = self.path(node.path or "")
            if not holds:
                return [f"{label} {self.text['missing']}"]
            if isinstance(node.value, (dict, list)):
                return [f"{label} {self.text['present']}"]
            return [f"{label} {self.text['is'].strip()} {self.value(node.value)}"]
        return [f"{self.describe(node)} {self.text['holds' if holds else 'fails']}"]

    def _relation(self, node: TraceNode, holds: bool) -> str:
        positive, negative = _RELATIONS[self.lang][node.operator]
        parts = [self.describe(child) for child in node.children]
        if len(parts) == 2:
            return f"{parts[0]} {positive if holds else negative} {parts[1]}"
        if holds:
            first, second = f"{parts[0]} {positive} {parts[1]}", f"{parts[1]} {positive} {parts[2]}"
            return first + self.text["and"] + second
        first_pair = [child.value for child in node.children[:2]]
        if node.operator in INT_COMPARISONS:
            first_holds = compare_ints(node.operator, first_pair)
        else:
            first_holds = compare_dates(node.operator, first_pair)
        if not first_holds:
            return f"{parts[0]} {negative} {parts[1]}"
        return f"{parts[1]} {negative} {parts[2]}"

    def reasons(self, node: TraceNode) -> list[str]:
        """The conditions behind a result: guards of the chosen ``if`` branches, or the test."""
        if node.operator == "if":
            return self.conditions(node.children[0]) + self.reasons(node.children[1])
        if node.operator in _BOOLEAN_OPERATORS:
            return self.conditions(node)
        return []

    def tree(self, node: TraceNode, depth: int) -> Iterator[str]:
        role = self.text.get(node.role, "") if node.role in ("guard", "then", "else") else ""
        prefix = "  " * depth + "- " + (f"{role}: " if role else "")
        op = node.operator
        if op in _RELATIONS[self.lang]:
            line = self._relation(node, boolsiness(node.value) is True)
        elif op in ("var", "literal", "array", "plusTime", "dccDateOfBirth", "extractFromUVCI"):
            line = self.describe(node)
        else:
            line = f"{op} → {self.value(node.value)}"
        yield prefix + line
        if op in _RELATIONS[self.lang] or op in ("var", "literal", "plusTime", "dccDateOfBirth"):
            return  # the line already names every operand
        for child in node.children:
            yield from self.tree(child, depth + 1)


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return js_number_to_str(value)
    return None
