"""Checking a parsed rule document and loading it only when it has no issue at all.

:func:`load_document` accepts a document only if it has no issue at all and otherwise raises
:class:`RuleDocumentError` listing *every* issue with a JSON-pointer path: syntax, schema,
CertLogic format (``certlogic.validate``), data paths the logic reads that the document does
not declare, parameters that do not cover the validity window, test cases outside it or whose
input or expected output does not fit the declared schemas.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, Final

from pydantic import (
    BaseModel,
    ValidationError,
)
from pydantic_core import ErrorDetails

from zhikong.rules.certlogic import (
    ValidationIssue,
    validate,
)
from zhikong.rules.certlogic.validator import INFIX_OPERATORS
from zhikong.rules.documents import (
    EVALUATION_FIELDS,
    LAMBDA_ROOTS,
    MAX_DEPTH,
    PATTERN_HINTS,
    DocumentIssue,
    Parameter,
    RuleDocument,
    RuleDocumentError,
    SourceFormat,
    TestCase,
    Validity,
    ValueSchema,
    iso_date,
    json_equal,
    pointer,
)
from zhikong.rules.parsing import parse_text


def _json_issues(data: Any) -> list[DocumentIssue]:
    """Values that are not plain JSON (non-string keys, NaN, bytes...) and too-deep nesting."""
    issues: list[DocumentIssue] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        if len(parts) > MAX_DEPTH:
            issues.append(DocumentIssue(pointer(*parts), f"nested deeper than {MAX_DEPTH}"))
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    issues.append(
                        DocumentIssue(
                            pointer(*parts, str(key)),
                            f"object keys must be strings, not {type(key).__name__} "
                            "(in YAML, put quotes around the key)",
                        )
                    )
                    continue
                stack.append((item, (*parts, key)))
        elif isinstance(value, list):
            stack.extend((item, (*parts, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            if "\x00" in value:
                issues.append(DocumentIssue(pointer(*parts), "text contains a NUL character"))
        elif isinstance(value, float):
            if not math.isfinite(value):
                issues.append(DocumentIssue(pointer(*parts), f"{value} is not a JSON number"))
        elif value is not None and not isinstance(value, (bool, int)):
            issues.append(
                DocumentIssue(pointer(*parts), f"a {type(value).__name__} is not a JSON value")
            )
    issues.reverse()
    return issues


_UNSUPPORTED_SCHEMA_KEYWORDS: Final = {
    "required": "'required' is not supported: every input field is optional and a missing "
    "field reads as null; write the logic so that null means 'not declared'",
    "additionalProperties": "'additionalProperties' is not supported: an object accepts "
    "exactly the fields listed in 'properties'",
}


def _pydantic_issue(error: ErrorDetails) -> DocumentIssue:
    loc = list(error["loc"])
    key_error = bool(loc) and loc[-1] == "[key]"
    if key_error:
        loc.pop()
    parts = tuple(part for part in loc if isinstance(part, (str, int)))
    kind = error["type"]
    message = error["msg"]
    context = error.get("ctx") or {}
    if kind == "value_error":
        message = str(context.get("error", message.removeprefix("Value error, ")))
    elif kind == "string_pattern_mismatch":
        message = PATTERN_HINTS.get(str(context.get("pattern")), message)
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        in_schema = any(part in ("input", "output", "properties", "items") for part in loc[:-1])
        if in_schema and name in _UNSUPPORTED_SCHEMA_KEYWORDS:
            message = _UNSUPPORTED_SCHEMA_KEYWORDS[name]
        else:
            message = f"unknown field {name!r}"
    elif kind == "string_type" and isinstance(error.get("input"), (int, float)):
        message = "must be a string (in YAML, put quotes around it)"
    if key_error:
        message = f"key: {message}"
    return DocumentIssue(pointer(*parts), message)


def _schema_issues(data: Any) -> tuple[RuleDocument | None, list[DocumentIssue]]:
    """Validate data against the document model: (model or None, issues)."""
    try:
        return RuleDocument.model_validate(data), []
    except ValidationError as exc:
        return None, [_pydantic_issue(error) for error in exc.errors()]


def _part(model: type[BaseModel], data: Any) -> Any:
    """The validated model of a part of a document, or None if it has issues."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


_TYPE_NAMES: Final = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return value is None


def _format_ok(kind: str, value: str) -> bool:
    if kind == "date":
        try:
            iso_date(value)
        except ValueError:
            return False
        return True
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value and parsed.tzinfo is not None


