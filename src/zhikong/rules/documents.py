"""Rule documents: versioned CertLogic rules with their legal basis, parameters and tests.

A rule document (YAML or JSON; JSON Schema in ``schema/rule-document.schema.json``) carries an
id and a version, bilingual title and description, its legal basis, a validity window, the
regions it applies to, a schema of its input, **date-indexed parameters**, the CertLogic logic
and test cases. This module holds the document model, the issues found in a document, its
canonical form and its JSON Schema. Reading text is in :mod:`zhikong.rules.parsing`, checking
and loading in :mod:`zhikong.rules.checks`, evaluating and testing in
:mod:`zhikong.rules.evaluation`. Everything is pure: text in, model out; no files, no clock, no
database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from zhikong.rules.certlogic import CertLogicError

#: The value of a document's ``format`` field that this module reads.
DOCUMENT_FORMAT: Final = 1
#: Largest document text accepted (characters).
MAX_DOCUMENT_CHARS: Final = 1_000_000
#: Deepest nesting of arrays and objects accepted in a document.
MAX_DEPTH: Final = 200
#: The top-level names of the data context the logic reads.
CONTEXT_ROOTS: Final = ("input", "parameters", "evaluation")
EVALUATION_FIELDS: Final = ("date",)
LAMBDA_ROOTS: Final = ("accumulator", "current")

SourceFormat = Literal["yaml", "json"]

RULE_ID_PATTERN: Final = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
VERSION_PATTERN: Final = r"^(?:0|[1-9][0-9]{0,5})\.(?:0|[1-9][0-9]{0,5})\.(?:0|[1-9][0-9]{0,5})$"
REGION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"
PARAMETER_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
FIELD_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
PATTERN_HINTS: Final = {
    RULE_ID_PATTERN: "a rule id is lower-case letters and digits joined by '.', '_' or '-' "
    "(e.g. health-code-colour.zhejiang-2020)",
    VERSION_PATTERN: 'a version is MAJOR.MINOR.PATCH, e.g. "1.0.0"',
    REGION_PATTERN: 'a region code is letters, digits and "-" (e.g. "330000", "US-06037")',
    PARAMETER_PATTERN: "a parameter name is lower-case letters, digits and '_', "
    "starting with a letter (e.g. lookback_days)",
    FIELD_PATTERN: "a field name is letters, digits and '_', not starting with a digit "
    "(no '.', which separates the parts of a data path)",
}
DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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


def pointer(*parts: str | int) -> str:
    """An RFC 6901 JSON pointer from path parts."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def iso_date(value: object) -> object:
    """Accept a YYYY-MM-DD string (or a date from Python callers) and return a date."""
    if isinstance(value, str):
        if not DATE_TEXT.fullmatch(value):
            raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a calendar date") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("a date must be a string written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(iso_date)]
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


SCHEMA_ID: Final = "urn:zhikong:schema:rule-document:1"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of rule documents, generated from the model."""
    schema = RuleDocument.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
