"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from zhikong.api.deps import Platform, platform
from zhikong.api.problems import Problem
from zhikong.store import migrate
from zhikong.store.engine import ping

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness or readiness status."""

    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: the database answers and its schema is current",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
def readyz(held: Annotated[Platform, Depends(platform)]) -> Health:
    """The database is reachable and migrated to the code's head revision."""
    try:
        ping(held.engine)
    except Exception as exc:
        raise Problem(503, f"database unreachable: {type(exc).__name__}") from exc
    if not migrate.is_up_to_date(held.engine):
        raise Problem(503, "database schema is not at the current revision; run zhikong db upgrade")
    return Health(status="ok", checks={"database": "ok", "schema": "current"})
