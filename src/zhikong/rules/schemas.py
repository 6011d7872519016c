"""Rule registry API shapes: summaries, versions, source text, test reports, publish results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RuleSummary(BaseModel):
    """A stored rule version, without its content."""

    rule_id: str
    version: str
    status: str
    title_zh: str
    title_en: str
    valid_from: date
    valid_until: date | None
    regions: list[str]
    sha256: str
    test_count: int
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None


class RuleRead(RuleSummary):
    """A stored rule version with its source text and parsed content."""

    source: str
    source_format: str
    content: Any


class RuleText(BaseModel):
    """A rule document as text (YAML or JSON)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=200_000)
    format: Literal["yaml", "json"] = "yaml"


class CaseRead(BaseModel):
    """One test case's outcome."""

    index: int
    name: str
    at: date
    expected: Any
    actual: Any
    error: str | None
    passed: bool


class TestReportRead(BaseModel):
    """The outcome of a document's test cases."""

    __test__ = False

    rule_id: str
    rule_version: str
    passed: bool
    cases: list[CaseRead]


class PublishRead(BaseModel):
    """A published version, its test report, and whether publishing changed anything."""

    rule: RuleSummary
    report: TestReportRead
    changed: bool
