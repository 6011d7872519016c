"""Credential API shapes: a minted code, a scanned text to verify, what a checkpoint learns."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MintedCode(BaseModel):
    """A signed code, valid for minutes (shown on a phone) or days (printed)."""

    text: str = Field(description="The QR text (ZK1:…)")
    colour: str
    masked_name: str
    issuer: str
    kind: str
    issued_at: str
    expires_at: str
    svg: str = Field(description="The QR code as SVG, in the code's colour")


class VerifyRequest(BaseModel):
    """A scanned QR text to verify."""

    text: str = Field(min_length=1, max_length=8000)
    venue_id: int | None = Field(default=None, ge=1, description="Where it was scanned (tracing)")


class VerifyResult(BaseModel):
    """What a checkpoint learns: validity, colour, masked name, issuer — nothing else."""

    valid: bool
    decoded: bool
    signature_valid: bool | None
    time_valid: bool | None
    kind: str | None
    issuer: str | None
    colour: str | None
    masked_name: str | None
    expires_at: str | None
    error: str | None
