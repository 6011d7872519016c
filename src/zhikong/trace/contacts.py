"""Tracing logic (pure): presences, venue contacts, grid companions, clusters, graph export.

Nothing here touches a database or a clock: the service loads rows, calls these functions and
stores what they return.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

EARTH_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class ScanRow:
    """One scan as tracing sees it."""

    resident_id: int
    venue_id: int
    at: datetime
    direction: str


@dataclass(frozen=True)
class Presence:
    """A person at a venue from `start` to `end` (an entry paired with its exit, if any)."""

    resident_id: int
    venue_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Evidence:
    """Why someone is a contact: where, when, and for how long they overlapped."""

    venue_id: int
    at: datetime
    overlap_minutes: int
    gap_minutes: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "venue_id": self.venue_id,
            "at": self.at.isoformat(),
            "overlap_minutes": self.overlap_minutes,
            "gap_minutes": self.gap_minutes,
        }


@dataclass
class Contact:
    """A person found by tracing, the person they met, and the evidence."""

    resident_id: int
    source_resident_id: int
    level: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def overlap_minutes(self) -> int:
        """Total minutes of overlap over every shared visit."""
        return sum(e.overlap_minutes for e in self.evidence)

    @property
    def first_at(self) -> datetime:
        """When they first met."""
        return min(e.at for e in self.evidence)


def presences(scans: Iterable[ScanRow], default_dwell: timedelta) -> list[Presence]:
    """Pair each entry with the person's next exit at the same venue (or assume a stay)."""
    by_key: dict[tuple[int, int], list[ScanRow]] = defaultdict(list)
    for scan in scans:
        by_key[(scan.resident_id, scan.venue_id)].append(scan)
    result: list[Presence] = []
    for (resident_id, venue_id), rows in by_key.items():
        rows.sort(key=lambda s: (s.at, s.direction != "in"))
        open_at: datetime | None = None
        for row in rows:
            if row.direction == "in":
                if open_at is not None:
                    result.append(
                        Presence(
                            resident_id, venue_id, open_at, min(row.at, open_at + default_dwell)
                        )
                    )
                open_at = row.at
            elif open_at is not None:
                result.append(Presence(resident_id, venue_id, open_at, row.at))
                open_at = None
            else:  # an exit without an entry: assume the stay ended there
                result.append(Presence(resident_id, venue_id, row.at - default_dwell, row.at))
        if open_at is not None:
            result.append(Presence(resident_id, venue_id, open_at, open_at + default_dwell))
    result.sort(key=lambda p: (p.start, p.resident_id, p.venue_id))
    return result


def _minutes(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds() / 60))


def venue_contacts(
    sources: Sequence[Presence],
    others: Iterable[Presence],
    window: timedelta,
    classify: Callable[[int], str],
    *,
    exclude: frozenset[int] = frozenset(),
) -> list[Contact]:
    """People whose presence at a source's venue lies within `window` of the source's presence.

    `classify(gap_minutes)` is the rule: it names the contact level, or "none".
    """
    by_venue: dict[int, list[Presence]] = defaultdict(list)
    for presence in sources:
        by_venue[presence.venue_id].append(presence)
    found: dict[int, Contact] = {}
    for other in others:
        if other.resident_id in exclude:
            continue
        for source in by_venue.get(other.venue_id, ()):
            if other.resident_id == source.resident_id:
                continue
            if other.start > source.end + window or other.end < source.start - window:
                continue
            overlap = min(other.end, source.end) - max(other.start, source.start)
            gap = max(other.start - source.end, source.start - other.end, timedelta(0))
            gap_minutes = _minutes(gap)
            level = classify(gap_minutes)
            if level == "none":
                continue
            evidence = Evidence(
                other.venue_id, max(other.start, source.start), _minutes(overlap), gap_minutes
            )
            contact = found.get(other.resident_id)
            if contact is None:
                contact = Contact(other.resident_id, source.resident_id, level)
                found[other.resident_id] = contact
            contact.evidence.append(evidence)
    return sorted(found.values(), key=lambda c: c.resident_id)


