"""One envelope for every answer: `{success, data | error{code, message, details}, meta}`.

`meta` carries the answer's time (µs since the epoch, UTC, as every timestamp in fillstream)
and the request id: the caller's `X-Request-ID` when it is a sensible token, else a new one,
echoed in the response's `X-Request-ID` header so a client can quote it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

__all__ = [
    "ApiError",
    "Envelope",
    "ErrorCode",
    "failure",
    "field_errors",
    "install",
    "ok",
    "request_id_of",
    "respond",
]

REQUEST_ID_HEADER = "X-Request-ID"
_SENSIBLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

DataT = TypeVar("DataT")


class ErrorCode(StrEnum):
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    BAD_REQUEST = "BAD_REQUEST"
    BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"
    INTERNAL = "INTERNAL"


class Meta(BaseModel):
    timestamp: int
    request_id: str


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: Any = None


class Envelope(BaseModel, Generic[DataT]):
    """The shape of every answer (documentation for OpenAPI; answers are built by `ok`)."""

    success: bool
    data: DataT | None = None
    error: ErrorBody | None = None
    meta: Meta


class ApiError(Exception):
    """An answer other than success, raised anywhere in a request's handling."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers


def ok(data: Any, request_id: str, now_us: int) -> dict[str, Any]:
    return {"success": True, "data": data, "meta": _meta(request_id, now_us)}


def failure(
    code: ErrorCode, message: str, details: Any, request_id: str, now_us: int
) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code.value, "message": message, "details": details},
        "meta": _meta(request_id, now_us),
    }


def _meta(request_id: str, now_us: int) -> dict[str, Any]:
    return {"timestamp": now_us, "request_id": request_id}


def request_id_of(header: str | None) -> str:
    """The caller's request id if it is a short plain token (it is echoed back), else a new one."""
    if header is not None and _SENSIBLE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def field_errors(errors: Any) -> list[dict[str, str]]:
    """Pydantic's errors as `{field, message}`: the field a dotted path (`body.quantity`)."""
    return [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())) or "body",
            "message": str(error.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for error in errors
    ]


_STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
}


def respond(request: Request, data: Any, status: int = 200) -> JSONResponse:
    """A success envelope around `data` (JSON-ready: decimals already strings)."""
    return JSONResponse(
        ok(data, request.state.request_id, request.app.state.clock()), status_code=status
    )


def install(app: FastAPI, clock: Callable[[], int]) -> None:
    """Request ids and error envelopes on `app`; `clock` gives µs since the epoch."""
    app.state.clock = clock

    def answer(request: Request, error: ApiError) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None) or request_id_of(None)
        body = failure(error.code, error.message, error.details, request_id, clock())
        headers = {REQUEST_ID_HEADER: request_id, **(error.headers or {})}
        return JSONResponse(body, status_code=error.status, headers=headers)

    @app.middleware("http")
    async def with_request_id(request: Request, call_next: Any) -> Any:
        request.state.request_id = request_id_of(request.headers.get(REQUEST_ID_HEADER))
        response = await call_next(request)
        response.headers[REQUEST_ID_HEADER] = request.state.request_id
        return response

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        return answer(request, error)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        details = field_errors(error.errors())
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return answer(request, ApiError(422, ErrorCode.VALIDATION_FAILED, message, details))

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, error: HTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(error.status_code, ErrorCode.BAD_REQUEST)
        return answer(
            request, ApiError(error.status_code, code, str(error.detail), None, error.headers)
        )

    @app.exception_handler(Exception)
    async def on_bug(request: Request, error: Exception) -> JSONResponse:
        return answer(request, ApiError(500, ErrorCode.INTERNAL, "internal error"))
