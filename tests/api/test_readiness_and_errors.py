"""Readiness on an unmigrated database, and the 500 problem body."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from zhikong.app import create_app
from zhikong.clock import FixedClock
from zhikong.config import Settings


def test_readyz_is_503_until_migrated(empty_engine: Engine, clock: FixedClock) -> None:
    app = create_app(Settings(), engine=empty_engine, clock=clock, keys=None)
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "zhikong db upgrade" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_unexpected_errors_are_500_problems_with_the_request_id(
    demo_engine: Engine, clock: FixedClock, capsys
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(), engine=demo_engine, clock=clock)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == "trace-me"
    assert "secret internals" not in body["detail"]
    logged = capsys.readouterr().err
    assert '"request_id": "trace-me"' in logged and "secret internals" in logged
