"""The quarantine list: who is in quarantine now, masked, within the caller's jurisdiction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from zhikong.code.models import HealthCode
from zhikong.residents.models import Resident

from ..conftest import Installation

Headers = Callable[[str], dict[str, str]]


def _shangcheng_resident(installation: Installation) -> int:
    """A demo resident of Shangcheng (330102) who holds a code."""
    with installation.engine.connect() as connection:
        resident_id = connection.scalar(
            select(Resident.id)
            .join(HealthCode, HealthCode.resident_id == Resident.id)
            .where(Resident.county_code == "330102")
            .order_by(Resident.id)
            .limit(1)
        )
    assert resident_id is not None
    return int(resident_id)


def _event(installation: Installation, headers: dict[str, str], rid: int, kind: str) -> None:
    response = installation.client.post(
        f"/api/v1/code/residents/{rid}/events",
        headers=headers,
        json={"client_request_id": f"q-{kind}-{rid}", "kind": kind},
    )
    assert response.status_code == 201, response.text


def test_started_quarantine_is_listed_until_it_ends(
    installation: Installation, as_user: Headers
) -> None:
    """An officer's quarantine_start puts the resident on the list; quarantine_end removes them."""
    client = installation.client
    officer = as_user("shangcheng.officer")
    rid = _shangcheng_resident(installation)
    before = client.get("/api/v1/code/quarantine?region=330102", headers=officer)
    assert before.status_code == 200, before.text
    assert rid not in [row["resident_id"] for row in before.json()]

    _event(installation, officer, rid, "quarantine_start")
    listed = client.get("/api/v1/code/quarantine?region=330102", headers=officer).json()
    row = next(r for r in listed if r["resident_id"] == rid)
    assert row["county_code"] == "330102"
    assert row["days"] == 0
    assert row["colour"] in {"green", "yellow", "orange", "red"}
    assert set(row) == {"resident_id", "masked_name", "county_code", "since", "days", "colour"}
    # The city's commander sees it from the city level too (the region and below).
    city = client.get("/api/v1/code/quarantine?region=330100", headers=as_user("hz.commander"))
    assert rid in [r["resident_id"] for r in city.json()]

    _event(installation, officer, rid, "quarantine_end")
    after = client.get("/api/v1/code/quarantine?region=330102", headers=officer).json()
    assert rid not in [r["resident_id"] for r in after]


def test_neighbour_county_is_refused(installation: Installation, as_user: Headers) -> None:
    """Xihu's officer may not list Shangcheng's quarantines; unknown regions are 404."""
    client = installation.client
    refused = client.get("/api/v1/code/quarantine?region=330102", headers=as_user("xihu.officer"))
    assert refused.status_code == 403
    assert "330102" not in refused.json()["detail"]
    unknown = client.get("/api/v1/code/quarantine?region=999999", headers=as_user("zj.commander"))
    assert unknown.status_code == 404
