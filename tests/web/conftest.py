"""Browser tests: a real server (`python -m zhikong serve`) over a demo database, driven by
Debian's Chromium through Playwright. Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running zhikong server over a fresh demo database."""

    base: str
    var: Path
    env: dict[str, str]
    process: subprocess.Popen[str]
    accounts: dict[str, str] = field(default_factory=dict)
    log: Path = Path()

    def sms_code(self, phone: str) -> str:
        """The last SMS code sent to a phone (LogSmsSender writes it to the server log)."""
        tail = phone[-4:]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = None
            for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("logger") == "zhikong.sms" and str(entry.get("to", "")).endswith(tail):
                    match = re.search(r"(?<!\d)(\d{6})(?!\d)", str(entry.get("text", "")))
                    found = match.group(1) if match else found
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no SMS code for …{tail} in the server log")

    def token(self, username: str) -> str:
        """An access token for a demo staff account."""
        response = httpx.post(
            f"{self.base}/api/v1/auth/token",
            data={"username": username, "password": self.accounts[username]},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def _accounts(var: Path) -> dict[str, str]:
    """username → password from var/demo-accounts.txt."""
    accounts = {}
    for line in (var / "demo-accounts.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and not line.startswith("#"):
            accounts[parts[0]] = parts[3]
    return accounts


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`zhikong demo --people 2000` then `zhikong serve` on a free port."""
    root = tmp_path_factory.mktemp("web")
    var = root / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    env["ZHIKONG_VAR_DIR"] = str(var)
    built = subprocess.run(
        [sys.executable, "-m", "zhikong", "demo", "--people", "2000", "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr + built.stdout
    port = _free_port()
    log = root / "server.log"
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "zhikong", "serve", "--port", str(port)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        yield Server(base, var, env, process, _accounts(var), log)
    finally:
        process.terminate()
        process.wait(timeout=30)
        handle.close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless (scripts/ensure-chromium.sh installs it)."""
    assert Path(CHROMIUM).exists(), "run scripts/ensure-chromium.sh (make test does)"
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    """A fresh browser profile that may talk only to the zhikong server."""
    context = browser.new_context(
        base_url=server.base, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    external: list[str] = []

    def guard(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.url.startswith(server.base) or request.url.startswith(("data:", "blob:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            external.append(request.url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", guard)
    yield context
    context.close()
    assert not external, f"pages asked for external resources: {external}"


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors: {errors}"


def shoot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path
