"""`zhikong audit ...`, run as an operator runs it: a real process on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from zhikong.clock import FixedClock
from zhikong.keys import FileKeyStore
from zhikong.store import migrate
from zhikong.store.engine import make_engine

KIT = Any  # the AuditKit of conftest.py (test modules cannot import it)


def run(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    env.update(env_extra)
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def test_verify_show_anchor_and_check_anchor(kit: KIT, tmp_path: Path) -> None:
    env = {"ZHIKONG_DATABASE_URL": _url(kit.engine), "ZHIKONG_KEY_DIR": str(tmp_path / "keys")}
    assert run("keys", "init", env_extra=env).returncode == 0

    empty = run("audit", "verify", env_extra=env)
    assert empty.returncode == 0 and "audit log intact: empty" in _one_line(empty)

    kit.fill(5)
    verified = run("audit", "verify", env_extra=env)
    assert verified.returncode == 0, verified.stderr
    line = _one_line(verified)
    assert "audit log intact: 5 entries, head 5" in line and "signatures checked" in line

    shown = run("audit", "show", "--subject", "region:330102", env_extra=env)
    assert shown.returncode == 0, shown.stderr
    assert "2 audit entries for region:330102" in shown.stdout
    assert "region.risk.set" in shown.stdout and "risk-colour@2020.1" in shown.stdout
    nothing = run("audit", "show", "--subject", "region:999999", env_extra=env)
    assert nothing.returncode == 0 and "no audit entries for region:999999" in nothing.stdout

    anchor_file = tmp_path / "anchor-1.json"
    written = run("audit", "anchor", "--out", str(anchor_file), env_extra=env)
    assert written.returncode == 0, written.stderr
    anchor = json.loads(anchor_file.read_text(encoding="utf-8"))
    assert (anchor["format"], anchor["seq"], anchor["key_version"]) == (1, 5, 1)
    printed = run("audit", "anchor", env_extra=env)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["hash"] == anchor["hash"]

    checked = run("audit", "check-anchor", str(anchor_file), env_extra=env)
    assert checked.returncode == 0, checked.stderr
    assert _one_line(checked).startswith("anchor OK: entry 5 still has hash ")
    assert "2 stored anchors match" in _one_line(run("audit", "verify", env_extra=env))

    # An attacker edits entry 3, then truncates the log behind the anchor.
    kit.disarm()
    kit.set_fields(3, actor="user:666")
    broken = run("audit", "verify", env_extra=env)
    assert broken.returncode == 1
    assert _one_line(broken) == (
        "audit log BROKEN at entry 3: hash mismatch: the entry's content was changed"
    )
    refused = run("audit", "anchor", env_extra=env)
    assert refused.returncode == 1 and "no anchor exported" in refused.stdout

    kit.delete(4, 5)
    kit.set_head(3, kit.entries()[-1].hash)
    failed = run("audit", "check-anchor", str(anchor_file), env_extra=env)
    assert failed.returncode == 1
    assert "anchor FAILED for entry 5" in _one_line(failed) and "truncated" in failed.stdout


def test_global_flags_reach_the_audit_commands(tmp_path: Path, clock: FixedClock) -> None:
    url = f"sqlite:///{tmp_path / 'flags.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    FileKeyStore.init(tmp_path / "flag-keys", clock.now())
    decoy = {"ZHIKONG_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.db'}"}
    flags = ("--database-url", url, "--key-dir", str(tmp_path / "flag-keys"))
    result = run(*flags, "audit", "verify", env_extra=decoy)
    assert result.returncode == 0, result.stderr
    assert "signatures checked" in result.stdout
    assert not (tmp_path / "elsewhere.db").exists()


@pytest.fixture
def ready(tmp_path: Path, clock: FixedClock) -> dict[str, str]:
    """A migrated, empty SQLite database, a key directory and some files, as environment."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    FileKeyStore.init(tmp_path / "keys", clock.now())
    (tmp_path / "not-json.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "not-anchor.json").write_text('{"seq": 1}', encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "taken.json").write_text("{}", encoding="utf-8")
    return {"ZHIKONG_DATABASE_URL": url, "ZHIKONG_KEY_DIR": str(tmp_path / "keys")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("audit", "check-anchor", "{tmp}/missing.json"), "cannot read anchor"),
        (("audit", "check-anchor", "{tmp}"), "cannot read anchor"),
        (("audit", "check-anchor", "{tmp}/not-json.json"), "is not JSON"),
        (("audit", "check-anchor", "{tmp}/not-anchor.json"), "is not an audit anchor"),
        (("audit", "check-anchor", "{tmp}/list.json"), "is not an audit anchor"),
        (("audit", "check-anchor"), "Missing argument"),
        (("audit", "show", "--subject", "张三"), "kind:identifier"),
        (("audit", "show", "--subject", "resident:13812345678"), "phone or identity number"),
        (("audit", "show"), "Missing option"),
        (("audit", "show", "--subject", "region:1", "--limit", "0"), "--limit"),
        (("audit", "anchor"), "the audit log is empty"),
        (("audit", "anchor", "--out", "{tmp}/taken.json"), "already exists"),
        (("audit", "anchor", "--out", "{tmp}/no/such/dir/a.json"), "does not exist"),
        (("--key-dir", "{tmp}/no-keys", "audit", "anchor"), "no key directory"),
        (("--database-url", "sqlite:///{tmp}/blank.db", "audit", "verify"), "zhikong db upgrade"),
        (("audit", "verify", "--batch-size", "0"), "--batch-size"),
    ],
)
def test_misuse_exits_2_with_one_line(
    ready: dict[str, str], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(*(arg.format(tmp=tmp_path) for arg in args), env_extra=ready)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zhikong: error: ")
    assert message in lines[0]
