"""Helpers for the rule-registry tests: the shipped documents, variants of them, sessions.

The project runs pytest with ``--import-mode=importlib``, so test modules reach these helpers
through fixtures rather than imports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from zhikong.clock import FixedClock
from zhikong.regions.packs import read_pack
from zhikong.regions.service import install_pack
from zhikong.store.engine import make_sessionmaker, transaction

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "zhikong" / "rules" / "library"
HEALTH_CODE = LIBRARY / "health-code-colour.zhejiang-2020.yaml"


@pytest.fixture(scope="session")
def library() -> Path:
    """The folder of shipped rule documents."""
    return LIBRARY


@pytest.fixture(scope="session")
def health_code_text() -> str:
    """The shipped health-code colour rule, as authored (YAML)."""
    return HEALTH_CODE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def health_code_path() -> Path:
    """The path of the shipped health-code colour rule."""
    return HEALTH_CODE


@pytest.fixture
def variant(health_code_text: str) -> Callable[..., str]:
    """YAML text of the health-code rule with top-level fields replaced (None deletes)."""

    def make(**changes: Any) -> str:
        data = yaml.safe_load(health_code_text)
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    return make


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the migrated database of each backend."""
    return make_sessionmaker(engine)


@pytest.fixture
def zhejiang(sessions: sessionmaker[Session], clock: FixedClock) -> sessionmaker[Session]:
    """Sessions on a database holding the Zhejiang region pack."""
    with transaction(sessions) as session:
        install_pack(session, read_pack("zhejiang"), clock.now())
    return sessions
