"""Tracing fixtures: a migrated database with the Zhejiang regions, residents and green codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from zhikong.clock import FixedClock
from zhikong.code.policy import ColourPolicy
from zhikong.code.recolour import ensure_green_codes
from zhikong.credential.claims import build_claims
from zhikong.credential.keys import mint
from zhikong.keys import FileKeyStore
from zhikong.regions.packs import DEFAULT_PACK, read_pack
from zhikong.regions.service import install_pack
from zhikong.residents.models import Resident
from zhikong.store.engine import make_sessionmaker
from zhikong.trace.credential import TraceCredentials, credentials_for, ensure_signers
from zhikong.trace.models import Venue

from ..conftest import Installation

__all__ = ["Installation"]
PEOPLE = 40


@pytest.fixture
def session(engine: Engine, clock: FixedClock) -> Iterator[Session]:
    """A session over a database with regions, residents (ids 1..40) and green codes."""
    factory = make_sessionmaker(engine)
    with factory() as session:
        install_pack(session, read_pack(DEFAULT_PACK), clock.now())
        session.execute(
            insert(Resident),
            [
                {
                    "county_code": "330102" if i % 2 else "330106",
                    "sex": "F",
                    "birth_date": date(1990, 1, 1),
                    "synthetic": True,
                    "created_at": clock.now(),
                }
                for i in range(PEOPLE)
            ],
        )
        ensure_green_codes(session, clock, ColourPolicy.named())
        session.commit()
        yield session


@pytest.fixture
def policy() -> ColourPolicy:
    """The default colour policy."""
    return ColourPolicy.named()


@pytest.fixture
def creds(keys: FileKeyStore, clock: FixedClock) -> TraceCredentials:
    """Tracing credentials with a province signing key."""
    ensure_signers(keys, "330000", clock.now())
    found = credentials_for(keys)
    assert found is not None
    return found


def health_code(creds: TraceCredentials, resident_id: int, colour: str, at: datetime) -> str:
    """A signed screen code of a resident, issued at `at`."""
    signer = creds.venue_signer("330102")
    version = max(creds.subject_keys)
    claims = build_claims(
        issuer="330102",
        colour=colour,
        masked_name="张*",
        profile_id="code-colour.zhejiang-2020",
        profile_version="1.0.0",
        kind="screen",
        subject_reference=f"resident:{resident_id}",
        subject_key=creds.subject_keys[version],
        subject_key_version=version,
        now=at,
        validity=timedelta(minutes=5),
    )
    return mint(claims, signer, at)


def add_venue(session: Session, clock: FixedClock, name: str, venue_type: str = "shop") -> Venue:
    """An approved venue in Shangcheng."""
    venue = Venue(
        name=name,
        venue_type=venue_type,
        region_code="330102",
        county_code="330102",
        lon=120.17,
        lat=30.25,
        status="approved",
        registered_by="test",
        registered_at=clock.now(),
        client_request_id=name,
        approved_by="test",
        approved_at=clock.now(),
    )
    session.add(venue)
    session.flush()
    return venue


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in February 2020 (UTC)."""
    return datetime(2020, 2, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def tmp_keys_path(tmp_path: Path) -> Path:
    """Where a test may put files."""
    return tmp_path
