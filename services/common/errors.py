"""Domain errors that end an RPC with a chosen status and google.rpc rich details.

Handlers raise :class:`ServiceError`; the server's error-mapping layer turns it into
``context.abort_with_status(to_rpc_status(err))``.  Field violations travel as a
``google.rpc.BadRequest`` inside the ``grpc-status-details-bin`` trailer, so clients in
any language can show per-field messages; :func:`bad_request_violations` reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import grpc
import grpc.aio
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "FieldViolation",
    "ServiceError",
    "already_exists",
    "bad_request_violations",
    "bad_request_violations_async",
    "failed_precondition",
    "invalid_argument",
    "not_found",
    "permission_denied",
    "resource_exhausted",
    "rich_status",
    "to_rpc_status",
    "to_status_proto",
    "unauthenticated",
    "unavailable",
]


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


ViolationLike = FieldViolation | tuple[str, str]


class ServiceError(Exception):
    """An expected failure whose code and message are meant for the client."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        violations: Iterable[ViolationLike] = (),
    ) -> None:
        if code is grpc.StatusCode.OK:
            raise ValueError("ServiceError cannot carry StatusCode.OK")
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations: tuple[FieldViolation, ...] = tuple(
            v if isinstance(v, FieldViolation) else FieldViolation(*v) for v in violations
        )

    @classmethod
    def invalid_argument(
        cls, *violations: ViolationLike, message: str | None = None
    ) -> ServiceError:
        """``message`` defaults to a one-line summary so clients without rich-status
        support still learn which fields were wrong."""
        vs = tuple(v if isinstance(v, FieldViolation) else FieldViolation(*v) for v in violations)
        if message is None:
            message = "invalid argument"
            if vs:
                message += ": " + "; ".join(f"{v.field}: {v.description}" for v in vs)
        return cls(grpc.StatusCode.INVALID_ARGUMENT, message, vs)

    @classmethod
    def not_found(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.NOT_FOUND, message)

    @classmethod
    def already_exists(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.ALREADY_EXISTS, message)

    @classmethod
    def failed_precondition(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.FAILED_PRECONDITION, message)

    @classmethod
    def permission_denied(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.PERMISSION_DENIED, message)

    @classmethod
    def unauthenticated(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.UNAUTHENTICATED, message)

    @classmethod
    def resource_exhausted(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.RESOURCE_EXHAUSTED, message)

    @classmethod
    def unavailable(cls, message: str) -> ServiceError:
        return cls(grpc.StatusCode.UNAVAILABLE, message)


# Module-level spellings, e.g. ``raise errors.not_found("no such record")``.
invalid_argument = ServiceError.invalid_argument
not_found = ServiceError.not_found
already_exists = ServiceError.already_exists
failed_precondition = ServiceError.failed_precondition
permission_denied = ServiceError.permission_denied
unauthenticated = ServiceError.unauthenticated
resource_exhausted = ServiceError.resource_exhausted
unavailable = ServiceError.unavailable


def to_status_proto(err: ServiceError) -> status_pb2.Status:
    """The ``google.rpc.Status`` of ``err``, with a BadRequest when it has violations; also
    used in-band, e.g. per-record results of a streamed batch."""
    status = status_pb2.Status(code=err.code.value[0], message=err.message)
    if err.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in err.violations
            ]
        )
        status.details.add().Pack(bad_request)
    return status


def to_rpc_status(err: ServiceError) -> grpc.Status:
    """A ``grpc.Status`` for ``abort_with_status``; code/message agree with the trailer."""
    result: grpc.Status = rpc_status.to_status(to_status_proto(err))
    return result


def rich_status(rpc_error: grpc.RpcError) -> Any | None:
    """The ``google.rpc.Status`` in the error's trailer, or None when absent or garbled.

    Works for sync errors (``grpc.Call``) and ``grpc.aio.AioRpcError`` alike: both expose
    ``code()``/``details()``/``trailing_metadata()`` synchronously.
    """
    try:
        return rpc_status.from_call(cast(grpc.Call, rpc_error))
    except (ValueError, AttributeError, TypeError):
        # AttributeError/TypeError: not a Call (e.g. a bare RpcError); ValueError:
        # trailer inconsistent with the status, which we refuse to trust.
        return None


def _violations(status: Any | None) -> list[tuple[str, str]]:
    if status is None:
        return []
    out: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            out.extend((v.field, v.description) for v in bad_request.field_violations)
    return out


def bad_request_violations(
    rpc_error: grpc.aio.AioRpcError | grpc.RpcError,
) -> list[tuple[str, str]]:
    """``[(field, description), ...]`` from a failed call's BadRequest details."""
    return _violations(rich_status(rpc_error))


async def bad_request_violations_async(call: grpc.aio.Call) -> list[tuple[str, str]]:
    """Same, for a finished aio call object (whose accessors are coroutines)."""
    try:
        # grpc_status' stubs lack the aio submodule.
        status = await cast(Any, rpc_status).aio.from_call(call)
    except ValueError:
        return []
    return _violations(status)
