"""Rule registry: store rule documents, publish them (tests must pass, audited), look them up.

A version is saved as a *draft* (which may be replaced) and then *published*: publishing
validates the document again, checks that its regions exist, runs its test cases and writes
an audit entry, all inside the caller's transaction. Nothing is written unless every check
passes. A published version is immutable, here and in the database (triggers refuse UPDATE
and DELETE of published rows).

Look-ups: by (id, version), and the version *in force* at a date for a region: the newest
published version (highest MAJOR.MINOR.PATCH) whose validity window contains the date and
whose region scope contains the region or one of its ancestors. Compiled rules are cached
per (id, version, content hash), so each published version is compiled once per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhikong.audit.service import check_reference, record
from zhikong.clock import Clock
from zhikong.regions.models import Region
from zhikong.regions.service import RegionNotFoundError
from zhikong.rules.checks import load_data
from zhikong.rules.documents import (
    DocumentIssue,
    RuleDocument,
    RuleDocumentError,
    SourceFormat,
    content_hash,
    version_key,
)
from zhikong.rules.evaluation import CompiledRule, Evaluation, TestReport, compile_rule, run_tests
from zhikong.rules.models import DRAFT, PUBLISHED, STATUSES, RuleDocumentRecord
from zhikong.rules.parsing import parse_text

__all__ = [
    "PublishResult",
    "RegisteredRule",
    "RuleImmutableError",
    "RuleIntegrityError",
    "RuleNotFoundError",
    "RuleNotInForceError",
    "RuleTestsFailedError",
    "compiled",
    "evaluate",
    "get_rule",
    "in_force",
    "list_rules",
    "publish",
    "publish_text",
    "rules_in_force",
    "save_draft",
]

CACHE_SIZE: Final = 256
_MAX_AUDITED_REGIONS: Final = 20


class RuleNotFoundError(LookupError):
    """No rule document has the given id (and version)."""


class RuleNotInForceError(LookupError):
    """No published version of a rule is in force at the date for the region."""


class RuleImmutableError(ValueError):
    """The version is published: it cannot be changed; publish a new version instead."""


class RuleTestsFailedError(ValueError):
    """Publishing was refused because test cases failed; ``report`` says which."""

    def __init__(self, report: TestReport) -> None:
        failures = report.failures
        super().__init__(
            f"rule {report.rule_id} {report.rule_version}: {len(failures)} of "
            f"{len(report.cases)} test case(s) fail, first: {failures[0].name!r}"
            if failures
            else f"rule {report.rule_id} {report.rule_version}: test cases fail"
        )
        self.report = report


class RuleIntegrityError(RuntimeError):
    """A stored rule document does not match its recorded hash: it was altered."""


@dataclass(frozen=True)
class RegisteredRule:
    """A rule document version as stored in the registry."""

    rule_id: str
    version: str
    status: str
    title_zh: str
    title_en: str
    valid_from: date
    valid_until: date | None
    regions: tuple[str, ...]
    sha256: str
    content: Any
    source: str
    source_format: str
    test_count: int
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None

    @property
    def published(self) -> bool:
        """Whether this version is published (and so immutable)."""
        return self.status == PUBLISHED

    @property
    def subject(self) -> str:
        """The audit subject naming this version: ``rule:<id>@<version>``."""
        return f"rule:{self.rule_id}@{self.version}"

    def in_force_on(self, day: date) -> bool:
        """Whether the validity window contains a date."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class PublishResult:
    """A published version, its test report, and whether publishing changed anything."""

    rule: RegisteredRule
    report: TestReport
    changed: bool


def _view(row: RuleDocumentRecord) -> RegisteredRule:
    return RegisteredRule(
        rule_id=row.rule_id,
        version=row.version,
        status=row.status,
        title_zh=row.title_zh,
        title_en=row.title_en,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        regions=tuple(row.regions),
        sha256=row.sha256,
        content=row.content,
        source=row.source,
        source_format=row.source_format,
        test_count=row.test_count,
        created_at=row.created_at,
        created_by=row.created_by,
        published_at=row.published_at,
        published_by=row.published_by,
    )


