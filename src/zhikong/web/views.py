"""Page routes: the landing page, the API documentation, the cockpit, the resident pages, the
checkpoint scanner and the officer console (all assets served locally)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhikong import __version__
from zhikong.api.deps import Platform, db_session, platform
from zhikong.clock import local_date
from zhikong.regions.service import installed_packs, list_regions
from zhikong.residents.service import SYNTHETIC_NOTICE, population_summary
from zhikong.store.meta import get_meta

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> HTMLResponse:
    """The landing page: what is installed and where to go next."""
    demo = get_meta(session, "demo")
    cities, _ = list_regions(session, level="city", limit=1000)
    province = None
    summary = None
    roots, _ = list_regions(session, level="province", limit=1)
    if roots:
        province = roots[0]
        summary = population_summary(
            session, province.code, local_date(held.clock, held.settings.timezone)
        )
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "version": __version__,
            "demo": demo,
            "packs": installed_packs(session),
            "province": province,
            "cities": cities,
            "summary": summary,
            "synthetic_notice": SYNTHETIC_NOTICE,
        },
    )


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI over /openapi.json, with every asset served locally."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="智控 zhikong API",
        swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )


def _page(request: Request, name: str, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"version": __version__, **context})
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/cockpit", response_class=HTMLResponse)
def cockpit(request: Request) -> HTMLResponse:
    """数字驾驶舱 · the command centre's cockpit: map, index, codes, alerts."""
    return _page(request, "cockpit.html")


@router.get("/m", response_class=HTMLResponse)
def resident(request: Request) -> HTMLResponse:
    """居民端 · the resident's pages (phone first): sign in, apply, my code, check-in."""
    return _page(request, "m.html")


@router.get("/scan", response_class=HTMLResponse)
def scan(request: Request, held: Annotated[Platform, Depends(platform)]) -> HTMLResponse:
    """卡口验码 · the checkpoint scanner; the trust anchor is pinned in the page."""
    return _page(request, "scan.html", anchor=_anchor(held))


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request) -> HTMLResponse:
    """工作台 · the officer console: cases, appeals, overrides, rules, audit."""
    return _page(request, "admin.html")


def _anchor(held: Platform) -> str | None:
    """The trust anchor's public key (base64 raw Ed25519), when keys are configured."""
    if held.keys is None:
        return None
    try:
        from zhikong.credential import issuer

        return issuer.anchor_document(held.keys)["public_key"]
    except Exception:  # no anchor yet: the page fetches /api/v1/credential/anchor instead
        return None


def mount(app: FastAPI) -> None:
    """Attach the pages and the static files to the app."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
