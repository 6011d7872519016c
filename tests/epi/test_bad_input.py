"""Bad input: a clear error per series, exit 2 and one line when nothing can be computed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zhikong.cli import main
from zhikong.epi.errors import EpiInputError
from zhikong.epi.rt import SerialInterval, estimate_rt
from zhikong.epi.seir import scenario_from_mapping
from zhikong.epi.series import Frequency, series_from_rows


def rows(name: str, start: str, counts: list[str], step: int = 1) -> list[dict[str, str]]:
    day0 = np.datetime64(start)
    return [
        {"series": name, "date": str(day0 + np.timedelta64(i * step, "D")), "count": c}
        for i, c in enumerate(counts)
    ]


GOOD = rows("good", "2020-01-01", ["1", "2", "3", "4"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rows("s", "2020-01-01", ["1", "-2", "3"]), "negative count -2 on 2020-01-02"),
        (rows("s", "2020-01-01", ["1", "2.5", "3"]), "count 2.5 on 2020-01-02 is not an integer"),
        (rows("s", "2020-01-01", ["1", "many", "3"]), "'many' on 2020-01-02 is not a number"),
        (rows("s", "2020-01-01", ["1", "", "3"]), "missing count on 2020-01-02"),
        (rows("s", "2020-01-01", ["1", "NA", "3"]), "missing count on 2020-01-02"),
        (rows("s", "2020-01-01", ["1", "inf", "3"]), "not finite"),
        (
            rows("s", "2020-01-01", ["1", "2"]) + rows("s", "2020-01-05", ["3"]),
            "gap between 2020-01-02 and 2020-01-05",
        ),
        (
            rows("s", "2020-01-01", ["1", "2"]) + rows("s", "2020-01-02", ["3"]),
            "date 2020-01-02 occurs more than once",
        ),
        ([{"series": "s", "date": "01/02/2020", "count": "1"}], "is not an ISO date"),
    ],
)
def test_each_bad_series_is_named_and_the_others_survive(bad, message) -> None:  # type: ignore[no-untyped-def]
    table = series_from_rows(GOOD + bad, Frequency.day)
    assert [s.name for s in table.series] == ["good"]
    assert len(table.errors) == 1
    assert str(table.errors[0]).startswith("series s: ")
    assert message in str(table.errors[0])


def test_weekly_rows_must_be_seven_days_apart() -> None:
    table = series_from_rows(rows("w", "2020-01-06", ["1", "2", "3"], step=1), Frequency.week)
    assert "gap between 2020-01-06 and 2020-01-07" in str(table.errors[0])
    table = series_from_rows(rows("w", "2020-01-06", ["1", "2", "3"], step=7), Frequency.week)
    assert not table.errors and table.series[0].n == 3


def test_rows_in_any_order_are_sorted_by_date() -> None:
    shuffled = list(reversed(rows("s", "2020-01-01", ["1", "2", "3"])))
    table = series_from_rows(shuffled, Frequency.day)
    assert table.series[0].counts.tolist() == [1.0, 2.0, 3.0]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def series_text(name: str, counts: list[int | str], start: str = "2020-01-01") -> str:
    return "".join(
        f"{r['series']},{r['date']},{r['count']}\n"
        for r in rows(name, start, [str(c) for c in counts])
    )


def test_detect_writes_good_series_and_warns_once_per_bad_one(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = series_text("good", [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8])
    negative = series_text("neg", [1, 2, -1, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    short = series_text("short", [1, 2, 3])
    source = write_csv(tmp_path / "in.csv", "series,date,count\n" + good + negative + short)
    out = tmp_path / "out.csv"
    code, stdout, stderr = cli(
        capsys,
        "alerts",
        "detect",
        "--method",
        "ears-c1",
        "--input",
        str(source),
        "--output",
        str(out),
    )
    assert code == 0, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("zhikong: warning: series neg: negative count -1 on 2020-01-03")
    assert "series short: too short for ears-c1: needs at least 8 days, has 3" in lines[1]
    written = out.read_text().splitlines()
    assert written[0] == "series,date,method,upperbound,alarm"
    assert len(written) == 1 + 5 and all(line.startswith("good,") for line in written[1:])
    assert "2 series skipped" in stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            "series,date,count\n" + series_text("neg", [1, -2, 3, 4, 5, 6, 7, 8, 9]),
            [],
            "nothing to detect: series neg: negative count",
        ),
        (
            "series,date,count\n" + series_text("tiny", [1, 2, 3]),
            [],
            "series tiny: too short for ears-c1",
        ),
        (
            "series,date,count\n" + series_text("a", [1.5, 2, 3]),
            [],
            "count 1.5 on 2020-01-01 is not an integer",
        ),
        ("series,date\nx,2020-01-01\n", [], "input lacks column(s) count"),
        ("series,date,count\n", [], "has no data rows"),
        (
            "series,date,count\n" + series_text("a", list(range(20))),
            ["--b", "3"],
            "--b does not apply to ears-c1",
        ),
        (
            "series,date,count\n" + series_text("a", list(range(20))),
            ["--alpha", "2"],
            "alpha must be between 0 and 1",
        ),
        (
            "series,date,count\n" + series_text("a", list(range(20))),
            ["--start", "3"],
            "can start at t = 8 at the earliest",
        ),
    ],
)
def test_detect_refuses_with_exit_2_and_one_line(
    tmp_path: Path, capsys, content, args, message
) -> None:  # type: ignore[no-untyped-def]
    source = write_csv(tmp_path / "in.csv", content)
    out = tmp_path / "out.csv"
    code, _, stderr = cli(
        capsys,
        "alerts",
        "detect",
        "--method",
        "ears-c1",
        "--input",
        str(source),
        "--output",
        str(out),
        *args,
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zhikong: error: "), stderr
    assert message in lines[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.csv")]


def test_farrington_too_short_and_wrong_options(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    weekly = "".join(
        f"w,{np.datetime64('2015-01-05') + np.timedelta64(7 * i, 'D')},{i % 7}\n"
        for i in range(200)
    )
    source = write_csv(tmp_path / "in.csv", "series,date,count\n" + weekly)
    out = tmp_path / "out.csv"
    base = ["alerts", "detect", "--input", str(source), "--output", str(out), "--freq", "week"]
    code, _, stderr = cli(capsys, *base, "--method", "farrington")
    assert code == 2 and "too short for farrington: needs at least 264 weeks, has 200" in stderr
    code, _, stderr = cli(capsys, *base, "--method", "farrington", "--baseline", "7")
    assert code == 2 and "--baseline does not apply to farrington" in stderr
    code, _, stderr = cli(
        capsys, *base, "--method", "farrington-flexible", "--b", "3", "--no-periods", "60"
    )
    assert code == 2 and "noPeriods 60 is too big" in stderr
    code, _, stderr = cli(
        capsys, *base, "--method", "farrington-flexible", "--b", "3", "--population-offset"
    )
    assert code == 2 and "lacks column(s) population" in stderr
    code, _, stderr = cli(capsys, *base, "--method", "farrington", "--powertrans", "3/4")
    assert code == 2 and "--powertrans must be none, 1/2 or 2/3" in stderr
    code, _, stderr = cli(capsys, *base, "--method", "farrington", "--limit54", "5")
    assert code == 2 and "--limit54 must be CASES,WEEKS" in stderr
    code, _, stderr = cli(capsys, *base, "--method", "farrington", "--b", "3")
    assert code == 0, stderr
    assert out.read_text().count("\n") == 1 + 200 - (52 * 3 + 3)


def test_missing_input_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, stderr = cli(
        capsys,
        "epi",
        "rt",
        "--input",
        str(tmp_path / "nope.csv"),
        "--output",
        str(tmp_path / "o.csv"),
        "--si-mean",
        "5",
        "--si-sd",
        "2",
    )
    assert code == 2 and "input file" in stderr and "not found" in stderr


@pytest.mark.parametrize(
    ("si", "message"),
    [
        ("k,w\n0,0\n1,0\n2,0\n", "the SI distribution has no mass"),
        ("k,w\n0,0.2\n1,0.8\n", "must have w_0 = 0"),
        ("k,w\n0,0\n1,0.5\n2,0.3\n", "must sum to 1 (sums to 0.8)"),
        ("k,w\n0,0\n1,-0.5\n2,1.5\n", "negative value"),
        ("k,w\n0,0\n2,1\n", "expected k = 1, got 2"),
        ("k,w\n0,0\n1,x\n", "k must be an integer and w a number"),
    ],
)
def test_rt_refuses_a_bad_serial_interval(tmp_path: Path, capsys, si: str, message: str) -> None:  # type: ignore[no-untyped-def]
    source = write_csv(
        tmp_path / "in.csv", "series,date,count\n" + series_text("a", list(range(30)))
    )
    dist = write_csv(tmp_path / "si.csv", si)
    code, _, stderr = cli(
        capsys,
        "epi",
        "rt",
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o.csv"),
        "--si-distribution",
        str(dist),
    )
    assert code == 2, stderr
    assert message in stderr and len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--si-mean", "1", "--si-sd", "2"], "serial interval mean must be > 1"),
        (["--si-mean", "5", "--si-sd", "0"], "serial interval sd must be > 0"),
        (["--si-mean", "5"], "--si-mean and --si-sd go together"),
        ([], "give either --si-mean and --si-sd, or --si-distribution"),
        (
            ["--si-mean", "5", "--si-sd", "2", "--window", "40"],
            "too short for R_t with a 40-day window",
        ),
        (["--si-mean", "5", "--si-sd", "2", "--prior-sd", "0"], "prior mean and sd must be > 0"),
    ],
)
def test_rt_refuses_bad_options(tmp_path: Path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    source = write_csv(
        tmp_path / "in.csv", "series,date,count\n" + series_text("a", list(range(30)))
    )
    code, _, stderr = cli(
        capsys, "epi", "rt", "--input", str(source), "--output", str(tmp_path / "o.csv"), *args
    )
    assert code == 2, stderr
    assert message in stderr and len(stderr.strip().splitlines()) == 1


SCENARIO = {
    "patches": [
        {"id": "a", "population": 1000, "S": 990, "E": 0, "I": 10, "R": 0},
        {"id": "b", "population": 500, "S": 500, "E": 0, "I": 0, "R": 0},
    ],
    "mobility": [[0.9, 0.1], [0.2, 0.8]],
    "beta": [{"from_day": 0, "value": 0.5}, {"from_day": 10, "value": [0.2, 0.3]}],
    "sigma": 0.2,
    "gamma": 0.25,
    "days": 30,
}


def mutate(path: str, value: object) -> dict[str, object]:
    doc = json.loads(json.dumps(SCENARIO))
    target = doc
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            mutate("mobility", [[0.9, 0.2], [0.2, 0.8]]),
            "mobility is not row-stochastic: row 0 sums to 1.1",
        ),
        (mutate("mobility", [[1.0]]), "mobility must be 2×2"),
        (mutate("mobility", [[1.1, -0.1], [0.2, 0.8]]), "finite and non-negative"),
        (mutate("patches.0.S", 900), "S+E+I+R = 910 differs from population 1000"),
        (mutate("patches.1.id", "a"), "id a occurs twice"),
        (mutate("patches.0.I", -1), "must be >= 0"),
        (mutate("beta.0.from_day", 1), "the first beta step must start on day 0"),
        (mutate("beta.1.from_day", 0), "from_day must increase"),
        (mutate("beta.1.value", [0.2]), "value must be a number or a list of 2 numbers"),
        (mutate("beta.0.value", -0.5), "beta must be finite and >= 0"),
        (mutate("sigma", 0), "sigma (1/incubation days) must be > 0"),
        (mutate("days", 1.5), "days must be a whole number >= 1"),
        (mutate("patches", []), "patches must be a non-empty list"),
    ],
)
def test_scenario_errors_name_the_field(doc: dict[str, object], message: str) -> None:
    with pytest.raises(EpiInputError) as info:
        scenario_from_mapping(doc)
    assert message in str(info.value)


def test_project_cli_refuses_bad_json_and_bad_mobility(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    broken = write_csv(tmp_path / "s.json", '{"patches": [}')
    out = tmp_path / "o.csv"
    code, _, stderr = cli(capsys, "epi", "project", "--scenario", str(broken), "--output", str(out))
    assert code == 2 and "invalid JSON at line 1" in stderr and not out.exists()
    bad = write_csv(tmp_path / "m.json", json.dumps(mutate("mobility", [[0.5, 0.4], [0.2, 0.8]])))
    code, _, stderr = cli(capsys, "epi", "project", "--scenario", str(bad), "--output", str(out))
    assert code == 2 and "not row-stochastic" in stderr and not out.exists()
    fractional = write_csv(tmp_path / "f.json", json.dumps(mutate("patches.0.S", 989.5) | {}))
    doc = json.loads(fractional.read_text())
    doc["patches"][0]["I"] = 10.5
    fractional.write_text(json.dumps(doc))
    code, _, stderr = cli(
        capsys, "epi", "project", "--scenario", str(fractional), "--output", str(out), "--runs", "5"
    )
    assert code == 2 and "whole numbers of people" in stderr


def test_rt_core_never_returns_a_silent_nan_for_an_estimated_window() -> None:
    est = estimate_rt(np.array([5.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), SerialInterval(mean=2.0, sd=1.0))
    assert est.estimated[0].any()
    for values in [est.mean, est.std, *est.quantiles.values()]:
        assert np.all(np.isfinite(values[est.estimated]))
        assert np.all(np.isnan(values[~est.estimated]))


def test_a_real_process_exits_2_with_one_line(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "in.csv",
        "series,date,count\n" + series_text("neg", [1, -2, 3, 4, 5, 6, 7, 8, 9]),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhikong",
            "alerts",
            "detect",
            "--method",
            "ears-c3",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "zhikong: error: nothing to detect: series neg: negative count -2 on 2020-01-02"
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhikong",
            "alerts",
            "detect",
            "--method",
            "ears-c9",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "ears-c9" in result.stderr
