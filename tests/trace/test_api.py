"""Tracing API over the demo installation: venues, codes, scans, batch upload, tracing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from zhikong.code.models import HealthCode
from zhikong.residents.models import Resident
from zhikong.trace.credential import credentials_for

from .conftest import Installation, health_code


def test_venue_scan_and_trace_flow(
    installation: Installation, as_user: Callable[[str], dict[str, str]]
) -> None:
    client = installation.client
    officer = as_user("shangcheng.officer")
    created = client.post(
        "/api/v1/venues",
        headers=officer,
        json={
            "client_request_id": "venue-api-01",
            "name": "湖滨银泰",
            "venue_type": "hospital",
            "region_code": "330102",
            "lon": 120.163,
            "lat": 30.256,
        },
    )
    assert created.status_code == 201, created.text
    venue = created.json()["id"]
    assert created.json()["status"] == "pending"
    approved = client.post(f"/api/v1/venues/{venue}/approval", headers=officer)
    assert approved.json()["status"] == "approved"
    code = client.get(f"/api/v1/venues/{venue}/code", headers=officer)
    assert code.status_code == 200, code.text
    assert code.json()["text"].startswith("ZK1:")
    assert code.json()["claims"]["venue_id"] == venue

    key = client.post(
        "/api/v1/api-keys",
        headers=as_user("hz.commander"),
        json={"name": "gate", "role": "checkpoint", "region_code": "330102"},
    ).json()
    gate = {"X-API-Key": key["secret"] if "secret" in key else key["key"]}
    creds = credentials_for(installation.keys)
    assert creds is not None
    now = installation.clock.now()
    with installation.engine.connect() as connection:
        case = connection.scalar(
            select(Resident.id).where(Resident.county_code == "330102").order_by(Resident.id)
        )
        others = connection.scalars(
            select(Resident.id).where(Resident.county_code != "330102").order_by(Resident.id)
        ).all()[100:104]
    assert case is not None
    *rest, yellow = others
    people = [case, *rest]
    one = client.post(
        "/api/v1/scans",
        headers=gate,
        json={
            "id": "api-scan-1",
            "venue_id": venue,
            "at": (now - timedelta(minutes=3)).isoformat(),
            "code": health_code(creds, yellow, "yellow", now - timedelta(minutes=3)),
        },
    )
    assert one.status_code == 200, one.text
    assert one.json()["decision"] == "deny_special_venue" and not one.json()["allowed"]
    assert one.json()["rule"].startswith("venue-entry.zhejiang-2022@")

    lines = [
        {
            "id": f"batch-{i}",
            "venue_id": venue,
            "at": (now - timedelta(minutes=30 - i)).isoformat(),
            "code": health_code(creds, person, "green", now - timedelta(minutes=30 - i)),
        }
        for i, person in enumerate(people)
    ]
    import json

    body = "\n".join(json.dumps(line) for line in [*lines, {"id": "x", "venue_id": 999999}])
    headers = {**gate, "Content-Type": "application/x-ndjson"}
    batch = client.post("/api/v1/scans/batch", headers=headers, content=body)
    assert batch.status_code == 200, batch.text
    assert (batch.json()["accepted"], batch.json()["rejected"]) == (4, 1)
    again = client.post("/api/v1/scans/batch", headers=headers, content=body)
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 4)
    csv_body = "id,venue_id,at,code\nc1,1,2020-02-20T01:00:00+00:00\n"
    bad = client.post(
        "/api/v1/scans/batch", headers={**gate, "Content-Type": "text/csv"}, content=csv_body
    )
    assert bad.status_code == 200 and bad.json()["rejected"] == 1
    malformed = client.post("/api/v1/scans/batch", headers=headers, content="{not json\n")
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")

    traced = client.post(
        f"/api/v1/trace/cases/{people[0]}",
        headers=officer,
        json={"onset_at": (now - timedelta(days=1)).isoformat()},
    )
    assert traced.status_code == 200, traced.text
    found = {c["resident_id"]: c for c in traced.json()["contacts"]}
    assert set(people[1:]) <= set(found)
    assert all(found[p]["level"] == "close_contact" for p in people[1:])
    assert found[people[1]]["evidence"][0]["venue_id"] == venue
    with installation.engine.connect() as connection:
        colour = connection.scalar(
            select(HealthCode.colour).where(HealthCode.resident_id == people[1])
        )
    assert colour == "red"
    chains = client.get("/api/v1/trace/chains?region=330102", headers=officer)
    assert chains.status_code == 200 and chains.json()["nodes"]
    graphml = client.get("/api/v1/trace/chains?region=330102&format=graphml", headers=officer)
    assert graphml.text.startswith("<?xml")
    clusters = client.get("/api/v1/trace/clusters?region=330000", headers=as_user("zj.commander"))
    assert clusters.status_code == 200
