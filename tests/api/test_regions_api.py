"""Region endpoints and their problem bodies."""

from __future__ import annotations

from fastapi.testclient import TestClient

from zhikong.store import migrate

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, name: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:zhikong:problem:")
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    if name is not None:
        assert name in body["detail"]
        assert any(error["name"] == name for error in body["errors"])
    return body


def test_list_counties(client: TestClient) -> None:
    response = client.get("/api/v1/regions", params={"level": "county", "limit": 1000})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 90 and len(body["items"]) == 90
    assert sum(item["population"] for item in body["items"]) == 64_567_588
    first = body["items"][0]
    assert first["code"] == "330102" and first["name_zh"] == "上城区"
    assert len(first["bbox"]) == 4 and len(first["label_point"]) == 2


def test_filters(client: TestClient) -> None:
    body = client.get("/api/v1/regions", params={"parent": "330000"}).json()
    assert body["total"] == 11
    body = client.get("/api/v1/regions", params={"within": "330300", "level": "county"}).json()
    assert {item["parent_code"] for item in body["items"]} == {"330300"}
    body = client.get("/api/v1/regions", params={"q": "wenzhou"}).json()
    assert [item["code"] for item in body["items"]] == ["330300"]


def test_one_region_children_geometry_and_features(client: TestClient) -> None:
    region = client.get("/api/v1/regions/330303").json()
    assert region["name_en"] == "Longwan" and region["population"] == 725_036
    children = client.get("/api/v1/regions/330900/children").json()
    assert [c["code"] for c in children] == ["330902", "330903", "330921", "330922"]
    geometry = client.get("/api/v1/regions/330902/geometry")
    assert geometry.headers["content-type"].startswith("application/geo+json")
    feature = geometry.json()
    assert feature["type"] == "Feature" and feature["id"] == "330902"
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    features = client.get("/api/v1/regions/330000/features").json()
    assert features["type"] == "FeatureCollection" and len(features["features"]) == 90
    cities = client.get("/api/v1/regions/330000/features", params={"level": "city"}).json()
    assert len(cities["features"]) == 11


def test_unknown_region_is_a_404_problem(client: TestClient) -> None:
    for path in (
        "/api/v1/regions/339999",
        "/api/v1/regions/339999/children",
        "/api/v1/regions/339999/geometry",
        "/api/v1/regions/339999/features",
    ):
        body = assert_problem(client.get(path), 404)
        assert "339999" in body["detail"]
    assert_problem(client.get("/api/v1/regions", params={"parent": "339999"}), 404, "parent")
    assert_problem(
        client.get("/api/v1/residents/summary", params={"region": "339999"}), 404, "region"
    )


def test_malformed_queries_are_422_naming_the_parameter(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/regions", params={"limit": "many"}), 422, "limit")
    assert_problem(client.get("/api/v1/regions", params={"limit": 0}), 422, "limit")
    assert_problem(client.get("/api/v1/regions", params={"offset": -1}), 422, "offset")
    assert_problem(client.get("/api/v1/regions", params={"level": "planet"}), 422, "level")
    assert_problem(client.get("/api/v1/regions/33@01"), 422, "code")
    assert_problem(
        client.get("/api/v1/regions/330000/features", params={"level": "x"}), 422, "level"
    )


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert_problem(client.post("/api/v1/regions"), 405)


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    mine = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id;drop"})
    assert unsafe.headers["x-request-id"] != "bad id;drop"
    assert len(unsafe.headers["x-request-id"]) == 32


def test_population_summary_is_labelled_synthetic(client: TestClient) -> None:
    body = client.get("/api/v1/residents/summary", params={"region": "330100"}).json()
    assert 0 < body["residents"] < 2_000
    assert body["synthetic"] == body["residents"]
    assert "合成" in body["synthetic_notice"] and "Synthetic" in body["synthetic_notice"]
    assert body["census_population"] == 11_936_010
    assert body["as_of"] == "2020-02-20"


def test_probes_and_about(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["checks"] == {"database": "ok", "schema": "current"}
    about = client.get("/api/v1/about").json()
    assert about["schema_revision"] == migrate.head_revision()
    assert about["demo"]["synthetic"] is True
    assert "zhejiang" in about["region_packs"]


def test_landing_page_and_offline_docs(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "浙江省" in page.text and "Synthetic" in page.text and "/docs" in page.text
    docs = client.get("/docs")
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/regions/{code}/features" in spec["paths"]
