"""Helpers of the browser tests: residents signed in over the API, valid ID numbers."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from .conftest import Server

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
_serial = itertools.count(101)


def id_number(region: str = "330102", birth: str = "19900307") -> str:
    """A well-formed 18-digit resident ID (GB 11643 check digit), new on every call."""
    body = f"{region}{birth}{next(_serial):03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def resident_headers(server: Server, phone: str) -> dict[str, str]:
    """Sign a resident in by SMS code over the API."""
    assert httpx.post(f"{server.base}/api/v1/auth/otp", json={"phone": phone}).status_code == 202
    code = server.sms_code(phone)
    pair = httpx.post(f"{server.base}/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
    assert pair.status_code == 200, pair.text
    return {"Authorization": f"Bearer {pair.json()['access_token']}"}


def declare(server: Server, headers: dict[str, str], phone: str, **extra: Any) -> dict[str, Any]:
    """A healthy declaration in 上城区; returns the declaration result."""
    body: dict[str, Any] = {
        "client_request_id": f"web-test-{phone}-{next(_serial)}",
        "name": "王小明",
        "sex": "M",
        "nationality": "CHN",
        "id_type": "cn-resident",
        "id_number": id_number(),
        "birth_date": "1990-03-07",
        "address_region": "330102",
        "phone": phone,
        "temperature": 36.5,
        "contact_history": {"confirmed_or_suspected": False},
        "pledge": True,
    }
    body.update(extra)
    response = httpx.post(f"{server.base}/api/v1/code/declarations", headers=headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
