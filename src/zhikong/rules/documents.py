"""Rule documents: versioned CertLogic rules with their legal basis, parameters and tests.

A rule document (YAML or JSON; JSON Schema in ``schema/rule-document.schema.json``) carries an
id and a version, bilingual title and description, its legal basis, a validity window, the
regions it applies to, a schema of its input, **date-indexed parameters**, the CertLogic logic
and test cases. Everything here is pure: text in, model out; no files, no clock, no database.

:func:`load_document` accepts a document only if it has no issue at all and otherwise raises
:class:`RuleDocumentError` listing *every* issue with a JSON-pointer path: syntax, schema,
CertLogic format (``certlogic.validate``), data paths the logic reads that the document does
not declare, parameters that do not cover the validity window, test cases outside it or whose
input or expected output does not fit the declared schemas.

The logic sees one data context::

    {"input": <the input>, "parameters": {<name>: <value on the date>}, "evaluation": {"date":
    "YYYY-MM-DD"}}

:class:`CompiledRule` compiles the logic once and evaluates it; every :class:`Evaluation` names
the rule id and version that made it. :func:`run_tests` runs a document's test cases.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from zhikong.rules.certlogic import (
    CertLogicError,
    CompiledExpression,
    DateTime,
    Explanation,
    Labels,
    Language,
    ValidationIssue,
    compile_expression,
    validate,
)
from zhikong.rules.certlogic import explain as explain_expression
from zhikong.rules.certlogic.validator import INFIX_OPERATORS

__all__ = [
    "CONTEXT_ROOTS",
    "DOCUMENT_FORMAT",
    "MAX_DOCUMENT_CHARS",
    "CaseResult",
    "CompiledRule",
    "DocumentIssue",
    "Evaluation",
    "LegalBasis",
    "LocalizedText",
    "OutsideValidityError",
    "Parameter",
    "ParameterValue",
    "ResultLabels",
    "RuleDocument",
    "RuleDocumentError",
    "RuleEvaluationError",
    "SourceFormat",
    "TestCase",
    "TestReport",
    "Validity",
    "ValueSchema",
    "canonical_json",
    "check_document",
    "compile_rule",
    "content_hash",
    "document_issues",
    "json_equal",
    "json_schema",
    "load_data",
    "load_document",
    "parameter_value",
    "parse_text",
    "run_tests",
    "value_issues",
    "version_key",
]

#: The value of a document's ``format`` field that this module reads.
DOCUMENT_FORMAT: Final = 1
#: Largest document text accepted (characters).
MAX_DOCUMENT_CHARS: Final = 1_000_000
#: Deepest nesting of arrays and objects accepted in a document.
MAX_DEPTH: Final = 200
#: The top-level names of the data context the logic reads.
CONTEXT_ROOTS: Final = ("input", "parameters", "evaluation")
_EVALUATION_FIELDS: Final = ("date",)
_LAMBDA_ROOTS: Final = ("accumulator", "current")

SourceFormat = Literal["yaml", "json"]

RULE_ID_PATTERN: Final = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
VERSION_PATTERN: Final = r"^(?:0|[1-9][0-9]{0,5})\.(?:0|[1-9][0-9]{0,5})\.(?:0|[1-9][0-9]{0,5})$"
REGION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"
PARAMETER_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
FIELD_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_PATTERN_HINTS: Final = {
    RULE_ID_PATTERN: "a rule id is lower-case letters and digits joined by '.', '_' or '-' "
    "(e.g. health-code-colour.zhejiang-2020)",
    VERSION_PATTERN: 'a version is MAJOR.MINOR.PATCH, e.g. "1.0.0"',
    REGION_PATTERN: 'a region code is letters, digits and "-" (e.g. "330000", "US-06037")',
    PARAMETER_PATTERN: "a parameter name is lower-case letters, digits and '_', "
    "starting with a letter (e.g. lookback_days)",
    FIELD_PATTERN: "a field name is letters, digits and '_', not starting with a digit "
    "(no '.', which separates the parts of a data path)",
}
_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# -- issues ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentIssue:
    """One problem of a rule document: a JSON pointer into the document and a message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class RuleDocumentError(ValueError):
    """A rule document was refused; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[DocumentIssue]) -> None:
        self.issues: tuple[DocumentIssue, ...] = tuple(issues)
        count = len(self.issues)
        first = str(self.issues[0]) if self.issues else "invalid rule document"
        more = f" (and {count - 1} more issue(s))" if count > 1 else ""
        super().__init__(f"invalid rule document: {first}{more}")


class OutsideValidityError(ValueError):
    """A rule was asked to decide on a date outside its validity window."""


class RuleEvaluationError(CertLogicError):
    """The logic of a rule threw (as CertLogic says it must) for the given input."""

    def __init__(self, rule_id: str, rule_version: str, error: CertLogicError) -> None:
        super().__init__(f"rule {rule_id} {rule_version}: {error.message}", error.expr)
        self.rule_id = rule_id
        self.rule_version = rule_version


def _pointer(*parts: str | int) -> str:
    """An RFC 6901 JSON pointer from path parts."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