def value_issues(schema: ValueSchema, value: Any, path: str = "") -> list[DocumentIssue]:
    """Where a JSON value does not fit a value schema (null always fits: it means missing)."""
    if value is None:
        return []
    if not _type_ok(schema.type, value):
        return [DocumentIssue(path, f"must be {_TYPE_NAMES[schema.type]}, not {_describe(value)}")]
    issues: list[DocumentIssue] = []
    if schema.enum is not None and not any(json_equal(value, item) for item in schema.enum):
        allowed = ", ".join(_describe(item) for item in schema.enum)
        issues.append(DocumentIssue(path, f"{_describe(value)} is not one of: {allowed}"))
    if schema.type in ("integer", "number"):
        if schema.minimum is not None and value < schema.minimum:
            issues.append(DocumentIssue(path, f"{value} is less than {schema.minimum:g}"))
        if schema.maximum is not None and value > schema.maximum:
            issues.append(DocumentIssue(path, f"{value} is more than {schema.maximum:g}"))
    if (
        schema.format is not None
        and isinstance(value, str)
        and not _format_ok(schema.format, value)
    ):
        issues.append(DocumentIssue(path, f"{_describe(value)} is not a {schema.format}"))
    if isinstance(value, dict) and schema.properties is not None:
        for key, item in value.items():
            child = schema.properties.get(key)
            if child is None:
                declared = ", ".join(schema.properties) or "(none)"
                issues.append(
                    DocumentIssue(
                        path + pointer(key),
                        f"field {key!r} is not declared (declared: {declared})",
                    )
                )
            else:
                issues.extend(value_issues(child, item, path + pointer(key)))
    if isinstance(value, list) and schema.items is not None:
        for index, item in enumerate(value):
            issues.extend(value_issues(schema.items, item, path + pointer(index)))
    return issues


def _value_schema_issues(schema: ValueSchema, path: str) -> list[DocumentIssue]:
    """Keywords that do not fit the schema's type, and enum values of the wrong type."""
    issues: list[DocumentIssue] = []
    kind = schema.type
    if schema.properties is not None and kind != "object":
        issues.append(DocumentIssue(path + "/properties", "only an object has properties"))
    if schema.items is not None and kind != "array":
        issues.append(DocumentIssue(path + "/items", "only an array has items"))
    for keyword in ("minimum", "maximum"):
        if getattr(schema, keyword) is not None and kind not in ("integer", "number"):
            issues.append(DocumentIssue(f"{path}/{keyword}", "only numbers have a " + keyword))
    if schema.format is not None and kind != "string":
        issues.append(DocumentIssue(path + "/format", "only a string has a format"))
    if (
        schema.minimum is not None
        and schema.maximum is not None
        and schema.minimum > schema.maximum
    ):
        issues.append(DocumentIssue(path + "/maximum", "maximum is less than minimum"))
    for index, item in enumerate(schema.enum or ()):
        if item is None or not _type_ok(kind, item):
            issues.append(
                DocumentIssue(f"{path}/enum/{index}", f"must be {_TYPE_NAMES[kind]} like the type")
            )
    for name, child in (schema.properties or {}).items():
        issues.extend(_value_schema_issues(child, path + pointer("properties", name)))
    if schema.items is not None:
        issues.extend(_value_schema_issues(schema.items, path + "/items"))
    return issues


_COMPARISON_OPERATORS: Final = frozenset(
    {"<", ">", "<=", ">=", "after", "before", "not-after", "not-before"}
)


def _operands(expr: dict[str, Any]) -> list[tuple[int, bool]]:
    """(index, is the reduce lambda) of the operands the CertLogic validator looks into."""
    ((operator, values),) = expr.items()
    if operator == "var" or not isinstance(values, list):
        return []
    count = len(values)
    if operator in ("if", "reduce"):
        limit = 3
    elif operator == "and":
        limit = count
    elif operator in _COMPARISON_OPERATORS:
        limit = 3
    elif operator in INFIX_OPERATORS:
        limit = 2
    elif operator == "!":
        limit = 1 if count == 1 else 0
    elif operator in ("plusTime", "extractFromUVCI", "dccDateOfBirth"):
        limit = 1
    else:
        limit = 0
    return [(index, operator == "reduce" and index == 1) for index in range(min(limit, count))]


