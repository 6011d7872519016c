"""A demo installation with keys, accounts and an API client for the identity tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from zhikong.api.app import create_app
from zhikong.auth.keys import FileKeyStore
from zhikong.auth.sms import LogSmsSender
from zhikong.clock import FixedClock
from zhikong.config import Settings
from zhikong.demo.service import DemoReport, build_demo


@dataclass
class Installation:
    """Everything a test needs to act on a running demo platform."""

    client: TestClient
    engine: Engine
    clock: FixedClock
    keys: FileKeyStore
    sms: LogSmsSender
    report: DemoReport

    def password(self, username: str) -> str:
        """The generated password of a demo account."""
        return next(a.password for a in self.report.accounts if a.username == username)

    def sign_in(self, username: str) -> dict[str, str]:
        """Authorization headers for a demo account."""
        response = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": self.password(username)}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def installation(
    empty_engine: Engine, clock: FixedClock, keys: FileKeyStore
) -> Iterator[Installation]:
    """A demo platform (1,000 residents, demo accounts) behind a test client."""
    report = build_demo(empty_engine, people=1_000, seed=4, clock=clock, keys=keys)
    sms = LogSmsSender()
    app = create_app(Settings(), engine=empty_engine, clock=clock, keys=keys, sms=sms)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Installation(client, empty_engine, clock, keys, sms, report)


@pytest.fixture
def as_user(installation: Installation) -> Callable[[str], dict[str, str]]:
    """Sign in as a demo account (cached per test)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = installation.sign_in(username)
        return cache[username]

    return headers
