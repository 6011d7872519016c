"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhikong.api.requests import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("zhikong.api")

TITLES: dict[int, str] = {
    400: "请求无效 · Bad request",
    401: "未认证 · Not authenticated",
    403: "无权访问 · Forbidden",
    404: "未找到 · Not found",
    405: "方法不允许 · Method not allowed",
    409: "冲突 · Conflict",
    413: "内容过大 · Payload too large",
    415: "不支持的媒体类型 · Unsupported media type",
    422: "参数无效 · Invalid parameters",
    429: "请求过多 · Too many requests",
    500: "服务器内部错误 · Internal server error",
    503: "服务不可用 · Service unavailable",
}


class Problem(Exception):
    """An error to be answered with an RFC 9457 problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _default_slug(status)
        self.title = title or TITLES.get(status, "错误 · Error")
        self.errors = list(errors)
        self.headers = headers or {}

    @classmethod
    def invalid(
        cls,
        name: str,
        reason: str,
        *,
        where: str = "body",
        status: int = 422,
        message: str | None = None,
    ) -> Problem:
        """A problem naming one field at fault: "body field 'x': …" or "query parameter 'x': …".

        `message` is the short text of the `errors` entry when it differs from `reason`.
        """
        label = "field" if where == "body" else "parameter"
        return cls(
            status,
            f"{where} {label} '{name}': {reason}",
            errors=[{"in": where, "name": name, "message": reason if message is None else message}],
        )


def _default_slug(status: int) -> str:
    return {
        400: "bad-request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        422: "validation-error",
        429: "rate-limited",
        503: "unavailable",
    }.get(status, "error" if status < 500 else "internal-error")


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """Render a Problem as application/problem+json with the request id."""
    body: dict[str, Any] = {
        "type": f"urn:zhikong:problem:{problem.slug}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "request_id": current_request_id(),
    }
    if problem.errors:
        body["errors"] = problem.errors
    headers = {"X-Request-ID": current_request_id(), **problem.headers}
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _location(loc: Sequence[Any]) -> tuple[str, str]:
    """Split a pydantic error location into (where, field name)."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"query", "path", "header", "cookie", "body"}:
        where, rest = parts[0], parts[1:]
    else:
        where, rest = "body", parts
    return where, ".".join(rest) or where


def validation_problem(exc: RequestValidationError) -> Problem:
    """A 422 problem naming every invalid parameter."""
    errors = []
    for error in exc.errors():
        where, name = _location(error.get("loc", ()))
        errors.append({"in": where, "name": name, "message": error.get("msg", "invalid")})
    first = errors[0] if errors else {"in": "request", "name": "request", "message": "invalid"}
    detail = f"{first['in']} parameter '{first['name']}': {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return Problem(422, detail, errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error the app returns a problem body."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        return problem_response(
            request, Problem(exc.status_code, detail, headers=dict(exc.headers or {}))
        )


def crash_response(request: Request, exc: Exception) -> JSONResponse:
    """The 500 problem for an unexpected error, logged with its traceback."""
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(request, Problem(500, "an internal error occurred; it has been logged"))
