"""Speed and peak memory of the power index (企业复工电力指数) at provincial scale.

Run from the repository root::

    .venv/bin/python benchmarks/bench_power_index.py [--customers 300000] [--days 180]
        [--repeat 3] [--no-append]

Data: SYNTHETIC, from `zhikong.economy.synthetic` (seed 2020): ``--customers`` enterprise
customers over Zhejiang's 90 counties and ``--days`` days from 2019-10-01 (300,000 × 180 =
54,000,000 rows), written once to a Parquet file (untimed), by default ordered by date as
daily batches arrive (``--order customer`` keeps each customer's days together, which makes
every per-customer step faster). Every step then reads that file.

Steps, each in its own fresh process (so each peak RSS is its own), ``--repeat`` times in
turn (A, F, B, C, A, F, …) so that load from other work hits all of them alike:

A. baseline, plain group-by: one DuckDB ``GROUP BY region, date`` of count and Σ kWh — the
   least any per-region-per-day figure costs on these rows;
F. floor of anything per customer: one DuckDB ``GROUP BY customer_id`` of count(*) — the
   index needs each customer's baseline before any day can be judged, so it costs at least
   this plus a second pass;
B. baseline, the index in plain SQL: per-customer baseline (``GROUP BY customer_id``), join,
   ``GROUP BY region, date`` of resumed customers and their kWh — no validation, no flags,
   no roll-up;
C. zhikong: ``power_engine.compute`` — validation of every row (all-or-nothing), both flags'
   inputs, the index per county, city and province.

The figures reported are the medians; the ratios are C ÷ A and C ÷ B. The goal of issue 17 is
C within 2× of a plain group-by of the same rows. B and C must agree on every county-day
(resumed customers and their kWh), or the benchmark stops.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BASELINE_FROM, BASELINE_TO = date(2019, 10, 1), date(2019, 12, 31)


def write_data(path: Path, customers: int, days: int, order: str) -> int:
    """Generate the synthetic readings into a Parquet file; the number of rows."""
    from zhikong.economy import synthetic

    population = synthetic.draw_customers(customers, seed=2020)
    calibration = synthetic.calibrate(population)
    first = BASELINE_FROM
    last = first + timedelta(days=days - 1)
    rows = 0
    with pq.ParquetWriter(path, synthetic.schema_with_label()) as writer:
        for batch in synthetic.daily_kwh(
            population, calibration, seed=2020, first=first, last=last, chunk=25_000
        ):
            writer.write_batch(batch, row_group_size=1_000_000)
            rows += batch.num_rows
    if order == "date":  # as daily batches arrive: all customers of a day, then the next day
        import duckdb

        by_date = path.with_name("by-date.parquet")
        duckdb.connect().execute(
            f"COPY (SELECT * FROM read_parquet('{path}') ORDER BY date, hash(customer_id)) "
            f"TO '{by_date}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
        by_date.replace(path)
    return rows


def prepare() -> dict[str, Any]:
    """Untimed set-up in each fresh process: imports, the region set, the configuration."""
    import duckdb

    from zhikong.economy import power_engine
    from zhikong.economy.geography import known_codes
    from zhikong.economy.power import load_config

    return {
        "duckdb": duckdb,
        "engine": power_engine,
        "known": known_codes(),
        "config": load_config(),
    }


def plain_group_by(path: str, ready: dict[str, Any]) -> dict[str, Any]:
    con = ready["duckdb"].connect()
    rows = con.execute(
        "SELECT region, date, count(*), sum(kwh) FROM read_parquet($p) GROUP BY ALL", {"p": path}
    ).fetchall()
    return {"groups": len(rows)}


def per_customer_floor(path: str, ready: dict[str, Any]) -> dict[str, Any]:
    con = ready["duckdb"].connect()
    rows = con.execute(
        "SELECT customer_id, count(*) FROM read_parquet($p) GROUP BY customer_id", {"p": path}
    ).fetchall()
    return {"groups": len(rows)}


def plain_index_sql(path: str, ready: dict[str, Any]) -> dict[str, Any]:
    con = ready["duckdb"].connect()
    rows = con.execute(
        """
        WITH base AS (
            SELECT customer_id, any_value(region) AS region,
                   avg(kwh) FILTER (WHERE date BETWEEN $b_lo AND $b_hi) AS baseline,
                   count(*) FILTER (WHERE date BETWEEN $b_lo AND $b_hi) AS n
            FROM read_parquet($p) GROUP BY customer_id
        )
        SELECT b.region, r.date,
               count(*) FILTER (WHERE r.kwh >= 0.3 * b.baseline),
               sum(r.kwh) FILTER (WHERE r.kwh >= 0.3 * b.baseline)
        FROM read_parquet($p) r JOIN base b USING (customer_id)
        WHERE b.n >= 30 AND b.baseline > 0
        GROUP BY ALL
        """,
        {"p": path, "b_lo": BASELINE_FROM, "b_hi": BASELINE_TO},
    ).fetchall()
    return {
        "check": {
            (str(region), day): (int(count or 0), round(float(kwh or 0.0), 3))
            for region, day, count, kwh in rows
            if count
        }
    }


def zhikong_engine(path: str, ready: dict[str, Any]) -> dict[str, Any]:
    result = ready["engine"].compute(Path(path), ready["config"], known_regions=ready["known"])
    counties = {
        (row.key, row.date): (row.resumed, round(row.resumed_kwh, 3))
        for row in result.rows
        if not row.key.endswith("00") and row.resumed
    }
    return {"check": counties, "rows": len(result.rows), "flags": len(result.flags)}


STEPS: dict[str, tuple[str, Callable[[str, dict[str, Any]], dict[str, Any]]]] = {
    "A": ("baseline A: DuckDB GROUP BY region, date (count, Σ kWh)", plain_group_by),
    "F": ("floor F: DuckDB GROUP BY customer_id (count only)", per_customer_floor),
    "B": ("baseline B: the index in plain DuckDB SQL (no checks, no roll-up)", plain_index_sql),
    "C": ("zhikong power_engine.compute (validation, flags, county/city/province)", zhikong_engine),
}


def _child(step: str, path: str, queue: Any) -> None:
    ready = prepare()
    started = time.perf_counter()
    outcome = STEPS[step][1](path, ready)
    elapsed = time.perf_counter() - started
    queue.put((elapsed, _peak_rss(), outcome))


def _peak_rss() -> int:
    """This process's peak resident set (VmHWM: per address space, so fresh after exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_step(step: str, path: str) -> tuple[float, int, dict[str, Any]]:
    """Run one step in a fresh process: (seconds, peak RSS bytes, outcome)."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(step, path, queue))
    process.start()
    elapsed, peak, outcome = queue.get()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"step {step} failed with exit code {process.exitcode}")
    return elapsed, peak, outcome


def main() -> None:
    """Generate the data, time the steps, print and append the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--order",
        choices=("date", "customer"),
        default="date",
        help="row order of the file: by date (daily batches, the default) or by customer",
    )
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-power-") as folder:
        path = Path(folder) / "readings.parquet"
        started = time.perf_counter()
        rows = write_data(path, args.customers, args.days, args.order)
        generated = time.perf_counter() - started
        size = path.stat().st_size
        print(f"{rows:,} rows generated in {generated:.1f} s ({size / 2**20:.0f} MiB Parquet)")
        load = os.getloadavg()[0]
        times: dict[str, list[float]] = {step: [] for step in STEPS}
        peaks: dict[str, list[int]] = {step: [] for step in STEPS}
        outcomes: dict[str, dict[str, Any]] = {}
        for attempt in range(args.repeat):
            for step in STEPS:
                elapsed, peak, outcome = run_step(step, str(path))
                times[step].append(elapsed)
                peaks[step].append(peak)
                outcomes[step] = outcome
                print(f"  run {attempt + 1} {step}: {elapsed:.2f} s, peak {peak / 2**20:.0f} MiB")
    if outcomes["B"]["check"] != outcomes["C"]["check"]:
        raise SystemExit("the engine and the plain SQL disagree on resumed customers or kWh")

    median = {step: statistics.median(values) for step, values in times.items()}
    peak = {step: max(values) for step, values in peaks.items()}
    # per-round ratios: load from other work hits the three steps of a round alike
    ratio_a = statistics.median(c / a for c, a in zip(times["C"], times["A"], strict=True))
    ratio_b = statistics.median(c / b for c, b in zip(times["C"], times["B"], strict=True))
    ratio_f = statistics.median(f / a for f, a in zip(times["F"], times["A"], strict=True))
    command = "python benchmarks/bench_power_index.py " + " ".join(sys.argv[1:])
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## Power index, {args.customers:,} customers × {args.days} days ({rows:,} rows) — {now}",
        "",
        f"Command: `{command.strip()}` · machine: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}, load average "
        f"{load:.1f} at start · data: synthetic (`zhikong.economy.synthetic`, seed 2020), one "
        f"Parquet file of {size / 2**20:.0f} MiB, rows ordered by {args.order}, generated in "
        f"{generated:.0f} s (untimed)",
        "",
        "Each step in a fresh process (imports, region set and configuration loaded untimed), "
        f"run in turn A, F, B, C × {args.repeat}; median time, highest peak RSS (VmHWM) of the "
        "process. The ratios below the table are medians of the per-round ratios.",
        "",
        "| step | median (s) | runs (s) | peak RSS (MiB) | vs A | vs B |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for step, (label, _) in STEPS.items():
        runs = ", ".join(f"{value:.2f}" for value in times[step])
        lines.append(
            f"| {label} | {median[step]:.2f} | {runs} | {peak[step] / 2**20:.0f} | "
            f"{median[step] / median['A']:.2f}× | {median[step] / median['B']:.2f}× |"
        )
    goal = "met" if ratio_a <= 2 else "missed"
    lines += [
        "",
        f"zhikong ÷ plain group-by (A): {ratio_a:.2f}× — goal ≤ 2× {goal}; zhikong ÷ the plain "
        f"SQL index (B): {ratio_b:.2f}×; the bare per-customer group-by (F) alone is "
        f"{ratio_f:.2f}× A. B and C agree on resumed customers and kWh for all "
        f"{len(outcomes['C']['check']):,} county-days with a resumed customer; the engine "
        f"returned {outcomes['C']['rows']:,} rows (90 counties, 11 cities, the province).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write(text)


if __name__ == "__main__":
    main()
