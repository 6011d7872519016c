"""Sign-in, tokens, staff accounts and machine keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, status
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, keystore, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.auth import ratelimit, service
from zhikong.auth.deps import sms_sender
from zhikong.auth.models import ApiKey, UserAccount
from zhikong.auth.pii import mask_phone, unseal
from zhikong.auth.policy import (
    UNAUTHENTICATED_HEADERS,
    Principal,
    allow,
    ensure_in_jurisdiction,
)
from zhikong.auth.schemas import (
    Accepted,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    OtpRequest,
    OtpVerify,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserRead,
)
from zhikong.auth.sms import SmsSender
from zhikong.keys import KeyStore

router = APIRouter(prefix="/api/v1", tags=["auth"])
Id = Annotated[int, Path(ge=1, le=2**62)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 404, 422, 429)
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limited(held: Platform, limit: ratelimit.Limit, key: str) -> None:
    if not ratelimit.take(held.sessions, limit, key, held.clock.now()):
        raise Problem(
            429,
            "too many attempts; wait and try again",
            headers={"Retry-After": str(ratelimit.retry_after(limit))},
        )


@contextmanager
def _translated() -> Iterator[None]:
    """Turn service errors into problem responses."""
    try:
        yield
    except service.AuthError as exc:
        raise Problem(401, str(exc), headers=UNAUTHENTICATED_HEADERS) from exc
    except service.PolicyError as exc:
        raise Problem(403, str(exc)) from exc
    except service.InvalidRequestError as exc:
        raise Problem.invalid(exc.field, str(exc)) from exc


def _sign_in_or_count_failure(session: Session, attempt: Callable[[], TokenPair]) -> TokenPair:
    """Run a sign-in; a failure still commits its security side effects (lockout counters,
    code attempts, revoked token families), then answers 401."""
    failure: service.AuthError | None = None
    with unit_of_work(session):
        try:
            pair = attempt()
        except service.AuthError as exc:
            failure = exc
    if failure is not None:
        raise Problem(401, str(failure), headers=UNAUTHENTICATED_HEADERS)
    return pair


# -- tokens -----------------------------------------------------------------------------------


@router.post("/auth/token", response_model=TokenPair, responses=PROBLEMS, summary="Staff sign-in")
def token(
    request: Request,
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
) -> TokenPair:
    """OAuth2 password flow: a short-lived access token and a refresh token."""
    keys = keystore(held)
    _limited(held, ratelimit.SIGN_IN_PER_CLIENT, _client(request))
    _limited(held, ratelimit.SIGN_IN_PER_ACCOUNT, username)
    return _sign_in_or_count_failure(
        session,
        lambda: service.password_sign_in(
            session, keys, held.clock, held.settings, username, password
        ),
    )


@router.post("/auth/refresh", response_model=TokenPair, responses=PROBLEMS, summary="New tokens")
def refresh(
    request: Request,
    body: RefreshRequest,
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> TokenPair:
    """Exchange a refresh token (used up) for a new pair."""
    keys = keystore(held)
    _limited(held, ratelimit.REFRESH_PER_CLIENT, _client(request))
    # A reused token commits the revocation of its whole family before it is refused.
    return _sign_in_or_count_failure(
        session,
        lambda: service.refresh_tokens(
            session, keys, held.clock, held.settings, body.refresh_token
        ),
    )


@router.post("/auth/logout", response_model=Accepted, responses=PROBLEMS, summary="Sign out")
def logout(
    body: RefreshRequest,
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> Accepted:
    """Revoke a refresh token and every token rotated from it."""
    with unit_of_work(session):
        service.revoke_refresh(session, held.clock, body.refresh_token)
    return Accepted(detail="signed out")


@router.post(
    "/auth/otp",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=PROBLEMS,
    summary="Resident: ask for an SMS code",
)
def otp_request(
    request: Request,
    body: OtpRequest,
    held: Annotated[Platform, Depends(platform)],
    sms: Annotated[SmsSender, Depends(sms_sender)],
    session: Annotated[Session, Depends(db_session)],
) -> Accepted:
    """Send a one-time code to a mobile number (the answer is the same for every number)."""
    keys = keystore(held)
    _limited(held, ratelimit.OTP_PER_CLIENT, _client(request))
    _limited(held, ratelimit.OTP_PER_PHONE, body.phone)
    with unit_of_work(session):
        service.request_code(session, keys, held.clock, held.settings, sms, body.phone)
    return Accepted(detail=f"验证码已发送至 {mask_phone(body.phone)} · code sent")


@router.post(
    "/auth/otp/verify", response_model=TokenPair, responses=PROBLEMS, summary="Resident sign-in"
)
def otp_verify(
    body: OtpVerify,
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> TokenPair:
    """Tokens for a resident who entered the code sent to their phone."""
    keys = keystore(held)
    _limited(held, ratelimit.OTP_VERIFY_PER_PHONE, body.phone)
    return _sign_in_or_count_failure(
        session,
        lambda: service.verify_code(
            session, keys, held.clock, held.settings, body.phone, body.code
        ),
    )


def _user_read(user: UserAccount, keys: KeyStore | None) -> UserRead:
    read = UserRead.model_validate(user)
    read.locked = user.locked_until is not None
    if user.phone_sealed and keys is not None:
        read.phone = mask_phone(unseal(keys, user.phone_sealed, "user.phone"))
    return read


@router.get("/auth/me", response_model=UserRead, responses=PROBLEMS, summary="Who am I")
def me(
    principal: Annotated[Principal, Depends(allow("auth.me"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> UserRead:
    """The signed-in account (masked phone for residents)."""
    if principal.kind != "user":
        raise Problem(403, "machine keys have no account")
    user = session.get(UserAccount, principal.id)
    if user is None:
        raise Problem(404, "not found")
    return _user_read(user, held.keys)


# -- staff accounts ---------------------------------------------------------------------------


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    tags=["users"],
    summary="Create a staff account",
)
def create_user(
    body: UserCreate,
    principal: Annotated[Principal, Depends(allow("user.create"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> UserRead:
    """A staff account in the caller's jurisdiction, of a role the caller may create."""
    with _translated(), unit_of_work(session):
        user = service.create_user(
            session,
            held.clock,
            principal,
            username=body.username,
            display_name=body.display_name,
            password=body.password,
            role=body.role,
            region_code=body.region_code,
        )
    return _user_read(user, held.keys)


