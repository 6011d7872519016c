"""The role × jurisdiction matrix: every protected endpoint refuses a neighbouring region.

The completeness test fails when an /api/v1 route is neither public nor listed here, so a
new endpoint cannot ship without its jurisdiction case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from zhikong.app import create_app
from zhikong.auth.models import UserAccount
from zhikong.auth.sms import LogSmsSender
from zhikong.clock import FixedClock
from zhikong.code.notify import LogNotifier
from zhikong.config import Settings
from zhikong.demo.service import build_demo
from zhikong.keys import FileKeyStore
from zhikong.store.engine import make_engine

from ..conftest import BACKENDS, Installation

PUBLIC = {
    ("GET", "/api/v1/about"),
    ("GET", "/api/v1/regions"),
    ("GET", "/api/v1/regions/{code}"),
    ("GET", "/api/v1/regions/{code}/children"),
    ("GET", "/api/v1/regions/{code}/geometry"),
    ("GET", "/api/v1/regions/{code}/features"),
    ("GET", "/api/v1/residents/summary"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/otp"),
    ("POST", "/api/v1/auth/otp/verify"),
    ("GET", "/api/v1/credential/trust-list"),
    ("GET", "/api/v1/credential/anchor"),
}
# Routes whose check is "any signed-in account" (no region involved).
SELF_ONLY = {
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/code/mine"),
    ("POST", "/api/v1/code/declarations"),  # binds the code to the caller's own account
    # Verifying a presented code concerns no region: any checkpoint anywhere may verify it.
    ("POST", "/api/v1/credential/verify"),
}


@dataclass(frozen=True)
class Case:
    """A protected endpoint, the neighbour who calls it, and what the neighbour must get."""

    method: str
    route: str
    neighbour: str
    expected: int
    body: dict[str, Any] | None = None


RULE = "health-code-colour.zhejiang-2020/versions/1.0.0"  # published by the demo, for 330000
RULE_TEXT = (
    files("zhikong.rules") / "library" / "health-code-colour.zhejiang-2020.yaml"
).read_text(encoding="utf-8")
SHANGCHENG_RESIDENT = {
    "id_type": "cn-resident",
    "id_number": "330102199003070027",
    "name": "测试甲",
    "phone": "13600001234",
    "county_code": "330102",
    "sex": "F",
    "birth_date": "1990-03-07",
}
CASES = [
    Case("GET", "/api/v1/residents/{resident}", "xihu.officer", 404),
    Case("GET", "/api/v1/residents/{resident}/personal-data", "xihu.officer", 404),
    Case("POST", "/api/v1/residents", "xihu.officer", 403, SHANGCHENG_RESIDENT),
    Case(
        "POST",
        "/api/v1/residents/lookup",
        "xihu.officer",
        200,
        {"id_type": "cn-resident", "id_number": "{resident_id_number}"},
    ),
    Case("GET", "/api/v1/users", "nb.commander", 200),
    Case(
        "POST",
        "/api/v1/users",
        "nb.commander",
        403,
        {
            "username": "sc.venue",
            "display_name": "venue",
            "password": "p" * 12,
            "role": "venue",
            "region_code": "330102",
        },
    ),
    Case("GET", "/api/v1/users/{user}", "nb.commander", 404),
    Case("POST", "/api/v1/users/{user}/deactivate", "nb.commander", 404),
    Case("POST", "/api/v1/users/{user}/unlock", "nb.commander", 404),
    Case("GET", "/api/v1/api-keys", "nb.commander", 200),
    Case(
        "POST",
        "/api/v1/api-keys",
        "nb.commander",
        403,
        {"name": "gate 1", "role": "checkpoint", "region_code": "330102"},
    ),
    Case("POST", "/api/v1/api-keys/{key}/rotate", "nb.commander", 404),
    Case("POST", "/api/v1/api-keys/{key}/revoke", "nb.commander", 404),
]
CASES += [
    Case("GET", "/api/v1/code/residents/{code_resident}", "xihu.officer", 404),
    Case("GET", "/api/v1/code/residents/{code_resident}", "resident-b", 404),
    Case("GET", "/api/v1/code/residents/{code_resident}/why", "xihu.officer", 404),
    Case("GET", "/api/v1/code/residents/{code_resident}/why", "resident-b", 404),
    Case(
        "POST",
        "/api/v1/code/residents/{code_resident}/trips",
        "resident-b",
        404,
        {
            "client_request_id": "trips-neighbour-01",
            "trips": [
                {"region_code": "330106", "arrived_on": "2020-02-10", "left_on": "2020-02-11"}
            ],
        },
    ),
    Case(
        "POST",
        "/api/v1/code/residents/{code_resident}/checkins",
        "resident-b",
        404,
        {"client_request_id": "checkin-neighbour-01", "temperature": 36.5},
    ),
    Case(
        "POST",
        "/api/v1/code/residents/{code_resident}/appeals",
        "resident-b",
        404,
        {"client_request_id": "appeal-neighbour-01", "kind": "colour", "text": "not mine at all"},
    ),
    Case("GET", "/api/v1/code/residents/{code_resident}/appeals", "xihu.officer", 404),
    Case(
        "POST",
        "/api/v1/code/residents/{code_resident}/events",
        "xihu.officer",
        404,
        {"client_request_id": "event-neighbour-01", "kind": "close_contact"},
    ),
    Case(
        "POST",
        "/api/v1/code/residents/{code_resident}/overrides",
        "xihu.officer",
        404,
        {
            "client_request_id": "override-neighbour",
            "colour": "red",
            "until": "2020-02-21T10:00:00+08:00",
            "legal_basis": "《传染病防治法》第三十九条",
        },
    ),
    Case("GET", "/api/v1/code/appeals", "xihu.officer", 200),
    Case(
        "POST",
        "/api/v1/code/appeals/{appeal}/decision",
        "xihu.officer",
        404,
        {"upheld": False, "decision": "not my county"},
    ),
    Case(
        "POST",
        "/api/v1/code/region-risk",
        "nb.commander",
        403,
        {"region_code": "330102", "level": "high", "basis": "neighbour tries"},
    ),
    Case("GET", "/api/v1/code/statistics?region=330100", "nb.commander", 403),
    Case("GET", "/api/v1/code/quarantine?region=330102", "xihu.officer", 403),
    Case("POST", "/api/v1/code/residents/{code_resident}/credential", "resident-b", 404),
    Case("GET", "/api/v1/code/residents/{code_resident}/paper.png", "xihu.officer", 404),
    # Rule documents are published law: anyone of the applying roles reads and tests them;
    # saving or publishing needs every region of the document in the caller's jurisdiction.
    Case("GET", "/api/v1/rules", "nb.commander", 200),
    Case("GET", f"/api/v1/rules/{RULE}", "nb.commander", 200),
    Case("POST", "/api/v1/rules/test", "nb.commander", 200, {"text": RULE_TEXT}),
    Case("POST", "/api/v1/rules/drafts", "nb.commander", 403, {"text": RULE_TEXT}),
    Case("POST", f"/api/v1/rules/{RULE}/publish", "nb.commander", 403),
]
CASES += [
    Case("GET", "/api/v1/map/profiles", "nb.commander", 200),
    Case("GET", "/api/v1/map/dates?profile=zhejiang-2020", "nb.commander", 200),
    Case("GET", "/api/v1/map/levels?date=2020-02-20&parent=330100", "nb.commander", 403),
    Case("GET", "/api/v1/map/counts?date=2020-02-20&parent=330100", "nb.commander", 403),
    Case("GET", "/api/v1/map/series?parent=330100", "nb.commander", 403),
    Case("GET", "/api/v1/map/regions/{map_region}/history", "nb.commander", 404),
    Case(
        "POST",
        "/api/v1/map/overrides",
        "nb.commander",
        403,
        {
            "region_code": "330102",
            "profile": "zhejiang-2020",
            "level": "red",
            "from": "2020-02-20",
            "until": "2020-02-27",
            "legal_basis": "neighbour tries",
        },
    ),
    Case(
        "POST",
        "/api/v1/map/assess",
        "nb.commander",
        403,
        {"date": "2020-02-20", "profile": "zhejiang-2020", "parent": "330100"},
    ),
]
CASES += [
    Case("GET", "/api/v1/index/dates?config=zhikong-2020", "nb.commander", 200),
    Case("GET", "/api/v1/index/ranking?date=2020-02-20&parent=330100", "nb.commander", 403),
]
# Tracing (venue 1 is the demo's first venue, in 上城区 330102).
CASES += [
    Case(
        "POST",
        "/api/v1/venues",
        "xihu.officer",
        403,
        {
            "client_request_id": "venue-neighbour-01",
            "name": "邻区超市",
            "venue_type": "shop",
            "region_code": "330102",
            "lon": 120.17,
            "lat": 30.25,
        },
    ),
    Case("POST", "/api/v1/venues/{venue}/approval", "xihu.officer", 404),
    Case("GET", "/api/v1/venues/{venue}/code", "xihu.officer", 404),
    Case(
        "POST",
        "/api/v1/scans",
        "xihu.officer",
        403,
        {"id": "scan-neighbour-01", "venue_id": 1, "at": "2020-02-20T09:00:00+08:00", "code": "x"},
    ),
    Case(
        "POST",
        "/api/v1/scans/venue-code",
        "resident-b",
        404,
        {"id": "scan-neighbour-02", "resident_id": "{code_resident}", "venue_code": "x"},
    ),
    Case("POST", "/api/v1/scans/batch", "xihu.officer", 403),
    Case(
        "POST",
        "/api/v1/trace/cases/{resident}",
        "xihu.officer",
        404,
        {"onset_at": "2020-02-19T08:00:00+08:00"},
    ),
    Case("GET", "/api/v1/trace/chains?region=330102", "nb.commander", 403),
    Case("GET", "/api/v1/trace/clusters?region=330102", "nb.commander", 403),
]
AUDIT_CASES = [
    Case("GET", "/api/v1/audit/verify", "zj.commander", 403),
    Case("GET", "/api/v1/audit/entries", "zj.commander", 403),
]


# Refused requests change nothing, so the whole matrix can share one demo platform per
# backend (built once per module) instead of one per case.
@pytest.fixture(scope="module", params=BACKENDS)
def installation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    """A demo platform shared by the matrix tests of one backend."""
    folder = tmp_path_factory.mktemp("matrix")
    clock = FixedClock(datetime(2020, 2, 20, 2, 0, tzinfo=UTC))
    keys = FileKeyStore.init(folder / "keys", clock.now())
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'zhikong.db'}")
    else:
        engine = make_engine(request.getfixturevalue("postgres_server").create_database())
    report = build_demo(
        engine, people=1_000, seed=4, clock=clock, keys=keys, issuer_key_dir=keys.path
    )
    sms, notifier = LogSmsSender(), LogNotifier()
    settings = Settings(var_dir=folder / "var", key_dir=keys.path)
    app = create_app(settings, engine=engine, clock=clock, keys=keys, sms=sms, notifier=notifier)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Installation(client, engine, clock, keys, sms, report, notifier)
    engine.dispose()


@pytest.fixture(scope="module")
def as_user(installation: Installation) -> Callable[[str], dict[str, str]]:
    """Sign in as a demo account (cached for the module)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = installation.sign_in(username)
        return cache[username]

    return headers


