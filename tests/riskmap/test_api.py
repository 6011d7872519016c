"""Risk-map API over the demo installation (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.conftest import Installation


def test_assess_levels_counts_history_override(installation: Installation) -> None:
    client = installation.client
    headers = installation.sign_in("zj.commander")
    run = client.post(
        "/api/v1/map/assess",
        headers=headers,
        json={"date": "2020-02-20", "profile": "zhejiang-2020", "parent": "330000"},
    )
    assert run.status_code == 200, run.text
    assert sum(run.json()["counts"].values()) == 90
    levels = client.get(
        "/api/v1/map/levels",
        headers=headers,
        params={"date": "2020-02-20", "profile": "zhejiang-2020", "parent": "330000"},
    )
    assert levels.status_code == 200, levels.text
    assert levels.headers["content-type"].startswith("application/geo+json")
    features = levels.json()["features"]
    assert len(features) == 90
    shangcheng = next(f for f in features if f["id"] == "330102")
    assert all(f["properties"]["level"] is not None for f in features)
    assert shangcheng["properties"]["reasons"]
    assert shangcheng["properties"]["colour_hex"].startswith("#")
    counts = client.get(
        "/api/v1/map/counts", headers=headers, params={"date": "2020-02-20", "parent": "330000"}
    ).json()
    assert sum(counts["counts"].values()) == 90
    dates = client.get("/api/v1/map/dates", headers=headers).json()
    assert "2020-02-20" in dates and dates == sorted(dates)  # the demo replays 14 days
    override = client.post(
        "/api/v1/map/overrides",
        headers=headers,
        json={
            "region_code": "330102",
            "profile": "zhejiang-2020",
            "level": "red",
            "from": "2020-02-20",
            "until": "2020-02-27",
            "legal_basis": "《传染病防治法》第四十二条（测试）",
        },
    )
    assert override.status_code == 201, override.text
    client.post("/api/v1/map/assess", headers=headers, json={"date": "2020-02-20"})
    history = client.get("/api/v1/map/regions/330102/history", headers=headers).json()
    assert history[-1]["level"] == "red" and history[-1]["overridden"] is True
    city = client.get(
        "/api/v1/map/levels",
        headers=headers,
        params={"date": "2020-02-20", "parent": "330000", "level": "city"},
    ).json()["features"]
    assert next(f for f in city if f["id"] == "330100")["properties"]["level"] == "red"
    profiles = client.get("/api/v1/map/profiles", headers=headers).json()
    assert {p["id"] for p in profiles} >= {"cn-2020", "hghi", "us-cdc-community-levels-2022"}


def test_reading_needs_a_permitted_role(installation: Installation) -> None:
    client = installation.client
    assert client.get("/api/v1/map/profiles").status_code == 401
