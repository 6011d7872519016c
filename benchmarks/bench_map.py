"""Benchmark the risk engine: every US county over every week of the CDC data.

Run:  .venv/bin/python benchmarks/bench_map.py [--passes 3] [--no-append]

Ours: `zhikong.riskmap.batch.read_rows` + `assess_rows_memoised` (the `zhikong map assess` path:
the CDC profile has no hysteresis, so each distinct (date, inputs) is classified once).
Baseline, in the same run: the straightforward per-row loop — every row classified on its own
through `zhikong.riskmap.engine.classify` (CertLogic evaluation with reasons), no memoisation.
Both must give the same level on every row (checked). Peak memory: tracemalloc peak of each
step. Figures are appended to benchmarks/RESULTS.md with this command.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from zhikong.riskmap.batch import BatchRow, assess_rows_memoised, read_rows
from zhikong.riskmap.engine import RiskProfile, classify, load_profile

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
CDC = (
    HERE.parent.parent
    / "shared"
    / "extdata"
    / "us_cdc_community_levels"
    / "cdc_community_levels_dev_2022-07-14_to_2022-10-06.csv"
)
PROFILE = "us-cdc-community-levels-2022"


def ours(profile: RiskProfile) -> list[str | None]:
    """Read the CSV and assess every row the way `zhikong map assess` does."""
    with CDC.open(encoding="utf-8", newline="") as stream:
        rows = read_rows(stream, profile, region_col="county_fips", date_col="date_updated")
    return [a.level for a in assess_rows_memoised(profile, rows)]


def baseline(profile: RiskProfile) -> list[str | None]:
    """Read the CSV the same way, then classify every row on its own."""
    with CDC.open(encoding="utf-8", newline="") as stream:
        rows = read_rows(stream, profile, region_col="county_fips", date_col="date_updated")
    ordered: list[BatchRow] = sorted(rows, key=lambda r: (r.region, r.day))
    return [classify(profile, row.indicators, row.day).level for row in ordered]


def measure(
    step: Callable[[RiskProfile], list[str | None]], profile: RiskProfile
) -> tuple[float, float, list[str | None]]:
    """Wall seconds, peak traced MiB and the levels of one pass."""
    tracemalloc.start()
    started = time.perf_counter()
    levels = step(profile)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, peak, levels


def main() -> None:
    """Run paired passes, check agreement, print and append the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    profile = load_profile(PROFILE)
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {"ours": [], "baseline": []}
    peaks: dict[str, float] = {"ours": 0.0, "baseline": 0.0}
    rows = 0
    for _ in range(args.passes):
        ours_time, ours_peak, ours_levels = measure(ours, profile)
        base_time, base_peak, base_levels = measure(baseline, profile)
        if ours_levels != base_levels:
            raise SystemExit("ours and the baseline disagree")
        rows = len(ours_levels)
        times["ours"].append(ours_time)
        times["baseline"].append(base_time)
        peaks["ours"] = max(peaks["ours"], ours_peak)
        peaks["baseline"] = max(peaks["baseline"], base_peak)
    ratios = [b / o for o, b in zip(times["ours"], times["baseline"], strict=True)]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}, "
        f"1-minute load average {load:.1f} when it started"
    )
    assessed = sum(1 for level in ours_levels if level is not None)
    lines = [
        "",
        f"## `zhikong map assess` — all US counties × every CDC week — {stamp}",
        "",
        f"Command: `python benchmarks/bench_map.py --passes {args.passes}` · machine: {machine} · "
        f"data: `extdata/us_cdc_community_levels` ({rows:,} county-weeks, {assessed:,} with a "
        f"level; 2022-07-14 … 2022-10-06) · profile `{PROFILE}` · {args.passes} paired passes "
        "(ours, then the baseline), both reading and parsing the CSV; levels identical on every "
        "row (checked) · peak memory: tracemalloc peak of the step",
        "",
        "| method | best (s) | median (s) | rows/s (best) | peak memory (MiB) | time / ours |",
        "|---|---:|---:|---:|---:|---:|",
        f"| ours: `read_rows` + `assess_rows_memoised` | {min(times['ours']):.2f} | "
        f"{statistics.median(times['ours']):.2f} | {rows / min(times['ours']):,.0f} | "
        f"{peaks['ours']:.0f} | 1× |",
        f"| baseline: `read_rows` + `classify` per row | {min(times['baseline']):.2f} | "
        f"{statistics.median(times['baseline']):.2f} | {rows / min(times['baseline']):,.0f} | "
        f"{peaks['baseline']:.0f} | **{statistics.median(ratios):.1f}×** "
        f"(pairs: {min(ratios):.1f}–{max(ratios):.1f}×) |",
        "",
        "The index side (1,000-draw sensitivity analysis, 90 counties × 365 days) is covered by "
        "the `zhikong index` section above (`benchmarks/bench_index.py`).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write(text)


if __name__ == "__main__":
    main()
