"""`zhikong enterprise check-uscc`, run as a user runs it (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    return subprocess.run(
        [sys.executable, "-m", "zhikong", "enterprise", "check-uscc", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_one_json_object_per_code_and_exit_0_even_when_some_are_invalid() -> None:
    result = run("91330100716105852F", "91350211M00013FA1N", "9111000060003IOZSV")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["code"] for r in records] == [
        "91330100716105852F",
        "91350211M00013FA1N",
        "9111000060003IOZSV",
    ]
    assert records[0] == {
        "code": "91330100716105852F",
        "valid": True,
        "reason": None,
        "reason_code": None,
        "region": "330100",
    }
    assert records[1]["valid"] is False and records[1]["reason_code"] == "check_character"
    assert records[1]["region"] == "350211"
    assert records[2]["reason_code"] == "character_set" and records[2]["region"] is None


def test_dash_reads_standard_input_one_per_line_with_arguments() -> None:
    result = run("913304007429141869", "-", stdin="91110000600037341L\n\n  bad  \n")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["code"], r["valid"]) for r in records] == [
        ("913304007429141869", True),
        ("91110000600037341L", True),
        ("bad", False),
    ]


def test_no_codes_is_misuse_exit_2_one_line() -> None:
    for args, stdin in (((), None), (("-",), ""), (("-",), "\n\n")):
        result = run(*args, stdin=stdin)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("zhikong: error: "), result.stderr
        assert result.stdout == ""
