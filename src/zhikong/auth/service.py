"""Accounts and sign-in: staff passwords, resident SMS codes, refresh tokens, machine keys.

Every change is written with its audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.auth.models import (
    JURISDICTION_ROLES,
    MACHINE_ROLES,
    ROLES,
    ApiKey,
    OneTimeCode,
    RefreshToken,
    UserAccount,
)
from zhikong.auth.passwords import hash_password, needs_rehash, verify_password
from zhikong.auth.pii import id_lookup, mask_phone, seal
from zhikong.auth.policy import MAY_CREATE, Principal, in_jurisdiction
from zhikong.auth.schemas import TokenPair
from zhikong.auth.sms import SmsSender
from zhikong.auth.tokens import hash_secret, issue_access_token, new_secret
from zhikong.clock import Clock
from zhikong.config import Settings
from zhikong.keys import PII_HMAC, KeyStore
from zhikong.regions.models import Region


class AuthError(Exception):
    """A sign-in or token exchange that must be refused (always answered as 401)."""


class AccountLockedError(AuthError):
    """Too many failed sign-ins: the account is locked for a while."""

    def __init__(self, until: datetime) -> None:
        super().__init__("account temporarily locked after repeated failures")
        self.until = until


class PolicyError(Exception):
    """A request the caller's role or jurisdiction does not allow (403)."""


class InvalidRequestError(ValueError):
    """A request naming something that does not exist or cannot be (422), with its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _audit(
    session: Session,
    clock: Clock,
    actor: str,
    action: str,
    subject: str,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> None:
    record(
        session,
        clock,
        actor=actor,
        action=action,
        subject=subject,
        before=before,
        after=after,
        request_id=current_request_id(),
    )


# -- staff accounts ---------------------------------------------------------------------------


def _region(session: Session, code: str | None, field: str = "region_code") -> Region | None:
    if code is None:
        return None
    region = session.get(Region, code)
    if region is None:
        raise InvalidRequestError(field, f"no region with code {code}")
    return region


def _ensure_within(actor: Principal, region: Region | None, what: str) -> None:
    """A region (or none: the whole installation) must lie within the actor's jurisdiction."""
    whole_installation = actor.role == "admin" and actor.region_path is None
    if region is None and not whole_installation:
        raise PolicyError(f"{what} must be within your jurisdiction")
    if region is not None and not in_jurisdiction(actor, region.path):
        raise PolicyError(f"{what} is outside your jurisdiction")


def create_user(
    session: Session,
    clock: Clock,
    creator: Principal,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    region_code: str | None,
) -> UserAccount:
    """A new staff account, inside the creator's jurisdiction and allowed roles."""
    if role not in ROLES or role == "resident":
        raise InvalidRequestError(
            "role", f"role must be one of {', '.join(r for r in ROLES if r != 'resident')}"
        )
    if role not in MAY_CREATE.get(creator.role, frozenset()):
        raise PolicyError(f"a {creator.role} may not create {role} accounts")
    if role in JURISDICTION_ROLES and region_code is None:
        raise InvalidRequestError(
            "region_code", f"a {role} account needs a region (its jurisdiction)"
        )
    _ensure_within(creator, _region(session, region_code), "the new account's region")
    if session.scalar(select(UserAccount.id).where(UserAccount.username == username)) is not None:
        raise InvalidRequestError("username", "username already taken")
    user = UserAccount(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        active=True,
        failed_logins=0,
        token_version=1,
        created_at=clock.now(),
        created_by=creator.actor,
    )
    session.add(user)
    session.flush()
    _audit(
        session,
        clock,
        creator.actor,
        "user.create",
        f"user:{user.id}",
        after={"role": role, "region": region_code},
    )
    return user


def bootstrap_admin(
    session: Session, clock: Clock, *, username: str, password: str, region_code: str | None
) -> UserAccount:
    """The first administrator, created from the command line by the operator."""
    _region(session, region_code)
    if session.scalar(select(UserAccount.id).where(UserAccount.username == username)) is not None:
        raise InvalidRequestError("username", "username already taken")
    user = UserAccount(
        username=username,
        display_name=username,
        password_hash=hash_password(password),
        role="admin",
        region_code=region_code,
        active=True,
        failed_logins=0,
        token_version=1,
        created_at=clock.now(),
        created_by="cli:operator",
    )
    session.add(user)
    session.flush()
    _audit(
        session,
        clock,
        "cli:operator",
        "user.create",
        f"user:{user.id}",
        after={"role": "admin", "region": region_code},
    )
    return user


