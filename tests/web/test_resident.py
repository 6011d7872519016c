"""A resident signs in by SMS code, applies, and sees a green code with a live QR."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import Server, shoot
from .helpers import id_number


def sign_in(page: Page, server: Server, phone: str) -> None:
    page.goto("/m")
    page.fill("#phone", phone)
    page.click("#otp-request button")
    expect(page.locator("#otp-verify")).to_be_visible()
    page.fill("#otp", server.sms_code(phone))
    page.click("#otp-verify button")
    expect(page.locator("#view-home")).to_be_visible()


def test_resident_applies_and_sees_a_green_code(server: Server, page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "13700006001")
    shoot(page, "m-home")
    page.click("a[href='#apply/self']")
    expect(page.locator("#view-apply")).to_be_visible()
    page.fill("#name", "李小红")
    # A wrong check digit is caught in the browser, before anything is sent.
    good = id_number("330106", "19850612")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    page.fill("#id_number", bad)
    page.locator("#id_number").blur()
    expect(page.locator("#id_number-error")).to_contain_text("校验位")
    expect(page.locator("#id_number")).to_have_attribute("aria-invalid", "true")
    page.fill("#id_number", good)
    page.select_option("#address_region", "330106")
    page.check("#pledge")
    shoot(page, "m-apply", full_page=True)
    page.click("#declare button[type=submit]")
    expect(page.locator("#view-code")).to_be_visible()
    card = page.locator("#card")
    expect(card).to_have_attribute("data-colour", "green")
    expect(page.locator("#card-colour")).to_have_text("绿码")
    expect(page.locator("#card-name")).to_have_text(re.compile(r"^李\*+$"))
    expect(page.locator("#qr svg")).to_be_visible()
    expect(page.locator("#qr")).to_have_attribute("data-text", re.compile(r"^ZK1:"))
    expect(page.locator("#clock")).to_contain_text(":")
    shoot(page, "m-code")

    # Daily check-in, "why", and the English switch.
    page.click("#go-checkin")
    page.click("#checkin button[type=submit]")
    expect(page.locator("#message")).to_contain_text("打卡成功")
    page.click("#go-why")
    expect(page.locator("#why")).to_contain_text("绿码")
    page.click("#lang-switch")
    expect(page.locator("#why")).to_contain_text("Green")
    shoot(page, "m-why")
