"""gRPC clients of the records and scoring services, with a deadline on every call.

Every failure comes back as a :class:`ServiceError` whose message is meant for the client:
the downstream's own message and field violations for domain errors, a clear "... is
unavailable" for a service that is down, and never a downstream traceback or address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import CLIENT_CHANNEL_OPTIONS
from services.common.errors import ServiceError, bad_request_violations
from services.common.stubs import records_stub, scoring_stub

log = logging.getLogger(__name__)

Metadata = tuple[tuple[str, str], ...]
T = TypeVar("T")

# Codes whose downstream message is the caller's business; anything else is ours to hide.
_PASSED_ON = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.RESOURCE_EXHAUSTED,
})


def translate(service: str, err: grpc.RpcError) -> ServiceError:
    """The client-facing error for a failed downstream call."""
    code = err.code() if isinstance(err, grpc.Call | grpc.aio.AioRpcError) else None
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (
            err.details() or "" if isinstance(err, grpc.Call | grpc.aio.AioRpcError) else ""):
        # gRPC's own message-size refusal: no load to wait out (a 429 would invite retries
        # forever), and its text names internal limits.
        return ServiceError.invalid_argument(
            ("body", f"the request is larger than the {service} service accepts"))
    if code in _PASSED_ON:
        assert code is not None
        details = err.details() if isinstance(err, grpc.Call | grpc.aio.AioRpcError) else ""
        return ServiceError(code, details or code.name.lower(), bad_request_violations(err))
    if code is grpc.StatusCode.UNAVAILABLE:
        return ServiceError.unavailable(f"the {service} service is unavailable; try again later")
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED,
                            f"the {service} service did not answer in time")
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return ServiceError(grpc.StatusCode.UNIMPLEMENTED,
                            f"the {service} service does not offer this yet")
    if code is grpc.StatusCode.UNAUTHENTICATED:
        # The gateway checked the token already, so this is a configuration fault between
        # the services (e.g. different token files), not the caller's.
        log.error("downstream refused the forwarded credentials", extra={"service": service})
        return ServiceError.unavailable(f"the {service} service refused the gateway")
    log.error("downstream call failed", extra={"service": service,
                                               "code": code.name if code else None})
    return ServiceError(grpc.StatusCode.INTERNAL, "internal error")


@dataclass
class Downstream:
    """Channels and stubs of both services; create inside the serving event loop."""

    records_address: str
    scoring_address: str
    deadline: float
    # A whole CSV export may take this long.
    export_deadline: float = 300.0

    def __post_init__(self) -> None:
        self._records_channel = grpc.aio.insecure_channel(self.records_address,
                                                          options=CLIENT_CHANNEL_OPTIONS)
        self._scoring_channel = grpc.aio.insecure_channel(self.scoring_address,
                                                          options=CLIENT_CHANNEL_OPTIONS)
        self.records = records_stub(self._records_channel)
        self.scoring = scoring_stub(self._scoring_channel)
        self._channels = {"records": self._records_channel, "scoring": self._scoring_channel}

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(grace=None)

    async def call(self, service: str, method: Callable[..., Awaitable[T]], request: Any,
                   metadata: Metadata, timeout: float | None = None) -> T:
        """One unary call with the deadline; failures as client-facing ServiceErrors."""
        try:
            return await method(request, metadata=metadata, timeout=timeout or self.deadline)
        except grpc.RpcError as err:
            raise translate(service, err) from None

    async def stream(self, service: str, method: Callable[..., Any], request: Any,
                     metadata: Metadata, timeout: float | None) -> AsyncIterator[Any]:
        """A server stream; ``timeout`` None = open-ended (watches), else a deadline."""
        call = method(request, metadata=metadata, timeout=timeout)
        try:
            async for item in call:
                yield item
        except grpc.RpcError as err:
            raise translate(service, err) from None
        finally:
            call.cancel()

    async def health(self, timeout: float = 1.0) -> dict[str, str]:
        """Each service's health status name, or UNAVAILABLE when it does not answer."""

        async def check(channel: grpc.aio.Channel) -> str:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=timeout)
            except grpc.RpcError:
                return "UNAVAILABLE"
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

        names = list(self._channels)
        states = await asyncio.gather(*(check(self._channels[n]) for n in names))
        return dict(zip(names, states, strict=True))
