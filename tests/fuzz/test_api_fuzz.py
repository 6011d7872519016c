"""Schemathesis fuzzing of the whole OpenAPI: no input, signed in or not, may cause a 5xx.

Every operation gets generated requests (valid and invalid) as an administrator and as an
anonymous caller; each answer must be below 500, and every error must be a problem body.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from zhikong.app import create_app
from zhikong.auth.sms import LogSmsSender
from zhikong.clock import FixedClock
from zhikong.config import Settings
from zhikong.demo.service import build_demo
from zhikong.keys import FileKeyStore
from zhikong.store.engine import make_engine


def _platform() -> dict[str, Any]:
    """A demo installation on SQLite, its app and an administrator's headers.

    Built when the module is collected: schemathesis needs the schema to parametrize the test.
    """
    folder = Path(tempfile.mkdtemp(prefix="zhikong-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    clock = FixedClock(datetime(2020, 2, 20, 2, 0, tzinfo=UTC))
    keys = FileKeyStore.init(folder / "keys", clock.now())
    engine = make_engine(f"sqlite:///{folder / 'fuzz.db'}")
    report = build_demo(
        engine, people=300, seed=1, clock=clock, keys=keys, issuer_key_dir=folder / "keys"
    )
    settings = Settings(var_dir=folder / "var", key_dir=folder / "keys")
    app = create_app(settings, engine=engine, clock=clock, keys=keys, sms=LogSmsSender())
    password = next(a.password for a in report.accounts if a.username == "admin")
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "admin", "password": password}
        ).json()["access_token"]
    return {"app": app, "admin": {"Authorization": f"Bearer {token}"}}


PLATFORM = _platform()
schema = schemathesis.openapi.from_asgi("/openapi.json", PLATFORM["app"])


def _check(response: Any, case: Any) -> None:
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", "")
        if isinstance(content_type, list):
            content_type = content_type[0]
        assert content_type.startswith("application/problem+json"), response.text


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_causes_a_server_error(case: Any) -> None:
    _check(case.call(headers=PLATFORM["admin"]), case)
    _check(case.call(), case)