def _protected_routes() -> set[tuple[str, str]]:
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    routes = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }
    return routes - PUBLIC


def _template(route: str) -> str:
    """The OpenAPI path a case's route exercises."""
    route = route.split("?")[0]
    for name, template in (
        ("{resident}", "{resident_id}"),
        ("{code_resident}", "{resident_id}"),
        ("{user}", "{user_id}"),
        ("{key}", "{key_id}"),
        ("{appeal}", "{appeal_id}"),
        ("{venue}", "{venue_id}"),
        (RULE, "{rule_id}/versions/{version}"),
        ("{map_region}", "{code}"),
    ):
        route = route.replace(name, template)
    return route


def test_every_protected_route_has_a_case() -> None:
    listed = {(c.method, _template(c.route)) for c in CASES + AUDIT_CASES}
    assert _protected_routes() - SELF_ONLY == listed


def test_every_protected_route_needs_a_token(installation: Installation) -> None:
    for method, path in sorted(_protected_routes()):
        concrete = (
            path.replace("{resident_id}", "1")
            .replace("{user_id}", "1")
            .replace("{key_id}", "1")
            .replace("{appeal_id}", "1")
            .replace("{venue_id}", "1")
            .replace("{rule_id}", "r")
            .replace("{version}", "1")
        )
        response = installation.client.request(method, concrete, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.fixture(scope="module")
def world(installation: Installation, as_user: Callable[[str], dict[str, str]]) -> dict[str, Any]:
    """Shangcheng resources, and a commander of Ningbo (a neighbouring city)."""
    client = installation.client
    created = client.post(
        "/api/v1/users",
        headers=as_user("admin"),
        json={
            "username": "nb.commander",
            "display_name": "宁波市指挥部",
            "password": "n" * 14,
            "role": "commander",
            "region_code": "330200",
        },
    )
    assert created.status_code == 201, created.text
    nb = client.post("/api/v1/auth/token", data={"username": "nb.commander", "password": "n" * 14})
    key = client.post(
        "/api/v1/api-keys",
        headers=as_user("hz.commander"),
        json={"name": "上城 gate", "role": "checkpoint", "region_code": "330102"},
    )
    assert key.status_code == 201, key.text
    resident = client.post(
        "/api/v1/residents", headers=as_user("shangcheng.officer"), json=SHANGCHENG_RESIDENT
    )
    assert resident.status_code == 201, resident.text
    with installation.engine.connect() as connection:
        officer = connection.scalar(
            select(UserAccount.id).where(UserAccount.username == "shangcheng.officer")
        )
    phone_a, phone_b = "13900001111", "13900002222"
    headers_a = _resident(installation, phone_a)
    declared = client.post(
        "/api/v1/code/declarations",
        headers=headers_a,
        json={
            "client_request_id": "decl-world-0001",
            "name": "测试乙",
            "sex": "M",
            "nationality": "CHN",
            "id_type": "passport",
            "id_number": "E12345678",
            "birth_date": "1980-01-01",
            "address_region": "330102",
            "phone": phone_a,
            "temperature": 36.5,
            "contact_history": {"confirmed_or_suspected": False},
            "pledge": True,
        },
    )
    assert declared.status_code == 201, declared.text
    code_resident = declared.json()["resident_id"]
    appeal = client.post(
        f"/api/v1/code/residents/{code_resident}/appeals",
        headers=headers_a,
        json={
            "client_request_id": "appeal-world-0001",
            "kind": "data",
            "text": "地址填写有误，请更正",
        },
    )
    assert appeal.status_code == 201, appeal.text
    return {
        "headers": {
            "nb.commander": {"Authorization": f"Bearer {nb.json()['access_token']}"},
            "resident-b": _resident(installation, phone_b),
        },
        "code_resident": code_resident,
        "appeal": appeal.json()["id"],
        "resident": resident.json()["id"],
        "user": officer,
        "key": key.json()["id"],
        "resident_id_number": SHANGCHENG_RESIDENT["id_number"],
        "venue": 1,
    }


def _resident(installation: Installation, phone: str) -> dict[str, str]:
    import re

    client = installation.client
    assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 202
    code = re.search(r"(\d{6})", installation.sms.sent[-1][1])
    assert code
    pair = client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code.group(1)})
    return {"Authorization": f"Bearer {pair.json()['access_token']}"}


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str):
        for name in (
            "code_resident",
            "resident_id_number",
            "resident",
            "user",
            "key",
            "appeal",
            "venue",
        ):
            value = value.replace("{" + name + "}", str(world[name]))
        value = value.replace("{map_region}", "330102")
        return value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.route}")
