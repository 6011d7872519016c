"""The rule registry on SQLite and PostgreSQL: drafts, publishing, immutability, look-ups."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from zhikong.audit.models import AuditEntry
from zhikong.audit.service import InvalidEntryError
from zhikong.audit.verification import verify
from zhikong.clock import FixedClock
from zhikong.regions.service import RegionNotFoundError
from zhikong.rules.documents import RuleDocumentError
from zhikong.rules.models import RuleDocumentRecord
from zhikong.rules.service import (
    RuleImmutableError,
    RuleIntegrityError,
    RuleNotFoundError,
    RuleNotInForceError,
    RuleTestsFailedError,
    compiled,
    evaluate,
    get_rule,
    in_force,
    list_rules,
    publish,
    publish_text,
    rules_in_force,
    save_draft,
)
from zhikong.store.engine import transaction

RULE = "health-code-colour.zhejiang-2020"
ACTOR = "user:7"


def state(sessions: sessionmaker[Session]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every registry row and every audit entry, to compare before and after."""
    with sessions() as session:
        rules = [
            (row.rule_id, row.version, row.status, row.sha256)
            for row in session.scalars(select(RuleDocumentRecord).order_by(RuleDocumentRecord.id))
        ]
        entries = [
            (entry.seq, entry.action, entry.subject, entry.rule_id, entry.rule_version)
            for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]
    return rules, entries


@pytest.fixture
def version_text(health_code_text: str) -> Callable[..., str]:
    """The health-code rule as another version, scope and window, with two test cases."""

    def make(
        version: str,
        regions: list[str],
        valid_from: str,
        valid_until: str | None = None,
        *,
        expected_green: str = "green",
    ) -> str:
        data = yaml.safe_load(health_code_text)
        data["version"] = version
        data["regions"] = regions
        data["validity"] = {"from": valid_from}
        if valid_until is not None:
            data["validity"]["until"] = valid_until
        data["tests"] = [
            {"name": "green", "at": valid_from, "input": {}, "expected": expected_green},
            {"name": "red", "at": valid_from, "input": {"close_contact": True}, "expected": "red"},
        ]
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    return make


# -- publishing ------------------------------------------------------------------------------


def test_publish_stores_an_immutable_version_and_audits_it(
    zhejiang: sessionmaker[Session], clock: FixedClock, health_code_text: str
) -> None:
    with transaction(zhejiang) as session:
        result = publish_text(session, clock, health_code_text, actor=ACTOR)
    assert result.changed and result.report.passed and len(result.report.cases) == 18
    rule = result.rule
    assert (rule.rule_id, rule.version, rule.status) == (RULE, "1.0.0", "published")
    assert rule.published_at == clock.now() and rule.published_by == ACTOR
    assert rule.source == health_code_text and rule.source_format == "yaml"
    assert rule.regions == ("330000",) and rule.valid_from == date(2020, 2, 17)
    assert rule.valid_until is None and rule.test_count == 18

    rules, entries = state(zhejiang)
    assert rules == [(RULE, "1.0.0", "published", rule.sha256)]
    assert entries == [(1, "rule.publish", f"rule:{RULE}@1.0.0", RULE, "1.0.0")]
    with zhejiang() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert entry.actor == ACTOR
        assert entry.after["status"] == "published" and entry.after["sha256"] == rule.sha256
        assert entry.after["tests_passed"] == 18
        assert verify(session).ok
        assert get_rule(session, RULE, "1.0.0") == rule
        assert get_rule(session, RULE) == rule

    # Publishing the same content again is harmless: nothing changes, nothing is audited.
    with transaction(zhejiang) as session:
        again = publish_text(session, clock, health_code_text, actor=ACTOR)
    assert not again.changed and again.rule == rule
    assert state(zhejiang) == (rules, entries)


def test_publish_requires_passing_tests_and_a_failure_changes_nothing(
    zhejiang: sessionmaker[Session], clock: FixedClock, version_text: Callable[..., str]
) -> None:
    failing = version_text("1.0.0", ["330000"], "2020-02-17", expected_green="yellow")
    before = state(zhejiang)
    with pytest.raises(RuleTestsFailedError) as caught, transaction(zhejiang) as session:
        publish_text(session, clock, failing, actor=ACTOR)
    assert [case.name for case in caught.value.report.failures] == ["green"]
    assert "1 of 2 test case(s) fail" in str(caught.value)
    assert state(zhejiang) == before == ([], [])

    # Even when the caller commits after catching the error, nothing was written.
    with transaction(zhejiang) as session, pytest.raises(RuleTestsFailedError):
        publish_text(session, clock, failing, actor=ACTOR)
    assert state(zhejiang) == ([], [])


