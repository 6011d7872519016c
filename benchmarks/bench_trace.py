"""Speed of scan ingest and contact queries on a synthetic province, SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python benchmarks/bench_trace.py [--scans 2000000] [--venues 20000]
        [--people 1000000] [--cases 40] [--baseline-cases 3] [--no-append]

The data are SYNTHETIC (fixed seed): ``--scans`` entry scans of ``--people`` pseudonymous
residents at ``--venues`` venues, uniformly over the last 27 days (inside the 28-day
retention). Each measured case gets 30 venue visits. What is timed, on each backend:

1. ingest: ``zhikong.trace.scans.insert_scans`` on validated rows (PostgreSQL: COPY;
   SQLite: executemany), batches of 100,000 into the loaded table with its indexes — the
   storage path of ``ingest_scans``. Credential verification is not included (see
   benchmarks/RESULTS.md, credential section: ~14,000 verifications/s per core);
2. contact query: ``find_contacts`` for a case with 30 visits (secondary contacts off): one
   index range query per visit on ``(venue_id, at)``, p50 and p95 over ``--cases`` cases;
3. baseline: the same query with the index defeated (``venue_id + 0``), i.e. a full scan of
   the table per visit, over ``--baseline-cases`` cases; results must equal (2).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from zhikong.store import migrate
from zhikong.store.engine import make_engine
from zhikong.trace import scans, tracing
from zhikong.trace.contacts import Presence, ScanRow
from zhikong.trace.models import Scan

NOW = datetime(2020, 2, 20, 2, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
DWELL = timedelta(minutes=30)
FLOOR = NOW - timedelta(days=28)
PG_ADMIN = os.environ.get(
    "ZHIKONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def rows_for(
    start: int, count: int, rng: np.random.Generator, venues: int, people: int
) -> list[dict[str, Any]]:
    """Synthetic validated scan rows."""
    seconds = rng.integers(0, 27 * 86400, count)
    venue_ids = rng.integers(1, venues + 1, count)
    residents = rng.integers(1, people + 1, count)
    base = NOW - timedelta(days=27)
    return [
        {
            "client_id": f"b{start + i}",
            "resident_id": int(residents[i]),
            "venue_id": int(venue_ids[i]),
            "at": base + timedelta(seconds=int(seconds[i])),
            "direction": "in",
            "method": "checkpoint",
            "colour": "green",
            "decision": "allow",
            "rule_version": "venue-entry.zhejiang-2022@1.0.0",
            "recorded_at": NOW,
            "recorded_by": "bench",
        }
        for i in range(count)
    ]


def load(engine: Engine, total: int, venues: int, people: int, batch: int) -> list[float]:
    """Fill the table; returns the rate (rows/s) of each batch."""
    rng = np.random.default_rng(2020)
    rates = []
    done = 0
    while done < total:
        count = min(batch, total - done)
        rows = rows_for(done, count, rng, venues, people)
        with Session(engine) as session:
            started = time.perf_counter()
            scans.insert_scans(session, rows)
            session.commit()
            rates.append(count / (time.perf_counter() - started))
        done += count
        print(f"  loaded {done:,} ({rates[-1]:,.0f}/s)", flush=True)
    return rates


def add_cases(engine: Engine, cases: int, venues: int, people: int) -> list[int]:
    """Cases with 30 visits each over the last 10 days (ids above the population)."""
    rng = np.random.default_rng(7)
    rows = []
    ids = []
    for c in range(cases):
        rid = people + 1 + c
        ids.append(rid)
        for v in range(30):
            at = NOW - timedelta(seconds=int(rng.integers(3600, 10 * 86400)))
            rows.append(
                {
                    "client_id": f"case-{rid}-{v}",
                    "resident_id": rid,
                    "venue_id": int(rng.integers(1, venues + 1)),
                    "at": at,
                    "direction": "in",
                    "method": "checkpoint",
                    "colour": "green",
                    "decision": "allow",
                    "rule_version": "x",
                    "recorded_at": NOW,
                    "recorded_by": "bench",
                }
            )
    with Session(engine) as session:
        scans.insert_scans(session, rows)
        session.commit()
    return ids


def classify(relation: str, gap: int) -> str:
    return "close_contact" if gap <= 30 else "none"


def query(session: Session, case: int) -> list[Any]:
    return tracing.find_contacts(
        session,
        case,
        NOW - timedelta(days=12),
        NOW,
        window=WINDOW,
        dwell=DWELL,
        floor=FLOOR,
        classify=classify,
        secondary=False,
        until=NOW,
    )


def naive_scans_near(
    session: Session, visits: list[Presence], margin: timedelta, floor: datetime
) -> list[ScanRow]:
    """The baseline: the same rows, found without the (venue_id, at) index."""
    found = []
    for visit in visits:
        rows = session.execute(
            select(Scan.resident_id, Scan.venue_id, Scan.at, Scan.direction).where(
                Scan.venue_id + 0 == visit.venue_id,
                func.coalesce(Scan.at, Scan.at) >= max(visit.start - margin, floor),
                func.coalesce(Scan.at, Scan.at) <= visit.end + margin,
            )
        )
        found += [ScanRow(r.resident_id, r.venue_id, r.at, r.direction) for r in rows]
    return found


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def run_backend(name: str, engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    print(f"[{name}] schema", flush=True)
    migrate.upgrade(engine)
    started = time.perf_counter()
    rates = load(engine, args.scans, args.venues, args.people, 100_000)
    load_seconds = time.perf_counter() - started
    cases = add_cases(engine, args.cases, args.venues, args.people)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("ANALYZE trace_scan"))
            connection.commit()
    latencies = []
    results: dict[int, list[tuple[int, str]]] = {}
    with Session(engine) as session:
        query(session, cases[0])  # warm up
        for case in cases:
            ms, found = timed(lambda case=case: query(session, case))
            latencies.append(ms)
            results[case] = [(c.resident_id, c.level) for c in found]
    baseline = []
    original = scans.scans_near
    scans.scans_near = naive_scans_near  # type: ignore[assignment]
    try:
        with Session(engine) as session:
            for case in cases[: args.baseline_cases]:
                ms, found = timed(lambda case=case: query(session, case))
                baseline.append(ms)
                assert [(c.resident_id, c.level) for c in found] == results[case], "mismatch"
    finally:
        scans.scans_near = original  # type: ignore[assignment]
    contacts = statistics.mean(len(v) for v in results.values())
    q = statistics.quantiles(latencies, n=20)
    return {
        "backend": name,
        "rows": args.scans + 30 * len(cases),
        "ingest_median": statistics.median(rates),
        "ingest_best": max(rates),
        "load_seconds": load_seconds,
        "p50": statistics.median(latencies),
        "p95": q[18],
        "baseline_median": statistics.median(baseline),
        "contacts": contacts,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=2_000_000)
    parser.add_argument("--venues", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--baseline-cases", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    load_avg = os.getloadavg()[0]
    results = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-trace-{uuid.uuid4().hex[:8]}.db"
    if "sqlite" in args.backends:
        engine = make_engine(f"sqlite:///{tmp}")
        results.append(run_backend("SQLite", engine, args))
        engine.dispose()
        tmp.unlink(missing_ok=True)
    if "postgresql" in args.backends:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"zhikong_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        try:
            results.append(run_backend("PostgreSQL", engine, args))
        finally:
            engine.dispose()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## `zhikong trace` — scan ingest and contact queries — {stamp}",
        "",
        f"Command: `python benchmarks/bench_trace.py --scans {args.scans} --venues {args.venues}"
        f" --people {args.people} --cases {args.cases}` · machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.machine()}, 1-minute load average "
        f"{load_avg:.1f} at start · SYNTHETIC data (fixed seed), scans uniform over 27 days",
        "",
        "| backend | scans in table | ingest (scans/s, median of 100k batches) | best batch |"
        " contact query p50 (ms) | p95 (ms) | naive full scan (ms, median) | speed-up |"
        " contacts per case |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['rows']:,} | {r['ingest_median']:,.0f}"
            f" | {r['ingest_best']:,.0f} | {r['p50']:.1f} | {r['p95']:.1f}"
            f" | {r['baseline_median']:,.0f} |"
            f" {r['baseline_median'] / r['p50']:,.0f}× | {r['contacts']:.1f} |"
        )
    lines.append("")
    report = "\n".join(lines)
    print(report)
    if not args.no_append:
        with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as handle:
            handle.write(report)


if __name__ == "__main__":
    main()
