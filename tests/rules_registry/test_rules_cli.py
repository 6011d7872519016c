"""`zhikong rules`, run as a user runs it (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

RULE = "health-code-colour.zhejiang-2020"
SCHEMA_FILE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "zhikong"
    / "rules"
    / "schema"
    / "rule-document.schema.json"
)


def run(
    *args: str | Path, env_extra: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("zhikong: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"ZHIKONG_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def write_variant(tmp_path: Path, text: str, name: str, **changes: Any) -> Path:
    data = yaml.safe_load(text)
    data.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_rules_test_passes_the_shipped_rule(health_code_path: Path) -> None:
    result = run("rules", "test", health_code_path)
    assert result.returncode == 0, result.stderr
    assert f"{RULE} 1.0.0" in result.stdout
    assert "通过 18/18 个用例 · 18 of 18 test cases passed" in result.stdout
    verbose = run("rules", "test", health_code_path, "-v")
    assert verbose.stdout.count("  ✓ ") == 18


def test_rules_test_exits_1_and_prints_each_failing_case(
    tmp_path: Path, health_code_text: str
) -> None:
    tests = yaml.safe_load(health_code_text)["tests"]
    tests[0]["expected"] = "red"
    tests[4]["expected"] = "yellow"
    path = write_variant(tmp_path, health_code_text, "failing.yaml", tests=tests)
    result = run("rules", "test", path)
    assert result.returncode == 1
    failing = [line for line in result.stdout.splitlines() if line.startswith("  ✗ ")]
    assert failing == [
        '  ✗ 1 nothing to report is green (2020-02-20): 期望 · expected "red", 实际 · got "green"',
        '  ✗ 5 close contact is red (2020-02-20): 期望 · expected "yellow", 实际 · got "red"',
    ]
    assert "16 of 18 test cases passed" in result.stdout


def test_an_invalid_document_lists_every_issue_and_exits_2(
    tmp_path: Path, health_code_text: str
) -> None:
    path = write_variant(
        tmp_path,
        health_code_text,
        "bad.yaml",
        version="one",
        logic={"if": [{"var": "input.fevr"}, "red", {"var": "parameters.days"}]},
    )
    result = run("rules", "test", path)
    line = assert_one_error_line(result, "invalid rule document", "3 issue(s)")
    assert "first: /version:" in line
    assert "3 issue(s):" in result.stdout
    for path_text in ("/version:", "/logic/if/0/var:", "/logic/if/2/var:"):
        assert f"  {path_text}" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rules", "test", "no-such-file.yaml"), "no such file: no-such-file.yaml"),
        (("rules", "test"), "Missing argument"),
        (("rules", "eval", "{rule}"), "Missing option '--input'"),
        (("rules", "eval", "{rule}", "--input", "-", "--at", "20.2.2020"), "--at must be a date"),
        (("rules", "eval", "{rule}", "--input", "-", "--at", "2019-12-31"), "not on 2019-12-31"),
        (("rules", "list", "--status", "old"), "--status must be one of draft, published"),
        (("rules", "publish", "{rule}", "--actor", "bob"), "--actor 'bob' is not of the form"),
    ],
)
def test_misuse_exits_2_with_one_line(
    args: tuple[str, ...], message: str, health_code_path: Path, env: dict[str, str]
) -> None:
    arguments = [str(health_code_path) if arg == "{rule}" else arg for arg in args]
    assert_one_error_line(run(*arguments, env_extra=env, stdin="{}"), message)


def test_eval_with_explanation_and_json(tmp_path: Path, health_code_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"fever": True}), encoding="utf-8")
    result = run(
        "rules", "eval", health_code_path, "--input", facts, "--at", "2020-02-20", "--explain"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '结果 · result: "yellow"'
    assert lines[1] == f"规则 · rule: {RULE} 1.0.0, 日期 · date: 2020-02-20"
    assert lines[2] == "参数 · parameters: lookback_days = 14"
    assert lines[3].startswith("说明: 你的健康码为黄码，因为：")
    assert lines[4].startswith("Explanation: Your health code is yellow because: ")
    assert "决定过程 · decision:" in lines

    as_json = run(
        "rules", "eval", health_code_path, "--input", "-", "--at", "2022-07-01", "--json",
        stdin='{"days_since_high_risk_area": 10}',
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {
        "rule_id": RULE,
        "rule_version": "1.0.0",
        "at": "2022-07-01",
        "result": "green",
        "parameters": {"lookback_days": 7},
    }


def test_eval_refuses_bad_input_with_one_line(health_code_path: Path) -> None:
    base = ("rules", "eval", health_code_path, "--input", "-", "--at", "2020-02-20")
    assert_one_error_line(run(*base, stdin="{fever: true}"), "standard input is not JSON")
    assert_one_error_line(run(*base, stdin="[true]"), "must hold a JSON object")
    wrong = run(*base, stdin='{"fever": "yes", "fevr": true}')
    assert_one_error_line(wrong, "input schema", "2 issue(s)")
    assert '  /fever: must be a boolean (true or false), not "yes"' in wrong.stdout
    assert "  /fevr: field 'fevr' is not declared" in wrong.stdout
    missing = run(*base, stdin="{}")
    assert missing.returncode == 0 and '结果 · result: "green"' in missing.stdout


def test_publish_list_show(
    tmp_path: Path, health_code_path: Path, health_code_text: str, env: dict[str, str]
) -> None:
    assert_one_error_line(run("rules", "list", env_extra=env), "zhikong db upgrade")
    assert run("db", "upgrade", env_extra=env).returncode == 0
    assert run("rules", "list", env_extra=env).stdout.strip() == "没有规则 · no rules stored"

    no_regions = run("rules", "publish", health_code_path, env_extra=env)
    assert_one_error_line(no_regions, "publish refused", "/regions/0: no region with code 330000")
    assert run("regions", "load", "zhejiang", env_extra=env).returncode == 0

    published = run("rules", "publish", health_code_path, env_extra=env)
    assert published.returncode == 0, published.stderr
    assert f"已发布 · published {RULE} 1.0.0: 18 个用例通过" in published.stdout
    again = run("rules", "publish", health_code_path, env_extra=env)
    assert again.returncode == 0 and "already published with identical content" in again.stdout

    changed = write_variant(tmp_path, health_code_text, "changed.yaml", regions=["330100"])
    assert_one_error_line(
        run("rules", "publish", changed, env_extra=env), "published with other content"
    )
    tests = yaml.safe_load(health_code_text)["tests"]
    tests[2]["expected"] = "green"
    failing = write_variant(tmp_path, health_code_text, "v2.yaml", version="2.0.0", tests=tests)
    refused = run("rules", "publish", failing, env_extra=env)
    assert_one_error_line(refused, "publish refused: 1 of 18 test case(s) fail")
    assert "  ✗ 3 confirmed case is red" in refused.stdout

    listed = run("rules", "list", env_extra=env)
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        f"{RULE}  1.0.0  已发布 · published  2020-02-17 → …  330000  "
        "健康码赋码规则（浙江 2020） · Health-code colour (Zhejiang 2020)",
        "共 1 个版本 · 1 version(s)",
    ]
    shown = run("rules", "show", RULE, env_extra=env)
    assert shown.returncode == 0
    assert (
        "状态 · status: 已发布 · published (" in shown.stdout and "by cli:operator)" in shown.stdout
    )
    assert shown.stdout.split("--- 原文 · source (yaml) ---\n", 1)[1] == health_code_text
    assert_one_error_line(
        run("rules", "show", RULE, "--version", "9.0.0", env_extra=env), f"no rule {RULE} version"
    )
    audit = run("audit", "show", "--subject", f"rule:{RULE}@1.0.0", env_extra=env)
    assert audit.returncode == 0
    assert f"1 audit entries for rule:{RULE}@1.0.0" in audit.stdout  # refusals left no trace


def test_schema_command_prints_the_shipped_schema() -> None:
    result = run("rules", "schema")
    assert result.returncode == 0
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")
