"""Identity tables: accounts, refresh tokens, machine keys, one-time codes, rate-limit events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime

ROLES = (
    "resident",
    "venue",
    "checkpoint",
    "health-officer",
    "commander",
    "enterprise",
    "partner",
    "admin",
)
# Roles whose accounts must have a jurisdiction (a region and everything below it).
JURISDICTION_ROLES = frozenset({"venue", "checkpoint", "health-officer", "commander", "enterprise"})
# Roles a machine key (API key) may carry.
MACHINE_ROLES = frozenset({"checkpoint", "partner", "venue"})


class UserAccount(Base):
    """A person who signs in: staff by username and password, residents by phone and code."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    phone_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_sealed: Mapped[str | None] = mapped_column(String(512))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    region_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("region.code"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(128))


class RefreshToken(Base):
    """A refresh token (stored only as a hash); rotated on every use."""

    __tablename__ = "refresh_token"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    family: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """A machine credential (checkpoint device, partner region, venue terminal)."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    region_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("region.code"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))


class OneTimeCode(Base):
    """A sign-in code sent by SMS (stored only as a keyed hash)."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    phone_lookup: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RateLimitEvent(Base):
    """One counted attempt in a rate-limit bucket (the key is hashed, never stored in clear)."""

    __tablename__ = "rate_limit_event"
    __table_args__ = (Index("ix_rate_limit_event_bucket_key_at", "bucket", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(32), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
