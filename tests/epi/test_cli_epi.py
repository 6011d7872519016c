"""The CLI end to end on the reference inputs, judged by the shipped check.py scripts."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from zhikong.cli import main

EARS = [
    ("ears-c1", []),
    ("ears-c2", []),
    ("ears-c3", []),
    ("ears-c3", ["--alpha", "0.001"]),
    ("ears-c1", ["--alpha", "0.05"]),
    ("ears-c2", ["--alpha", "0.05"]),
    ("ears-c3", ["--alpha", "0.05"]),
]
FARRINGTON = [
    ("farrington", []),
    ("farrington-flexible", []),
    ("farrington-flexible", ["--b", "3", "--w", "3", "--no-periods", "10", "--powertrans", "2/3"]),
]


def zhikong(*args: str) -> None:
    """Run the CLI in this process; fail on a non-zero exit."""
    try:
        main(list(args))
    except SystemExit as exc:
        assert exc.code in (0, None), f"zhikong {' '.join(args)} exited {exc.code}"


def run_check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def test_alerts_detect_passes_surveillance_check(tmp_path: Path, early_warning: Path) -> None:
    out = tmp_path / "candidate"
    out.mkdir()
    n = 0
    for name, freq in (("daily", "day"), ("weekly", "week")):
        runs = EARS + (FARRINGTON if name == "weekly" else [])
        for method, extra in runs:
            n += 1
            zhikong(
                "alerts",
                "detect",
                "--method",
                method,
                "--freq",
                freq,
                *extra,
                "--input",
                str(early_warning / "inputs" / f"{name}.csv"),
                "--output",
                str(out / f"{n:02d}.csv"),
            )
    with open(out / "01.csv", encoding="utf-8") as stream:
        assert stream.readline().strip() == "series,date,method,upperbound,alarm"
    result = run_check(early_warning / "check.py", early_warning / "outputs", out, "--strict-na")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: alarm agreement >= 0.99 for all 10 checked method(s)" in result.stdout
    assert "not attempted" not in result.stdout
    for line in result.stdout.splitlines()[3:13]:  # one line per method: 100 % here
        assert " 1.0000 " in line, line


def _with_column(paths: dict[str, Path], column: str, target: Path) -> None:
    rows: list[list[str]] = []
    header: list[str] = []
    for value, path in paths.items():
        with open(path, encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            header = [column, *next(reader)]
            rows.extend([value, *row] for row in reader)
    with open(target, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def _split_by_si(epi_reference: Path, tmp_path: Path) -> list[tuple[Path, dict[str, str]]]:
    """Input files grouped by serial interval (one CLI call per SI, as a user would)."""
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    info = {}
    for name in ("rt_series.csv", "rt_series_epiestim.csv"):
        with open(epi_reference / "inputs" / name, encoding="utf-8") as stream:
            info.update({r["series"]: r for r in csv.DictReader(stream)})
    for name in ("rt_incidence.csv", "rt_incidence_epiestim.csv"):
        with open(epi_reference / "inputs" / name, encoding="utf-8") as stream:
            for r in csv.DictReader(stream):
                m = info[r["series"]]
                groups.setdefault((m["mean_si"], m["std_si"], m["si_distr"]), []).append(r)
    si_rows: dict[str, list[dict[str, str]]] = {}
    for name in ("si_distributions.csv", "si_distributions_epiestim.csv"):
        with open(epi_reference / "inputs" / name, encoding="utf-8") as stream:
            for r in csv.DictReader(stream):
                si_rows.setdefault(r["si_name"], []).append(r)
    out = []
    for i, ((mean, sd, dist), rows) in enumerate(groups.items()):
        incidence = tmp_path / f"incidence_{i}.csv"
        with open(incidence, "w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, ["series", "date", "count"], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        si = tmp_path / f"si_{i}.csv"
        with open(si, "w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, ["k", "w"], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(si_rows[dist])
        out.append((incidence, {"mean": mean, "sd": sd, "si": str(si)}))
    return out


def test_epi_rt_passes_epiestim_check(tmp_path: Path, epi_reference: Path) -> None:
    outputs: dict[str, list[Path]] = {
        "rt_parametric_w7": [],
        "rt_parametric_w14": [],
        "rt_nonparametric_w7": [],
    }
    for i, (incidence, si) in enumerate(_split_by_si(epi_reference, tmp_path)):
        parametric = ["--si-mean", si["mean"], "--si-sd", si["sd"]]
        calls = {
            "rt_parametric_w7": parametric,
            "rt_parametric_w14": [*parametric, "--window", "14"],
            "rt_nonparametric_w7": ["--si-distribution", si["si"]],
        }
        for run, extra in calls.items():
            target = tmp_path / f"{run}_{i}.csv"
            zhikong("epi", "rt", "--input", str(incidence), "--output", str(target), *extra)
            outputs[run].append(target)
    merged: dict[str, Path] = {}
    for run, paths in outputs.items():
        merged[run] = tmp_path / f"{run}.csv"
        _concat(paths, merged[run])
    candidate = tmp_path / "rt_candidate.csv"
    _with_column(merged, "run", candidate)
    result = run_check(
        epi_reference / "check.py",
        "rt",
        epi_reference,
        candidate,
        "--fields",
        "mean_r,std_r,q025,q05,q25,median,q75,q95,q975",
        "--min-rate",
        "1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout and "missing 0" in result.stdout


def _concat(paths: list[Path], target: Path) -> None:
    with open(target, "w", encoding="utf-8") as out:
        for i, path in enumerate(paths):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])


def test_epi_project_passes_desolve_check(tmp_path: Path, epi_reference: Path) -> None:
    outputs = {}
    for scenario in sorted((epi_reference / "inputs" / "scenarios").glob("*.json")):
        target = tmp_path / f"{scenario.stem}.csv"
        zhikong("epi", "project", "--scenario", str(scenario), "--output", str(target))
        outputs[scenario.stem] = target
    with open(outputs["single_01"], encoding="utf-8") as stream:
        assert stream.readline().strip() == "patch,day,S,E,I,R"
    candidate = tmp_path / "seir_candidate.csv"
    _with_column(outputs, "case", candidate)
    result = run_check(epi_reference / "check.py", "seir", epi_reference, candidate)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


def test_epi_project_stochastic_bands(tmp_path: Path, epi_reference: Path) -> None:
    scenario = epi_reference / "inputs" / "scenarios" / "meta_k3a.json"
    target = tmp_path / "bands.csv"
    zhikong("epi", "project", "--scenario", str(scenario), "--output", str(target), "--runs", "40")
    with open(target, encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    document = json.loads(scenario.read_text())
    assert len(rows) == 3 * (document["days"] + 1) * 4
    for row in rows:
        q = [float(row[c]) for c in ("q025", "q25", "median", "q75", "q975")]
        assert q == sorted(q)
        assert q[0] - 1e-9 <= float(row["mean"]) <= q[-1] + 1e-9
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        key = (row["patch"], row["day"])
        totals[key] = totals.get(key, 0.0) + float(row["mean"])
    population = {p["id"]: p["population"] for p in document["patches"]}
    for (patch, _), total in totals.items():
        assert total == pytest.approx(population[patch], rel=1e-12)
