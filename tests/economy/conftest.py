"""Helpers for the economy tests: readings as files or Arrow tables, and a small config."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhikong.economy.power import HourlyReading, PowerIndexConfig, Reading, load_config

COLUMNS = ("customer_id", "region", "industry", "date", "kwh")
HOURLY_COLUMNS = ("customer_id", "date", "hour", "kwh")
KNOWN = frozenset({"330000", "330100", "330102", "330106", "330200", "330203", "330900"})


def cell(value: object) -> str:
    return "" if value is None else str(value)


def write_readings(path: Path, readings: Sequence[Reading | HourlyReading]) -> Path:
    """Write readings as CSV, NDJSON or Parquet (by suffix), strings as given."""
    columns = HOURLY_COLUMNS if readings and isinstance(readings[0], HourlyReading) else COLUMNS
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(columns)
            for reading in readings:
                writer.writerow([cell(getattr(reading, c)) for c in columns])
    elif path.suffix == ".ndjson":
        with path.open("w", encoding="utf-8") as stream:
            for reading in readings:
                record = {c: getattr(reading, c) for c in columns}
                stream.write(json.dumps({k: cell(v) for k, v in record.items()}) + "\n")
    else:
        pq.write_table(as_table(readings), path)
    return path


def as_table(readings: Sequence[Reading | HourlyReading]) -> pa.Table:
    """An Arrow table of the readings with every column as text."""
    columns = HOURLY_COLUMNS if readings and isinstance(readings[0], HourlyReading) else COLUMNS
    return pa.table(
        {
            c: pa.array([None if getattr(r, c) is None else str(getattr(r, c)) for r in readings])
            for c in columns
        }
    )


@pytest.fixture(scope="session")
def config() -> PowerIndexConfig:
    return load_config()


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`python -m zhikong ...` as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
