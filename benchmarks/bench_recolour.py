"""Benchmark: recolour everyone who visited a county when it turns high-risk (issue 5).

Run:  .venv/bin/python benchmarks/bench_recolour.py [--people 1000000] [--postgres URL]

A demo province of N synthetic residents is built (in-process, fixed clock); every resident
gets a declared trip to 330382 within the window; then `designate_region` recolours them all
in one set-based batch (events inserted in one statement per chunk, codes updated from the
stored code, per-person audit entries appended in bulk). The baseline, measured in the same
run on a sample, is the straightforward path: for each person, load their events, replay the
policy, store the code and write its audit entry (`recompute`), one person at a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from zhikong.clock import FixedClock
from zhikong.code.events import recompute
from zhikong.code.models import CodeEvent, HealthCode, Trip
from zhikong.code.policy import ColourPolicy
from zhikong.code.recolour import designate_region
from zhikong.demo.service import build_demo
from zhikong.keys import FileKeyStore
from zhikong.residents.models import Resident
from zhikong.store.engine import make_engine, make_sessionmaker, transaction

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
COUNTY = "330382"


def peak_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, people: int, folder: Path, sample: int) -> dict[str, float]:
    """Build, add trips, recolour; return the figures."""
    clock = FixedClock(datetime(2020, 2, 20, 2, 0, tzinfo=UTC))
    keys = FileKeyStore.init(folder / f"keys-{time.monotonic_ns()}", clock.now())
    engine = make_engine(url)
    build_demo(engine, people=people, seed=7, clock=clock, keys=keys)
    factory = make_sessionmaker(engine)
    policy = ColourPolicy.named()
    today = policy.local_day(clock.now())
    with transaction(factory) as session:
        ids = session.scalars(select(Resident.id).where(Resident.county_code != COUNTY)).all()
        rows = [
            {
                "resident_id": rid,
                "declaration_id": None,
                "region_code": COUNTY,
                "overseas": False,
                "arrived_on": today - timedelta(days=3),
                "left_on": today - timedelta(days=2),
                "recorded_at": clock.now(),
            }
            for rid in ids
        ]
        for start in range(0, len(rows), 50_000):
            session.execute(insert(Trip), rows[start : start + 50_000])
    clock.set(clock.now() + timedelta(hours=1))
    before = peak_mib()
    started = time.perf_counter()
    with transaction(factory) as session:
        _, affected, recoloured, _ = designate_region(
            session,
            clock,
            policy,
            actor="system:bench",
            region_code=COUNTY,
            level="high",
            window_days=14,
            basis="benchmark: county turned high-risk",
        )
    batch_s = time.perf_counter() - started
    with factory() as session:
        red = session.scalar(text("SELECT count(*) FROM health_code WHERE colour = 'red'"))
    # Baseline: the one-person-at-a-time path on a sample of residents not yet red.
    clock.set(clock.now() + timedelta(hours=1))
    with transaction(factory) as session:
        sample_ids = session.scalars(
            select(HealthCode.resident_id).where(HealthCode.colour == "green").limit(sample)
        ).all()
        for rid in sample_ids:
            session.add(
                CodeEvent(
                    resident_id=rid,
                    kind="close_contact",
                    occurred_at=clock.now(),
                    recorded_at=clock.now(),
                    recorded_by="system:bench",
                    data={"facts": {"close_contact": True}},
                )
            )
    started = time.perf_counter()
    with transaction(factory) as session:
        for rid in sample_ids:
            resident = session.get(Resident, rid)
            assert resident is not None
            recompute(session, clock, policy, resident, actor="system:bench", cause="bench")
    base_s = time.perf_counter() - started
    engine.dispose()
    return {
        "affected": affected,
        "recoloured": recoloured,
        "red": float(red or 0),
        "batch_s": batch_s,
        "batch_rate": affected / batch_s,
        "base_n": len(sample_ids),
        "base_rate": len(sample_ids) / base_s,
        "peak_before": before,
        "peak_after": peak_mib(),
    }


def main() -> None:
    """Run on SQLite (and PostgreSQL when given) and append the figures to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--postgres", help="a throwaway PostgreSQL database URL")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results.append(
            ("SQLite", run(f"sqlite:///{folder / 'bench.db'}", args.people, folder, args.sample))
        )
        if args.postgres:
            results.append(("PostgreSQL", run(args.postgres, args.people, folder, args.sample)))
    command = f"python benchmarks/bench_recolour.py --people {args.people} --sample {args.sample}"
    if args.postgres:
        command += " --postgres URL"
    lines = [
        f"\n## Recolour after a region change — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"Command: `{command}` · machine: {os.cpu_count()} cores, Python "
        f"{platform.python_version()} (other jobs were running on the machine)\n",
        "| backend | residents recoloured | batch time (s) | batch residents/s | baseline "
        "(one at a time) residents/s | ratio | peak RSS before → after (MiB) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results:
        lines.append(
            f"| {name} | {int(r['recoloured']):,} of {int(r['affected']):,} visitors | "
            f"{r['batch_s']:.1f} | {r['batch_rate']:,.0f} | {r['base_rate']:,.0f} "
            f"(sample of {int(r['base_n']):,}) | {r['batch_rate'] / r['base_rate']:.1f}× | "
            f"{r['peak_before']:.0f} → {r['peak_after']:.0f} |"
        )
    lines.append(
        "\nThe batch inserts one `region_risk` event per visitor, raises each stored code from "
        "the new event alone (the event is the latest, so only an equal or more severe demand "
        "can change the colour) and appends one audit entry per changed code. Goal: ≥ 100,000 "
        "residents/s."
    )
    report = "\n".join(lines) + "\n"
    print(report)
    with RESULTS.open("a", encoding="utf-8") as stream:
        stream.write(report)


if __name__ == "__main__":
    main()