def _subject(rule_id: str, version: str) -> str:
    return f"rule:{rule_id}@{version}"


def _summary(document: RuleDocument, sha256: str, status: str) -> dict[str, Any]:
    regions = list(document.regions)
    return {
        "status": status,
        "sha256": sha256,
        "valid_from": document.validity.from_.isoformat(),
        "valid_until": document.validity.until.isoformat() if document.validity.until else None,
        "regions": regions[:_MAX_AUDITED_REGIONS],
        "region_count": len(regions),
        "tests": len(document.tests),
    }


def _row(session: Session, rule_id: str, version: str) -> RuleDocumentRecord | None:
    return session.scalars(
        select(RuleDocumentRecord).where(
            RuleDocumentRecord.rule_id == rule_id, RuleDocumentRecord.version == version
        )
    ).one_or_none()


def _region_issues(session: Session, document: RuleDocument) -> list[DocumentIssue]:
    known = set(session.scalars(select(Region.code).where(Region.code.in_(list(document.regions)))))
    return [
        DocumentIssue(f"/regions/{index}", f"no region with code {code} in the registry")
        for index, code in enumerate(document.regions)
        if code not in known
    ]


def _tested(document: RuleDocument) -> TestReport:
    report = run_tests(document)
    if not report.passed:
        raise RuleTestsFailedError(report)
    return report


def _parse(text: str, source_format: SourceFormat) -> tuple[Any, RuleDocument]:
    data = parse_text(text, source_format)
    return data, load_data(data)


def save_draft(
    session: Session,
    clock: Clock,
    text: str,
    *,
    actor: str,
    source_format: SourceFormat = "yaml",
) -> RegisteredRule:
    """Store a valid document as a draft (replacing a draft of the same version); audited.

    Raises RuleDocumentError listing every issue, RuleImmutableError if the version is
    published. Test cases need not pass yet. Saving the same text again changes nothing.
    """
    actor = check_reference(actor, "actor")
    data, document = _parse(text, source_format)
    sha256 = content_hash(data)
    row = _row(session, document.id, document.version)
    if row is not None and row.status == PUBLISHED:
        raise RuleImmutableError(
            f"rule {document.id} {document.version} is published and immutable; "
            "save a new version instead"
        )
    before = None
    now = clock.now()
    if row is None:
        row = RuleDocumentRecord(rule_id=document.id, version=document.version, status=DRAFT)
        session.add(row)
    elif row.sha256 == sha256 and row.source == text:
        return _view(row)
    else:
        before = {"status": DRAFT, "sha256": row.sha256}
    _fill(row, document, data, text, source_format, sha256)
    row.created_at = now
    row.created_by = actor
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="rule.draft.save",
        subject=_subject(document.id, document.version),
        before=before,
        after=_summary(document, sha256, DRAFT),
        rule=document.key,
    )
    return _view(row)


def _fill(
    row: RuleDocumentRecord,
    document: RuleDocument,
    data: Any,
    text: str,
    source_format: SourceFormat,
    sha256: str,
) -> None:
    row.title_zh = document.title.zh
    row.title_en = document.title.en
    row.valid_from = document.validity.from_
    row.valid_until = document.validity.until
    row.regions = list(document.regions)
    row.content = data
    row.source = text
    row.source_format = source_format
    row.sha256 = sha256
    row.test_count = len(document.tests)


def _publish_row(
    session: Session,
    clock: Clock,
    row: RuleDocumentRecord,
    document: RuleDocument,
    report: TestReport,
    actor: str,
    before: dict[str, Any] | None,
) -> RegisteredRule:
    row.status = PUBLISHED
    row.published_at = clock.now()
    row.published_by = actor
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="rule.publish",
        subject=_subject(document.id, document.version),
        before=before,
        after={**_summary(document, row.sha256, PUBLISHED), "tests_passed": len(report.cases)},
        rule=document.key,
    )
    return _view(row)


