"""Colour-change notifications (log and a real webhook server) and the `zhikong code` CLI."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from zhikong.code.notify import ColourNotice, LogNotifier, WebhookNotifier, notifier_from_settings

NOTICE = ColourNotice(
    42,
    "green",
    "red",
    datetime(2020, 2, 20, 2, tzinfo=UTC),
    "code-colour.zhejiang-2020",
    "1.0.0",
    "close_contact",
)


def test_webhook_posts_signed_notices_to_a_real_server() -> None:
    received: list[tuple[bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["X-Zhikong-Signature"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    WebhookNotifier(url, "s3cret").notify([NOTICE])
    thread.join(timeout=10)
    server.server_close()
    body, signature = received[0]
    assert signature == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["notices"][0] == {
        "resident_id": 42,
        "old_colour": "green",
        "new_colour": "red",
        "at": "2020-02-20T02:00:00+00:00",
        "rule_id": "code-colour.zhejiang-2020",
        "rule_version": "1.0.0",
        "cause": "close_contact",
    }


def test_webhook_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    WebhookNotifier("http://127.0.0.1:9/none", "x", timeout=1).notify([NOTICE])
    assert "webhook delivery failed" in caplog.text


def test_notifier_settings() -> None:
    assert isinstance(notifier_from_settings("log", ""), LogNotifier)
    assert isinstance(notifier_from_settings("https://example.invalid/hook", "k"), WebhookNotifier)
    with pytest.raises(ValueError, match="ZHIKONG_NOTIFIER"):
        notifier_from_settings("carrier-pigeon", "")


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


def test_code_cli_tick_designate_and_profiles(tmp_path: Path) -> None:
    env = {"ZHIKONG_VAR_DIR": str(tmp_path / "var")}
    assert _zk("demo", "--people", "3000", env=env).returncode == 0
    first = _zk("code", "tick", env=env)
    assert first.returncode == 0 and "changed colour" in first.stdout
    again = _zk("code", "tick", env=env)
    assert "0 changed colour" in again.stdout  # idempotent
    later = _zk("code", "tick", "--at", "2099-01-01T00:00:00+08:00", env=env)
    assert later.returncode == 0
    designated = _zk(
        "code", "designate", "330102", "medium", "--basis", "测试：上城区中风险", env=env
    )
    assert designated.returncode == 0, designated.stderr
    assert "visitors found" in designated.stdout
    bad = _zk("code", "designate", "339999", "high", "--basis", "unknown region", env=env)
    assert bad.returncode == 2 and "339999" in bad.stderr
    naive = _zk("code", "tick", "--at", "2020-02-20T08:00:00", env=env)
    assert naive.returncode == 2 and "time zone" in naive.stderr
    profiles = _zk("code", "profiles", env=env)
    assert "code-colour.cn-2022" in profiles.stdout and "orange" in profiles.stdout
    verified = _zk("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stdout