# -- the document model ----------------------------------------------------------------------


def _iso_date(value: object) -> object:
    """Accept a YYYY-MM-DD string (or a date from Python callers) and return a date."""
    if isinstance(value, str):
        if not _DATE_TEXT.fullmatch(value):
            raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a calendar date") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("a date must be a string written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
RuleId = Annotated[str, Field(min_length=1, max_length=64, pattern=RULE_ID_PATTERN)]
Version = Annotated[str, Field(max_length=20, pattern=VERSION_PATTERN)]
RegionCode = Annotated[str, Field(min_length=1, max_length=32, pattern=REGION_PATTERN)]
ParameterName = Annotated[str, Field(min_length=1, max_length=64, pattern=PARAMETER_PATTERN)]
FieldName = Annotated[str, Field(min_length=1, max_length=64, pattern=FIELD_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
ShortText = Annotated[str, Field(min_length=1, max_length=400)]

_CONFIG: Final = ConfigDict(extra="forbid", strict=True, frozen=True)


class LocalizedText(BaseModel):
    """A text in Chinese (``zh``) and English (``en``)."""

    model_config = _CONFIG

    zh: Text
    en: Text


class LegalBasis(BaseModel):
    """A regulation, notice or standard the rule implements."""

    model_config = _CONFIG

    title: LocalizedText = Field(description="Name of the document, in Chinese and English")
    issuer: ShortText | None = Field(default=None, description="Who issued it")
    reference: ShortText | None = Field(
        default=None, description="Its number or citation, e.g. DB3301/T 0305-2020"
    )
    date: IsoDate | None = Field(default=None, description="Date issued or announced")
    url: ShortText | None = Field(default=None, description="Where it can be read")
    note: Text | None = Field(default=None, description="What the rule takes from it")


class Validity(BaseModel):
    """The dates on which the rule is in force, both inclusive (``until`` open if absent)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    from_: IsoDate = Field(alias="from", description="First day in force (YYYY-MM-DD)")
    until: IsoDate | None = Field(
        default=None, description="Last day in force (YYYY-MM-DD); absent: open-ended"
    )

    def contains(self, day: date) -> bool:
        """Whether the rule is in force on a date."""
        return self.from_ <= day and (self.until is None or day <= self.until)


class ValueSchema(BaseModel):
    """A JSON Schema subset describing the input or output of a rule.

    Every field is optional: a missing field reads as ``null`` in CertLogic, and ``null`` is
    accepted wherever a value is.
    """

    model_config = _CONFIG

    type: Literal["object", "array", "string", "integer", "number", "boolean", "null"]
    title: LocalizedText | None = Field(
        default=None, description="Human name; also labels the field in explanations"
    )
    description: LocalizedText | None = None
    properties: dict[FieldName, ValueSchema] | None = Field(
        default=None, description="Fields of an object; the only ones the logic may read"
    )
    items: ValueSchema | None = Field(default=None, description="Schema of an array's items")
    enum: list[Any] | None = Field(default=None, min_length=1, description="Allowed values")
    minimum: float | None = Field(default=None, description="Smallest allowed number")
    maximum: float | None = Field(default=None, description="Largest allowed number")
    format: Literal["date", "date-time"] | None = Field(
        default=None, description="date: YYYY-MM-DD; date-time: ISO 8601 with offset"
    )


class ParameterValue(BaseModel):
    """A parameter's value from a date on (until the next value's date)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    from_: IsoDate = Field(alias="from", description="First day this value applies")
    value: Any = Field(description="The value (any JSON value)")
    basis: Text | None = Field(default=None, description="The regulation that set this value")


class Parameter(BaseModel):
    """A named value that changes on given dates (e.g. 14 look-back days, then 7)."""

    model_config = _CONFIG

    title: LocalizedText | None = Field(
        default=None, description="Human name; also labels the parameter in explanations"
    )
    description: LocalizedText | None = None
    unit: ShortText | None = Field(default=None, description="e.g. days")
    values: list[ParameterValue] = Field(
        min_length=1, description="Values in ascending order of their from date"
    )


class ResultLabels(BaseModel):
    """How explanations name the result and its values (e.g. red → 红码)."""

    model_config = _CONFIG

    subject: LocalizedText | None = Field(
        default=None, description="What the result is, e.g. 你的健康码 / Your health code"
    )
    values: dict[str, LocalizedText] = Field(
        default_factory=dict, description="Result value (as text) → its name"
    )


class TestCase(BaseModel):
    """One test: an input and an evaluation date, and the result the logic must give."""

    __test__ = False  # not a pytest test class
    model_config = _CONFIG

    name: ShortText
    description: LocalizedText | None = None
    at: IsoDate = Field(description="Evaluation date (YYYY-MM-DD), within the validity window")
    input: dict[str, Any] = Field(description="The input object")
    expected: Any = Field(description="The expected result (JSON value)")


class RuleDocument(BaseModel):
    """A versioned rule: metadata, legal basis, validity, scope, schemas, parameters, logic
    and test cases."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        title="zhikong rule document",
        json_schema_extra={
            "description": "A versioned CertLogic rule with its legal basis, validity, region "
            "scope, input schema, date-indexed parameters and test cases (zhikong, format 1)."
        },
    )

    format: Literal[1] = Field(description="Format of the document: 1")
    id: RuleId = Field(description="Stable rule id, e.g. health-code-colour.zhejiang-2020")
    version: Version = Field(description='MAJOR.MINOR.PATCH, e.g. "1.0.0"')
    title: LocalizedText
    description: LocalizedText
    legal_basis: list[LegalBasis] = Field(min_length=1)
    validity: Validity
    regions: list[RegionCode] = Field(
        min_length=1,
        max_length=1000,
        description="Region codes the rule applies to, each with all its descendants",
    )
    input: ValueSchema = Field(description="Schema of the input (type object)")
    output: ValueSchema | None = Field(default=None, description="Schema of the result")
    parameters: dict[ParameterName, Parameter] = Field(
        default_factory=dict, description="Date-indexed parameters, read as parameters.<name>"
    )
    logic: Any = Field(description="The CertLogic 1.3.3 expression")
    labels: ResultLabels | None = None
    tests: list[TestCase] = Field(min_length=1, description="Test cases; all must pass")

    @field_validator("format", mode="before")
    @classmethod
    def _format_is_a_number(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("format must be the number 1")
        return value

    _compiled: Any = PrivateAttr(default=None)

    @property
    def key(self) -> tuple[str, str]:
        """(rule id, version)."""
        return (self.id, self.version)


# -- parsing text ----------------------------------------------------------------------------

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*(?:[eE][-+]?[0-9]+)?"
    r"|(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+|\.[0-9]+(?:[eE][-+]?[0-9]+)?)"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _Loader(yaml.SafeLoader):
    """YAML read as JSON is: no aliases, no duplicate keys, no dates, only true/false booleans.

    YAML 1.1 would read ``yes``/``no``/``on``/``off`` as booleans, ``2020-02-17`` as a date,
    ``010`` as octal and ``12:30`` as 750; here they stay strings.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases (*name) are not allowed in rule documents; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_text(text: str, source_format: SourceFormat = "yaml") -> Any:
    """Parse YAML or JSON text into plain JSON data; RuleDocumentError on a syntax error."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise RuleDocumentError(
            [DocumentIssue("", f"the document is longer than {MAX_DOCUMENT_CHARS} characters")]
        )
    try:
        if source_format == "json":
            return _parse_json(text)
        return yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise RuleDocumentError([DocumentIssue("", "the document is nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise RuleDocumentError(
            [DocumentIssue("", f"YAML syntax error{where}: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise RuleDocumentError([DocumentIssue("", f"YAML syntax error: {exc}")]) from None


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise RuleDocumentError(
            [
                DocumentIssue(
                    "", f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
                )
            ]
        ) from None
    except ValueError as exc:
        raise RuleDocumentError([DocumentIssue("", f"JSON error: {exc}")]) from None


def _json_issues(data: Any) -> list[DocumentIssue]:
    """Values that are not plain JSON (non-string keys, NaN, bytes...) and too-deep nesting."""
    issues: list[DocumentIssue] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        if len(parts) > MAX_DEPTH:
            issues.append(DocumentIssue(_pointer(*parts), f"nested deeper than {MAX_DEPTH}"))
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    issues.append(
                        DocumentIssue(
                            _pointer(*parts, str(key)),
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
                issues.append(DocumentIssue(_pointer(*parts), "text contains a NUL character"))
        elif isinstance(value, float):
            if not math.isfinite(value):
                issues.append(DocumentIssue(_pointer(*parts), f"{value} is not a JSON number"))
        elif value is not None and not isinstance(value, (bool, int)):
            issues.append(
                DocumentIssue(_pointer(*parts), f"a {type(value).__name__} is not a JSON value")
            )
    issues.reverse()
    return issues


# -- schema issues ---------------------------------------------------------------------------

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
        message = _PATTERN_HINTS.get(str(context.get("pattern")), message)
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
    return DocumentIssue(_pointer(*parts), message)


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


# -- value schemas ---------------------------------------------------------------------------

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
            _iso_date(value)
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
                        path + _pointer(key),
                        f"field {key!r} is not declared (declared: {declared})",
                    )
                )
            else:
                issues.extend(value_issues(child, item, path + _pointer(key)))
    if isinstance(value, list) and schema.items is not None:
        for index, item in enumerate(value):
            issues.extend(value_issues(schema.items, item, path + _pointer(index)))
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
        issues.extend(_value_schema_issues(child, path + _pointer("properties", name)))
    if schema.items is not None:
        issues.extend(_value_schema_issues(schema.items, path + "/items"))
    return issues


# -- logic issues ----------------------------------------------------------------------------

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
            yield from _walk(
                values[index], path + _pointer(operator, index), in_lambda or is_lambda
            )


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
            if root not in _LAMBDA_ROOTS:
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
            if len(fragments) > 1 and fragments[1] not in _EVALUATION_FIELDS:
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


# -- whole-document checks -------------------------------------------------------------------


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
                        _pointer("parameters", name, "values", index, "from"),
                        f"must be later than the previous value's date "
                        f"({values[index - 1].from_.isoformat()}): list values in date order",
                    )
                )
        if validity is not None and values[0].from_ > validity.from_:
            issues.append(
                DocumentIssue(
                    _pointer("parameters", name, "values", 0, "from"),
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
        where = _pointer("tests", index)
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


# -- canonical form --------------------------------------------------------------------------


def canonical_json(data: Any) -> str:
    """The canonical JSON text of parsed data (sorted keys, no spaces, UTF-8)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of parsed document data."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def version_key(version: str) -> tuple[int, int, int]:
    """A version's sort key: (major, minor, patch)."""
    major, minor, patch = (int(part) for part in version.split("."))
    return (major, minor, patch)


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON means it: ``true`` is not ``1``; ``1`` is ``1.0``; deep for containers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)


