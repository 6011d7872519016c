"""The FastAPI application factory: the composition root that mounts every domain's router.

It builds the platform (settings, database, clock, key directory), gives each domain what it
needs from the running app (the code domain's colour policy and notifier, the identity
domain's SMS sender), connects the domains' extension points (`zhikong.wiring`) and mounts
the routers and pages. It also answers `/api/v1/about`, which reports on the whole installation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from zhikong import __version__
from zhikong.api import health
from zhikong.api.deps import Platform, db_session, platform
from zhikong.api.problems import crash_response, install_problem_handlers
from zhikong.api.requests import configure_logging, install_request_ids
from zhikong.audit import views as audit_views
from zhikong.auth import views as auth_views
from zhikong.auth.deps import install_sms_sender
from zhikong.auth.policy import allow
from zhikong.auth.sms import SmsSender, load_sms_sender
from zhikong.clock import Clock, SystemClock
from zhikong.code import views as code_views
from zhikong.code.deps import CodeServices, install_code_services
from zhikong.code.notify import Notifier, notifier_from_settings
from zhikong.code.policy import ColourPolicy
from zhikong.config import Settings, load_settings
from zhikong.credential import views as credential_views
from zhikong.index import views as index_views
from zhikong.keys import FileKeyStore, KeyDirectoryError, KeyStore
from zhikong.regions import views as region_views
from zhikong.regions.service import installed_packs
from zhikong.residents import views as resident_views
from zhikong.riskmap import views as risk_views
from zhikong.rules import views as rule_views
from zhikong.store import migrate
from zhikong.store.engine import backend_name, make_engine, make_sessionmaker
from zhikong.store.meta import get_meta
from zhikong.trace import views as trace_views
from zhikong.web import views as web_views
from zhikong.wiring import connect_domains

DESCRIPTION = """
智控 zhikong — 一图一码一指数：五色风险图、健康码、精密智控指数，同一数据平台。

zhikong is an open-source platform for precise, data-driven epidemic control. Every error is an
RFC 9457 problem body (`application/problem+json`) naming the field at fault; every response
carries an `X-Request-ID`.
"""

about_router = APIRouter(tags=["health"])


class About(BaseModel):
    """What this installation is running."""

    version: str
    database: str
    schema_revision: str | None
    region_packs: dict[str, Any]
    demo: dict[str, Any] | None


@about_router.get(
    "/api/v1/about", response_model=About, tags=["about"], summary="This installation"
)
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


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    keys: KeyStore | None = None,
    sms: SmsSender | None = None,
    notifier: Notifier | None = None,
) -> FastAPI:
    """Build the application over a database and a clock."""
    settings = settings or load_settings()
    engine = engine or make_engine(settings.resolved_database_url, echo=settings.sql_echo)
    configure_logging(settings.log_level)
    connect_domains()
    app = FastAPI(
        title="智控 zhikong",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.platform = Platform(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        keys=keys if keys is not None else _load_keys(settings),
    )
    install_sms_sender(app, sms or load_sms_sender(settings.sms_sender))
    install_code_services(
        app,
        CodeServices(
            policy=ColourPolicy.named(settings.code_profile, settings.timezone),
            notifier=notifier
            or notifier_from_settings(settings.notifier, settings.notifier_secret),
        ),
    )
    install_problem_handlers(app)
    install_request_ids(app, crash_response)
    app.include_router(health.router)
    app.include_router(about_router)
    app.include_router(auth_views.router)
    app.include_router(audit_views.router(reader=allow("audit.read")))
    app.include_router(code_views.router)
    app.include_router(credential_views.router)
    app.include_router(region_views.router)
    app.include_router(risk_views.router)
    app.include_router(index_views.router)
    app.include_router(resident_views.router)
    app.include_router(rule_views.router)
    app.include_router(trace_views.router)
    web_views.mount(app)
    return app


def _load_keys(settings: Settings) -> KeyStore | None:
    """The key directory when one exists (routes that need keys answer 503 without it)."""
    try:
        return FileKeyStore.load(settings.resolved_key_dir)
    except KeyDirectoryError:
        return None
