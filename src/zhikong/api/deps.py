"""Dependencies shared by every router: settings, database session, clock, key directory.

What only one domain needs (the colour policy, the SMS sender) is that domain's own
dependency (`code.deps`, `auth.deps`), set on the app by the composition root.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from zhikong.clock import Clock
from zhikong.config import Settings
from zhikong.keys import KeyStore
from zhikong.store.engine import writing


@dataclass(frozen=True)
class Platform:
    """What a running app holds: settings, database, clock and key store."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    keys: KeyStore | None


def platform(request: Request) -> Platform:
    """The platform the app was created with."""
    held: Platform = request.app.state.platform
    return held


def keystore(held: Platform) -> KeyStore:
    """The key directory of the platform, or a 503 problem when none is configured."""
    if held.keys is None:
        from zhikong.api.problems import Problem

        raise Problem(503, "no key directory configured; run zhikong keys init")
    return held.keys


def db_session(request: Request) -> Iterator[Session]:
    """A session for one request; routes that write do so inside `unit_of_work`."""
    with platform(request).sessions() as session:
        yield session


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit everything the block did when it succeeds; roll it all back otherwise.

    The block runs in a fresh writing transaction (SQLite: BEGIN IMMEDIATE): what the request
    read before (authentication) is re-read, so no decision rests on a stale snapshot.
    """
    if session.in_transaction():
        session.rollback()
    writing(session)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()


def clock(request: Request) -> Clock:
    """The clock in force."""
    return platform(request).clock