# -- parameters and evaluation ---------------------------------------------------------------


def parameter_value(parameter: Parameter, day: date) -> Any:
    """The value in force on a date: the last value whose ``from`` is on or before it."""
    dates = [item.from_ for item in parameter.values]
    index = bisect.bisect_right(dates, day) - 1
    if index < 0:
        raise OutsideValidityError(f"the parameter has no value before {dates[0].isoformat()}")
    return parameter.values[index].value


@dataclass(frozen=True)
class Evaluation:
    """What a rule decided: the result, named by the rule id and version that made it."""

    rule_id: str
    rule_version: str
    at: date
    result: Any
    parameters: Mapping[str, Any]
    explanation: Explanation | None = None
    labels: Labels | None = None

    def summary(self, lang: Language = "zh") -> str | None:
        """The explanation in one sentence (None when evaluated without explain)."""
        if self.explanation is None:
            return None
        return self.explanation.summary(lang, self.labels)

    def as_json(self) -> dict[str, Any]:
        """The evaluation as a JSON object (with the explanation's summaries if any)."""
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "at": self.at.isoformat(),
            "result": self.result,
            "parameters": dict(self.parameters),
        }
        if self.explanation is not None:
            data["explanation"] = {"zh": self.summary("zh"), "en": self.summary("en")}
        return data


