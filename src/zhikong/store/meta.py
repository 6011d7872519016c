"""A small key/value table for facts about the installation (demo parameters, packs loaded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhikong.store.base import Base, UTCDateTime


class PlatformMeta(Base):
    """One fact about this installation."""

    __tablename__ = "platform_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def get_meta(session: Session, key: str) -> dict[str, Any] | None:
    """The value stored under a key, if any."""
    row = session.get(PlatformMeta, key)
    return None if row is None else dict(row.value)


def set_meta(session: Session, key: str, value: dict[str, Any], at: datetime) -> None:
    """Store a value under a key, replacing what was there."""
    row = session.get(PlatformMeta, key)
    if row is None:
        session.add(PlatformMeta(key=key, value=value, updated_at=at))
    else:
        row.value = value
        row.updated_at = at
