"""Transmission chains and clusters of the recent cases in a region."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.code.models import CodeEvent
from zhikong.regions.models import Region
from zhikong.residents.models import Resident
from zhikong.trace import rules
from zhikong.trace.contacts import (
    CaseNode,
    Cluster,
    Link,
    find_clusters,
    presences,
    venue_contacts,
)
from zhikong.trace.models import TraceContact
from zhikong.trace.scans import scans_of


def _cases(session: Session, since: datetime, at: datetime, region_path: str) -> list[CaseNode]:
    rows = session.execute(
        select(
            CodeEvent.resident_id,
            CodeEvent.occurred_at,
            CodeEvent.data,
            Resident.county_code,
            Region.path,
        )
        .join(Resident, Resident.id == CodeEvent.resident_id)
        .join(Region, Region.code == Resident.county_code)
        .where(
            CodeEvent.kind == "case_report",
            CodeEvent.occurred_at >= since,
            CodeEvent.occurred_at <= at,
            Region.path.startswith(region_path, autoescape=True),
        )
        .order_by(CodeEvent.occurred_at)
    )
    cases: dict[int, CaseNode] = {}
    for row in rows:
        status = (row.data or {}).get("facts", {}).get("case_status")
        if status in ("confirmed", "asymptomatic") and row.resident_id not in cases:
            cases[row.resident_id] = CaseNode(
                row.resident_id, row.occurred_at, row.county_code, row.path
            )
    return list(cases.values())


def _links(
    session: Session, cases: Sequence[CaseNode], at: datetime
) -> tuple[list[Link], list[dict[str, Any]]]:
    """Links among cases and their traced contacts: tracing findings and shared venues."""
    ids = [c.resident_id for c in cases]
    links: list[Link] = []
    contact_nodes: dict[int, str] = {}
    if not ids:
        return links, []
    for row in session.execute(
        select(
            TraceContact.source_resident_id,
            TraceContact.resident_id,
            TraceContact.level,
            TraceContact.evidence,
            TraceContact.first_at,
        ).where(TraceContact.source_resident_id.in_(ids))
    ):
        venue = next((e.get("venue_id") for e in row.evidence if e.get("venue_id")), None)
        links.append(Link(row.source_resident_id, row.resident_id, row.level, venue, row.first_at))
        contact_nodes.setdefault(row.resident_id, row.level)
    params = rules.contact_parameters(at.date())
    window = timedelta(minutes=int(params["window_minutes"]))
    dwell = timedelta(minutes=int(params["default_dwell_minutes"]))
    floor = at - timedelta(days=int(params["retention_days"]))
    visits = presences(scans_of(session, ids, floor, at), dwell)
    for shared in venue_contacts(visits, visits, window, lambda gap: "shared_venue"):
        for evidence in shared.evidence[:1]:
            a, b = sorted((shared.source_resident_id, shared.resident_id))
            links.append(Link(a, b, "shared_venue", evidence.venue_id, evidence.at))
    unique = {(k.source, k.target, k.kind): k for k in links}
    extra = [
        {"id": rid, "kind": level}
        for rid, level in sorted(contact_nodes.items())
        if rid not in set(ids)
    ]
    return list(unique.values()), extra


def clusters(session: Session, at: datetime, region_path: str) -> list[Cluster]:
    """Clusters (聚集性疫情): linked cases within the rule's window, in a region, at an instant."""
    params = rules.contact_parameters(at.date())
    window = timedelta(days=int(params["cluster_window_days"]))
    cases = _cases(session, at - window, at, region_path)
    links, _ = _links(session, cases, at)
    return find_clusters(cases, links, int(params["cluster_min_cases"]), window)


def chains(
    session: Session, at: datetime, region_path: str
) -> tuple[list[dict[str, Any]], list[Link]]:
    """The transmission graph of a region: cases, their traced contacts, and the links."""
    params = rules.contact_parameters(at.date())
    window = timedelta(days=int(params["cluster_window_days"]))
    cases = _cases(session, at - window, at, region_path)
    links, extra = _links(session, cases, at)
    nodes: list[dict[str, Any]] = [
        {
            "id": c.resident_id,
            "kind": "case",
            "county_code": c.county_code,
            "reported_at": c.reported_at.isoformat(),
        }
        for c in cases
    ]
    return nodes + extra, links
