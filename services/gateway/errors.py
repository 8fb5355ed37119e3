"""gRPC status → HTTP, as grpc-gateway maps it, with a JSON body listing field violations.

Body: ``{"code": 3, "status": "INVALID_ARGUMENT", "message": "...", "details": [{"@type":
"type.googleapis.com/google.rpc.BadRequest", "field_violations": [{"field", "description"}]}]}``
(grpc-gateway's shape, the proto field names kept). Never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.errors import FieldViolation, ServiceError

log = logging.getLogger(__name__)

# grpc-gateway's runtime.HTTPStatusFromCode.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}
_BY_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND,
    405: grpc.StatusCode.UNIMPLEMENTED, 409: grpc.StatusCode.ALREADY_EXISTS,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED, 503: grpc.StatusCode.UNAVAILABLE,
}
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class FieldViolationBody(BaseModel):
    field: str
    description: str


class ErrorDetail(BaseModel):
    type: str = Field(alias="@type")
    field_violations: list[FieldViolationBody] = []


class ErrorBody(BaseModel):
    """A failed request (google.rpc.Status as JSON)."""

    code: int
    status: str
    message: str
    details: list[ErrorDetail] = []


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "invalid argument (field violations) or failed precondition"),
        (401, "missing or invalid bearer token"),
        (403, "not open to the caller's role"),
        (429, "too many failed token attempts, or a service at its limit (Retry-After)"),
        (503, "a downstream service is unavailable (Retry-After)"),
        (504, "a downstream service did not answer in time"),
    )
}


class GatewayError(Exception):
    """A ServiceError with HTTP headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, err: ServiceError, headers: dict[str, str] | None = None) -> None:
        super().__init__(err.message)
        self.err = err
        self.headers = headers or {}


def body(err: ServiceError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": err.code.value[0], "status": err.code.name,
                           "message": err.message, "details": []}
    if err.violations:
        out["details"].append({"@type": BAD_REQUEST_TYPE, "field_violations": [
            {"field": v.field, "description": v.description} for v in err.violations]})
    return out


def error_response(err: ServiceError, headers: dict[str, str] | None = None,
                   retry_after: int = 5) -> JSONResponse:
    headers = dict(headers or {})
    if err.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        headers.setdefault("Retry-After", str(retry_after))
    return JSONResponse(body(err), status_code=HTTP_STATUS[err.code], headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    # ("query", "page_size") → "page_size"; ("body", "inspectors", 0, "id") → "inspectors[0].id"
    out = ""
    for part in loc[1:] if loc and loc[0] in ("query", "path", "body", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _violation(error: dict[str, Any]) -> FieldViolation:
    if error.get("type") == "json_invalid":
        # Its location is a character offset, not a field.
        position = error.get("loc", ("body", "?"))[-1]
        return FieldViolation("body", f"not valid JSON (at character {position})")
    return FieldViolation(_field(tuple(error.get("loc", ()))), str(error.get("msg", "")))


def install(app: FastAPI, retry_after: int) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc.err, exc.headers, retry_after)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc, None, retry_after)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        violations = [_violation(e) for e in exc.errors()]
        return error_response(ServiceError.invalid_argument(*violations))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _BY_HTTP.get(exc.status_code, grpc.StatusCode.UNKNOWN)
        return JSONResponse(body(ServiceError(code, str(exc.detail))),
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(ServiceError(grpc.StatusCode.INTERNAL, "internal error"))
