"""Audit API shapes: the result of verifying the chain, one entry as an administrator sees it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Verification(BaseModel):
    """The result of recomputing the audit chain."""

    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    last_seq: int
    last_hash: str
    anchors_checked: int


class EntryRead(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    rule_id: str | None
    rule_version: str | None
    inputs: list[str]
    request_id: str | None
    prev_hash: str
    hash: str
