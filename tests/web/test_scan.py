"""The checkpoint scanner verifies codes in the browser, offline, against the cached trust list."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import base45  # type: ignore[import-untyped]
import cbor2
import httpx
import segno
from playwright.sync_api import BrowserContext, Page, expect

from zhikong.credential import issuer
from zhikong.credential.claims import Kind
from zhikong.keys import FileKeyStore

from .conftest import Server, shoot
from .helpers import declare, resident_headers


def _tamper(text: str, colour: str) -> str:
    """Change the colour inside a signed code without re-signing it."""
    cose = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    message = list(cose.value if isinstance(cose, cbor2.CBORTag) else cose)
    claims = cbor2.loads(message[2])
    claims[-65537][2] = colour
    message[2] = cbor2.dumps(claims)
    packed = zlib.compress(cbor2.dumps(cbor2.CBORTag(18, message)), 9)
    return "ZK1:" + base45.b45encode(packed).decode()


def _expired(server: Server, resident_id: int) -> str:
    """A code of this installation's issuer that expired an hour ago."""
    keys_dir = server.var / "keys"
    store = issuer.open_issuer_keys(keys_dir)
    assert store is not None
    # Issued the moment the issuer key became valid, for one second: long expired by now.
    issued = store.keys("330000")[0].not_before.replace(microsecond=0) + timedelta(seconds=1)
    assert issued is not None and issued + timedelta(seconds=1) < datetime.now(UTC)
    minted = issuer.mint_for(
        store,
        FileKeyStore.load(keys_dir),
        issuer_region="330000",
        resident_id=resident_id,
        colour="green",
        masked_name="王*",
        profile_id="health-code-colour.zhejiang-2020",
        profile_version="1.0.0",
        kind=Kind.SCREEN,
        now=issued,
        validity=timedelta(seconds=1),
    )
    return minted.text


def _verify(page: Page, text: str) -> None:
    page.fill("#manual-text", text)
    page.click("#manual-verify")


def test_scanner_works_offline(
    server: Server, context: BrowserContext, page: Page, tmp_path: Path
) -> None:
    phone = "13700005001"
    headers = resident_headers(server, phone)
    declared = declare(server, headers, phone)
    resident_id = declared["resident_id"]
    minted = httpx.post(
        f"{server.base}/api/v1/code/residents/{resident_id}/credential", headers=headers
    )
    assert minted.status_code == 200, minted.text
    valid = minted.json()["text"]
    image = tmp_path / "code.png"
    segno.make(valid, error="q").save(str(image), scale=6, border=4)

    page.goto("/scan")
    expect(page.locator("#trust-state")).to_have_attribute("data-version", re.compile(r"^\d+$"))
    # An officer signs in so that scans can be uploaded later.
    page.click("details summary")
    page.fill("#username", "shangcheng.officer")
    page.fill("#password", server.accounts["shangcheng.officer"])
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin-state")).to_have_attribute("data-kind", "ok")

    context.set_offline(True)
    expect(page.locator("#net-state")).to_have_text("离线")

    page.set_input_files("#image-input", str(image))
    decision = page.locator("#decision")
    expect(decision).to_have_attribute("data-decision", "allow")
    expect(decision).to_have_attribute("data-colour", "green")
    expect(page.locator("#verdict")).to_have_text("通行")
    expect(page.locator("#colour-label")).to_contain_text("绿码")
    shoot(page, "scan-allow")

    _verify(page, _tamper(valid, "red"))
    expect(decision).to_have_attribute("data-decision", "invalid")
    expect(page.locator("#reason")).to_contain_text("signature")
    shoot(page, "scan-tampered")

    _verify(page, _expired(server, resident_id))
    expect(decision).to_have_attribute("data-decision", "invalid")
    expect(page.locator("#reason")).to_contain_text("expired")
    shoot(page, "scan-expired")

    # Signed with a key nobody trusts: also refused.
    _verify(page, "ZK1:" + base64.b32encode(b"not a code").decode().rstrip("="))
    expect(decision).to_have_attribute("data-valid", "false")
    expect(page.locator("#queue-state")).to_have_attribute("data-pending", "4")

    # Back online: the queued scans are uploaded.
    context.set_offline(False)
    expect(page.locator("#queue-state")).to_have_attribute("data-pending", "0", timeout=15_000)
    page.click("#lang-switch")
    expect(page.locator("#net-state")).to_have_text("Online")
