"""Liveness and readiness probes, and facts about the installation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session

from zhikong import __version__
from zhikong.api.deps import Platform, db_session, platform
from zhikong.api.problems import Problem
from zhikong.regions.service import installed_packs
from zhikong.store import migrate
from zhikong.store.engine import backend_name, ping
from zhikong.store.meta import get_meta

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness or readiness status."""

    status: str
    checks: dict[str, str] = {}


class About(BaseModel):
    """What this installation is running."""

    version: str
    database: str
    schema_revision: str | None
    region_packs: dict[str, Any]
    demo: dict[str, Any] | None


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


@router.get("/api/v1/about", response_model=About, tags=["about"], summary="This installation")
def about(
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> About:
    """Version, database backend, schema revision, region packs and demo parameters."""
    return About(
        version=__version__,
        database=backend_name(held.engine),
        schema_revision=migrate.current_revision(held.engine),
        region_packs=installed_packs(session),
        demo=get_meta(session, "demo"),
    )