def _json_result(value: Any) -> Any:
    """The evaluation result as JSON: a date-time becomes its ISO text (invalid: null)."""
    if isinstance(value, DateTime):
        return value.iso() if value.is_valid else None
    return value


def _labels(document: RuleDocument) -> Labels:
    paths: dict[str, dict[str, str]] = {
        "evaluation.date": {"zh": "评估日期", "en": "evaluation date"}
    }

    def add(schema: ValueSchema, path: str) -> None:
        if schema.title is not None:
            paths[path] = {"zh": schema.title.zh, "en": schema.title.en}
        for name, child in (schema.properties or {}).items():
            add(child, f"{path}.{name}")

    add(document.input, "input")
    for name, parameter in document.parameters.items():
        if parameter.title is not None:
            paths[f"parameters.{name}"] = {"zh": parameter.title.zh, "en": parameter.title.en}
    values: dict[str, dict[str, str]] = {}
    subject: dict[str, str] = {}
    if document.labels is not None:
        values = {key: {"zh": t.zh, "en": t.en} for key, t in document.labels.values.items()}
        if document.labels.subject is not None:
            subject = {"zh": document.labels.subject.zh, "en": document.labels.subject.en}
    return Labels(paths=paths, values=values, subject=subject)


class CompiledRule:
    """A rule document with its logic compiled once; evaluate it as often as needed."""

    def __init__(self, document: RuleDocument) -> None:
        self.document = document
        self.rule_id = document.id
        self.rule_version = document.version
        self._logic: CompiledExpression = compile_expression(document.logic)
        self._first = document.validity.from_
        self._last = document.validity.until
        # date -> (parameter values, read-only view of them, evaluation context)
        self._days: dict[date, tuple[dict[str, Any], Mapping[str, Any], dict[str, str]]] = {}
        self.labels = _labels(document)

    def parameters_on(self, day: date) -> dict[str, Any]:
        """Every parameter's value on a date (a fresh dict)."""
        return dict(self._day(day)[0])

    def _day(self, day: date) -> tuple[dict[str, Any], Mapping[str, Any], dict[str, str]]:
        known = self._days.get(day)
        if known is None:
            values = {
                name: parameter_value(parameter, day)
                for name, parameter in self.document.parameters.items()
            }
            known = (values, MappingProxyType(values), {"date": day.isoformat()})
            if len(self._days) >= 4096:
                self._days.clear()
            self._days[day] = known
        return known

    def evaluate(self, input: Mapping[str, Any], at: date, *, explain: bool = False) -> Evaluation:
        """Decide on an input at a date; a missing input field reads as null, never a crash.

        Raises OutsideValidityError for a date outside the validity window and
        RuleEvaluationError where CertLogic says the logic throws (operands of wrong types).
        """
        if at < self._first or (self._last is not None and at > self._last):
            until = f"until {self._last.isoformat()}" if self._last else "with no end date"
            raise OutsideValidityError(
                f"rule {self.rule_id} {self.rule_version} is in force from "
                f"{self._first.isoformat()} {until}, not on {at.isoformat()}"
            )
        if type(input) is not dict:
            if not isinstance(input, Mapping):
                error = CertLogicError("the input must be an object")
                raise RuleEvaluationError(self.rule_id, self.rule_version, error)
            input = dict(input)
        values, view, context = self._day(at)
        data = {"input": input, "parameters": values, "evaluation": context}
        explanation: Explanation | None = None
        try:
            if explain:
                explanation = explain_expression(self.document.logic, data)
                result = explanation.result
            else:
                result = self._logic(data)
        except CertLogicError as exc:
            raise RuleEvaluationError(self.rule_id, self.rule_version, exc) from exc
        except RecursionError as exc:
            error = CertLogicError("the input is nested too deeply")
            raise RuleEvaluationError(self.rule_id, self.rule_version, error) from exc
        if type(result) is DateTime:
            result = _json_result(result)
        # Positional arguments: this is the hot path of population-scale evaluation.
        labels = self.labels if explain else None
        return Evaluation(self.rule_id, self.rule_version, at, result, view, explanation, labels)