def test_an_invalid_document_or_unknown_region_is_refused_with_every_issue(
    zhejiang: sessionmaker[Session], clock: FixedClock, version_text: Callable[..., str]
) -> None:
    with pytest.raises(RuleDocumentError) as caught, transaction(zhejiang) as session:
        publish_text(session, clock, "format: 1\nid: x\n", actor=ACTOR)
    assert {"/version", "/logic", "/tests"} <= {issue.path for issue in caught.value.issues}
    unknown = version_text("1.0.0", ["330000", "339999", "US-06037"], "2020-02-17")
    with pytest.raises(RuleDocumentError) as caught, transaction(zhejiang) as session:
        publish_text(session, clock, unknown, actor=ACTOR)
    assert [(issue.path, issue.message) for issue in caught.value.issues] == [
        ("/regions/1", "no region with code 339999 in the registry"),
        ("/regions/2", "no region with code US-06037 in the registry"),
    ]
    with pytest.raises(InvalidEntryError), transaction(zhejiang) as session:
        publish_text(session, clock, unknown, actor="someone")
    assert state(zhejiang) == ([], [])


def test_a_published_version_is_immutable(
    zhejiang: sessionmaker[Session], clock: FixedClock, version_text: Callable[..., str]
) -> None:
    original = version_text("1.0.0", ["330000"], "2020-02-17")
    changed = version_text("1.0.0", ["330100"], "2020-02-17")
    with transaction(zhejiang) as session:
        publish_text(session, clock, original, actor=ACTOR)
    before = state(zhejiang)
    with (
        pytest.raises(RuleImmutableError, match="publish a new version"),
        transaction(zhejiang) as session,
    ):
        publish_text(session, clock, changed, actor=ACTOR)
    with (
        pytest.raises(RuleImmutableError, match="save a new version"),
        transaction(zhejiang) as session,
    ):
        save_draft(session, clock, changed, actor=ACTOR)
    assert state(zhejiang) == before

    # The database refuses too, whoever asks.
    with pytest.raises(DBAPIError, match="immutable"), transaction(zhejiang) as session:
        session.execute(update(RuleDocumentRecord).values(regions=["330100"]))
    with pytest.raises(DBAPIError, match="immutable"), transaction(zhejiang) as session:
        session.execute(delete(RuleDocumentRecord))
    assert state(zhejiang) == before


def test_drafts_can_be_replaced_then_published(
    zhejiang: sessionmaker[Session], clock: FixedClock, version_text: Callable[..., str]
) -> None:
    failing = version_text("2.0.0", ["330000"], "2020-03-01", expected_green="red")
    fixed = version_text("2.0.0", ["330000"], "2020-03-01")
    with transaction(zhejiang) as session:
        draft = save_draft(session, clock, failing, actor=ACTOR)
    assert draft.status == "draft" and draft.published_at is None
    with transaction(zhejiang) as session:
        assert save_draft(session, clock, failing, actor=ACTOR) == draft  # no change, no entry
    with zhejiang() as session, pytest.raises(RuleNotInForceError):
        in_force(session, RULE, at=date(2020, 3, 2), region="330102")

    # Publishing a draft whose tests fail changes nothing.
    before = state(zhejiang)
    with pytest.raises(RuleTestsFailedError), transaction(zhejiang) as session:
        publish(session, clock, RULE, "2.0.0", actor=ACTOR)
    assert state(zhejiang) == before

    clock.set(clock.now() + timedelta(hours=1))
    with transaction(zhejiang) as session:
        replaced = save_draft(session, clock, fixed, actor=ACTOR)
    assert replaced.sha256 != draft.sha256
    with transaction(zhejiang) as session:
        result = publish(session, clock, RULE, "2.0.0", actor="user:8")
    assert result.changed and result.rule.status == "published"
    assert result.rule.published_by == "user:8" and result.rule.created_by == ACTOR
    rules, entries = state(zhejiang)
    assert rules == [(RULE, "2.0.0", "published", replaced.sha256)]
    assert [entry[1] for entry in entries] == ["rule.draft.save", "rule.draft.save", "rule.publish"]
    with transaction(zhejiang) as session:
        assert not publish(session, clock, RULE, "2.0.0", actor=ACTOR).changed
        with pytest.raises(RuleNotFoundError):
            publish(session, clock, RULE, "9.9.9", actor=ACTOR)
    assert state(zhejiang) == (rules, entries)


def test_draft_rows_stay_editable_in_the_database(
    zhejiang: sessionmaker[Session], clock: FixedClock, version_text: Callable[..., str]
) -> None:
    with transaction(zhejiang) as session:
        save_draft(session, clock, version_text("0.1.0", ["330000"], "2020-02-17"), actor=ACTOR)
    with transaction(zhejiang) as session:
        session.execute(delete(RuleDocumentRecord))
    with zhejiang() as session:
        assert session.scalar(select(func.count()).select_from(RuleDocumentRecord)) == 0


# -- look-ups --------------------------------------------------------------------------------


