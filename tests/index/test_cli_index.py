"""`zhikong index`, run as a user runs it (a real process): results, explanations, bad input."""

from __future__ import annotations

import csv
import math
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from zhikong.index.indicators import load_config

IDS = load_config("zhikong-2020").indicator_ids
RANKS = ("rank_p05", "rank_median", "rank_p95", "rank_min", "rank_max")
LoadCsv = Callable[[Path], list[dict[str, str]]]
RunCli = Callable[..., subprocess.CompletedProcess[str]]


def test_compute_writes_sub_indices_total_rank_and_contributions(
    run_cli: RunCli, write_zhikong_csv: Callable[..., Path], load_csv: LoadCsv
) -> None:
    source = write_zhikong_csv(regions=6, days=3)
    out = source.parent / "out.csv"
    result = run_cli("index", "compute", "--input", source, "--output", out)
    assert result.returncode == 0, result.stderr
    assert "wrote 18 rows" in result.stdout
    rows = load_csv(out)
    assert len(rows) == 18
    assert list(rows[0]) == [
        "region", "date", "containment", "flow", "total", "rank",
        *(f"contribution_{i}" for i in IDS),
    ]  # fmt: skip
    by_day: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        total = float(row["total"])
        parts = sum(float(row[f"contribution_{i}"]) for i in IDS)
        assert abs(parts - total) < 12 * 0.00005 + 1e-9  # 4-decimal rounding of 12 parts
        assert abs(total - (float(row["containment"]) + float(row["flow"])) / 2) < 1e-4
        by_day[row["date"]].append(int(row["rank"]))
    for ranks in by_day.values():
        assert sorted(ranks) == [1, 2, 3, 4, 5, 6]
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_sensitivity_is_reproducible_and_brackets_the_rank(
    run_cli: RunCli, write_zhikong_csv: Callable[..., Path], load_csv: LoadCsv
) -> None:
    source = write_zhikong_csv(regions=8, days=2)
    first, second = source.parent / "a.csv", source.parent / "b.csv"
    for out in (first, second):
        args = ("--sensitivity", "150", "--seed", "11", "--output", out)
        result = run_cli("index", "compute", "--input", source, *args)
        assert result.returncode == 0, result.stderr
        assert "150 draws, seed 11" in result.stdout
    assert first.read_bytes() == second.read_bytes()
    for row in load_csv(first):
        p05, median, p95, low, high = (int(row[name]) for name in RANKS)
        assert low <= int(row["rank"]) <= high
        assert low <= p05 <= median <= p95 <= high <= 8


def test_csv_goes_to_stdout_without_output(
    run_cli: RunCli, write_zhikong_csv: Callable[..., Path]
) -> None:
    source = write_zhikong_csv(regions=2, days=1)
    result = run_cli("index", "compute", "--input", source)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("region,date,containment,flow,total,rank,")
    assert len(lines) == 3