def compile_rule(document: RuleDocument) -> CompiledRule:
    """The document's compiled form, made once per document object."""
    compiled: CompiledRule | None = document._compiled
    if compiled is None:
        compiled = CompiledRule(document)
        document._compiled = compiled
    return compiled


# -- test cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one test case."""

    index: int
    name: str
    at: date
    expected: Any
    actual: Any = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the logic gave the expected result."""
        return self.error is None and json_equal(self.actual, self.expected)


@dataclass(frozen=True)
class TestReport:
    """The outcome of a document's test cases, named by the rule id and version."""

    __test__ = False  # not a pytest test class

    rule_id: str
    rule_version: str
    cases: tuple[CaseResult, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return all(case.passed for case in self.cases)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        """The cases that failed."""
        return tuple(case for case in self.cases if not case.passed)


def run_tests(document: RuleDocument) -> TestReport:
    """Run every test case of a document against its logic."""
    compiled = compile_rule(document)
    results: list[CaseResult] = []
    for index, case in enumerate(document.tests):
        try:
            actual = compiled.evaluate(case.input, case.at).result
        except (RuleEvaluationError, OutsideValidityError) as exc:
            results.append(CaseResult(index, case.name, case.at, case.expected, error=str(exc)))
            continue
        results.append(CaseResult(index, case.name, case.at, case.expected, actual))
    return TestReport(document.id, document.version, tuple(results))


# -- JSON Schema -----------------------------------------------------------------------------

SCHEMA_ID: Final = "urn:zhikong:schema:rule-document:1"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of rule documents, generated from the model."""
    schema = RuleDocument.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
