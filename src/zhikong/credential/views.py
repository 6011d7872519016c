"""Credential endpoints: code generation (健康码制码请求) and verification (健康码验码请求)
interfaces of GB/T 38963, the published trust list and its anchor."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, keystore, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.api.requests import current_request_id
from zhikong.audit.service import record
from zhikong.auth.policy import Principal, allow
from zhikong.code.deps import resident_for
from zhikong.code.models import HealthCode
from zhikong.credential import issuer
from zhikong.credential.claims import Kind
from zhikong.credential.keys import FileSigningKeyStore
from zhikong.credential.qr import render_png, render_svg
from zhikong.credential.schemas import MintedCode, VerifyRequest, VerifyResult

router = APIRouter(prefix="/api/v1", tags=["credential"])
ResidentId = Annotated[int, Path(ge=1, le=2**62)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 404, 422, 503)
}


def _issuers(held: Platform) -> FileSigningKeyStore:
    store = issuer.open_issuer_keys(held.settings.resolved_key_dir)
    if store is None or not store.keys(held.settings.issuer_region):
        raise Problem(503, "no issuer signing key; run zhikong keys issuer create REGION")
    return store


def _mint(
    held: Platform, session: Session, principal: Principal, resident_id: int, kind: Kind
) -> issuer.Minted:
    resident = resident_for(session, principal, resident_id)
    code = session.get(HealthCode, resident_id)
    if code is None:
        raise Problem(404, "this person has no health code yet")
    validity = (
        timedelta(minutes=held.settings.screen_code_minutes)
        if kind == Kind.SCREEN
        else timedelta(days=held.settings.paper_code_days)
    )
    try:
        minted = issuer.mint_for(
            _issuers(held),
            keystore(held),
            issuer_region=held.settings.issuer_region,
            resident_id=resident.id,
            colour=code.colour,
            masked_name=resident.name_masked or "*",
            profile_id=code.profile,
            profile_version=code.rule_version,
            kind=kind,
            now=held.clock.now(),
            validity=validity,
        )
    except issuer.IssuerError as exc:
        raise Problem(503, str(exc)) from exc
    return minted


@router.post(
    "/code/residents/{resident_id}/credential",
    response_model=MintedCode,
    responses=PROBLEMS,
    tags=["health code"],
    summary="健康码制码请求 · Generate the signed code",
)
def generate(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("credential.mint"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> MintedCode:
    """The code's current colour, signed for a few minutes (the page refreshes it)."""
    minted = _mint(held, session, principal, resident_id, Kind.SCREEN)
    claims = minted.claims
    return MintedCode(
        text=minted.text,
        colour=str(claims.colour),
        masked_name=claims.masked_name,
        issuer=claims.issuer,
        kind=str(claims.kind),
        issued_at=claims.issued_at.isoformat(),
        expires_at=claims.expires_at.isoformat(),
        svg=render_svg(minted.text, claims.colour),
    )


@router.get(
    "/code/residents/{resident_id}/paper.png",
    responses={200: {"content": {"image/png": {}}}, **PROBLEMS},
    tags=["health code"],
    summary="Printable paper code (long validity; check with an ID document)",
    response_class=Response,
)
def paper(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("credential.paper"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> Response:
    """A PNG to print for someone without a phone; every print is audited."""
    minted = _mint(held, session, principal, resident_id, Kind.PAPER)
    with unit_of_work(session):
        record(
            session,
            held.clock,
            actor=principal.actor,
            action="code.credential.paper",
            subject=f"resident:{resident_id}",
            after={"expires_at": minted.claims.expires_at.isoformat()},
            request_id=current_request_id(),
        )
    png = render_png(minted.text, minted.claims, timezone=held.settings.timezone)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post(
    "/credential/verify",
    response_model=VerifyResult,
    responses=PROBLEMS,
    summary="健康码验码请求 · Verify a scanned code",
)
def verify_code(
    body: VerifyRequest,
    principal: Annotated[Principal, Depends(allow("credential.verify"))],
    held: Annotated[Platform, Depends(platform)],
) -> VerifyResult:
    """Verify a code (ours, a partner region's, or an EU DCC) against this installation's trust."""
    now = held.clock.now()
    store = issuer.open_issuer_keys(held.settings.resolved_key_dir)
    trust = issuer.verifier_trust(store, held.settings.var_dir, now)
    result = issuer.verify_online(body.text, trust, now)
    payload = result.payload or {}
    claims = payload if result.kind == "zhikong" else {}
    return VerifyResult(
        valid=result.valid,
        decoded=result.decoded,
        signature_valid=result.signature_valid,
        time_valid=result.time_valid,
        kind=result.kind,
        issuer=result.issuer,
        colour=claims.get("colour"),
        masked_name=claims.get("masked_name"),
        expires_at=claims.get("exp"),
        error=result.error,
    )


@router.get(
    "/credential/trust-list",
    responses={200: {"content": {"application/json": {}}}, **PROBLEMS},
    summary="This region's signed trust list",
    response_class=Response,
)
def trust_list(held: Annotated[Platform, Depends(platform)]) -> Response:
    """The issuer keys of this installation, signed by its trust anchor (public)."""
    data = issuer.signed_own_trust_list(
        _issuers(held), keystore(held), held.clock.now(), held.settings.issuer_region
    )
    return Response(data, media_type="application/json")


@router.get("/credential/anchor", responses=PROBLEMS, summary="The trust anchor to pin")
def anchor(held: Annotated[Platform, Depends(platform)]) -> dict[str, str]:
    """The public key partners pin to verify this region's trust lists (public)."""
    return issuer.anchor_document(keystore(held))