def test_explain_prints_the_breakdown_chinese_first(
    run_cli: RunCli, write_zhikong_csv: Callable[..., Path]
) -> None:
    source = write_zhikong_csv(regions=5, days=2)
    result = run_cli(
        "index", "compute", "--input", source, "--explain", "330102", "--date", "2020-02-18",
        "--sensitivity", "40",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "地区 region 330102 · 日期 date 2020-02-18" in text
    assert "总指数" in text and "第" in text and "rank" in text
    assert "管控指数" in text and "畅通指数" in text
    assert "公交开通率 · Bus-route reopening rate" in text
    assert "排名区间（40 次抽样）" in text and "rank interval over 40 draws" in text
    assert text.index("贡献") < text.index("contribution")
    assert "region,date" not in text  # no CSV when only explaining


def test_configs_and_indicators_list_the_data(run_cli: RunCli) -> None:
    listed = run_cli("index", "configs")
    assert listed.returncode == 0
    for config_id in ("zhikong-2020", "oxcgrt-stringency", "oxcgrt-containment-health"):
        assert config_id in listed.stdout
    shown = run_cli("index", "indicators")
    assert shown.returncode == 0
    assert "新增病例管控" in shown.stdout and "已公布名称" in shown.stdout
    assert shown.stdout.count("来源 source") == 12


@pytest.mark.parametrize(
    ("config_id", "column"),
    [
        ("oxcgrt-stringency", "StringencyIndex"),
        ("oxcgrt-containment-health", "ContainmentHealthIndex"),
    ],
)
def test_oxcgrt_contract_on_the_china_file(
    run_cli: RunCli,
    oxcgrt_dir: Path,
    tmp_path: Path,
    load_csv: LoadCsv,
    config_id: str,
    column: str,
) -> None:
    source = oxcgrt_dir / "oxcgrt_china_provinces_2023.csv"
    out = tmp_path / "out.csv"
    result = run_cli("index", "compute", "--config", config_id, "--input", source, "--output", out)
    assert result.returncode == 0, result.stderr
    ours, published = load_csv(out), load_csv(source)
    assert list(ours[0]) == ["region", "date", "value"]
    assert len(ours) == len(published) == 1_298
    for mine, theirs in zip(ours, published, strict=True):
        assert mine["region"] == (theirs["RegionCode"] or theirs["CountryCode"])
        assert mine["date"].replace("-", "") == theirs["Date"]
        assert mine["value"] == theirs[column]  # same text: 2 decimals, empty when undefined


def test_oxcgrt_contract_on_the_uk_v1_file(
    run_cli: RunCli, oxcgrt_dir: Path, tmp_path: Path, load_csv: LoadCsv
) -> None:
    source = oxcgrt_dir / "oxcgrt_gbr_nations_v1_2020-2022.csv"
    published = load_csv(source)
    for variant, column in (
        (None, "StringencyIndex_WeightedAverage"),
        ("non-vaccinated", "StringencyIndex_NonVaccinated"),
    ):
        out = tmp_path / f"{variant}.csv"
        extra = ("--variant", variant) if variant else ()
        args = ("--config", "oxcgrt-stringency", "--input", source, "--output", out, *extra)
        result = run_cli("index", "compute", *args)
        assert result.returncode == 0, result.stderr
        ours = load_csv(out)
        assert {row["region"] for row in ours} == {"GBR", "UK_NIR", "UK_SCO", "UK_WAL"}
        for mine, theirs in zip(ours, published, strict=True):
            assert abs(round(float(mine["value"]) * 100) - round(float(theirs[column]) * 100)) <= 1


# --- bad input: exit 2, one line naming the column and the line, nothing written --------


def replace_cell(line: int, column: str, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[line - 1][rows[0].index(column)] = value

    return edit


def drop_column(column: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        at = rows[0].index(column)
        for row in rows:
            del row[at]

    return edit


def duplicate_row(rows: list[list[str]]) -> None:
    rows.append(list(rows[2]))


def extra_column(rows: list[list[str]]) -> None:
    rows[0].append("happiness")
    for row in rows[1:]:
        row.append("1")


def short_row(rows: list[list[str]]) -> None:
    del rows[3][-1]


ZHIKONG_CASES = [
    (
        "non-numeric",
        replace_cell(4, "green_code_share", "lots"),
        ["line 4", "green_code_share", "not a number"],
    ),
    (
        "missing column",
        drop_column("retail_opening_rate"),
        ["line 1", "retail_opening_rate", "missing required column"],
    ),
    ("duplicate", duplicate_row, ["line 17", "region, date", "duplicate", "first on line 3"]),
    ("unknown indicator column", extra_column, ["line 1", "happiness", "unknown indicator column"]),
    (
        "out of range",
        replace_cell(6, "green_code_share", "150"),
        ["line 6", "green_code_share", "outside the valid range"],
    ),
    ("bad date", replace_cell(5, "date", "2020-02-30"), ["line 5", "'date'", "not a date"]),
    ("empty region", replace_cell(3, "region", " "), ["line 3", "'region'", "empty"]),
    (
        "nan",
        replace_cell(2, "active_clusters", "nan"),
        ["line 2", "active_clusters", "not a number"],
    ),
    ("short row", short_row, ["line 4", "fields"]),
]


def assert_refused(
    result: subprocess.CompletedProcess[str], needles: list[str], out: Path, before: bytes | None
) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zhikong: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    if before is None:
        assert not out.exists()
    else:
        assert out.read_bytes() == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("case", "edit", "needles"), ZHIKONG_CASES, ids=[c[0] for c in ZHIKONG_CASES]
)
def test_bad_zhikong_input_is_refused_and_nothing_is_written(
    run_cli: RunCli,
    write_zhikong_csv: Callable[..., Path],
    case: str,
    edit: Callable[[list[list[str]]], None],
    needles: list[str],
) -> None:
    source = write_zhikong_csv(edit=edit)
    out = source.parent / "out.csv"
    keep = case == "duplicate"  # an existing output must survive a refused run unchanged
    before = None
    if keep:
        out.write_bytes(b"previous result\n")
        before = out.read_bytes()
    result = run_cli("index", "compute", "--input", source, "--output", out)
    assert_refused(result, needles, out, before)
    assert "第" in result.stderr  # Chinese first


def oxcgrt_edit(source: Path, target: Path, edit: Callable[[list[list[str]]], None]) -> Path:
    with source.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))[:40]
    edit(rows)
    with target.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    return target