def publish(
    session: Session, clock: Clock, rule_id: str, version: str, *, actor: str
) -> PublishResult:
    """Publish a stored draft once its test cases pass; audited; nothing changes on failure.

    Raises RuleNotFoundError, RuleDocumentError (e.g. a region not in the registry),
    RuleTestsFailedError; publishing a published version changes nothing.
    """
    actor = check_reference(actor, "actor")
    row = _row(session, rule_id, version)
    if row is None:
        raise RuleNotFoundError(f"no rule {rule_id} version {version}")
    if content_hash(row.content) != row.sha256:
        raise RuleIntegrityError(f"rule {rule_id} {version}: stored content does not match")
    document = load_data(row.content)
    if row.status == PUBLISHED:
        return PublishResult(_view(row), run_tests(document), changed=False)
    issues = _region_issues(session, document)
    if issues:
        raise RuleDocumentError(issues)
    report = _tested(document)
    before = {"status": DRAFT, "sha256": row.sha256}
    return PublishResult(
        _publish_row(session, clock, row, document, report, actor, before), report, True
    )


def publish_text(
    session: Session,
    clock: Clock,
    text: str,
    *,
    actor: str,
    source_format: SourceFormat = "yaml",
) -> PublishResult:
    """Publish a document given as text (replacing a draft of the same version); audited.

    Every check runs before anything is written: RuleDocumentError (every issue, including
    regions not in the registry), RuleTestsFailedError, RuleImmutableError when the version
    is published with other content. Publishing identical content again changes nothing.
    """
    actor = check_reference(actor, "actor")
    data, document = _parse(text, source_format)
    sha256 = content_hash(data)
    row = _row(session, document.id, document.version)
    if row is not None and row.status == PUBLISHED:
        if row.sha256 != sha256:
            raise RuleImmutableError(
                f"rule {document.id} {document.version} is published with other content and "
                "is immutable; publish a new version instead"
            )
        return PublishResult(_view(row), run_tests(document), changed=False)
    issues = _region_issues(session, document)
    if issues:
        raise RuleDocumentError(issues)
    report = _tested(document)
    before = None
    if row is None:
        row = RuleDocumentRecord(rule_id=document.id, version=document.version, status=DRAFT)
        session.add(row)
    else:
        before = {"status": DRAFT, "sha256": row.sha256}
    _fill(row, document, data, text, source_format, sha256)
    row.created_at = clock.now()
    row.created_by = actor
    return PublishResult(
        _publish_row(session, clock, row, document, report, actor, before), report, True
    )


# -- look-ups --------------------------------------------------------------------------------


def get_rule(session: Session, rule_id: str, version: str | None = None) -> RegisteredRule:
    """A rule by (id, version); without a version, its newest version of any status."""
    if version is not None:
        row = _row(session, rule_id, version)
        if row is None:
            raise RuleNotFoundError(f"no rule {rule_id} version {version}")
        return _view(row)
    rows = list_rules(session, rule_id=rule_id)
    if not rows:
        raise RuleNotFoundError(f"no rule {rule_id}")
    return rows[0]


