"""An API client over a database with the Zhejiang pack and a small synthetic population."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from zhikong.app import create_app
from zhikong.clock import FixedClock
from zhikong.config import Settings
from zhikong.demo.service import build_demo
from zhikong.keys import FileKeyStore


@pytest.fixture
def demo_engine(empty_engine: Engine, clock: FixedClock, keys: FileKeyStore) -> Engine:
    """A demo database with 2,000 synthetic residents."""
    build_demo(empty_engine, people=2_000, seed=5, clock=clock, keys=keys)
    return empty_engine


@pytest.fixture
def client(demo_engine: Engine, clock: FixedClock, keys: FileKeyStore) -> Iterator[TestClient]:
    """A client of the app over the demo database."""
    app = create_app(Settings(), engine=demo_engine, clock=clock, keys=keys)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
