"""The one gRPC bootstrap every service starts through.

``serve()`` builds a ``grpc.aio`` server from :class:`ServerSettings`, lets the service
register its handlers, adds health checking and reflection, wraps every handler in the
platform interceptor chain, serves Prometheus metrics, and shuts down gracefully on
SIGTERM/SIGINT.  ``start_server()`` is the same without the signal handling (tests).

The platform chain wraps each handler's behaviour function as the handler is registered
(not as a grpc interceptor, which grpc.aio runs as a coroutine chain on every call), so the
order is explicit, it costs nothing per call beyond its own work, and contextvars set by
the auth layer are certainly visible inside the handler:

1. metrics: started/handled counters and latency, labelled with the real final code,
   read back from the context so context.abort / set_code / ServiceError all count;
2. auth: bearer token -> :class:`Principal` bound for the call (see ``auth``);
3. errors: :class:`ServiceError` -> its status plus rich details; a database that cannot
   be reached or is too busy (connection lost, server restarting, pool or lock timeout) ->
   UNAVAILABLE "database unavailable; retry" (retryable: the gateway answers 503); any
   other exception is logged with its traceback and the client gets only INTERNAL
   "internal error".

Handlers must be grpc.aio style (coroutines, async generators or reader/writer
coroutines).  Plain functions are called inline on the event loop, so they must not block.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, cast

import grpc
import grpc.aio
import psycopg
import sqlalchemy.exc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from services.common.auth import (
    Authenticator,
    FailedAuthLimiter,
    Principal,
    bind_principal,
    is_exempt,
    unbind_principal,
    use_principal,
)
from services.common.config import ServerSettings, parse_address
from services.common.errors import ServiceError, to_rpc_status
from services.common.logs import configure_logging
from services.common.metrics import (
    GrpcServerMetrics,
    MetricsHttpServer,
    grpc_type,
    server_metrics,
    split_method,
    start_metrics_http_server,
)

__all__ = ["DATABASE_UNAVAILABLE_MESSAGE", "INTERNAL_ERROR_MESSAGE", "Register", "RunningServer",
           "database_unavailable", "serve", "start_server"]

log = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "internal error"
DATABASE_UNAVAILABLE_MESSAGE = "database unavailable; retry"


# The cyclic collector's thresholds once a service runs. A batch being ingested keeps tens of
# thousands of acyclic containers alive (rows, results), and Python's default young
# generation (700 allocations) re-scans them again and again: about 10 µs of CPU per ingested
# record in process, against under 1 µs at 100,000. Reference counting frees what a request
# makes; only reference cycles wait longer for the collector.
GC_THRESHOLDS = (100_000, 20, 100)


def database_unavailable(exc: BaseException) -> bool:
    """A transient database failure: OperationalError (connection refused or lost, admin
    shutdown, statement or lock timeout, SQLite's busy database), an exhausted connection
    pool, or a connection SQLAlchemy found dead."""
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.TimeoutError
                  | psycopg.OperationalError):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated

Register = Callable[[grpc.aio.Server], Iterable[str]]
Hook = Callable[[], Awaitable[None]]

_CODES_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


class _AbortWithStatus(Protocol):
    # Missing from grpc-stubs' aio ServicerContext, present at runtime.
    async def abort_with_status(self, status: grpc.Status) -> NoReturn: ...


async def _abort(context: grpc.aio.ServicerContext[Any, Any], err: ServiceError) -> NoReturn:
    """End the call with ``err``; raises grpc.aio.AbortError like context.abort."""
    await cast(_AbortWithStatus, context).abort_with_status(to_rpc_status(err))


def _code_of(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode | None:
    """The status the call ended with, if the handler (or abort) set one."""
    code: object = context.code()  # implemented for aio contexts since grpcio 1.38
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        return _CODES_BY_VALUE.get(code)
    return None


@dataclass(frozen=True, slots=True)
class _Rpc:
    method: str
    labels: tuple[str, str, str]  # grpc_type, grpc_service, grpc_method
    exempt: bool
    # The method's metric children, bound once: a labels() look-up per call costs as much as
    # the rest of the metrics layer.
    started: Any
    handling: Any
    handled: dict[grpc.StatusCode, Any]


class _Chain:
    """The three layers around each call: a plain coroutine for unary responses (`call`),
    one async context manager for streams (`scope`); once three nested context managers,
    whose generator machinery was a tenth of a cheap unary call's server CPU."""

    def __init__(self, metrics: GrpcServerMetrics, authenticator: Authenticator,
                 limiter: FailedAuthLimiter | None = None) -> None:
        self.metrics = metrics
        self.authenticator = authenticator
        self.limiter = limiter

    def rpc(self, method: str, labels: tuple[str, str, str]) -> _Rpc:
        m = self.metrics
        return _Rpc(method, labels, is_exempt(method), m.started.labels(*labels),
                    m.handling_seconds.labels(*labels), {})

    async def call(self, rpc: _Rpc, context: grpc.aio.ServicerContext[Any, Any],
                   handle: Callable[[], Any]) -> Any:
        """A unary-response call through the three layers."""
        rpc.started.inc()
        start = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        try:
            principal = None if rpc.exempt else await self._authenticate(rpc, context)
            bound = None if principal is None else bind_principal(principal)
            try:
                result = handle()
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                await self._error(rpc, context, exc)
            finally:
                if bound is not None:
                    unbind_principal(bound)
            code = _code_of(context) or grpc.StatusCode.OK
            return result
        except BaseException as exc:
            code = self._failure_code(context, exc)
            raise
        finally:
            self._finish(rpc, code, start)

    @asynccontextmanager
    async def scope(
        self, rpc: _Rpc, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        """`call` for streaming responses: the body runs where this yields."""
        rpc.started.inc()
        start = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        try:
            principal = None if rpc.exempt else await self._authenticate(rpc, context)
            try:
                if principal is None:
                    yield
                else:
                    with use_principal(principal):
                        yield
            except Exception as exc:
                await self._error(rpc, context, exc)
            code = _code_of(context) or grpc.StatusCode.OK
        except BaseException as exc:
            code = self._failure_code(context, exc)
            raise
        finally:
            self._finish(rpc, code, start)

    @staticmethod
    async def _error(rpc: _Rpc, context: grpc.aio.ServicerContext[Any, Any],
                     exc: Exception) -> NoReturn:
        """3. errors: the status a handler's exception ends its call with."""
        if isinstance(exc, ServiceError):
            await _abort(context, exc)
        if isinstance(exc, grpc.aio.AbortError):
            raise exc  # context.abort() already sent the status
        if database_unavailable(exc):
            log.warning("database unavailable", exc_info=exc, extra={"grpc_method": rpc.method})
            await context.abort(grpc.StatusCode.UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE)
        log.error("unhandled exception in handler", exc_info=exc,
                  extra={"grpc_method": rpc.method})
        # Only the code and this fixed text reach the client: exception messages can hold
        # SQL, paths or personal data.
        await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_ERROR_MESSAGE)

    @staticmethod
    def _failure_code(context: grpc.aio.ServicerContext[Any, Any],
                      exc: BaseException) -> grpc.StatusCode:
        if isinstance(exc, asyncio.CancelledError):
            # grpc cancels the handler task both on client cancel and on deadline.
            remaining = context.time_remaining()
            expired = remaining is not None and remaining <= 0
            return grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
        found = _code_of(context)
        return found if found not in (None, grpc.StatusCode.OK) else grpc.StatusCode.UNKNOWN

    def _finish(self, rpc: _Rpc, code: grpc.StatusCode, start: float) -> None:
        """1. metrics: the call's final code and its latency."""
        handled = rpc.handled.get(code)
        if handled is None:
            handled = rpc.handled[code] = self.metrics.handled.labels(*rpc.labels, code.name)
        handled.inc()
        rpc.handling.observe(time.perf_counter() - start)

    async def _authenticate(
        self, rpc: _Rpc, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Principal:
        client = _peer_host(context.peer())
        wait = self.limiter.retry_after(client) if self.limiter is not None else None
        if wait is not None:
            await _abort(context, ServiceError.resource_exhausted(
                f"too many failed token attempts; retry in {wait} s"))
        try:
            return self.authenticator.authenticate(context.invocation_metadata())
        except ServiceError as err:
            if self.limiter is not None:
                self.limiter.failed(client)
            # The reason stays server-side; the client only learns missing/invalid.
            log.info(
                "rejected unauthenticated call",
                extra={"grpc_method": rpc.method, "peer": context.peer(), "reason": err.message},
            )
            await _abort(context, err)

    async def _counted(self, requests: AsyncIterator[Any], rpc: _Rpc) -> AsyncIterator[Any]:
        counter = self.metrics.msg_received.labels(*rpc.labels)
        async for request in requests:
            counter.inc()
            yield request

    def wrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        req_stream, resp_stream = handler.request_streaming, handler.response_streaming
        service, name = split_method(method)
        rpc = self.rpc(method, (grpc_type(req_stream, resp_stream), service, name))
        received = self.metrics.msg_received.labels(*rpc.labels)
        sent = self.metrics.msg_sent.labels(*rpc.labels)
        chain = self

        def take_request(request: Any) -> Any:
            if req_stream:
                return chain._counted(request, rpc)
            received.inc()
            return request

        if not resp_stream:
            inner: Callable[..., Any] = cast(
                Callable[..., Any], handler.stream_unary if req_stream else handler.unary_unary
            )

            async def unary_response(
                request: Any, context: grpc.aio.ServicerContext[Any, Any]
            ) -> Any:
                result = await chain.call(rpc, context,
                                          lambda: inner(take_request(request), context))
                sent.inc()
                return result

            factory = (
                grpc.stream_unary_rpc_method_handler
                if req_stream
                else grpc.unary_unary_rpc_method_handler
            )
            return factory(
                unary_response, handler.request_deserializer, handler.response_serializer
            )

        inner = cast(
            Callable[..., Any], handler.stream_stream if req_stream else handler.unary_stream
        )

        # Always an async generator: grpc then iterates it, and a reader/writer style
        # handler (a coroutine returning None) simply yields nothing through us.
        async def stream_response(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with chain.scope(rpc, context):
                result = inner(take_request(request), context)
                if inspect.isawaitable(result):
                    result = await result
                if hasattr(result, "__aiter__"):
                    try:
                        async for item in result:
                            sent.inc()
                            yield item
                    finally:
                        aclose = getattr(result, "aclose", None)
                        if aclose is not None:
                            await aclose()
                elif result is not None:
                    for item in result:
                        sent.inc()
                        yield item

        factory = (
            grpc.stream_stream_rpc_method_handler
            if req_stream
            else grpc.unary_stream_rpc_method_handler
        )
        return factory(stream_response, handler.request_deserializer, handler.response_serializer)


def _peer_host(peer: str) -> str:
    """"ipv4:10.0.0.7:51234" → "10.0.0.7", "ipv6:[::1]:5" → "[::1]": per client, not port."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rpartition(":")[0] or rest
    return peer


class _Wrapped(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """A generic handler whose handlers go through the chain (each wrapped once)."""

    def __init__(self, inner: grpc.GenericRpcHandler[Any, Any], chain: _Chain) -> None:
        self._inner, self._chain = inner, chain
        # method -> (original handler, wrapped): generic handlers usually return the
        # same handler object per method, so wrap once rather than per call.
        self._cache: dict[
            str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]
        ] = {}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED
            return None
        method = handler_call_details.method
        if isinstance(method, bytes):
            method = method.decode()
        hit = self._cache.get(method)
        if hit is not None and hit[0] is handler:
            return hit[1]
        wrapped = self._chain.wrap(method, handler)
        self._cache[method] = (handler, wrapped)
        return wrapped


class _Registrar(grpc.aio.Server):
    """The server as services register on it: every handler is wrapped in the chain as it is
    added. Not a grpc interceptor: grpc.aio runs those as a coroutine chain on every call,
    about a tenth of a cheap unary call's server CPU, for a wrapping that never changes."""

    def __init__(self, server: grpc.aio.Server, chain: _Chain) -> None:
        self._server, self._chain = server, chain

    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self._server.add_generic_rpc_handlers([_Wrapped(h, self._chain)
                                               for h in generic_rpc_handlers])

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        # (grpc's type stubs lack the method; grpc.aio.Server has it since grpcio 1.62)
        cast(Any, self._server).add_registered_method_handlers(service_name, {
            name: self._chain.wrap(f"/{service_name}/{name}", handler)
            for name, handler in method_handlers.items()})

    # Registration is all services do with it; the rest is the server's.
    def add_insecure_port(self, address: str) -> int:
        return self._server.add_insecure_port(address)

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return self._server.add_secure_port(address, server_credentials)

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float | None = None) -> None:
        await self._server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        return await self._server.wait_for_termination(timeout)


@dataclass(eq=False)
class RunningServer:
    """A started server.  ``stop()`` is idempotent and safe to call concurrently."""

    name: str
    server: grpc.aio.Server
    health: Any  # grpc_health.v1.health.aio.HealthServicer (untyped upstream)
    port: int
    address: str
    service_names: tuple[str, ...]
    grace: float
    metrics_http: MetricsHttpServer | None = None
    _stop_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def metrics_port(self) -> int | None:
        return self.metrics_http.port if self.metrics_http is not None else None

    async def stop(self, grace: float | None = None) -> None:
        if self._stop_task is None:
            self._stop_task = asyncio.create_task(
                self._stop(self.grace if grace is None else grace)
            )
        # Shielded so a cancelled caller cannot leave the server half stopped.
        await asyncio.shield(self._stop_task)

    async def _stop(self, grace: float) -> None:
        log.info("graceful shutdown started", extra={"grace_seconds": grace})
        # NOT_SERVING first so health watchers and load balancers stop routing to us
        # while in-flight calls drain.
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self.metrics_http is not None:
            await self.metrics_http.stop()
        log.info("grpc server stopped")

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        return await self.server.wait_for_termination(timeout)


async def start_server(
    name: str,
    settings: ServerSettings,
    register: Register,
    *,
    on_start: Hook | None = None,
    metrics_registry: CollectorRegistry | None = None,
    authenticator: Authenticator | None = None,
) -> RunningServer:
    """Build, bind and start the server; health turns SERVING once ``on_start`` is done.

    ``register`` adds the service's handlers and returns their full service names
    (e.g. ``["credit.records.v1.Records"]``) for health and reflection.
    """
    if authenticator is None:
        authenticator = Authenticator.from_settings(settings.auth_mode, settings.tokens_file)
    host, _ = parse_address("grpc_address", settings.grpc_address)
    limiter = (FailedAuthLimiter(settings.auth_failures_allowed,
                                 settings.auth_failure_window_seconds)
               if settings.auth_failures_allowed > 0 else None)
    chain = _Chain(server_metrics(metrics_registry), authenticator, limiter)
    server = grpc.aio.server(
        options=settings.grpc_options(),
        # Beyond this grpc answers RESOURCE_EXHAUSTED at once instead of queueing
        # without bound.  Health checks count too: an overloaded pod reads as unhealthy.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    registrar = _Registrar(server, chain)
    service_names = tuple(register(registrar))

    # grpc_health's stubs lack the aio submodule.
    health_servicer = cast(Any, health).aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, registrar)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), registrar
    )
    # Readiness must not report SERVING before on_start has finished.
    for service in ("", *service_names):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)

    try:
        port = server.add_insecure_port(settings.grpc_address)
    except RuntimeError as exc:
        raise OSError(f"cannot bind gRPC address {settings.grpc_address}: {exc}") from None
    await server.start()
    metrics_http: MetricsHttpServer | None = None
    try:
        if settings.metrics_port:
            metrics_http = start_metrics_http_server(
                settings.metrics_port, settings.metrics_host, chain.metrics.registry
            )
        if on_start is not None:
            await on_start()
    except BaseException:
        await server.stop(None)
        if metrics_http is not None:
            await metrics_http.stop()
        raise
    for service in ("", *service_names):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)

    address = f"{host}:{port}"
    log.info(
        "grpc server listening",
        extra={
            "address": address,
            "port": port,
            "services": list(service_names),
            "metrics_port": metrics_http.port if metrics_http else None,
            "auth_mode": authenticator.mode,
            "max_concurrent_rpcs": settings.max_concurrent_rpcs,
        },
    )
    return RunningServer(
        name=name,
        server=server,
        health=health_servicer,
        port=port,
        address=address,
        service_names=service_names,
        grace=settings.shutdown_grace_seconds,
        metrics_http=metrics_http,
    )


async def serve(
    name: str,
    settings: ServerSettings,
    register: Register,
    *,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
) -> None:
    """Run until SIGTERM/SIGINT, then drain: NOT_SERVING, stop(grace), ``on_stop``."""
    configure_logging(name)
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()

    def request_stop(sig: signal.Signals) -> None:
        if stop_requested.is_set():
            log.warning("shutdown already in progress", extra={"signal": sig.name})
            return
        log.info("shutdown requested", extra={"signal": sig.name})
        stop_requested.set()

    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, request_stop, sig)
    try:
        running = await start_server(name, settings, register, on_start=on_start)
        # Modules, protos and rule tables loaded at start live for the whole process: keep
        # them out of the cyclic collector's generations so its pauses stay short, and
        # collect the young generation less often (see GC_THRESHOLDS).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            await stop_requested.wait()
        finally:
            await running.stop()
            if on_stop is not None:
                await on_stop()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