def list_rules(
    session: Session, *, rule_id: str | None = None, status: str | None = None
) -> list[RegisteredRule]:
    """Stored rule versions, by id, newest version first."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    query = select(RuleDocumentRecord)
    if rule_id is not None:
        query = query.where(RuleDocumentRecord.rule_id == rule_id)
    if status is not None:
        query = query.where(RuleDocumentRecord.status == status)
    rules = [_view(row) for row in session.scalars(query)]
    rules.sort(key=lambda rule: version_key(rule.version), reverse=True)
    rules.sort(key=lambda rule: rule.rule_id)
    return rules


def _ancestry(session: Session, region: str) -> frozenset[str]:
    """The region's code and its ancestors' codes (from its path)."""
    row = session.get(Region, region)
    if row is None:
        raise RegionNotFoundError(region)
    return frozenset(code for code in row.path.split("/") if code)


def _published_on(session: Session, day: date, rule_id: str | None = None) -> list[RegisteredRule]:
    query = select(RuleDocumentRecord).where(
        RuleDocumentRecord.status == PUBLISHED,
        RuleDocumentRecord.valid_from <= day,
        or_(RuleDocumentRecord.valid_until.is_(None), RuleDocumentRecord.valid_until >= day),
    )
    if rule_id is not None:
        query = query.where(RuleDocumentRecord.rule_id == rule_id)
    return [_view(row) for row in session.scalars(query)]


def _newest_covering(
    rules: Sequence[RegisteredRule], ancestry: frozenset[str]
) -> dict[str, RegisteredRule]:
    chosen: dict[str, RegisteredRule] = {}
    for rule in rules:
        if ancestry.isdisjoint(rule.regions):
            continue
        current = chosen.get(rule.rule_id)
        if current is None or version_key(rule.version) > version_key(current.version):
            chosen[rule.rule_id] = rule
    return chosen


def in_force(session: Session, rule_id: str, *, at: date, region: str) -> RegisteredRule:
    """The version of a rule in force at a date for a region (or one of its descendants).

    The newest published version whose validity window contains the date and whose region
    scope contains the region or an ancestor of it. Raises RuleNotInForceError if none,
    RegionNotFoundError for an unknown region.
    """
    chosen = _newest_covering(_published_on(session, at, rule_id), _ancestry(session, region))
    rule = chosen.get(rule_id)
    if rule is None:
        raise RuleNotInForceError(
            f"no published version of rule {rule_id} is in force on {at.isoformat()} "
            f"for region {region}"
        )
    return rule


def rules_in_force(session: Session, *, at: date, region: str) -> list[RegisteredRule]:
    """Every rule in force at a date for a region: one version (the newest) per rule id."""
    chosen = _newest_covering(_published_on(session, at), _ancestry(session, region))
    return [chosen[rule_id] for rule_id in sorted(chosen)]


# -- evaluation ------------------------------------------------------------------------------

_cache: OrderedDict[tuple[str, str, str], CompiledRule] = OrderedDict()
_cache_lock = threading.Lock()


def compiled(rule: RegisteredRule) -> CompiledRule:
    """The compiled form of a stored version, compiled once per (id, version, content hash).

    Raises RuleIntegrityError if the stored content does not match its hash.
    """
    key = (rule.rule_id, rule.version, rule.sha256)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    if content_hash(rule.content) != rule.sha256:
        raise RuleIntegrityError(
            f"rule {rule.rule_id} {rule.version}: stored content does not match its hash"
        )
    result = compile_rule(load_data(rule.content))
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def evaluate(
    session: Session,
    rule_id: str,
    input: Mapping[str, Any],
    *,
    at: date,
    region: str,
    version: str | None = None,
    explain: bool = False,
) -> Evaluation:
    """Evaluate the version of a rule in force (or the given published version) on an input.

    The result names the rule id and version. Raises RuleNotInForceError when no (such)
    published version is in force at the date for the region.
    """
    if version is None:
        rule = in_force(session, rule_id, at=at, region=region)
    else:
        rule = get_rule(session, rule_id, version)
        ancestry = _ancestry(session, region)
        if not (rule.published and rule.in_force_on(at) and not ancestry.isdisjoint(rule.regions)):
            raise RuleNotInForceError(
                f"rule {rule_id} {version} is not published and in force on {at.isoformat()} "
                f"for region {region}"
            )
    return compiled(rule).evaluate(input, at, explain=explain)