def set_active(
    session: Session, clock: Clock, actor: Principal, user: UserAccount, active: bool
) -> None:
    """Deactivate (revoking every token) or reactivate an account."""
    before = user.active
    user.active = active
    user.token_version += 1
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    _audit(
        session,
        clock,
        actor.actor,
        "user.activate" if active else "user.deactivate",
        f"user:{user.id}",
        before={"active": before},
        after={"active": active},
    )


def unlock(session: Session, clock: Clock, actor: Principal, user: UserAccount) -> None:
    """Lift a lockout after repeated failed sign-ins."""
    user.failed_logins = 0
    user.locked_until = None
    _audit(session, clock, actor.actor, "user.unlock", f"user:{user.id}")


# -- tokens -----------------------------------------------------------------------------------


def _issue_pair(
    session: Session,
    keys: KeyStore,
    clock: Clock,
    settings: Settings,
    user: UserAccount,
    family: str | None = None,
) -> TokenPair:
    now = clock.now()
    access_lifetime = timedelta(minutes=settings.access_token_minutes)
    refresh_lifetime = timedelta(days=settings.refresh_token_days)
    access = issue_access_token(
        keys,
        user_id=user.id,
        role=user.role,
        region_code=user.region_code,
        token_version=user.token_version,
        now=now,
        lifetime=access_lifetime,
    )
    refresh, refresh_hash = new_secret("zkr")
    session.add(
        RefreshToken(
            user_id=user.id,
            family=family or secrets.token_hex(8),
            token_hash=refresh_hash,
            issued_at=now,
            expires_at=now + refresh_lifetime,
        )
    )
    return TokenPair(
        access_token=access,
        expires_in=int(access_lifetime.total_seconds()),
        refresh_token=refresh,
        refresh_expires_in=int(refresh_lifetime.total_seconds()),
    )


def password_sign_in(
    session: Session, keys: KeyStore, clock: Clock, settings: Settings, username: str, password: str
) -> TokenPair:
    """Tokens for a staff account; failures count towards a lockout."""
    now = clock.now()
    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)  # same cost as a real check
        raise AccountLockedError(user.locked_until)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                user.failed_logins = 0
                _audit(
                    session,
                    clock,
                    "anonymous",
                    "auth.lockout",
                    f"user:{user.id}",
                    after={"locked_until": user.locked_until.isoformat()},
                )
        raise AuthError("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    pair = _issue_pair(session, keys, clock, settings, user)
    _audit(
        session,
        clock,
        f"user:{user.id}",
        "auth.sign_in",
        f"user:{user.id}",
        after={"method": "password"},
    )
    return pair


def refresh_tokens(
    session: Session, keys: KeyStore, clock: Clock, settings: Settings, presented: str
) -> TokenPair:
    """New tokens for a refresh token, which is used up; reuse revokes its whole family."""
    now = clock.now()
    token = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_secret(presented))
    )
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise AuthError("refresh token invalid or expired")
    if token.used_at is not None:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family == token.family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        _audit(
            session,
            clock,
            f"user:{token.user_id}",
            "auth.refresh_reuse",
            f"user:{token.user_id}",
            after={"family_revoked": token.family},
        )
        raise AuthError("refresh token already used; the session has been revoked")
    user = session.get(UserAccount, token.user_id)
    if user is None or not user.active:
        raise AuthError("account inactive")
    token.used_at = now
    return _issue_pair(session, keys, clock, settings, user, family=token.family)


def revoke_refresh(session: Session, clock: Clock, presented: str) -> bool:
    """Revoke a refresh token's family (sign out); False when it is unknown."""
    token = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_secret(presented))
    )
    if token is None:
        return False
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == token.family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    _audit(session, clock, f"user:{token.user_id}", "auth.sign_out", f"user:{token.user_id}")
    return True


# -- residents: phone + one-time code ----------------------------------------------------------


def _code_hash(keys: KeyStore, phone_lookup: str, code: str) -> str:
    return hmac.new(
        keys.secret(PII_HMAC), f"otp:{phone_lookup}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def request_code(
    session: Session, keys: KeyStore, clock: Clock, settings: Settings, sms: SmsSender, phone: str
) -> None:
    """Send a six-digit sign-in code to a phone (the answer never says if an account exists)."""
    now = clock.now()
    lookup = id_lookup(keys, "phone", phone)
    session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.phone_lookup == lookup, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        OneTimeCode(
            phone_lookup=lookup,
            code_hash=_code_hash(keys, lookup, code),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.otp_minutes),
            attempts=0,
        )
    )
    sms.send(
        phone,
        f"【智控】验证码 {code}，{settings.otp_minutes} 分钟内有效。Your zhikong code: {code}",
    )


