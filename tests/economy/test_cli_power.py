"""`zhikong economy power-index`, run as a user runs it (a real process)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.economy.conftest import run_cli, write_readings
from tests.economy.test_power import bad_readings, day, small_readings

from zhikong.economy.power import HourlyReading


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("zhikong: error: ")
    return lines[0]


def test_writes_every_region_and_day_unrounded(tmp_path: Path) -> None:
    source = write_readings(tmp_path / "kwh.csv", small_readings())
    output = tmp_path / "index.csv"
    result = run_cli("economy", "power-index", "--input", source, "--output", output)
    assert result.returncode == 0, result.stderr
    with output.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        "region", "date", "customers", "resumed", "work_rate", "output_rate", "index",
    ]  # fmt: skip
    regions = {row["region"] for row in rows}
    assert regions == {"330000", "330100", "330102", "330106", "330200", "330203"}
    province = next(r for r in rows if r["region"] == "330000" and r["date"] == "2020-03-04")
    assert (province["customers"], province["resumed"]) == ("3", "2")
    assert float(province["index"]) == pytest.approx(100 * (0.5 * 2 / 3 + 0.5 * 0.5))
    assert len(province["work_rate"]) > 6  # unrounded
    assert "power-index.zhejiang-2020 v1" in result.stderr


def test_by_industry_threshold_and_ndjson(tmp_path: Path) -> None:
    source = write_readings(tmp_path / "kwh.parquet", small_readings())
    output = tmp_path / "index.ndjson"
    result = run_cli(
        "economy", "power-index", "--input", source, "--output", output,
        "--by", "industry", "--threshold", "0.2", "--baseline-from", "2019-11-01",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert {r["industry"] for r in records} == {"C", "I"}
    sample = next(r for r in records if r["industry"] == "C" and r["date"] == "2020-03-04")
    assert sample["resumed"] == 2  # B's 10 kWh is above 0.2 × 40
    assert "threshold=0.2" in result.stderr and "baseline.from=2019-11-01" in result.stderr


def test_flags_file_lists_customers_held_for_review(tmp_path: Path) -> None:
    source = write_readings(tmp_path / "kwh.csv", small_readings())
    hourly = [
        HourlyReading("A", day(o).isoformat(), h, 5.0) for o in range(153, 160) for h in range(24)
    ]
    hourly_path = write_readings(tmp_path / "hourly.csv", hourly)
    flags = tmp_path / "flags.csv"
    result = run_cli(
        "economy", "power-index", "--input", source, "--output", tmp_path / "o.csv",
        "--hourly", hourly_path, "--flags", flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with flags.open(encoding="utf-8") as stream:
        listed = list(csv.DictReader(stream))
    assert [(f["customer_id"], f["flag"]) for f in listed] == [("A", "flat_load")]
    assert "1 customer(s) excluded" in result.stderr


def test_bad_rows_exit_2_one_line_nothing_written_errors_listed(tmp_path: Path) -> None:
    source = write_readings(tmp_path / "kwh.csv", bad_readings())
    output = tmp_path / "index.csv"
    errors = tmp_path / "errors.csv"
    result = run_cli(
        "economy", "power-index", "--input", source, "--output", output, "--errors", errors
    )
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "14 invalid row(s)" in line and "row 4" in line
    assert not output.exists()
    with errors.open(encoding="utf-8") as stream:
        listed = list(csv.DictReader(stream))
    assert len(listed) == 14 and listed[0]["problem"] == "duplicate"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--threshold", "0"), "--threshold"),
        (("--threshold", "lots"), "--threshold"),
        (("--baseline-from", "2019-31-12"), "--baseline-from"),
        (("--baseline-from", "2020-02-01"), "before"),
        (("--by", "county"), "--by"),
        (("--config", "nope"), "unknown power-index configuration"),
        (("--regions", "atlantis"), "atlantis"),
    ],
)
def test_bad_options_exit_2_one_line(tmp_path: Path, extra: tuple[str, ...], message: str) -> None:
    source = write_readings(tmp_path / "kwh.csv", small_readings())
    result = run_cli(
        "economy", "power-index", "--input", source, "--output", tmp_path / "o.csv", *extra
    )
    assert result.returncode == 2
    assert message in one_error_line(result.stderr)


def test_missing_or_unreadable_input_exit_2(tmp_path: Path) -> None:
    missing = run_cli(
        "economy", "power-index", "--input", tmp_path / "no.csv", "--output", tmp_path / "o.csv"
    )
    assert missing.returncode == 2 and "no such file" in one_error_line(missing.stderr)
    source = write_readings(tmp_path / "kwh.csv", small_readings())
    wrong = run_cli("economy", "power-index", "--input", source, "--output", tmp_path / "o.txt")
    assert wrong.returncode == 2 and "--output" in one_error_line(wrong.stderr)
    no_input = run_cli("economy", "power-index", "--output", tmp_path / "o.csv")
    assert no_input.returncode == 2 and "--input" in one_error_line(no_input.stderr)