def compact_v1(rows: list[list[str]]) -> None:
    keep = [
        i
        for i, name in enumerate(rows[0])
        if not name[:4].endswith(("E_", "V_")) and "NV_" not in name[:5]
    ]
    rows[:] = [[row[i] for i in keep] for row in rows]


OXCGRT_CASES = [
    (
        "legacy",
        "missing flag column",
        drop_column("C1_Flag"),
        ["line 1", "C1_Flag", "missing required column"],
    ),
    (
        "legacy",
        "missing indicator column",
        drop_column("C8_International travel controls"),
        ["line 1", "C8_International travel controls", "missing required column"],
    ),
    (
        "legacy",
        "non-numeric",
        replace_cell(12, "C2_Workplace closing", "closed"),
        ["line 12", "C2_Workplace closing", "not a number"],
    ),
    (
        "legacy",
        "beyond the scale",
        replace_cell(7, "C1_School closing", "7"),
        ["line 7", "C1_School closing", "not a whole level 0…3"],
    ),
    (
        "legacy",
        "bad flag",
        replace_cell(9, "C3_Flag", "2"),
        ["line 9", "C3_Flag", "not a whole level 0…1"],
    ),
    (
        "legacy",
        "duplicate",
        duplicate_row,
        ["line 41", "region, date", "duplicate", "first on line 3"],
    ),
    (
        "legacy",
        "missing country",
        drop_column("CountryCode"),
        ["line 1", "CountryCode", "missing required column"],
    ),
    ("v1", "compact layout", compact_v1, ["line 1", "C1M_School closing", "E/NV/V"]),
    (
        "v1",
        "missing NV column",
        drop_column("C2NV_Workplace closing"),
        ["line 1", "C2NV_Workplace closing", "missing required column"],
    ),
]


@pytest.mark.parametrize(
    ("layout", "case", "edit", "needles"),
    OXCGRT_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in OXCGRT_CASES],
)
def test_bad_oxcgrt_input_is_refused_and_nothing_is_written(
    run_cli: RunCli,
    oxcgrt_dir: Path,
    tmp_path: Path,
    layout: str,
    case: str,
    edit: Callable[[list[list[str]]], None],
    needles: list[str],
) -> None:
    name = (
        "oxcgrt_national_legacy_2020-2022.csv"
        if layout == "legacy"
        else "oxcgrt_gbr_nations_v1_2020-2022.csv"
    )
    source = oxcgrt_edit(oxcgrt_dir / name, tmp_path / "in.csv", edit)
    out = tmp_path / "out.csv"
    args = ("--config", "oxcgrt-stringency", "--input", source, "--output", out)
    assert_refused(run_cli("index", "compute", *args), needles, out, None)


