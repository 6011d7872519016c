"""Risk engine: profiles' own tests, hysteresis, roll-up, CDC conformance, batch CLI."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhikong.riskmap.batch import assess_rows, assess_rows_memoised, read_rows
from zhikong.riskmap.engine import PROFILES, State, load_profile, rollup, step
from zhikong.rules.evaluation import run_tests

EXTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "extdata"
CDC = EXTDATA / "us_cdc_community_levels" / "cdc_community_levels_dev_2022-07-14_to_2022-10-06.csv"
CDC_ID = "us-cdc-community-levels-2022"


@pytest.mark.parametrize("profile_id", PROFILES)
def test_profile_tests_pass(profile_id: str) -> None:
    report = run_tests(load_profile(profile_id).document)
    assert report.passed, report.failures


def test_cn_2022_high_falls_after_7_then_3_quiet_days() -> None:
    profile = load_profile("cn-2022")
    settings = profile.settings(date(2022, 7, 1))
    state = step(settings, None, "high").state
    levels = []
    for _ in range(10):
        moved = step(settings, state, "low")
        state = moved.state
        levels.append(moved.level)
    assert levels == ["high"] * 6 + ["medium"] * 3 + ["low"]


@given(st.lists(st.sampled_from(["green", "blue", "yellow", "orange", "red"]), max_size=40))
def test_a_level_never_falls_before_its_quiet_days(raws: list[str]) -> None:
    settings = load_profile("zhejiang-2020").settings(date(2020, 2, 9))
    state: State | None = None
    below = 0
    for raw in raws:
        moved = step(settings, state, raw)
        if state is not None:
            before = settings.level(state.level).rank
            after = settings.level(moved.level).rank
            below = below + 1 if settings.level(raw).rank < before else 0
            if after < before:
                assert below >= settings.fall_after_quiet_days[state.level]
                assert after == before - 1
                below = 0
            assert after >= settings.level(raw).rank
        state = moved.state


@given(
    st.lists(
        st.tuples(st.sampled_from(["low", "medium", "high"]), st.integers(0, 10**6)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 11),
    st.sampled_from(["low", "medium", "high"]),
)
def test_rollup_is_monotone(children: list[tuple[str, int]], index: int, worse: str) -> None:
    settings = load_profile("cn-2020").settings(date(2020, 2, 20))
    for method in ("worst", "population_weighted"):
        chosen = settings.__class__(**{**settings.__dict__, "rollup": method})
        base, _ = rollup(chosen, list(children))
        i = index % len(children)
        raised = list(children)
        if settings.level(worse).rank > settings.level(raised[i][0]).rank:
            raised[i] = (worse, raised[i][1])
        after, _ = rollup(chosen, raised)
        assert base is not None and after is not None
        assert settings.level(after).rank >= settings.level(base).rank


def _cdc_rows() -> list[dict[str, str]]:
    assert CDC.exists(), f"extdata missing: {CDC}"
    with CDC.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _complete(row: dict[str, str]) -> bool:
    names = (
        "covid_cases_per_100k",
        "covid_hospital_admissions_per_100k",
        "covid_inpatient_bed_utilization",
    )
    return all(row[n] not in ("", "NA", "N/A") for n in names) and row[
        "covid_19_community_level"
    ] in ("Low", "Medium", "High")


def test_cdc_conformance_library() -> None:
    profile = load_profile(CDC_ID)
    official = {(r["county_fips"], r["date_updated"]): r for r in _cdc_rows()}
    with CDC.open(encoding="utf-8", newline="") as stream:
        rows = read_rows(stream, profile, region_col="county_fips", date_col="date_updated")
    agree = disagree = incomplete = 0
    for result in assess_rows(profile, rows, explain=False):
        source = official[(result.region, result.day.isoformat())]
        if not _complete(source):
            incomplete += 1
            assert result.level is None
            continue
        if result.level == source["covid_19_community_level"]:
            agree += 1
        else:
            disagree += 1
    assert (agree, disagree, incomplete) == (41858, 0, 54)


def test_cdc_conformance_cli(tmp_path: Path) -> None:
    out = tmp_path / "levels.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhikong",
            "map",
            "assess",
            "--profile",
            CDC_ID,
            "--input",
            str(CDC),
            "--output",
            str(out),
            "--region-col",
            "county_fips",
            "--date-col",
            "date_updated",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    official = {(r["county_fips"], r["date_updated"]): r for r in _cdc_rows()}
    with out.open(encoding="utf-8", newline="") as stream:
        results = list(csv.DictReader(stream))
    assert len(results) == len(official)
    complete = [r for r in results if _complete(official[(r["region"], r["date"])])]
    assert len(complete) == 41858
    assert all(
        r["level"] == official[(r["region"], r["date"])]["covid_19_community_level"]
        for r in complete
    )
    assert all(r["profile"] == CDC_ID and r["rule_version"] for r in results)


def test_memoised_matches_plain() -> None:
    profile = load_profile(CDC_ID)
    with CDC.open(encoding="utf-8", newline="") as stream:
        rows = read_rows(stream, profile, region_col="county_fips", date_col="date_updated")
    rows = rows[:3000]
    plain = [(a.region, a.day, a.level) for a in assess_rows(profile, rows)]
    fast = [(a.region, a.day, a.level) for a in assess_rows_memoised(profile, rows)]
    assert sorted(plain) == sorted(fast)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("region,date,new_cases_per_100k_7d_avg\nA,2020-07-01,abc\n", "line 2"),
        ("region,date\nA,2020-07-01\n", "new_cases_per_100k_7d_avg"),
        ("region,date,new_cases_per_100k_7d_avg\nA,2020-07-01,1\nA,2020-07-01,2\n", "duplicate"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, content: str, needle: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhikong",
            "map",
            "assess",
            "--profile",
            "hghi",
            "--input",
            str(source),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert not list(tmp_path.glob(".zhikong-map-*"))


def test_cli_unknown_profile(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("region,date\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhikong",
            "map",
            "assess",
            "--profile",
            "nope",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "nope" in done.stderr


def test_hysteresis_in_batch() -> None:
    profile = load_profile("cn-2022")
    start = date(2022, 7, 1)
    lines = ["region,date,new_cases"] + [
        f"R,{start + timedelta(days=i)},{1 if i == 0 else 0}" for i in range(12)
    ]
    rows = read_rows(lines, profile, region_col="region", date_col="date")
    levels = [a.level for a in assess_rows(profile, rows)]
    assert levels == ["high"] * 7 + ["medium"] * 3 + ["low"] * 2
