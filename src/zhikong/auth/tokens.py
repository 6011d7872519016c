"""Access tokens: short-lived JWTs signed with the installation's Ed25519 key (EdDSA)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from zhikong.keys import TOKEN_SIGNING, KeyStore

ISSUER = "zhikong"
AUDIENCE = "zhikong-api"


class TokenError(Exception):
    """An access token that is missing, malformed, expired or not ours."""


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says."""

    user_id: int
    role: str
    region_code: str | None
    token_version: int
    expires_at: datetime


def issue_access_token(
    keys: KeyStore,
    *,
    user_id: int,
    role: str,
    region_code: str | None,
    token_version: int,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """A signed access token for a user."""
    version = keys.current_version(TOKEN_SIGNING)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "role": role,
        "region": region_code,
        "ver": token_version,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(
        claims,
        keys.signing_key(TOKEN_SIGNING, version),
        algorithm="EdDSA",
        headers={"kid": str(version)},
    )


def read_access_token(keys: KeyStore, token: str, now: datetime) -> AccessClaims:
    """The claims of a valid token, checked against the clock; TokenError otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        version = int(header.get("kid", ""))
        if header.get("alg") != "EdDSA":
            raise TokenError("unexpected token algorithm")
        public = keys.public_keys(TOKEN_SIGNING).get(version)
        if public is None:
            raise TokenError("token signed with an unknown key")
        claims = jwt.decode(
            token,
            public,
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        if not int(claims["nbf"]) <= now.timestamp() < int(claims["exp"]):
            raise TokenError("token expired or not yet valid")
        return AccessClaims(
            user_id=int(claims["sub"]),
            role=str(claims["role"]),
            region_code=claims.get("region"),
            token_version=int(claims["ver"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), now.tzinfo),
        )
    except TokenError:
        raise
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise TokenError("invalid token") from exc


def new_secret(prefix: str) -> tuple[str, str]:
    """A random opaque secret and its SHA-256 hex (what is stored)."""
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    """The stored form of a high-entropy secret (refresh token, API key)."""
    return hashlib.sha256(secret.encode()).hexdigest()