# -- spatio-temporal companions (时空伴随) ---------------------------------------------------------


def grid_cell(lon: float, lat: float, metres: int) -> str:
    """The grid cell (``x:y``, `metres` square) a point falls in (equirectangular)."""
    y = math.floor(lat * EARTH_METRES_PER_DEGREE / metres)
    row_lat = (y + 0.5) * metres / EARTH_METRES_PER_DEGREE
    x = math.floor(lon * EARTH_METRES_PER_DEGREE * math.cos(math.radians(row_lat)) / metres)
    return f"{metres}:{x}:{y}"


@dataclass(frozen=True)
class PingRow:
    """A stay of one person in one grid cell."""

    resident_id: int
    grid: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Companion:
    """A person who shared a grid cell with a case, with the figures the rule saw."""

    resident_id: int
    grid: str
    minutes_together: int
    hours_in_grid: int
    first_at: datetime


def companions(
    case_pings: Sequence[PingRow],
    other_pings: Iterable[PingRow],
    hours_in_grid: Mapping[tuple[int, str], float],
    decide: Callable[[int, int], bool],
) -> list[Companion]:
    """People who shared a cell with the case long enough, where the rule `decide` says so.

    `hours_in_grid[(resident, grid)]` is each person's total stay in the cell over the
    look-back period; the larger of the person's and the case's is put to the rule.
    """
    case_by_grid: dict[str, list[PingRow]] = defaultdict(list)
    for ping in case_pings:
        case_by_grid[ping.grid].append(ping)
    together: dict[tuple[int, str], float] = defaultdict(float)
    first: dict[tuple[int, str], datetime] = {}
    for ping in other_pings:
        for case_ping in case_by_grid.get(ping.grid, ()):
            if ping.resident_id == case_ping.resident_id:
                continue
            overlap = min(ping.end, case_ping.end) - max(ping.start, case_ping.start)
            if overlap > timedelta(0):
                key = (ping.resident_id, ping.grid)
                together[key] += overlap.total_seconds() / 60
                start = max(ping.start, case_ping.start)
                first[key] = min(first.get(key, start), start)
    best: dict[int, Companion] = {}
    case_id = case_pings[0].resident_id if case_pings else -1
    for (resident_id, grid), minutes in sorted(together.items()):
        hours = max(
            hours_in_grid.get((resident_id, grid), 0.0), hours_in_grid.get((case_id, grid), 0.0)
        )
        companion = Companion(
            resident_id, grid, int(minutes), int(hours), first[(resident_id, grid)]
        )
        if decide(companion.minutes_together, companion.hours_in_grid):
            held = best.get(resident_id)
            if held is None or companion.minutes_together > held.minutes_together:
                best[resident_id] = companion
    return [best[k] for k in sorted(best)]


# -- transmission chains and clusters -------------------------------------------------------------


@dataclass(frozen=True)
class CaseNode:
    """A case in a transmission graph."""

    resident_id: int
    reported_at: datetime
    county_code: str
    region_path: str


@dataclass(frozen=True)
class Link:
    """A relation between two people: a traced contact or a shared venue."""

    source: int
    target: int
    kind: str
    venue_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Cluster:
    """A cluster (聚集性疫情): at least N linked cases within the window, and their region."""

    region_code: str
    region_path: str
    cases: tuple[int, ...]
    first_at: datetime
    last_at: datetime
    venues: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "region_code": self.region_code,
            "region_path": self.region_path,
            "cases": list(self.cases),
            "size": len(self.cases),
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "venues": list(self.venues),
        }


def _common_path(paths: Iterable[str]) -> str:
    parts_list = [[p for p in path.strip("/").split("/") if p] for path in paths]
    if not parts_list:
        return "/"
    common: list[str] = []
    for items in zip(*parts_list, strict=False):
        if all(item == items[0] for item in items):
            common.append(items[0])
        else:
            break
    return "/" + "/".join(common) + "/" if common else "/"


