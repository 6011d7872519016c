"""Pure tracing logic: presences, contacts, companions, clusters, GraphML; and the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zhikong.rules.checks import load_document
from zhikong.rules.evaluation import run_tests
from zhikong.trace import rules
from zhikong.trace.contacts import (
    CaseNode,
    Link,
    PingRow,
    ScanRow,
    companions,
    find_clusters,
    graph_ml,
    grid_cell,
    presences,
    venue_contacts,
)

T0 = datetime(2020, 2, 18, 10, tzinfo=UTC)
M = timedelta(minutes=1)


def test_shipped_rule_documents_pass_their_tests() -> None:
    for text in rules.profile_texts():
        report = run_tests(load_document(text))
        assert report.passed and report.cases


def test_entry_policy() -> None:
    day = T0.date()
    assert rules.entry_decision("green", "hospital", day)[0] == "allow"
    assert rules.entry_decision("yellow", "shop", day)[0] == "allow"
    assert rules.entry_decision("yellow", "school", day)[0] == "deny_special_venue"
    assert rules.entry_decision("red", "shop", day)[0] == "deny_red"
    assert "hospital" in rules.venue_types()


def test_presences_pair_entries_and_exits() -> None:
    rows = [ScanRow(1, 9, T0, "in"), ScanRow(1, 9, T0 + 40 * M, "out"), ScanRow(2, 9, T0, "in")]
    found = {p.resident_id: p for p in presences(rows, 30 * M)}
    assert found[1].end == T0 + 40 * M
    assert found[2].end == T0 + 30 * M


def test_contacts_within_the_window_only() -> None:
    case = presences([ScanRow(1, 9, T0, "in"), ScanRow(1, 9, T0 + 10 * M, "out")], 30 * M)
    others = presences(
        [
            ScanRow(2, 9, T0 + 5 * M, "in"),
            ScanRow(3, 9, T0 + 45 * M, "in"),
            ScanRow(4, 8, T0, "in"),
        ],
        30 * M,
    )
    found = venue_contacts(
        case, others, 30 * M, lambda gap: "close_contact" if gap <= 30 else "none"
    )
    assert [(c.resident_id, c.evidence[0].gap_minutes) for c in found] == [(2, 0)]


def test_companions_follow_the_published_definition() -> None:
    cell = grid_cell(120.16, 30.25, 800)
    case = [PingRow(1, cell, T0, T0 + 60 * M)]
    other = [
        PingRow(2, cell, T0 + 45 * M, T0 + 120 * M),
        PingRow(3, cell, T0 + 55 * M, T0 + 90 * M),
    ]
    hours = {(2, cell): 31.0, (3, cell): 31.0}
    found = companions(case, other, hours, lambda m, h: m > 10 and h > 30)
    assert [(c.resident_id, c.minutes_together) for c in found] == [(2, 15)]


def test_clusters_need_n_linked_cases_in_the_window() -> None:
    cases = [
        CaseNode(i, T0 + timedelta(days=i), "330102", "/330000/330100/330102/") for i in range(1, 5)
    ]
    cases.append(CaseNode(9, T0, "330106", "/330000/330100/330106/"))
    links = [Link(1, 2, "close_contact", 7), Link(2, 3, "shared_venue", 8), Link(3, 9, "x")]
    found = find_clusters(cases, links, 3, timedelta(days=14))
    assert len(found) == 1
    assert found[0].cases == (1, 2, 3, 9) and found[0].region_code == "330100"
    assert found[0].venues == (7, 8)
    assert "<graphml" in graph_ml([{"id": 1, "kind": "case"}], links)
