"""Fixtures of the epidemiological core: the shared R reference folders, read once."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

EXTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "extdata"
EARLY_WARNING = EXTDATA / "early_warning_reference"
EPI = EXTDATA / "epi_reference"

Rows = list[dict[str, str]]


def read_csv(path: Path) -> Rows:
    """Rows of a .csv or .csv.gz file."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream))
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def reference_file(folder: Path, stem: str) -> Path:
    """The reference output `stem` (.csv, or .csv.gz in the developers' copy)."""
    for suffix in (".csv", ".csv.gz"):
        path = folder / "outputs" / f"{stem}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"{stem} not in {folder / 'outputs'}")


@pytest.fixture(scope="session")
def early_warning() -> Path:
    """The surveillance reference folder (must exist: conformance is not optional)."""
    assert EARLY_WARNING.is_dir(), f"missing {EARLY_WARNING}"
    return EARLY_WARNING


@pytest.fixture(scope="session")
def epi_reference() -> Path:
    """The EpiEstim / deSolve reference folder."""
    assert EPI.is_dir(), f"missing {EPI}"
    return EPI


@pytest.fixture(scope="session")
def reference_rows() -> Callable[[Path, str], Rows]:
    """Read (and cache) a reference output by folder and stem."""
    cache: dict[tuple[Path, str], Rows] = {}

    def get(folder: Path, stem: str) -> Rows:
        key = (folder, stem)
        if key not in cache:
            cache[key] = read_csv(reference_file(folder, stem))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def input_rows() -> Callable[[Path], Rows]:
    """Read (and cache) an input CSV."""
    cache: dict[Path, Rows] = {}

    def get(path: Path) -> Rows:
        if path not in cache:
            cache[path] = read_csv(path)
        return cache[path]

    return get