@router.get("/users", response_model=list[UserRead], responses=PROBLEMS, tags=["users"])
def list_users(
    principal: Annotated[Principal, Depends(allow("user.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> list[UserRead]:
    """Staff accounts in the caller's jurisdiction."""
    return [_user_read(u, held.keys) for u in service.list_users(session, principal)]


def _scoped_user(session: Session, principal: Principal, user_id: int) -> UserAccount:
    user = session.get(UserAccount, user_id)
    if user is None or user.role == "resident":
        raise Problem(404, "not found")
    ensure_in_jurisdiction(session, principal, user.region_code, hide=True)
    return user


@router.get("/users/{user_id}", response_model=UserRead, responses=PROBLEMS, tags=["users"])
def get_user(
    user_id: Id,
    principal: Annotated[Principal, Depends(allow("user.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> UserRead:
    """One staff account (404 outside the caller's jurisdiction)."""
    return _user_read(_scoped_user(session, principal, user_id), held.keys)


@router.post(
    "/users/{user_id}/deactivate", response_model=UserRead, responses=PROBLEMS, tags=["users"]
)
def deactivate_user(
    user_id: Id,
    principal: Annotated[Principal, Depends(allow("user.manage"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> UserRead:
    """Deactivate an account and revoke all its tokens."""
    with unit_of_work(session):
        user = _scoped_user(session, principal, user_id)
        if user.id == principal.id and principal.kind == "user":
            raise Problem(409, "you cannot deactivate your own account")
        service.set_active(session, held.clock, principal, user, active=False)
    return _user_read(user, held.keys)


@router.post("/users/{user_id}/unlock", response_model=UserRead, responses=PROBLEMS, tags=["users"])
def unlock_user(
    user_id: Id,
    principal: Annotated[Principal, Depends(allow("user.manage"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> UserRead:
    """Lift a lockout after repeated failed sign-ins."""
    with unit_of_work(session):
        user = _scoped_user(session, principal, user_id)
        service.unlock(session, held.clock, principal, user)
    return _user_read(user, held.keys)


# -- machine keys -----------------------------------------------------------------------------


def _scoped_key(session: Session, principal: Principal, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise Problem(404, "not found")
    ensure_in_jurisdiction(session, principal, key.region_code, hide=True)
    return key


def _issued(issued: service.IssuedKey) -> ApiKeyIssued:
    return ApiKeyIssued(**ApiKeyRead.model_validate(issued.key).model_dump(), secret=issued.secret)


@router.post(
    "/api-keys",
    response_model=ApiKeyIssued,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    tags=["api-keys"],
    summary="Create a machine key",
)
def create_api_key(
    body: ApiKeyCreate,
    principal: Annotated[Principal, Depends(allow("apikey.manage"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ApiKeyIssued:
    """A key for a checkpoint device, venue terminal or partner region; the secret is shown once."""
    with _translated(), unit_of_work(session):
        issued = service.create_api_key(
            session,
            held.clock,
            principal,
            name=body.name,
            role=body.role,
            region_code=body.region_code,
        )
    return _issued(issued)


@router.get("/api-keys", response_model=list[ApiKeyRead], responses=PROBLEMS, tags=["api-keys"])
def list_api_keys(
    principal: Annotated[Principal, Depends(allow("apikey.manage"))],
    session: Annotated[Session, Depends(db_session)],
) -> list[ApiKeyRead]:
    """Machine keys in the caller's jurisdiction (never their secrets)."""
    return [ApiKeyRead.model_validate(k) for k in service.list_api_keys(session, principal)]


@router.post(
    "/api-keys/{key_id}/rotate", response_model=ApiKeyIssued, responses=PROBLEMS, tags=["api-keys"]
)
def rotate_api_key(
    key_id: Id,
    principal: Annotated[Principal, Depends(allow("apikey.manage"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ApiKeyIssued:
    """Replace a key by a new one (the old one stops working at once)."""
    with _translated(), unit_of_work(session):
        issued = service.rotate_api_key(
            session, held.clock, principal, _scoped_key(session, principal, key_id)
        )
    return _issued(issued)


@router.post(
    "/api-keys/{key_id}/revoke", response_model=ApiKeyRead, responses=PROBLEMS, tags=["api-keys"]
)
def revoke_api_key(
    key_id: Id,
    principal: Annotated[Principal, Depends(allow("apikey.manage"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> ApiKeyRead:
    """Revoke a key."""
    with unit_of_work(session):
        key = _scoped_key(session, principal, key_id)
        service.revoke_api_key(session, held.clock, principal, key)
    return ApiKeyRead.model_validate(key)
