"""Sign-in by password and by SMS code, tokens, refresh rotation, lockout, rate limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from zhikong.auth.models import UserAccount

from .conftest import Installation


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()  # type: ignore[no-any-return]


def test_password_sign_in_and_me(installation: Installation) -> None:
    headers = installation.sign_in("shangcheng.officer")
    me = installation.client.get("/api/v1/auth/me", headers=headers).json()
    assert me["username"] == "shangcheng.officer"
    assert me["role"] == "health-officer" and me["region_code"] == "330102"


def test_wrong_password_is_401_with_challenge(installation: Installation) -> None:
    response = installation.client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": "not-the-password"}
    )
    body = _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "wrong username or password" in body["detail"]
    unknown = installation.client.post(
        "/api/v1/auth/token", data={"username": "nobody", "password": "x" * 12}
    )
    assert _problem(unknown, 401)["detail"] == body["detail"]  # no account enumeration


def test_missing_expired_and_forged_tokens_are_401(installation: Installation) -> None:
    client = installation.client
    _problem(client.get("/api/v1/users"), 401)
    _problem(client.get("/api/v1/users", headers={"Authorization": "Bearer nonsense"}), 401)
    headers = installation.sign_in("admin")
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    token = headers["Authorization"].split()[1]
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[::-1]}"
    _problem(client.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"}), 401)
    installation.clock.set(installation.clock.now() + timedelta(minutes=16))
    body = _problem(client.get("/api/v1/users", headers=headers), 401)
    assert "expired" in body["detail"]


def test_lockout_after_repeated_failures(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    for _ in range(5):
        client.post("/api/v1/auth/token", data={"username": "xihu.officer", "password": "bad" * 5})
    right = {"username": "xihu.officer", "password": installation.password("xihu.officer")}
    locked = _problem(client.post("/api/v1/auth/token", data=right), 401)
    assert "locked" in locked["detail"]
    users = client.get("/api/v1/users", headers=as_user("hz.commander")).json()
    xihu = next(u for u in users if u["username"] == "xihu.officer")
    assert xihu["locked"] is True
    unlocked = client.post(f"/api/v1/users/{xihu['id']}/unlock", headers=as_user("hz.commander"))
    assert unlocked.status_code == 200
    assert client.post("/api/v1/auth/token", data=right).status_code == 200


def test_lockout_expires(installation: Installation) -> None:
    client = installation.client
    for _ in range(5):
        client.post("/api/v1/auth/token", data={"username": "xihu.officer", "password": "bad" * 5})
    right = {"username": "xihu.officer", "password": installation.password("xihu.officer")}
    assert client.post("/api/v1/auth/token", data=right).status_code == 401
    installation.clock.set(installation.clock.now() + timedelta(minutes=16))
    assert client.post("/api/v1/auth/token", data=right).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(installation: Installation) -> None:
    client = installation.client
    first = client.post(
        "/api/v1/auth/token",
        data={"username": "admin", "password": installation.password("admin")},
    ).json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    reused = _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401
    )
    assert "already used" in reused["detail"]
    # The reuse revoked the whole family, including the newest token.
    _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401
    )


def test_logout_revokes_refresh(installation: Installation) -> None:
    client = installation.client
    pair = client.post(
        "/api/v1/auth/token",
        data={"username": "admin", "password": installation.password("admin")},
    ).json()
    assert (
        client.post(
            "/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}
        ).status_code
        == 200
    )
    _problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401
    )


def _sent_code(installation: Installation, phone: str) -> str:
    to, text = installation.sms.sent[-1]
    assert to == phone
    match = re.search(r"(\d{6})", text)
    assert match
    return match.group(1)


def test_resident_signs_in_with_sms_code(installation: Installation) -> None:
    client = installation.client
    phone = "13812341234"
    accepted = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert accepted.status_code == 202 and "138****1234" in accepted.json()["detail"]
    code = _sent_code(installation, phone)
    wrong = "000000" if code != "000000" else "111111"
    _problem(client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": wrong}), 401)
    pair = client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
    assert pair.status_code == 200
    headers = {"Authorization": f"Bearer {pair.json()['access_token']}"}
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me["role"] == "resident" and me["phone"] == "138****1234"
    # A code works once.
    _problem(client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code}), 401)
    # Residents are not staff.
    _problem(client.get("/api/v1/users", headers=headers), 403)
    with installation.engine.connect() as connection:
        stored = connection.execute(
            select(UserAccount.phone_sealed, UserAccount.phone_lookup).where(
                UserAccount.role == "resident"
            )
        ).one()
    assert phone not in "".join(stored)


def test_sms_codes_expire(installation: Installation) -> None:
    client = installation.client
    client.post("/api/v1/auth/otp", json={"phone": "13900001111"})
    code = _sent_code(installation, "13900001111")
    installation.clock.set(installation.clock.now() + timedelta(minutes=6))
    _problem(
        client.post("/api/v1/auth/otp/verify", json={"phone": "13900001111", "code": code}), 401
    )


def test_sms_requests_are_rate_limited(installation: Installation) -> None:
    client = installation.client
    for _ in range(3):
        assert client.post("/api/v1/auth/otp", json={"phone": "13700002222"}).status_code == 202
    limited = client.post("/api/v1/auth/otp", json={"phone": "13700002222"})
    _problem(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    assert len(installation.sms.sent) == 3


def test_bad_input_is_422_and_changes_nothing(
    installation: Installation, as_user: Callable[[str], dict[str, str]]
) -> None:
    client = installation.client
    _problem(client.post("/api/v1/auth/otp", json={"phone": "12345"}), 422)
    with installation.engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(UserAccount))
    body = _problem(
        client.post(
            "/api/v1/users",
            headers=as_user("admin"),
            json={"username": "x", "display_name": "d", "password": "short", "role": "admin"},
        ),
        422,
    )
    assert {e["name"] for e in body["errors"]} >= {"username", "password"}
    body = _problem(
        client.post(
            "/api/v1/users",
            headers=as_user("admin"),
            json={
                "username": "new.officer",
                "display_name": "d",
                "password": "p" * 12,
                "role": "health-officer",
                "region_code": "339999",
            },
        ),
        422,
    )
    assert body["errors"][0]["name"] == "region_code"
    with installation.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(UserAccount)) == before
