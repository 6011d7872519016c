"""Audit endpoints for administrators: verify the chain, read a subject's history.

The audit log sits below the identity layer (every layer, auth included, writes to it), so
these routes cannot import the access policy: `router(reader=...)` takes the dependency that
admits a reader, and the app factory passes the identity layer's `allow("audit.read")`.
"""

# No `from __future__ import annotations` here: the routes' annotations name the factory's
# `reader` argument, which FastAPI must see as an object, not as a string to resolve.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, platform
from zhikong.api.problems import Problem
from zhikong.audit import service, verification
from zhikong.audit.models import AuditEntry
from zhikong.audit.schemas import EntryRead, Verification
from zhikong.keys import AUDIT_ANCHOR

Subject = Annotated[
    str | None,
    Query(
        description="Pseudonymous subject, e.g. resident:12 or user:3 (default: the latest)",
        max_length=128,
    ),
]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 422)
}


def router(reader: Callable[..., Any]) -> APIRouter:
    """The audit routes, each admitting only the callers `reader` accepts."""
    routes = APIRouter(prefix="/api/v1/audit", tags=["audit"])

    @routes.get("/verify", response_model=Verification, responses=PROBLEMS)
    def verify(
        principal: Annotated[Any, Depends(reader)],
        held: Annotated[Platform, Depends(platform)],
        session: Annotated[Session, Depends(db_session)],
    ) -> Verification:
        """Recompute the whole hash chain and check it against its head and anchors."""
        keys = held.keys.public_keys(AUDIT_ANCHOR) if held.keys is not None else None
        result = verification.verify(session, public_keys=keys)
        return Verification(
            ok=result.ok,
            checked=result.checked,
            first_broken_seq=result.first_broken_seq,
            reason=result.reason,
            last_seq=result.last_seq,
            last_hash=result.last_hash,
            anchors_checked=result.anchors_checked,
        )

    @routes.get("/entries", response_model=list[EntryRead], responses=PROBLEMS)
    def entries(
        principal: Annotated[Any, Depends(reader)],
        session: Annotated[Session, Depends(db_session)],
        subject: Subject = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[EntryRead]:
        """A subject's history, oldest first; without a subject, the latest entries."""
        if subject is not None:
            try:
                service.check_reference(subject, "subject")
            except service.InvalidEntryError as exc:
                raise Problem.invalid("subject", str(exc), where="query") from exc
            rows = service.show(session, subject, limit=limit)
        else:
            newest = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
            rows = list(reversed(session.scalars(newest).all()))
        return [EntryRead.model_validate(row) for row in rows]

    return routes
