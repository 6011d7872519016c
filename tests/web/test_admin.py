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


def test_quarantine_and_tracing_tabs(server: Server, context: BrowserContext, page: Page) -> None:
    """The officer sees a quarantined resident listed, traces them as a case, lists clusters."""
    from .helpers import declare, resident_headers

    phone = "13700007002"
    resident_id = declare(server, resident_headers(server, phone), phone)["resident_id"]
    page.goto("/admin")
    page.fill("#username", "shangcheng.officer")
    page.fill("#password", server.accounts["shangcheng.officer"])
    page.click("#signin button[type=submit]")
    expect(page.locator("#console")).to_be_visible()
    page.fill("#ev-resident", str(resident_id))
    page.select_option("#ev-kind", "quarantine_start")
    page.click("#event button[type=submit]")
    expect(page.locator("#ev-result-box .notice")).to_have_attribute("data-kind", "ok")

    # The quarantine tab lists them (masked), for the officer's own county by default.
    page.click("[data-tab=quarantine]")
    expect(page.locator("#q-region")).to_have_value("330102")
    row = page.locator(f"#quarantine-list tr[data-resident='{resident_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("330102")
    shoot(page, "admin-quarantine")

    # The tracing tab traces a case by resident id and lists the county's clusters.
    page.click("[data-tab=tracing]")
    expect(page.locator("#clusters table, #clusters p")).to_be_visible()
    page.fill("#tr-resident", str(resident_id))
    page.click("#trace button[type=submit]")
    # Without an onset or a first positive sample the API explains what is missing.
    expect(page.locator("#trace-result .notice")).to_have_attribute("data-kind", "error")
    page.evaluate(
        "document.getElementById('tr-onset').value = "
        "new Date(Date.now() - 2 * 86400e3).toISOString().slice(0, 16)"
    )
    page.click("#trace button[type=submit]")
    expect(page.locator("#trace-result .notice")).to_have_attribute("data-kind", "ok")
    expect(page.locator("#trace-result .notice")).to_contain_text("流调")
    shoot(page, "admin-tracing")

    # English on request, like the other tabs.
    page.click("#lang-switch")
    page.click("[data-tab=quarantine]")
    expect(page.locator("#tab-quarantine h2")).to_contain_text("Quarantine list")
    expect(page.locator("#quarantine-list")).to_contain_text("in quarantine")
