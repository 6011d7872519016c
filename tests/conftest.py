"""Shared fixtures: databases on SQLite and PostgreSQL, clocks, apps."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from zhikong.app import create_app
from zhikong.auth.sms import LogSmsSender
from zhikong.clock import FixedClock
from zhikong.code.notify import LogNotifier
from zhikong.config import Settings
from zhikong.demo.service import DemoReport, build_demo
from zhikong.keys import FileKeyStore
from zhikong.store import migrate
from zhikong.store.engine import make_engine

REPO = Path(__file__).resolve().parents[1]
EXTDATA = REPO.parent / "shared" / "extdata"
POSTGRES_ADMIN_URL = os.environ.get(
    "ZHIKONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# `make test` and CI set this: a test that cannot reach PostgreSQL then fails instead of skipping.
REQUIRE_POSTGRES = os.environ.get("ZHIKONG_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under `make test` a skipped test fails the run: CI must run everything."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_POSTGRES and skipped:
        reporter.write_line(
            f"FAILED: {skipped} test(s) were skipped; every test must run", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def keys(tmp_path: Path, clock: FixedClock) -> FileKeyStore:
    """A fresh key directory."""
    return FileKeyStore.init(tmp_path / "keys", clock.now())


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2020-02-20 10:00 Beijing time."""
    return FixedClock(datetime(2020, 2, 20, 2, 0, tzinfo=UTC))


class PostgresServer:
    """A reachable PostgreSQL server with one throwaway database for the run.

    Each test gets its own schema in that database (as its search_path): creating and
    dropping schemas is far cheaper than creating and dropping a database per test.
    """

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.database = f"zhikong_test_{uuid.uuid4().hex[:12]}"
        self.url = make_url(admin_url).set(database=self.database)
        self.run: Any = None

    def create_database(self) -> str:
        """A new empty schema in the run's database; returns a URL that works inside it."""
        if self.run is None:
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.database}"'))
            self.run = create_engine(
                self.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
            )
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with self.run.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        query = dict(self.url.query)
        query["options"] = f"-csearch_path={schema}"
        return self.url.set(query=query).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop the run's database (and with it every test schema)."""
        if self.run is not None:
            self.run.dispose()
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server, or a skip (a failure under `make test`) if none answers."""
    server = PostgresServer(POSTGRES_ADMIN_URL)
    try:
        with server.admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.drop_all()


def _new_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'zhikong.db'}")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return make_engine(server.create_database())


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on each backend, new for each test."""
    engine = _new_engine(request.param, request, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on each backend, new for each test."""
    engine = _new_engine(request.param, request, tmp_path)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@dataclass
class Installation:
    """Everything a test needs to act on a running demo platform."""

    client: TestClient
    engine: Engine
    clock: FixedClock
    keys: FileKeyStore
    sms: LogSmsSender
    report: DemoReport
    notifier: LogNotifier

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
    empty_engine: Engine, clock: FixedClock, keys: FileKeyStore, tmp_path: Path
) -> Iterator[Installation]:
    """A demo platform (1,000 residents, demo accounts, issuer key) behind a test client."""
    report = build_demo(
        empty_engine, people=1_000, seed=4, clock=clock, keys=keys, issuer_key_dir=keys.path
    )
    sms = LogSmsSender()
    notifier = LogNotifier()
    settings = Settings(var_dir=tmp_path / "var", key_dir=keys.path)
    app = create_app(
        settings, engine=empty_engine, clock=clock, keys=keys, sms=sms, notifier=notifier
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Installation(client, empty_engine, clock, keys, sms, report, notifier)


@pytest.fixture
def as_user(installation: Installation) -> Callable[[str], dict[str, str]]:
    """Sign in as a demo account (cached per test)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = installation.sign_in(username)
        return cache[username]

    return headers
