"""Fixtures for the index tests: the OxCGRT reference data, synthetic input and the CLI.

The project runs pytest with ``--import-mode=importlib``, so test modules cannot import a
sibling helper module; the helpers reach them through fixtures.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from zhikong.index.compute import IndexModel, Panel
from zhikong.index.indicators import load_config

EXTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "extdata"
OXCGRT = EXTDATA / "oxcgrt"

RunCli = Callable[..., subprocess.CompletedProcess[str]]
WriteCsv = Callable[..., Path]


@pytest.fixture(scope="session")
def oxcgrt_dir() -> Path:
    """The OxCGRT reference files; a missing folder is a failure, never a skip."""
    if not OXCGRT.is_dir():
        pytest.fail(f"OxCGRT reference data not found at {OXCGRT} (../shared/extdata/oxcgrt)")
    return OXCGRT


@pytest.fixture(scope="session")
def zhikong_model() -> IndexModel:
    """The default configuration, compiled."""
    return IndexModel.from_config(load_config("zhikong-2020"))


def synthetic_values(regions: int, days: int, seed: int) -> np.ndarray:
    """Plausible raw values for the 12 zhikong indicators, (regions, days, 12)."""
    config = load_config("zhikong-2020")
    rng = np.random.default_rng(seed)
    values = np.empty((regions, days, len(config.indicator_ids)))
    for k, indicator in enumerate(config.indicator_ids):
        definition = config.definition(indicator)
        high = definition.valid_max if definition.valid_max is not None else 12.0
        values[:, :, k] = np.round(rng.uniform(0.0, high, size=(regions, days)), 2)
    return values


@pytest.fixture
def synthetic_panel() -> Callable[..., Panel]:
    """A synthetic panel of the 12 zhikong indicators."""

    def build(regions: int = 6, days: int = 3, seed: int = 1) -> Panel:
        config = load_config("zhikong-2020")
        return Panel(
            regions=tuple(f"3301{i:02d}" for i in range(regions)),
            dates=tuple(date(2020, 2, 17) + timedelta(days=d) for d in range(days)),
            indicators=config.indicator_ids,
            values=synthetic_values(regions, days, seed),
        )

    return build


@pytest.fixture
def write_zhikong_csv(tmp_path: Path) -> WriteCsv:
    """Write a zhikong-layout input CSV; `edit` may change the rows (header first)."""

    def write(
        name: str = "in.csv",
        regions: int = 5,
        days: int = 3,
        seed: int = 7,
        edit: Callable[[list[list[str]]], None] | None = None,
    ) -> Path:
        config = load_config("zhikong-2020")
        values = synthetic_values(regions, days, seed)
        rows: list[list[str]] = [["region", "date", *config.indicator_ids]]
        for d in range(days):
            day = (date(2020, 2, 17) + timedelta(days=d)).isoformat()
            for r in range(regions):
                rows.append([f"3301{r:02d}", day, *(f"{v:.2f}" for v in values[r, d])])
        if edit is not None:
            edit(rows)
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as stream:
            csv.writer(stream, lineterminator="\n").writerows(rows)
        return path

    return write


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """Run `python -m zhikong ...` as a user would (a real process)."""

    def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
        env["COLUMNS"] = "200"
        return subprocess.run(
            [sys.executable, "-m", "zhikong", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=300,
            check=False,
        )

    return run


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dictionaries."""
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="session")
def load_csv() -> Callable[[Path], list[dict[str, str]]]:
    """Read a CSV file into dictionaries."""
    return read_csv
