"""Rate limits counted in the database, so they hold across processes and restarts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from zhikong.auth.models import RateLimitEvent


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window` in a bucket."""

    bucket: str
    count: int
    window: timedelta


SIGN_IN_PER_ACCOUNT = Limit("sign-in-account", 10, timedelta(minutes=15))
SIGN_IN_PER_CLIENT = Limit("sign-in-client", 30, timedelta(minutes=15))
OTP_PER_PHONE = Limit("otp-phone", 3, timedelta(minutes=10))
OTP_PER_CLIENT = Limit("otp-client", 20, timedelta(hours=1))
OTP_VERIFY_PER_PHONE = Limit("otp-verify-phone", 10, timedelta(minutes=10))
REFRESH_PER_CLIENT = Limit("refresh-client", 60, timedelta(minutes=15))


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def take(sessions: sessionmaker[Session], limit: Limit, key: str, now: datetime) -> bool:
    """Count one attempt; False (and nothing counted) when the limit is already reached.

    Runs in its own committed transaction: an attempt counts even when the request fails.
    """
    key_hash = _key_hash(key)
    since = now - limit.window
    with sessions() as session, session.begin():
        session.execute(
            delete(RateLimitEvent).where(
                RateLimitEvent.bucket == limit.bucket,
                RateLimitEvent.key_hash == key_hash,
                RateLimitEvent.at < since,
            )
        )
        used = session.scalar(
            select(func.count())
            .select_from(RateLimitEvent)
            .where(RateLimitEvent.bucket == limit.bucket, RateLimitEvent.key_hash == key_hash)
        )
        if (used or 0) >= limit.count:
            return False
        session.add(RateLimitEvent(bucket=limit.bucket, key_hash=key_hash, at=now))
    return True


def retry_after(limit: Limit) -> int:
    """Seconds a client is told to wait when a limit is reached."""
    return int(limit.window.total_seconds())