def verify_code(
    session: Session, keys: KeyStore, clock: Clock, settings: Settings, phone: str, code: str
) -> TokenPair:
    """Tokens for a resident who proves a phone number; the account is made on first use."""
    now = clock.now()
    lookup = id_lookup(keys, "phone", phone)
    challenge = session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.phone_lookup == lookup, OneTimeCode.consumed_at.is_(None))
        .order_by(OneTimeCode.id.desc())
    )
    if challenge is None or challenge.expires_at <= now or challenge.attempts >= 5:
        raise AuthError("code invalid or expired; ask for a new one")
    challenge.attempts += 1
    if not hmac.compare_digest(challenge.code_hash, _code_hash(keys, lookup, code)):
        raise AuthError("code invalid or expired; ask for a new one")
    challenge.consumed_at = now
    user = session.scalar(select(UserAccount).where(UserAccount.phone_lookup == lookup))
    if user is None:
        user = UserAccount(
            phone_lookup=lookup,
            phone_sealed=seal(keys, phone, "user.phone"),
            role="resident",
            active=True,
            failed_logins=0,
            token_version=1,
            created_at=now,
            created_by="self:sms",
        )
        session.add(user)
        session.flush()
        _audit(
            session,
            clock,
            f"user:{user.id}",
            "user.create",
            f"user:{user.id}",
            after={"role": "resident", "phone": mask_phone(phone)},
        )
    if not user.active:
        raise AuthError("account inactive")
    pair = _issue_pair(session, keys, clock, settings, user)
    _audit(
        session,
        clock,
        f"user:{user.id}",
        "auth.sign_in",
        f"user:{user.id}",
        after={"method": "sms"},
    )
    return pair


# -- machine keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """A machine key and its secret, which is shown once."""

    key: ApiKey
    secret: str


def _new_api_key(
    session: Session,
    clock: Clock,
    actor: Principal,
    *,
    name: str,
    role: str,
    region_code: str | None,
    replaces: int | None = None,
) -> IssuedKey:
    prefix = "zk" + secrets.token_hex(5)
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name,
        role=role,
        region_code=region_code,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        created_at=clock.now(),
        created_by=actor.actor,
        replaces_id=replaces,
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, secret)


def create_api_key(
    session: Session,
    clock: Clock,
    actor: Principal,
    *,
    name: str,
    role: str,
    region_code: str | None,
) -> IssuedKey:
    """A new machine key inside the creator's jurisdiction."""
    if role not in MACHINE_ROLES:
        raise InvalidRequestError("role", f"role must be one of {', '.join(sorted(MACHINE_ROLES))}")
    if role in JURISDICTION_ROLES and region_code is None:
        raise InvalidRequestError("region_code", f"a {role} key needs a region")
    _ensure_within(actor, _region(session, region_code), "the key's region")
    issued = _new_api_key(session, clock, actor, name=name, role=role, region_code=region_code)
    _audit(
        session,
        clock,
        actor.actor,
        "apikey.create",
        f"apikey:{issued.key.id}",
        after={"role": role, "region": region_code, "prefix": issued.key.prefix},
    )
    return issued


def rotate_api_key(session: Session, clock: Clock, actor: Principal, key: ApiKey) -> IssuedKey:
    """Replace a key by a new one with the same name, role and region; the old one is revoked."""
    if key.revoked_at is not None:
        raise InvalidRequestError("id", "key already revoked")
    key.revoked_at = clock.now()
    issued = _new_api_key(
        session,
        clock,
        actor,
        name=key.name,
        role=key.role,
        region_code=key.region_code,
        replaces=key.id,
    )
    _audit(
        session,
        clock,
        actor.actor,
        "apikey.rotate",
        f"apikey:{key.id}",
        after={"replaced_by": issued.key.id, "prefix": issued.key.prefix},
    )
    return issued


def revoke_api_key(session: Session, clock: Clock, actor: Principal, key: ApiKey) -> None:
    """Revoke a machine key at once."""
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        _audit(session, clock, actor.actor, "apikey.revoke", f"apikey:{key.id}")


def list_api_keys(session: Session, actor: Principal) -> Sequence[ApiKey]:
    """The machine keys the caller may see (its jurisdiction)."""
    query = select(ApiKey).order_by(ApiKey.id)
    if actor.region_path is not None:
        query = query.join(Region, Region.code == ApiKey.region_code).where(
            Region.path.startswith(actor.region_path, autoescape=True)
        )
    return session.scalars(query).all()


def list_users(session: Session, actor: Principal) -> Sequence[UserAccount]:
    """Staff accounts the caller may see (its jurisdiction)."""
    query = select(UserAccount).where(UserAccount.role != "resident").order_by(UserAccount.id)
    if actor.region_path is not None:
        query = query.join(Region, Region.code == UserAccount.region_code).where(
            Region.path.startswith(actor.region_path, autoescape=True)
        )
    return session.scalars(query).all()