def test_neighbour_is_refused(installation: Installation, as_user, world, case: Case) -> None:  # type: ignore[no-untyped-def]
    headers = world["headers"].get(case.neighbour) or as_user(case.neighbour)
    path = _fill(case.route, world)
    body = _fill(case.body, world) if case.body is not None else None
    response = installation.client.request(case.method, path, headers=headers, json=body)
    assert response.status_code == case.expected, response.text
    if case.expected >= 400:
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        # Nothing about the other region leaks into the refusal.
        assert "330102" not in problem["detail"] and "上城" not in problem["detail"]
    elif case.route.endswith("/lookup"):
        assert response.json() == []
    elif case.route == "/api/v1/users":
        assert all(
            u["region_code"] and u["region_code"].startswith("3302") for u in response.json()
        )
    elif case.route in {"/api/v1/api-keys", "/api/v1/code/appeals"}:
        assert response.json() == []


def test_the_owner_is_admitted(installation: Installation, as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    officer = as_user("shangcheng.officer")
    assert client.get(f"/api/v1/residents/{world['resident']}", headers=officer).status_code == 200
    assert (
        client.get(
            f"/api/v1/residents/{world['resident']}/personal-data", headers=officer
        ).status_code
        == 200
    )
    commander = as_user("hz.commander")
    assert client.get(f"/api/v1/users/{world['user']}", headers=commander).status_code == 200
    assert any(
        k["id"] == world["key"] for k in client.get("/api/v1/api-keys", headers=commander).json()
    )
    # The province's commander sees Hangzhou's keys too (descendant regions).
    assert any(
        k["id"] == world["key"]
        for k in client.get("/api/v1/api-keys", headers=as_user("zj.commander")).json()
    )


@pytest.mark.parametrize("case", AUDIT_CASES, ids=lambda c: f"{c.method} {c.route}")
def test_audit_is_for_admins(installation: Installation, as_user, case: Case) -> None:  # type: ignore[no-untyped-def]
    response = installation.client.request(case.method, case.route, headers=as_user(case.neighbour))
    assert response.status_code == case.expected
    assert (
        installation.client.request(case.method, case.route, headers=as_user("admin")).status_code
        == 200
    )


def test_wrong_role_is_403(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    response = client.get("/api/v1/residents/1/personal-data", headers=as_user("hz.commander"))
    assert response.status_code == 403
    response = client.post(
        "/api/v1/users",
        headers=as_user("hz.commander"),
        json={
            "username": "rogue.admin",
            "display_name": "x",
            "password": "r" * 12,
            "role": "admin",
        },
    )
    assert response.status_code == 403
