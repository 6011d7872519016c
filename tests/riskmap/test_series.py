"""The cockpit's trend series: new cases (local, imported) and active clusters per day."""

from __future__ import annotations

from tests.conftest import Installation


def test_series_sums_platform_indicators(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    body = client.get(
        "/api/v1/map/series", params={"parent": "330000"}, headers=as_user("zj.commander")
    ).json()
    assert body["dates"] == sorted(body["dates"]) and body["dates"]
    for values in body["series"].values():
        assert len(values) == len(body["dates"])
    assert sum(body["series"]["new_cases"]) >= 1  # the demo reports synthetic cases
    hangzhou = client.get(
        "/api/v1/map/series", params={"parent": "330100"}, headers=as_user("hz.commander")
    )
    assert hangzhou.status_code == 200
    assert sum(hangzhou.json()["series"]["new_cases"]) <= sum(body["series"]["new_cases"])
    refused = client.get(
        "/api/v1/map/series", params={"parent": "330200"}, headers=as_user("hz.commander")
    )
    assert refused.status_code == 403
