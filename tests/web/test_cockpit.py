"""The cockpit shows the 90 counties with the levels the API gives for a chosen day."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from .conftest import Server, shoot


def test_cockpit_map_levels_and_drill_down(server: Server, page: Page) -> None:
    token = server.token("zj.commander")
    auth = {"Authorization": f"Bearer {token}"}
    for day in ("2020-02-09", "2020-02-16"):  # the command centre assesses two days
        ran = httpx.post(
            f"{server.base}/api/v1/map/assess", json={"date": day}, headers=auth, timeout=120
        )
        assert ran.status_code == 200, ran.text
    dates = httpx.get(
        f"{server.base}/api/v1/map/dates", params={"profile": "zhejiang-2020"}, headers=auth
    ).json()
    assert "2020-02-09" in dates and "2020-02-16" in dates
    chosen = "2020-02-09"
    expected = {
        f["properties"]["code"]: f["properties"]["level"]
        for f in httpx.get(
            f"{server.base}/api/v1/map/levels",
            params={"date": chosen, "profile": "zhejiang-2020", "parent": "330000"},
            headers=auth,
        ).json()["features"]
    }
    assert len(expected) == 90

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto("/cockpit")
    page.fill("#username", "zj.commander")
    page.fill("#password", server.accounts["zj.commander"])
    page.click("#signin button[type=submit]")
    expect(page.locator("#profile")).to_have_value("zhejiang-2020")
    # Move the replay slider to the chosen day.
    page.eval_on_selector(
        "#day",
        "(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input')); }",
        dates.index(chosen),
    )
    expect(page.locator("#cockpit")).to_have_attribute("data-date", chosen)
    expect(page.locator("#map")).to_have_attribute("data-counties", "90")
    shown = json.loads(page.get_attribute("#map", "data-levels") or "{}")
    assert shown == expected
    # Every level in the legend has its text label, not only a colour.
    expect(page.locator("#legend li").first).not_to_be_empty()

    # Drill down: click West Lake district (西湖区) on the map canvas.
    region = httpx.get(f"{server.base}/api/v1/regions/330106").json()
    point = region.get("label_point") or region.get("centroid")
    lon, lat = (point["coordinates"] if isinstance(point, dict) else point)[:2]
    x, y = page.evaluate(
        "([lon, lat]) => window.zhikongCockpit.chart.convertToPixel({seriesIndex: 0}, [lon, lat])",
        [lon, lat],
    )
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#detail")).to_have_attribute("data-region", "330106")
    expect(page.locator("#detail-name")).to_contain_text("西湖区")
    page.wait_for_timeout(300)
    shoot(page, "cockpit-bigscreen-off")
    page.click("#bigscreen")
    page.wait_for_timeout(300)
    shoot(page, "cockpit")