def find_clusters(
    cases: Sequence[CaseNode], links: Iterable[Link], min_cases: int, window: timedelta
) -> list[Cluster]:
    """Connected groups of cases (through links between cases) with at least `min_cases` cases
    reported within `window` of each other; each named by the finest region holding them all."""
    known = {case.resident_id: case for case in cases}
    parent = {rid: rid for rid in known}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    venues: dict[int, set[int]] = defaultdict(set)
    link_list = [link for link in links if link.source in known and link.target in known]
    for link in link_list:
        a, b = root(link.source), root(link.target)
        if a != b:
            parent[max(a, b)] = min(a, b)
    for link in link_list:
        if link.venue_id is not None:
            venues[root(link.source)].add(link.venue_id)
    groups: dict[int, list[CaseNode]] = defaultdict(list)
    for case in cases:
        groups[root(case.resident_id)].append(case)
    result: list[Cluster] = []
    for key, members in groups.items():
        members.sort(key=lambda c: c.reported_at)
        # the largest run of cases within the window
        best: list[CaseNode] = []
        start = 0
        for end in range(len(members)):
            while members[end].reported_at - members[start].reported_at > window:
                start += 1
            if end - start + 1 > len(best):
                best = members[start : end + 1]
        if len(best) < min_cases:
            continue
        path = _common_path(c.region_path for c in best)
        code = path.strip("/").split("/")[-1] if path != "/" else ""
        result.append(
            Cluster(
                region_code=code,
                region_path=path,
                cases=tuple(sorted(c.resident_id for c in best)),
                first_at=best[0].reported_at,
                last_at=best[-1].reported_at,
                venues=tuple(sorted(venues.get(key, ()))),
            )
        )
    result.sort(key=lambda c: (c.first_at, c.cases))
    return result


def graph_json(nodes: Sequence[Mapping[str, Any]], links: Sequence[Link]) -> dict[str, Any]:
    """A transmission graph as JSON for the cockpit: nodes and edges."""
    return {
        "nodes": [dict(node) for node in nodes],
        "edges": [
            {
                "source": link.source,
                "target": link.target,
                "kind": link.kind,
                "venue_id": link.venue_id,
                "at": link.at.isoformat() if link.at else None,
            }
            for link in links
        ],
    }


def graph_ml(nodes: Sequence[Mapping[str, Any]], links: Sequence[Link]) -> str:
    """A transmission graph as GraphML (directed; node attributes kind/colour, edge kind/venue)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
        '  <key id="kind" for="node" attr.name="kind" attr.type="string"/>',
        '  <key id="county" for="node" attr.name="county" attr.type="string"/>',
        '  <key id="ekind" for="edge" attr.name="kind" attr.type="string"/>',
        '  <key id="venue" for="edge" attr.name="venue" attr.type="long"/>',
        '  <key id="at" for="edge" attr.name="at" attr.type="string"/>',
        '  <graph id="transmission" edgedefault="directed">',
    ]
    for node in nodes:
        lines.append(f'    <node id="r{int(node["id"])}">')
        lines.append(f'      <data key="kind">{escape(str(node.get("kind", "")))}</data>')
        lines.append(f'      <data key="county">{escape(str(node.get("county_code", "")))}</data>')
        lines.append("    </node>")
    for index, link in enumerate(links):
        lines.append(f'    <edge id="e{index}" source="r{link.source}" target="r{link.target}">')
        lines.append(f'      <data key="ekind">{escape(link.kind)}</data>')
        if link.venue_id is not None:
            lines.append(f'      <data key="venue">{link.venue_id}</data>')
        if link.at is not None:
            lines.append(f'      <data key="at">{link.at.isoformat()}</data>')
        lines.append("    </edge>")
    lines += ["  </graph>", "</graphml>", ""]
    return "\n".join(lines)
