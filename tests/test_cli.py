"""The `zhikong` command, run as a user runs it (a real process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from zhikong import __version__


def run(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"ZHIKONG_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"zhikong {__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--bogus",), "No such option: --bogus"),
        (("regions", "load"), "Missing argument"),
        (("regions", "load", "atlantis"), "unknown region pack 'atlantis'"),
        (("demo", "--people", "lots"), "--people"),
        (("demo", "--people", "-5"), "--people"),
        (("serve", "--port", "70000"), "--port"),
        (("--log-level", "loud", "db", "current"), "--log-level"),
        (("regions", "list", "--level", "planet"), "--level must be one of"),
        (("nonsense",), "No such command"),
    ],
)
def test_misuse_exits_2_with_one_line(args: tuple[str, ...], message: str, sqlite_env) -> None:  # type: ignore[no-untyped-def]
    result = run(*args, env_extra=sqlite_env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zhikong: error: ")
    assert message in lines[0]


def test_db_upgrade_regions_load_and_list(sqlite_env: dict[str, str]) -> None:
    listed = run("regions", "list", env_extra=sqlite_env)
    assert listed.returncode == 2 and "zhikong db upgrade" in listed.stderr
    assert run("regions", "load", "zhejiang", env_extra=sqlite_env).returncode == 2

    upgraded = run("db", "upgrade", env_extra=sqlite_env)
    assert upgraded.returncode == 0 and "empty → " in upgraded.stdout
    loaded = run("regions", "load", "zhejiang", env_extra=sqlite_env)
    assert loaded.returncode == 0 and "102 new" in loaded.stdout
    again = run("regions", "load", "zhejiang", env_extra=sqlite_env)
    assert again.returncode == 0 and "0 new, 102 updated" in again.stdout
    cities = run("regions", "list", "--level", "city", env_extra=sqlite_env)
    assert cities.returncode == 0 and "杭州市" in cities.stdout and "11 / 11" in cities.stdout
    missing = run("regions", "list", "--within", "339999", env_extra=sqlite_env)
    assert missing.returncode == 2 and "339999" in missing.stderr


def test_cli_flag_overrides_environment(tmp_path: Path) -> None:
    env = {"ZHIKONG_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    flag_db = tmp_path / "flag.db"
    result = run("--database-url", f"sqlite:///{flag_db}", "db", "upgrade", env_extra=env)
    assert result.returncode == 0
    assert flag_db.exists() and not (tmp_path / "env.db").exists()


def test_demo_refuses_a_non_demo_database(sqlite_env: dict[str, str]) -> None:
    assert run("db", "upgrade", env_extra=sqlite_env).returncode == 0
    assert run("regions", "load", "zhejiang", env_extra=sqlite_env).returncode == 0
    # Regions but no residents: nothing to lose, the demo may build.
    assert run("demo", "--people", "50", env_extra=sqlite_env).returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_then_serve_a_real_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    env["ZHIKONG_VAR_DIR"] = str(tmp_path / "var")
    port = _free_port()
    built = run(
        "demo",
        "--people",
        "1000",
        "--seed",
        "9",
        env_extra={"ZHIKONG_VAR_DIR": env["ZHIKONG_VAR_DIR"]},
    )
    assert built.returncode == 0, built.stderr
    assert "1,000 synthetic residents" in built.stdout
    assert (tmp_path / "var" / "zhikong.db").exists()
    server = subprocess.Popen(
        [sys.executable, "-m", "zhikong", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        counties = httpx.get(
            f"{base}/api/v1/regions", params={"level": "county", "limit": 1000}
        ).json()
        assert counties["total"] == 90
        assert sum(c["population"] for c in counties["items"]) == 64_567_588
        summary = httpx.get(f"{base}/api/v1/residents/summary").json()
        assert summary["residents"] == 1000 and summary["synthetic"] == 1000
        assert "浙江省" in httpx.get(base).text
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"{base}/docs" in out