@pytest.fixture
def versions(
    zhejiang: sessionmaker[Session], clock: FixedClock, version_text: Callable[..., str]
) -> sessionmaker[Session]:
    """1.0.0 for the province from 2020-02-17; 1.1.0 for Hangzhou from 2020-03-01; 2.0.0 for
    the province in April 2020; an unpublished 3.0.0 draft for the province."""
    with transaction(zhejiang) as session:
        publish_text(session, clock, version_text("1.0.0", ["330000"], "2020-02-17"), actor=ACTOR)
        publish_text(session, clock, version_text("1.1.0", ["330100"], "2020-03-01"), actor=ACTOR)
        publish_text(
            session,
            clock,
            version_text("2.0.0", ["330000"], "2020-04-01", "2020-04-30"),
            actor=ACTOR,
        )
        save_draft(session, clock, version_text("3.0.0", ["330000"], "2020-02-17"), actor=ACTOR)
    return zhejiang


@pytest.mark.parametrize(
    ("day", "region", "version"),
    [
        (date(2020, 2, 17), "330102", "1.0.0"),  # first day; Hangzhou's 1.1.0 not yet valid
        (date(2020, 2, 29), "330102", "1.0.0"),
        (date(2020, 3, 1), "330102", "1.1.0"),  # a district of Hangzhou: a descendant
        (date(2020, 3, 1), "330100", "1.1.0"),  # Hangzhou itself
        (date(2020, 3, 1), "330200", "1.0.0"),  # Ningbo is outside Hangzhou's scope
        (date(2020, 3, 1), "330000", "1.0.0"),  # the province is not within Hangzhou
        (date(2020, 4, 1), "330102", "2.0.0"),  # newest version wins
        (date(2020, 4, 30), "330282", "2.0.0"),  # last day, inclusive
        (date(2020, 5, 1), "330102", "1.1.0"),  # 2.0.0 has expired
        (date(2020, 5, 1), "330282", "1.0.0"),
    ],
)
def test_in_force_by_date_and_region(
    versions: sessionmaker[Session], day: date, region: str, version: str
) -> None:
    with versions() as session:
        assert in_force(session, RULE, at=day, region=region).version == version
        assert [rule.version for rule in rules_in_force(session, at=day, region=region)] == [
            version
        ]


def test_nothing_in_force_before_the_window_or_for_unknown_rules(
    versions: sessionmaker[Session],
) -> None:
    with versions() as session:
        with pytest.raises(RuleNotInForceError, match="2020-02-16"):
            in_force(session, RULE, at=date(2020, 2, 16), region="330102")
        assert rules_in_force(session, at=date(2020, 2, 16), region="330102") == []
        with pytest.raises(RuleNotInForceError):
            in_force(session, "no-such-rule", at=date(2020, 3, 1), region="330102")
        with pytest.raises(RegionNotFoundError):
            in_force(session, RULE, at=date(2020, 3, 1), region="999999")


def test_list_and_get(versions: sessionmaker[Session]) -> None:
    with versions() as session:
        assert [(r.version, r.status) for r in list_rules(session)] == [
            ("3.0.0", "draft"),
            ("2.0.0", "published"),
            ("1.1.0", "published"),
            ("1.0.0", "published"),
        ]
        assert [r.version for r in list_rules(session, status="published")] == [
            "2.0.0",
            "1.1.0",
            "1.0.0",
        ]
        assert list_rules(session, rule_id="other") == []
        assert get_rule(session, RULE).version == "3.0.0"
        with pytest.raises(RuleNotFoundError):
            get_rule(session, RULE, "0.0.1")
        with pytest.raises(RuleNotFoundError):
            get_rule(session, "other")
        with pytest.raises(ValueError, match="status"):
            list_rules(session, status="retired")


# -- evaluation ------------------------------------------------------------------------------


def test_evaluate_uses_the_version_in_force_and_names_it(versions: sessionmaker[Session]) -> None:
    with versions() as session:
        march = evaluate(session, RULE, {"fever": True}, at=date(2020, 3, 2), region="330106")
        april = evaluate(session, RULE, {}, at=date(2020, 4, 2), region="330106", explain=True)
        pinned = evaluate(session, RULE, {}, at=date(2020, 4, 2), region="330106", version="1.0.0")
        with pytest.raises(RuleNotInForceError):
            evaluate(session, RULE, {}, at=date(2020, 2, 20), region="330106", version="1.1.0")
        with pytest.raises(RuleNotInForceError):
            evaluate(session, RULE, {}, at=date(2020, 2, 20), region="330106", version="3.0.0")
    assert (march.rule_id, march.rule_version, march.result) == (RULE, "1.1.0", "yellow")
    assert (april.rule_version, april.result) == ("2.0.0", "green")
    assert april.summary("en") is not None
    assert (pinned.rule_version, pinned.result) == ("1.0.0", "green")


def test_a_stored_version_is_compiled_once_and_checked_against_its_hash(
    versions: sessionmaker[Session],
) -> None:
    with versions() as session:
        rule = get_rule(session, RULE, "1.0.0")
        again = get_rule(session, RULE, "1.0.0")
    assert compiled(rule) is compiled(again)
    altered = dict(rule.content, regions=["330100"])
    with pytest.raises(RuleIntegrityError):
        compiled(dataclasses.replace(rule, content=altered, sha256="0" * 64))