def _walk(expr: Any, path: str, in_lambda: bool = False) -> Iterator[tuple[Any, str, bool]]:
    """Every sub-expression the validator looks into: (expression, pointer, in a lambda)."""
    yield expr, path, in_lambda
    if isinstance(expr, list):
        for index, item in enumerate(expr):
            yield from _walk(item, f"{path}/{index}", in_lambda)
    elif isinstance(expr, dict) and len(expr) == 1:
        ((operator, values),) = expr.items()
        for index, is_lambda in _operands(expr):
            yield from _walk(values[index], path + pointer(operator, index), in_lambda or is_lambda)


def _located(logic: Any, pointer: str) -> list[DocumentIssue]:
    """certlogic.validate's issues, each at the pointer of the sub-expression it is about."""
    everything = validate(logic)
    if not everything:
        return []
    issues: list[DocumentIssue] = []
    found: list[ValidationIssue] = []
    for expr, path, _ in _walk(logic, pointer):
        if isinstance(expr, list):
            continue
        own = (
            [i for i in validate(expr) if i.expr is expr]
            if isinstance(expr, dict)
            else validate(expr)
        )
        found.extend(own)
        issues.extend(DocumentIssue(path, issue.message) for issue in own)
    unplaced = list(everything)
    for issue in found:
        for index, candidate in enumerate(unplaced):
            if candidate.expr is issue.expr and candidate.message == issue.message:
                del unplaced[index]
                break
    issues.extend(DocumentIssue(pointer, issue.message) for issue in unplaced)
    return issues


def _input_path_issue(schema: ValueSchema, fragments: list[str]) -> str | None:
    """Why a data path under ``input`` is not declared by the input schema (None if it is)."""
    node = schema
    walked = "input"
    for fragment in fragments:
        if node.type == "object":
            if node.properties is None:
                return None
            child = node.properties.get(fragment)
            if child is None:
                declared = ", ".join(node.properties) or "(none)"
                return (
                    f"{walked}.{fragment} is not declared in the input schema "
                    f"(declared: {declared})"
                )
            node = child
        elif node.type == "array":
            if not fragment.isdigit():
                return f"{walked} is an array: {fragment!r} is not an index"
            if node.items is None:
                return None
            node = node.items
        else:
            return f"{walked} is {_TYPE_NAMES[node.type]}: it has no part {fragment!r}"
        walked += f".{fragment}"
    return None


def _reference_issues(
    logic: Any,
    pointer: str,
    parameters: Mapping[str, Any] | None,
    input_schema: ValueSchema | None,
) -> list[DocumentIssue]:
    """Data paths the logic reads that the document does not declare."""
    issues: list[DocumentIssue] = []
    for expr, path, in_lambda in _walk(logic, pointer):
        if not (isinstance(expr, dict) and len(expr) == 1 and "var" in expr):
            continue
        var = expr["var"]
        if not isinstance(var, str) or validate(expr):
            continue
        where = path + "/var"
        fragments = var.split(".") if var else []
        root = fragments[0] if fragments else ""
        if in_lambda:
            if root not in LAMBDA_ROOTS:
                issues.append(
                    DocumentIssue(
                        where,
                        f'inside a "reduce" lambda only accumulator and current can be read, '
                        f"not {var!r}",
                    )
                )
            continue
        if not fragments:
            continue
        if root == "parameters":
            if len(fragments) > 1 and parameters is not None and fragments[1] not in parameters:
                declared = ", ".join(parameters) or "(none)"
                issues.append(
                    DocumentIssue(
                        where, f"parameter {fragments[1]!r} is not defined (defined: {declared})"
                    )
                )
        elif root == "evaluation":
            if len(fragments) > 1 and fragments[1] not in EVALUATION_FIELDS:
                issues.append(
                    DocumentIssue(where, f"{var!r}: the evaluation context has only: date")
                )
        elif root == "input":
            if input_schema is not None:
                problem = _input_path_issue(input_schema, fragments[1:])
                if problem is not None:
                    issues.append(DocumentIssue(where, problem))
        else:
            issues.append(
                DocumentIssue(
                    where,
                    f"data path {var!r} must start with input., parameters. or evaluation.",
                )
            )
    return issues


