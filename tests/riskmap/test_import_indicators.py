"""Importing outside indicator data from CSV: all or nothing, errors name column and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

GOOD = (
    "region,date,bus_route_reopening_rate,electricity_recovery\n"
    "330102,2020-02-20,0.75,0.62\n"
    "330106,2020-02-20,0.8,\n"
)


def _zk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        check=False,
    )


def _count(db: Path) -> int:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        value = connection.execute(
            text("SELECT count(*) FROM map_indicator_value WHERE source = 'import'")
        ).scalar()
    engine.dispose()
    return int(value or 0)


def test_import_indicators_cli(tmp_path: Path) -> None:
    from zhikong.index.indicators import ZHIKONG_INDICATORS

    names = {indicator.id for indicator in ZHIKONG_INDICATORS}
    assert {"bus_route_reopening_rate", "electricity_recovery"} <= names
    env = {"ZHIKONG_VAR_DIR": str(tmp_path / "var")}
    assert _zk("db", "upgrade", env=env).returncode == 0
    assert _zk("regions", "load", "zhejiang", env=env).returncode == 0
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    done = _zk("map", "import-indicators", str(good), "--source", "transport-bureau", env=env)
    assert done.returncode == 0, done.stderr
    assert "3 indicator values" in done.stdout
    db = tmp_path / "var" / "zhikong.db"
    assert _count(db) == 3
    bad_cases = [
        (
            "region,date,bus_route_reopening_rate\n330102,2020-02-20,lots\n",
            "'bus_route_reopening_rate', line 2",
        ),
        ("region,date,weather\n330102,2020-02-20,1\n", "unknown indicator"),
        ("region,bus_route_reopening_rate\n330102,1\n", "'date'"),
        ("region,date,bus_route_reopening_rate\n339999,2020-02-20,1\n", "line 2"),
        (
            "region,date,bus_route_reopening_rate\n330102,2020-02-21,1\n330102,2020-02-21,2\n",
            "duplicate",
        ),
        ("region,date,bus_route_reopening_rate\n330102,20/02/2020,1\n", "'date', line 2"),
    ]
    for content, message in bad_cases:
        bad = tmp_path / "bad.csv"
        bad.write_text(content)
        result = _zk("map", "import-indicators", str(bad), "--source", "bad-source", env=env)
        assert result.returncode == 2, result.stdout
        assert message in result.stderr, (message, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert _count(db) == 3  # nothing partially written
