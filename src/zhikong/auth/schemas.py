"""Identity API shapes: tokens, one-time codes, staff accounts and machine keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenPair(BaseModel):
    """Tokens issued at sign-in or refresh (OAuth2 token response)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid")
    refresh_token: str
    refresh_expires_in: int


class RefreshRequest(BaseModel):
    """A refresh token to exchange or revoke."""

    refresh_token: str = Field(min_length=16, max_length=200)


class OtpRequest(BaseModel):
    """A phone number that asks for a one-time sign-in code."""

    phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="Mainland mobile number, 11 digits")


class OtpVerify(BaseModel):
    """A phone number and the code it received."""

    phone: str = Field(pattern=r"^1[3-9]\d{9}$")
    code: str = Field(pattern=r"^\d{6}$")


class Accepted(BaseModel):
    """A request accepted for processing."""

    status: str = "accepted"
    detail: str


class UserCreate(BaseModel):
    """A new staff account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=r"^[a-z][a-z0-9._-]{2,63}$")
    display_name: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=12, max_length=256)
    role: str = Field(description="venue, checkpoint, health-officer, commander, enterprise, admin")
    region_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,32}$")


class UserRead(BaseModel):
    """A staff or resident account as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str | None
    display_name: str | None
    phone: str | None = Field(default=None, description="Masked phone number (residents)")
    role: str
    region_code: str | None
    active: bool
    locked: bool = False
    created_at: datetime


class ApiKeyCreate(BaseModel):
    """A new machine key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    role: str = Field(description="checkpoint, partner or venue")
    region_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,32}$")


class ApiKeyRead(BaseModel):
    """A machine key as listed (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    region_code: str | None
    prefix: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaces_id: int | None


class ApiKeyIssued(ApiKeyRead):
    """A machine key just created or rotated, with its secret (shown once)."""

    secret: str = Field(description="Send as 'X-API-Key'; shown only now")
