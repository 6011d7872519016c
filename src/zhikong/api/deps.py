"""Dependencies shared by the routers: database session, clock, settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from zhikong.clock import Clock
from zhikong.config import Settings


@dataclass(frozen=True)
class Platform:
    """What a running app holds: settings, the database and the clock."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock


def platform(request: Request) -> Platform:
    """The platform the app was created with."""
    held: Platform = request.app.state.platform
    return held


def db_session(request: Request) -> Iterator[Session]:
    """A session for one request; committed by the routes that write, closed at the end."""
    with platform(request).sessions() as session:
        yield session


def clock(request: Request) -> Clock:
    """The clock in force."""
    return platform(request).clock
