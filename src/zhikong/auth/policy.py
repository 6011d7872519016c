"""The one policy layer: who is calling, what their role may do, and where (jurisdiction).

Every protected route declares `Depends(allow("<action>"))`; the action's roles live in
PERMISSIONS below (data, not code spread over routers). Region-scoped resources then call
`ensure_in_jurisdiction`, which answers 403 — or 404 where existence itself is private.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, keystore, platform
from zhikong.api.problems import Problem
from zhikong.auth.models import ApiKey, UserAccount
from zhikong.auth.tokens import TokenError, hash_secret, read_access_token
from zhikong.regions.models import Region

PERMISSIONS: dict[str, frozenset[str]] = {
    "auth.me": frozenset(
        {"resident", "venue", "checkpoint", "health-officer", "commander", "enterprise", "admin"}
    ),
    "user.create": frozenset({"admin", "commander"}),
    "user.read": frozenset({"admin", "commander"}),
    "user.manage": frozenset({"admin", "commander"}),
    "apikey.manage": frozenset({"admin", "commander"}),
    "resident.create": frozenset({"health-officer", "admin"}),
    "resident.read": frozenset({"health-officer", "commander", "admin"}),
    "resident.reveal": frozenset({"health-officer"}),
    "audit.read": frozenset({"admin"}),
    "code.declare": frozenset({"resident"}),
    "code.read": frozenset({"resident", "health-officer", "commander", "admin"}),
    "code.event": frozenset({"health-officer"}),
    "code.override": frozenset({"health-officer", "commander"}),
    "code.appeal.decide": frozenset({"health-officer"}),
    "code.region_risk": frozenset({"commander", "admin"}),
    "code.statistics": frozenset({"health-officer", "commander", "admin"}),
    "code.quarantine.read": frozenset({"health-officer", "commander", "admin"}),
    "map.read": frozenset({"health-officer", "commander", "admin"}),
    "map.assess": frozenset({"commander", "admin"}),
    "map.override": frozenset({"commander", "admin"}),
    "index.read": frozenset({"health-officer", "commander", "admin"}),
    "credential.mint": frozenset({"resident"}),
    "credential.paper": frozenset({"resident", "health-officer"}),
    "credential.verify": frozenset({"checkpoint", "venue", "health-officer", "commander"}),
    "rules.read": frozenset({"health-officer", "commander", "admin"}),
    "rules.publish": frozenset({"health-officer", "commander", "admin"}),
    "venue.register": frozenset({"venue", "health-officer"}),
    "venue.approve": frozenset({"health-officer"}),
    "venue.read": frozenset({"venue", "checkpoint", "health-officer"}),
    "scan.record": frozenset({"venue", "checkpoint"}),
    "scan.self": frozenset({"resident"}),
    "trace.run": frozenset({"health-officer"}),
    "trace.read": frozenset({"health-officer", "commander", "admin"}),
}
# Roles each role may create accounts for (always inside its own jurisdiction).
MAY_CREATE: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"venue", "checkpoint", "health-officer", "commander", "enterprise", "partner", "admin"}
    ),
    "commander": frozenset({"venue", "checkpoint", "health-officer", "enterprise"}),
}
UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": 'Bearer realm="zhikong"'}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user account or a machine key."""

    kind: str  # "user" or "apikey"
    id: int
    role: str
    region_code: str | None
    region_path: str | None  # None: the whole installation

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.kind}:{self.id}"


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, detail, headers=UNAUTHENTICATED_HEADERS)


def _region_path(session: Session, code: str | None) -> str | None:
    if code is None:
        return None
    path = session.scalar(select(Region.path).where(Region.code == code))
    if path is None:
        raise _unauthenticated("credential refers to an unknown region")
    return path


def authenticate(
    request: Request,
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> Principal:
    """The caller, from a bearer token or an X-API-Key header; 401 when neither is valid."""
    now = held.clock.now()
    api_key = request.headers.get("x-api-key")
    if api_key:
        return _from_api_key(session, api_key, now)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    try:
        claims = read_access_token(keystore(held), token.strip(), now)
    except TokenError as exc:
        raise _unauthenticated(str(exc)) from exc
    user = session.get(UserAccount, claims.user_id)
    if user is None or not user.active or user.token_version != claims.token_version:
        raise _unauthenticated("token no longer valid; sign in again")
    return Principal(
        "user", user.id, user.role, user.region_code, _region_path(session, user.region_code)
    )


def _from_api_key(session: Session, presented: str, now: object) -> Principal:
    prefix, _, _ = presented.partition(".")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        hmac.compare_digest(hash_secret(presented), "0" * 64)
        raise _unauthenticated("unknown or revoked API key")
    if not hmac.compare_digest(hash_secret(presented), key.secret_hash):
        raise _unauthenticated("unknown or revoked API key")
    return Principal(
        "apikey", key.id, key.role, key.region_code, _region_path(session, key.region_code)
    )


def allow(action: str) -> Callable[..., Principal]:
    """A dependency that admits callers whose role may perform an action."""
    roles = PERMISSIONS[action]

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise Problem(403, f"your role may not do this ({action})")
        return principal

    dependency.__name__ = f"allow_{action.replace('.', '_')}"
    return dependency


def in_jurisdiction(principal: Principal, region_path: str | None) -> bool:
    """Whether a region (given by its path) is the caller's region or below it."""
    if principal.region_path is None:
        return principal.role == "admin"
    return region_path is not None and region_path.startswith(principal.region_path)


def ensure_in_jurisdiction(
    session: Session, principal: Principal, region_code: str | None, *, hide: bool = False
) -> None:
    """403 (or 404 with `hide`) unless the region lies within the caller's jurisdiction."""
    path = None
    if region_code is not None:
        path = session.scalar(select(Region.path).where(Region.code == region_code))
    if path is not None and in_jurisdiction(principal, path):
        return
    if hide:
        raise Problem(404, "not found")
    raise Problem(403, "outside your jurisdiction")


def jurisdiction_prefix(principal: Principal) -> str | None:
    """The region path prefix that limits what the caller may list (None: no limit)."""
    return principal.region_path
