"""An officer reports a case's close contact in the console; the contact's code page turns red."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from .conftest import Server, shoot
from .test_resident import sign_in


def test_officer_reports_and_the_contact_turns_red(
    server: Server, context: BrowserContext, page: Page
) -> None:
    # The contact holds a green code on their phone.
    phone_page = context.browser.new_context(base_url=server.base, locale="zh-CN").new_page()  # type: ignore[union-attr]
    phone_page.set_viewport_size({"width": 390, "height": 844})
    sign_in(phone_page, server, "13700007001")
    phone_page.click("a[href='#apply/self']")
    phone_page.fill("#name", "赵小刚")
    from .helpers import id_number

    phone_page.fill("#id_number", id_number("330102", "19800101"))
    phone_page.select_option("#address_region", "330102")
    phone_page.check("#pledge")
    phone_page.click("#declare button[type=submit]")
    expect(phone_page.locator("#card")).to_have_attribute("data-colour", "green")
    resident_id = phone_page.evaluate("location.hash.split('/')[1]")

    # 上城区's officer reports them as a close contact of a case.
    page.goto("/admin")
    page.fill("#username", "shangcheng.officer")
    page.fill("#password", server.accounts["shangcheng.officer"])
    page.click("#signin button[type=submit]")
    expect(page.locator("#console")).to_be_visible()
    page.fill("#ev-resident", str(resident_id))
    page.select_option("#ev-kind", "close_contact")
    page.click("#event button[type=submit]")
    expect(page.locator("#ev-result-box .notice")).to_have_attribute("data-colour", "red")
    shoot(page, "admin-events")

    # The rule documents tab lists the published colour rule; its tests pass.
    page.click("[data-tab=rules]")
    page.locator("[data-view^='health-code-colour.zhejiang-2020|']").first.click()
    expect(page.locator("#rule-text")).to_have_value(__import__("re").compile("zhejiang-2020"))
    page.click("#rule-test")
    expect(page.locator("#rule-report .notice")).to_have_attribute("data-kind", "ok")
    shoot(page, "admin-rules")

    # The resident's page turns red (reload, as the page does on its own every minute).
    phone_page.reload()
    expect(phone_page.locator("#card")).to_have_attribute("data-colour", "red")
    expect(phone_page.locator("#card-colour")).to_have_text("红码")
    shoot(phone_page, "m-code-red")
    phone_page.context.close()

    # A neighbouring officer cannot touch this resident (the API scopes the console).
    page.click("#signout")
    page.fill("#username", "xihu.officer")
    page.fill("#password", server.accounts["xihu.officer"])
    page.click("#signin button[type=submit]")
    page.fill("#ev-resident", str(resident_id))
    page.click("#event button[type=submit]")
    expect(page.locator("#ev-result-box .notice")).to_have_attribute("data-kind", "error")
