"""Rule-document API for the officer console: list, view, test, save drafts, publish.

Reading and testing rule documents is open to the roles that apply them (health officers,
commanders, admins: rules are published law). Saving and publishing is scoped: every region a
document names must lie in the caller's jurisdiction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, allow, ensure_in_jurisdiction
from zhikong.rules import service
from zhikong.rules.checks import load_data
from zhikong.rules.documents import RuleDocumentError
from zhikong.rules.evaluation import TestReport, run_tests
from zhikong.rules.parsing import parse_text
from zhikong.rules.schemas import (
    CaseRead,
    PublishRead,
    RuleRead,
    RuleSummary,
    RuleText,
    TestReportRead,
)

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}
RuleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Version = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")]


def _summary(rule: service.RegisteredRule) -> RuleSummary:
    return RuleSummary(
        rule_id=rule.rule_id,
        version=rule.version,
        status=rule.status,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        regions=list(rule.regions),
        sha256=rule.sha256,
        test_count=rule.test_count,
        created_at=rule.created_at,
        created_by=rule.created_by,
        published_at=rule.published_at,
        published_by=rule.published_by,
    )


def _report(report: TestReport) -> TestReportRead:
    return TestReportRead(
        rule_id=report.rule_id,
        rule_version=report.rule_version,
        passed=report.passed,
        cases=[
            CaseRead(
                index=case.index,
                name=case.name,
                at=case.at,
                expected=case.expected,
                actual=case.actual,
                error=case.error,
                passed=case.passed,
            )
            for case in report.cases
        ],
    )


def _invalid(exc: RuleDocumentError) -> Problem:
    issues = [
        {"in": "body", "name": issue.path or "/", "message": issue.message} for issue in exc.issues
    ]
    return Problem(422, str(exc).splitlines()[0], errors=issues)


def _ensure_regions(
    session: Session, principal: Principal, regions: list[str] | tuple[str, ...]
) -> None:
    for region in regions:
        ensure_in_jurisdiction(session, principal, region)


@router.get("", response_model=list[RuleSummary], responses=PROBLEMS, summary="Rule documents")
def list_rules(
    principal: Annotated[Principal, Depends(allow("rules.read"))],
    session: Annotated[Session, Depends(db_session)],
    state: Annotated[str | None, Query(alias="status", pattern="^(draft|published)$")] = None,
) -> list[RuleSummary]:
    """Every stored rule version, by id, newest version first."""
    return [_summary(rule) for rule in service.list_rules(session, status=state)]


@router.get(
    "/{rule_id}/versions/{version}",
    response_model=RuleRead,
    responses=PROBLEMS,
    summary="One rule version with its source",
)
def get_rule(
    rule_id: RuleId,
    version: Version,
    principal: Annotated[Principal, Depends(allow("rules.read"))],
    session: Annotated[Session, Depends(db_session)],
) -> RuleRead:
    """A rule version: its metadata, source text (as written) and parsed content."""
    try:
        rule = service.get_rule(session, rule_id, version)
    except service.RuleNotFoundError as exc:
        raise Problem(404, str(exc)) from exc
    return RuleRead(
        **_summary(rule).model_dump(),
        source=rule.source,
        source_format=rule.source_format,
        content=rule.content,
    )


@router.post("/test", response_model=TestReportRead, responses=PROBLEMS, summary="Run tests")
def test_rule(
    body: RuleText,
    principal: Annotated[Principal, Depends(allow("rules.read"))],
) -> TestReportRead:
    """Validate a document and run its own test cases; nothing is stored."""
    try:
        document = load_data(parse_text(body.text, body.format))
    except RuleDocumentError as exc:
        raise _invalid(exc) from exc
    return _report(run_tests(document))


@router.post(
    "/drafts",
    response_model=RuleSummary,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Save a draft",
)
def save_draft(
    body: RuleText,
    principal: Annotated[Principal, Depends(allow("rules.publish"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> RuleSummary:
    """Store a valid document as a draft (its regions must be in your jurisdiction); audited."""
    try:
        document = load_data(parse_text(body.text, body.format))
    except RuleDocumentError as exc:
        raise _invalid(exc) from exc
    _ensure_regions(session, principal, document.regions)
    try:
        with unit_of_work(session):
            rule = service.save_draft(
                session, held.clock, body.text, actor=principal.actor, source_format=body.format
            )
    except RuleDocumentError as exc:
        raise _invalid(exc) from exc
    except service.RuleImmutableError as exc:
        raise Problem(409, str(exc)) from exc
    return _summary(rule)


@router.post(
    "/{rule_id}/versions/{version}/publish",
    response_model=PublishRead,
    responses=PROBLEMS,
    summary="Publish a draft once its tests pass",
)
def publish(
    rule_id: RuleId,
    version: Version,
    principal: Annotated[Principal, Depends(allow("rules.publish"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> PublishRead:
    """Publish a stored draft (its regions must be in your jurisdiction); audited."""
    try:
        existing = service.get_rule(session, rule_id, version)
    except service.RuleNotFoundError as exc:
        raise Problem(404, str(exc)) from exc
    _ensure_regions(session, principal, existing.regions)
    try:
        with unit_of_work(session):
            result = service.publish(session, held.clock, rule_id, version, actor=principal.actor)
    except RuleDocumentError as exc:
        raise _invalid(exc) from exc
    except service.RuleTestsFailedError as exc:
        raise Problem(
            422,
            f"rule {rule_id} {version}: {len(exc.report.failures)} test case(s) fail",
            errors=[
                {"in": "body", "name": f"tests/{case.index}", "message": case.error or "failed"}
                for case in exc.report.failures
            ],
        ) from exc
    return PublishRead(
        rule=_summary(result.rule), report=_report(result.report), changed=result.changed
    )