def bad_config(tmp_path: Path) -> Path:
    text = Path(__file__).resolve().parents[2] / "src/zhikong/index/configs/zhikong-2020.yaml"
    path = tmp_path / "mine.yaml"
    path.write_text(
        text.read_text(encoding="utf-8").replace("id: green_code_share", "id: joy"),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--config", "nope"), ["unknown index configuration 'nope'", "zhikong-2020"]),
        (("--config", "{bad}"), ["unknown indicator 'joy'", "mine.yaml"]),
        (("--input", "{missing}"), ["input file not found"]),
        (("--explain", "999999", "--date", "2020-02-17"), ["region 999999 is not in the input"]),
        (("--explain", "330101", "--date", "2021-01-01"), ["no row dated 2021-01-01"]),
        (("--explain", "330101"), ["--explain and --date go together"]),
        (("--variant", "vaccinated"), ["--variant applies to OxCGRT v1 files only"]),
        (("--sensitivity", "-1"), ["--sensitivity"]),
        (
            ("--config", "oxcgrt-stringency", "--variant", "vaccinated", "--input", "{legacy}"),
            ["--variant applies to OxCGRT v1 files only"],
        ),
        (
            ("--config", "oxcgrt-stringency", "--sensitivity", "5", "--input", "{legacy}"),
            ["no --sensitivity or --explain"],
        ),
        (
            ("--config", "oxcgrt-stringency", "--variant", "most", "--input", "{legacy}"),
            ["--variant must be one of"],
        ),
    ],
)
def test_bad_options_are_refused_with_one_line(
    run_cli: RunCli,
    write_zhikong_csv: Callable[..., Path],
    oxcgrt_dir: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    needles: list[str],
) -> None:
    source = write_zhikong_csv()
    legacy = oxcgrt_edit(
        oxcgrt_dir / "oxcgrt_national_legacy_2020-2022.csv",
        tmp_path / "legacy.csv",
        lambda rows: None,
    )
    places = {
        "{bad}": str(bad_config(tmp_path)),
        "{missing}": str(tmp_path / "nothing.csv"),
        "{legacy}": str(legacy),
    }
    resolved = [places.get(arg, arg) for arg in args]
    out = tmp_path / "out.csv"
    command = ["index", "compute", "--output", str(out), *resolved]
    if "--input" not in resolved:
        command += ["--input", str(source)]
    assert_refused(run_cli(*command), needles, out, None)


def test_missing_values_leave_the_index_empty_not_wrong(
    run_cli: RunCli, write_zhikong_csv: Callable[..., Path], load_csv: LoadCsv
) -> None:
    def gaps(rows: list[list[str]]) -> None:
        header = rows[0]
        rows[1][header.index("green_code_share")] = ""  # one flow gap: still defined
        for column in ("active_clusters", "unknown_source_cases"):
            rows[2][header.index(column)] = ""  # two control gaps: control undefined

    source = write_zhikong_csv(regions=3, days=1, edit=gaps)
    out = source.parent / "out.csv"
    result = run_cli("index", "compute", "--input", source, "--output", out)
    assert result.returncode == 0, result.stderr
    first, second, third = load_csv(out)
    assert first["total"] and first["contribution_green_code_share"] == "0.0000"
    assert second["containment"] == second["total"] == second["rank"] == ""
    assert second["flow"] != ""
    assert {first["rank"], third["rank"]} == {"1", "2"}
    assert math.isclose(
        sum(float(first[f"contribution_{i}"]) for i in IDS), float(first["total"]), abs_tol=1e-3
    )
