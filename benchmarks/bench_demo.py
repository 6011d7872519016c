"""Benchmark `zhikong demo --people N`: wall time and peak memory against a raw-insert baseline.

Run:  .venv/bin/python benchmarks/bench_demo.py [--people 1000000] [--postgres URL]

The baseline, measured in the same run, is the floor for the same work: the same number of
pre-built resident rows inserted with one raw `sqlite3` executemany (or one psycopg COPY) into
an identical table, with no sampling, no ORM and no progress display. Figures are appended to
benchmarks/RESULTS.md together with this command.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def run_demo(people: int, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `zhikong demo` process."""
    command = [sys.executable, "-m", "zhikong", "demo", "--people", str(people), "--force"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"zhikong demo failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def baseline_rows(people: int) -> list[tuple[str, str, str, int, str]]:
    """Rows shaped like the demo's, built before the clock starts."""
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    born = date(1980, 5, 17).isoformat()
    return [("330102", "F" if i % 2 else "M", born, 1, created) for i in range(people)]


def sqlite_baseline(people: int, folder: Path) -> float:
    """Seconds for a raw sqlite3 executemany of the same number of rows (WAL, one transaction)."""
    rows = baseline_rows(people)
    connection = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE resident (id INTEGER PRIMARY KEY, county_code VARCHAR(32) NOT NULL, "
        "sex VARCHAR(1) NOT NULL, birth_date DATE NOT NULL, synthetic BOOLEAN NOT NULL, "
        "created_at DATETIME NOT NULL)"
    )
    connection.execute(
        "CREATE INDEX ix_resident_county_birth ON resident (county_code, birth_date)"
    )
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO resident (county_code, sex, birth_date, synthetic, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def postgres_baseline(people: int, url: str) -> float:
    """Seconds for a raw psycopg COPY of the same number of rows."""
    import psycopg

    rows = baseline_rows(people)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_resident")
        connection.execute(
            "CREATE TABLE bench_resident (id BIGSERIAL PRIMARY KEY, county_code VARCHAR(32), "
            "sex VARCHAR(1), birth_date DATE, synthetic BOOLEAN, created_at TIMESTAMPTZ)"
        )
        connection.execute("CREATE INDEX ON bench_resident (county_code, birth_date)")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY bench_resident (county_code, sex, birth_date, synthetic, created_at) "
                "FROM STDIN"
            ) as copy,
        ):
            for county, sex, born, synthetic, created in rows:
                copy.write_row((county, sex, born, bool(synthetic), created))
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.execute("DROP TABLE bench_resident")
        connection.commit()
    return elapsed


def main() -> None:
    """Run the benchmark and append its figures to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a throwaway database)")
    args = parser.parse_args()

    lines = []
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
        env["ZHIKONG_VAR_DIR"] = folder
        demo_s, demo_mib = run_demo(args.people, env)
        base_s = sqlite_baseline(args.people, Path(folder))
        lines.append(("SQLite", demo_s, demo_mib, base_s, "raw sqlite3 executemany"))
    if args.postgres:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
        env["ZHIKONG_DATABASE_URL"] = args.postgres
        demo_s, demo_mib = run_demo(args.people, env)
        base_s = postgres_baseline(args.people, args.postgres)
        lines.append(("PostgreSQL", demo_s, demo_mib, base_s, "raw psycopg COPY"))

    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    command = "python benchmarks/bench_demo.py --people " + str(args.people)
    if args.postgres:
        command += " --postgres " + args.postgres
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = [
        f"\n## `zhikong demo --people {args.people:,}` — {stamp}\n",
        f"Command: `{command}` · machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.machine()}\n",
        "| backend | demo wall time (s) | demo peak RSS (MiB) | baseline (s) | baseline | "
        "demo / baseline |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for backend, demo_s, demo_mib, base_s, label in lines:
        report.append(
            f"| {backend} | {demo_s:.2f} | {demo_mib:.0f} | {base_s:.2f} | {label} of the "
            f"same rows, pre-built | {demo_s / base_s:.2f}× |"
        )
    report.append(
        "\nThe demo time covers the whole command: process start, schema reset and migration, "
        "region pack load, sampling the population and inserting it. The baseline only inserts "
        f"already-built rows (benchmark process peak RSS {own_peak:.0f} MiB, holding those rows)."
    )
    text = "\n".join(report) + "\n"
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n")
    with RESULTS.open("a", encoding="utf-8") as stream:
        stream.write(text)


if __name__ == "__main__":
    main()
