"""Import outside indicator data (bus routes, electricity, traffic, parcels, hospitals...)
from CSV into the platform's per-region daily indicator values, all or nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.audit.service import record
from zhikong.clock import Clock
from zhikong.regions.models import Region
from zhikong.riskmap.indicators import DEFINITIONS
from zhikong.riskmap.service import store_indicator


class ImportError_(ValueError):
    """A file that cannot be imported: names the column and CSV line at fault."""


@dataclass(frozen=True)
class IndicatorRow:
    """One region-day of imported values."""

    line: int
    region: str
    day: date
    values: Mapping[str, float]


_accepted: dict[str, frozenset[str]] = {}


def accept_indicators(owner: str, ids: Iterable[str]) -> None:
    """Let imports also carry another domain's indicators (the index's outside data).

    The index sits above the risk map and reads the values stored here; the composition layer
    tells the importer about its indicators (see `zhikong.wiring`). The same owner replaces.
    """
    _accepted[owner] = frozenset(ids)


def known_indicators() -> set[str]:
    """Indicator ids an import may name (risk-map indicators and those accepted from others)."""
    return set(DEFINITIONS).union(*_accepted.values())


def parse_indicator_csv(
    text: str, region_col: str = "region", date_col: str = "date"
) -> list[IndicatorRow]:
    """Read the file: region and date columns, then one column per known indicator."""
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    for needed in (region_col, date_col):
        if needed not in columns:
            raise ImportError_(f"missing required column {needed!r}")
    indicators = [c for c in columns if c not in {region_col, date_col}]
    if not indicators:
        raise ImportError_("no indicator columns")
    unknown = sorted(set(indicators) - known_indicators())
    if unknown:
        raise ImportError_(f"unknown indicator column(s) {unknown}")
    rows: list[IndicatorRow] = []
    seen: dict[tuple[str, date], int] = {}
    for line, raw in enumerate(reader, start=2):
        region = (raw.get(region_col) or "").strip()
        try:
            day = date.fromisoformat((raw.get(date_col) or "").strip())
        except ValueError:
            raise ImportError_(f"column {date_col!r}, line {line}: not a date YYYY-MM-DD") from None
        if (region, day) in seen:
            first = seen[(region, day)]
            raise ImportError_(f"line {line}: duplicate ({region}, {day}), first on line {first}")
        seen[(region, day)] = line
        values: dict[str, float] = {}
        for name in indicators:
            cell = (raw.get(name) or "").strip()
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                raise ImportError_(
                    f"column {name!r}, line {line}: {cell!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise ImportError_(f"column {name!r}, line {line}: {cell!r} is not finite")
            values[name] = value
        rows.append(IndicatorRow(line, region, day, values))
    return rows


def import_indicators(
    session: Session, clock: Clock, path: Path, text: str, *, source: str, actor: str
) -> int:
    """Store every value of a parsed file in the caller's transaction; audited once."""
    rows = parse_indicator_csv(text)
    codes = {row.region for row in rows}
    known = set(session.scalars(select(Region.code).where(Region.code.in_(codes))))
    for row in rows:
        if row.region not in known:
            raise ImportError_(f"column 'region', line {row.line}: no region {row.region!r}")
    digest = hashlib.sha256(text.encode()).hexdigest()
    count = 0
    for row in rows:
        for name, value in row.values.items():
            store_indicator(
                session,
                clock,
                region_code=row.region,
                day=row.day,
                indicator=name,
                value=value,
                source="import",
                provenance={
                    "source": source,
                    "file": path.name,
                    "sha256": digest,
                    "line": row.line,
                },
            )
            count += 1
    record(
        session,
        clock,
        actor=actor,
        action="map.indicators.import",
        subject=f"source:{source}",
        after={"file": path.name, "sha256": digest, "values": count, "rows": len(rows)},
    )
    return count