def _parameter_issues(
    parameters: Mapping[str, Parameter], validity: Validity | None
) -> list[DocumentIssue]:
    issues: list[DocumentIssue] = []
    for name, parameter in parameters.items():
        values = parameter.values
        for index in range(1, len(values)):
            if values[index].from_ <= values[index - 1].from_:
                issues.append(
                    DocumentIssue(
                        pointer("parameters", name, "values", index, "from"),
                        f"must be later than the previous value's date "
                        f"({values[index - 1].from_.isoformat()}): list values in date order",
                    )
                )
        if validity is not None and values[0].from_ > validity.from_:
            issues.append(
                DocumentIssue(
                    pointer("parameters", name, "values", 0, "from"),
                    f"parameter {name} has no value on {validity.from_.isoformat()}, the first "
                    "day the rule is in force",
                )
            )
    return issues


def _test_issues(
    tests: Sequence[Any],
    validity: Validity | None,
    input_schema: ValueSchema | None,
    output_schema: ValueSchema | None,
) -> list[DocumentIssue]:
    issues: list[DocumentIssue] = []
    names: dict[str, int] = {}
    for index, raw in enumerate(tests):
        case = _part(TestCase, raw)
        if case is None:
            continue
        where = pointer("tests", index)
        if case.name in names:
            issues.append(
                DocumentIssue(
                    where + "/name", f"test case name {case.name!r} repeats case {names[case.name]}"
                )
            )
        names.setdefault(case.name, index)
        if validity is not None and not validity.contains(case.at):
            issues.append(
                DocumentIssue(
                    where + "/at", f"{case.at.isoformat()} is outside the validity window"
                )
            )
        if input_schema is not None:
            issues.extend(value_issues(input_schema, case.input, where + "/input"))
        if output_schema is not None:
            issues.extend(value_issues(output_schema, case.expected, where + "/expected"))
    return issues


def check_document(data: Any) -> tuple[RuleDocument | None, list[DocumentIssue]]:
    """Validate parsed document data: the model if there is no issue, and every issue."""
    issues = _json_issues(data)
    if any(issue.message.startswith("nested deeper") for issue in issues):
        return None, issues
    document, schema_problems = _schema_issues(data)
    issues.extend(schema_problems)
    if not isinstance(data, dict):
        return None, issues

    validity = _part(Validity, data.get("validity"))
    if validity is not None and validity.until is not None and validity.until < validity.from_:
        issues.append(DocumentIssue("/validity/until", "is before validity.from"))
    input_schema = _part(ValueSchema, data.get("input"))
    output_schema = _part(ValueSchema, data.get("output")) if "output" in data else None
    if input_schema is not None:
        if input_schema.type != "object":
            issues.append(DocumentIssue("/input/type", "the input must be an object"))
        issues.extend(_value_schema_issues(input_schema, "/input"))
    if output_schema is not None:
        issues.extend(_value_schema_issues(output_schema, "/output"))

    raw_parameters = data.get("parameters")
    parameters: dict[str, Parameter] = {}
    if isinstance(raw_parameters, dict):
        for name, raw in raw_parameters.items():
            parameter = _part(Parameter, raw)
            if parameter is not None:
                parameters[str(name)] = parameter
        issues.extend(_parameter_issues(parameters, validity))

    if "logic" in data:
        issues.extend(_located(data["logic"], "/logic"))
        issues.extend(
            _reference_issues(
                data["logic"],
                "/logic",
                raw_parameters if isinstance(raw_parameters, dict) else None,
                input_schema,
            )
        )
    tests = data.get("tests")
    if isinstance(tests, list):
        issues.extend(_test_issues(tests, validity, input_schema, output_schema))
    if issues:
        return None, issues
    return document, []


def document_issues(text: str, source_format: SourceFormat = "yaml") -> list[DocumentIssue]:
    """Every issue of a rule document's text (an empty list means it is valid)."""
    try:
        data = parse_text(text, source_format)
    except RuleDocumentError as exc:
        return list(exc.issues)
    return check_document(data)[1]


def load_data(data: Any) -> RuleDocument:
    """A rule document from parsed data; RuleDocumentError listing every issue otherwise."""
    document, issues = check_document(data)
    if document is None:
        raise RuleDocumentError(issues or [DocumentIssue("", "invalid rule document")])
    return document


def load_document(text: str, source_format: SourceFormat = "yaml") -> RuleDocument:
    """A rule document from YAML or JSON text; RuleDocumentError listing every issue."""
    return load_data(parse_text(text, source_format))


def load_bundled(package: str, name: str, folder: str = "profiles") -> RuleDocument:
    """A rule document shipped as package data (`<package>/<folder>/<name>.yaml`), checked."""
    text = resources.files(package).joinpath(folder, f"{name}.yaml").read_text(encoding="utf-8")
    return load_document(text)
