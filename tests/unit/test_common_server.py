"""The shared gRPC bootstrap, exercised over real sockets on 127.0.0.1.

A tiny generic service with raw-bytes (de)serialisers stands in for the platform
protos, so these tests depend on nothing but services.common.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
import textwrap
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import psycopg
import pytest
import sqlalchemy.exc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from services.common import auth, errors
from services.common.auth import Principal, TokenRegistry, current_principal, hash_token
from services.common.config import (
    ConfigError,
    ServerSettings,
    env_bool,
    env_int,
    env_str,
    pii_key,
)
from services.common.errors import ServiceError
from services.common.logs import configure_logging
from services.common.server import (
    DATABASE_UNAVAILABLE_MESSAGE,
    RunningServer,
    database_unavailable,
    start_server,
)

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
SERVICE = "test.Echo"
TOKEN = "s3cret-token-for-tests"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
RPC_TIMEOUT = 10.0
WAIT = 10.0

Context = grpc.aio.ServicerContext[Any, Any]


class Probe:
    """Lets a test wait until N handler calls are in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.changed = asyncio.Event()

    async def wait_for(self, n: int) -> None:
        async def loop() -> None:
            while self.in_flight < n:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), WAIT)


def build_handler(probe: Probe) -> grpc.GenericRpcHandler[Any, Any]:
    async def echo(request: bytes, context: Context) -> bytes:
        return request

    async def peer(request: bytes, context: Context) -> bytes:
        return str(context.peer()).encode()  # the client's address and port: its connection

    async def whoami(request: bytes, context: Context) -> bytes:
        p = current_principal()
        return f"{p.name}|{p.department}|{','.join(sorted(p.roles))}".encode()

    async def invalid(request: bytes, context: Context) -> bytes:
        raise errors.invalid_argument(("amount", "must be positive"), ("date", "in the future"))

    async def boom(request: bytes, context: Context) -> bytes:
        raise RuntimeError("secret-detail /etc/credit/db-password")

    async def db_down(request: bytes, context: Context) -> bytes:
        # What a lost or refused database connection looks like through SQLAlchemy, raw
        # psycopg, and an exhausted pool.
        cause = psycopg.OperationalError("connection to server at 10.0.0.5 failed: secret-pw")
        if request == b"psycopg":
            raise cause
        if request == b"pool":
            raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached")
        raise sqlalchemy.exc.OperationalError("SELECT secret FROM t", {}, cause)

    async def abort(request: bytes, context: Context) -> bytes:
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such record")
        raise AssertionError("unreachable")

    async def set_code(request: bytes, context: Context) -> bytes:
        context.set_code(grpc.StatusCode.ALREADY_EXISTS)
        context.set_details("exists")
        return b""

    async def slow(request: bytes, context: Context) -> bytes:
        probe.in_flight += 1
        probe.changed.set()
        try:
            await asyncio.sleep(float(request.decode()))
        finally:
            probe.in_flight -= 1
        return b"done"

    async def split(request: bytes, context: Context) -> AsyncIterator[bytes]:
        for b in request:
            yield bytes([b])
        if request == b"bad":
            raise ServiceError.failed_precondition("stream went bad")

    async def write_style(request: bytes, context: Context) -> None:
        for _ in range(3):
            await context.write(request)

    async def concat(requests: AsyncIterator[bytes], context: Context) -> bytes:
        return b"".join([r async for r in requests])

    async def upper(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
        async for r in requests:
            yield r.upper()

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Echo": grpc.unary_unary_rpc_method_handler(echo),
            "Peer": grpc.unary_unary_rpc_method_handler(peer),
            "Whoami": grpc.unary_unary_rpc_method_handler(whoami),
            "Invalid": grpc.unary_unary_rpc_method_handler(invalid),
            "Boom": grpc.unary_unary_rpc_method_handler(boom),
            "DbDown": grpc.unary_unary_rpc_method_handler(db_down),
            "Abort": grpc.unary_unary_rpc_method_handler(abort),
            "SetCode": grpc.unary_unary_rpc_method_handler(set_code),
            "Slow": grpc.unary_unary_rpc_method_handler(slow),
            "Split": grpc.unary_stream_rpc_method_handler(split),
            "WriteStyle": grpc.unary_stream_rpc_method_handler(write_style),
            "Concat": grpc.stream_unary_rpc_method_handler(concat),
            "Upper": grpc.stream_stream_rpc_method_handler(upper),
        },
    )


def _raw(data: bytes) -> bytes:
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.json"
    path.write_text(
        json.dumps(
            {
                "tokens": [
                    {
                        "sha256": hash_token(TOKEN),
                        "name": "insurer-a",
                        "department": "medical_insurance",
                        "roles": ["department"],
                    }
                ]
            }
        )
    )
    return path


Start = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start(tokens_file: Path) -> AsyncIterator[Start]:
    started: list[RunningServer] = []

    async def _start(
        probe: Probe | None = None, registry: CollectorRegistry | None = None, **overrides: Any
    ) -> RunningServer:
        values: dict[str, Any] = {
            "service": "test",
            "grpc_address": "127.0.0.1:0",
            "auth_mode": "tokens",
            "tokens_file": tokens_file,
            "shutdown_grace_seconds": 5.0,
        }
        values.update(overrides)
        handler = build_handler(probe or Probe())

        def register(server: grpc.aio.Server) -> list[str]:
            server.add_generic_rpc_handlers((handler,))
            return [SERVICE]

        running = await start_server(
            "test",
            ServerSettings(**values),
            register,
            metrics_registry=registry or CollectorRegistry(),
        )
        started.append(running)
        return running

    yield _start
    for running in started:
        await asyncio.wait_for(running.stop(0), WAIT)


def channel(running: RunningServer) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")


async def unary(
    ch: grpc.aio.Channel, method: str, request: bytes = b"", metadata: Any = AUTH
) -> bytes:
    result: bytes = await ch.unary_unary(f"/{SERVICE}/{method}", _raw, _raw)(
        request, metadata=metadata, timeout=RPC_TIMEOUT
    )
    return result


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


def sample(registry: CollectorRegistry, name: str, method: str, **labels: str) -> float:
    value = registry.get_sample_value(
        name, {"grpc_service": SERVICE, "grpc_method": method, **labels}
    )
    return 0.0 if value is None else value


# --- calls, errors, auth -------------------------------------------------------------


async def test_old_connections_are_moved_on_and_calls_in_flight_finish(start: Start) -> None:
    # An autoscaled replica gets traffic only when clients open new connections.
    running = await start(max_connection_age_seconds=0.5)
    async with channel(running) as ch:
        first = await unary(ch, "Peer")
        slow = asyncio.ensure_future(unary(ch, "Slow", b"1.5"))  # spans the age
        await asyncio.sleep(1.2)
        assert await unary(ch, "Peer") != first  # a new connection, transparently
        assert await slow == b"done"
    kept = await start(max_connection_age_seconds=0)
    async with channel(kept) as ch:
        first = await unary(ch, "Peer")
        await asyncio.sleep(0.8)
        assert await unary(ch, "Peer") == first


async def test_unary_ok_and_principal_visible(start: Start) -> None:
    running = await start()
    assert running.port > 0 and running.address == f"127.0.0.1:{running.port}"
    async with channel(running) as ch:
        assert await unary(ch, "Echo", b"hello") == b"hello"
        assert await unary(ch, "Whoami") == b"insurer-a|medical_insurance|department"


async def test_service_error_carries_bad_request_violations(start: Start) -> None:
    running = await start()
    async with channel(running) as ch:
        err = await rpc_error(unary(ch, "Invalid"))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "amount: must be positive" in (err.details() or "")
        expected = [("amount", "must be positive"), ("date", "in the future")]
        assert errors.bad_request_violations(err) == expected

        call = ch.unary_unary(f"/{SERVICE}/Invalid", _raw, _raw)(
            b"", metadata=AUTH, timeout=RPC_TIMEOUT
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await call
        assert await errors.bad_request_violations_async(call) == expected

        # A status without details yields no violations rather than failing.
        err = await rpc_error(unary(ch, "Abort"))
        assert err.code() == grpc.StatusCode.NOT_FOUND
        assert errors.bad_request_violations(err) == []


async def test_unexpected_exception_is_internal_without_leak(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start()
    with caplog.at_level(logging.ERROR, logger="services.common.server"):
        async with channel(running) as ch:
            err = await rpc_error(unary(ch, "Boom"))
    assert err.code() == grpc.StatusCode.INTERNAL
    assert err.details() == "internal error"
    leaked = f"{err.details()} {err.trailing_metadata()} {err.debug_error_string()}"
    for secret in ("secret-detail", "Traceback", "RuntimeError"):
        assert secret not in leaked
    # ...but the operator gets the full traceback.
    records = [r for r in caplog.records if r.exc_info]
    assert records and "secret-detail" in str(records[0].exc_info[1])  # type: ignore[index]


async def test_an_unreachable_database_is_unavailable_without_leak(start: Start) -> None:
    running = await start()
    async with channel(running) as ch:
        for kind in (b"sqlalchemy", b"psycopg", b"pool"):
            err = await rpc_error(unary(ch, "DbDown", kind))
            assert err.code() == grpc.StatusCode.UNAVAILABLE, kind
            assert err.details() == DATABASE_UNAVAILABLE_MESSAGE
            leaked = f"{err.details()} {err.trailing_metadata()} {err.debug_error_string()}"
            for secret in ("secret", "10.0.0.5", "SELECT", "QueuePool"):
                assert secret not in leaked, (kind, secret)
    # Other database errors are no outage: a constraint violation stays INTERNAL.
    assert not database_unavailable(sqlalchemy.exc.IntegrityError("INSERT", {}, Exception()))
    assert database_unavailable(sqlalchemy.exc.DBAPIError(
        "SELECT 1", {}, Exception("closed"), connection_invalidated=True))


async def test_unauthenticated_without_or_with_bad_token(start: Start) -> None:
    running = await start()
    async with channel(running) as ch:
        err = await rpc_error(unary(ch, "Whoami", metadata=()))
        assert (err.code(), err.details()) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "missing bearer token",
        )
        for header in ("Bearer wrong-token", f"Basic {TOKEN}", "Bearer ", TOKEN):
            err = await rpc_error(unary(ch, "Whoami", metadata=(("authorization", header),)))
            assert (err.code(), err.details()) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "invalid bearer token",
            ), header


async def test_dev_mode_admin_without_token_but_tokens_still_checked(
    start: Start, tokens_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.common.auth"):
        running = await start(auth_mode="dev", tokens_file=tokens_file)
    assert any("CREDIT_AUTH_MODE=dev" in r.getMessage() for r in caplog.records)
    async with channel(running) as ch:
        assert await unary(ch, "Whoami", metadata=()) == b"dev|None|admin"
        assert await unary(ch, "Whoami") == b"insurer-a|medical_insurance|department"
        err = await rpc_error(unary(ch, "Whoami", metadata=(("authorization", "Bearer nope"),)))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED


# --- streams and metrics ----------------------------------------------------------------


async def test_streaming_kinds_and_message_metrics(start: Start) -> None:
    registry = CollectorRegistry()
    running = await start(registry=registry)
    async with channel(running) as ch:
        split = ch.unary_stream(f"/{SERVICE}/Split", _raw, _raw)
        assert [m async for m in split(b"abc", metadata=AUTH, timeout=RPC_TIMEOUT)] == [
            b"a",
            b"b",
            b"c",
        ]
        write_style = ch.unary_stream(f"/{SERVICE}/WriteStyle", _raw, _raw)
        got = [m async for m in write_style(b"x", metadata=AUTH, timeout=RPC_TIMEOUT)]
        assert got == [b"x"] * 3

        async def requests() -> AsyncIterator[bytes]:
            for part in (b"ab", b"cd"):
                yield part

        concat = ch.stream_unary(f"/{SERVICE}/Concat", _raw, _raw)
        assert await concat(requests(), metadata=AUTH, timeout=RPC_TIMEOUT) == b"abcd"
        upper = ch.stream_stream(f"/{SERVICE}/Upper", _raw, _raw)
        got = [m async for m in upper(requests(), metadata=AUTH, timeout=RPC_TIMEOUT)]
        assert got == [b"AB", b"CD"]

        # A ServiceError mid-stream still ends the call with its code.
        received: list[bytes] = []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for m in split(b"bad", metadata=AUTH, timeout=RPC_TIMEOUT):
                received.append(m)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert received == [b"b", b"a", b"d"]

        # Streams need auth as well.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            [m async for m in split(b"abc", timeout=RPC_TIMEOUT)]
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED

    handled = "grpc_server_handled_total"
    assert sample(registry, handled, "Split", grpc_type="server_stream", grpc_code="OK") == 1
    assert sample(registry, handled, "WriteStyle", grpc_type="server_stream", grpc_code="OK") == 1
    assert sample(registry, handled, "Concat", grpc_type="client_stream", grpc_code="OK") == 1
    assert sample(registry, handled, "Upper", grpc_type="bidi_stream", grpc_code="OK") == 1
    assert (
        sample(
            registry, handled, "Split", grpc_type="server_stream", grpc_code="FAILED_PRECONDITION"
        )
        == 1
    )
    assert (
        sample(registry, handled, "Split", grpc_type="server_stream", grpc_code="UNAUTHENTICATED")
        == 1
    )
    assert sample(registry, "grpc_server_msg_sent_total", "Split", grpc_type="server_stream") == 6
    assert sample(registry, "grpc_server_msg_received_total", "Upper", grpc_type="bidi_stream") == 2
    assert sample(registry, "grpc_server_msg_sent_total", "Upper", grpc_type="bidi_stream") == 2
    assert (
        sample(registry, "grpc_server_msg_received_total", "Concat", grpc_type="client_stream") == 2
    )


async def test_metrics_endpoint_reports_final_codes(start: Start) -> None:
    registry = CollectorRegistry()
    port = free_port()
    running = await start(registry=registry, metrics_port=port)
    assert running.metrics_port == port
    async with channel(running) as ch:
        await unary(ch, "Echo", b"x")
        await unary(ch, "Echo", b"y")
        for method in ("Invalid", "Abort", "SetCode", "Boom"):
            await rpc_error(unary(ch, method))
        await rpc_error(unary(ch, "Echo", metadata=()))

    def fetch() -> str:
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            body: bytes = response.read()
            return body.decode()

    text = await asyncio.to_thread(fetch)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, method: str, **labels: str) -> float | None:
        key = {"grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": method, **labels}
        return samples.get((name, tuple(sorted(key.items()))))

    assert value("grpc_server_started_total", "Echo") == 3
    assert value("grpc_server_handled_total", "Echo", grpc_code="OK") == 2
    assert value("grpc_server_handled_total", "Echo", grpc_code="UNAUTHENTICATED") == 1
    assert value("grpc_server_handled_total", "Invalid", grpc_code="INVALID_ARGUMENT") == 1
    assert value("grpc_server_handled_total", "Abort", grpc_code="NOT_FOUND") == 1
    assert value("grpc_server_handled_total", "SetCode", grpc_code="ALREADY_EXISTS") == 1
    assert value("grpc_server_handled_total", "Boom", grpc_code="INTERNAL") == 1
    assert value("grpc_server_handling_seconds_count", "Echo") == 3
    assert "grpc_server_msg_received_total" in text


async def test_repeated_starts_share_default_registry(start: Start) -> None:
    # Two servers on the default registry must not raise "Duplicated timeseries".
    first = await start(registry=None)
    second = await start(registry=None)
    assert first.port != second.port


# --- health, reflection, limits ---------------------------------------------------------


async def test_health_and_reflection_need_no_token(start: Start) -> None:
    running = await start()
    async with channel(running) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for service in ("", SERVICE):
            response = await health.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT
            )
            assert response.status == health_pb2.HealthCheckResponse.SERVING

        stub = reflection_pb2_grpc.ServerReflectionStub(ch)

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        names: set[str] = set()
        async for response in stub.ServerReflectionInfo(ask(), timeout=RPC_TIMEOUT):
            names |= {s.name for s in response.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names
    assert any(n.startswith("grpc.reflection.") for n in names)


async def test_graceful_shutdown_not_serving_and_drains(start: Start) -> None:
    probe = Probe()
    running = await start(probe=probe, shutdown_grace_seconds=5.0)
    async with channel(running) as ch:
        watch = health_pb2_grpc.HealthStub(ch).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT
        )
        first = await asyncio.wait_for(watch.read(), WAIT)
        assert first.status == health_pb2.HealthCheckResponse.SERVING

        slow = asyncio.ensure_future(unary(ch, "Slow", b"1.0"))
        await probe.wait_for(1)
        stopping = asyncio.ensure_future(running.stop())

        update = await asyncio.wait_for(watch.read(), WAIT)
        assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()  # an open Watch would otherwise hold the server for the whole grace

        assert await asyncio.wait_for(slow, WAIT) == b"done"
        await asyncio.wait_for(stopping, WAIT)
        err = await rpc_error(unary(ch, "Echo"))
        assert err.code() == grpc.StatusCode.UNAVAILABLE


async def test_max_concurrent_rpcs_answers_resource_exhausted(start: Start) -> None:
    probe = Probe()
    running = await start(probe=probe, max_concurrent_rpcs=2)
    async with channel(running) as ch:
        busy = [asyncio.ensure_future(unary(ch, "Slow", b"1.5")) for _ in range(2)]
        await probe.wait_for(2)
        err = await rpc_error(unary(ch, "Echo", b"one too many"))
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert await asyncio.wait_for(asyncio.gather(*busy), WAIT) == [b"done", b"done"]
        # Capacity is back once the slow calls finished.
        assert await unary(ch, "Echo", b"ok") == b"ok"


async def test_max_message_bytes_enforced(start: Start) -> None:
    running = await start(max_message_bytes=1024)
    async with channel(running) as ch:
        err = await rpc_error(unary(ch, "Echo", b"x" * 4096))
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert await unary(ch, "Echo", b"x" * 512) == b"x" * 512


async def test_bind_conflict_is_an_error(start: Start) -> None:
    first = await start()
    with pytest.raises(OSError):
        await start(grpc_address=f"127.0.0.1:{first.port}")


async def test_on_start_failure_stops_server(tokens_file: Path) -> None:
    async def broken() -> None:
        raise RuntimeError("database down")

    settings = ServerSettings(service="test", auth_mode="tokens", tokens_file=tokens_file)
    with pytest.raises(RuntimeError, match="database down"):
        await start_server(
            "test", settings, lambda s: [], on_start=broken, metrics_registry=CollectorRegistry()
        )


# --- serve() in a real process ----------------------------------------------------------

SERVE_SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys
    import grpc
    from services.common.config import ServerSettings
    from services.common.server import serve

    log = logging.getLogger("fixture")

    async def slow(request, context):
        log.info("slow call started")
        await asyncio.sleep(float(request.decode()))
        return b"done"

    def register(server):
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "test.Echo", {"Slow": grpc.unary_unary_rpc_method_handler(slow)}),))
        return ["test.Echo"]

    async def on_stop():
        log.info("on_stop ran")

    settings = ServerSettings.from_env("fixture", 0, 0)
    asyncio.run(serve("fixture", settings, register, on_stop=on_stop))
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_subprocess_drains_on_signal(sig: signal.Signals) -> None:
    env = {
        **os.environ,
        "FIXTURE_GRPC_ADDRESS": "127.0.0.1:0",
        "FIXTURE_SHUTDOWN_GRACE_SECONDS": "10",
        "CREDIT_AUTH_MODE": "dev",
        "LOG_LEVEL": "INFO",
    }
    env.pop("CREDIT_TOKENS_FILE", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVE_SCRIPT,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[dict[str, Any]] = []

    async def until(msg: str) -> dict[str, Any]:
        assert proc.stderr is not None
        while True:
            raw = await proc.stderr.readline()
            if not raw:
                raise AssertionError(f"process ended before {msg!r}: {lines}")
            line: dict[str, Any] = json.loads(raw)  # every line must be one JSON object
            lines.append(line)
            if line["msg"] == msg:
                return line

    try:
        listening = await asyncio.wait_for(until("grpc server listening"), WAIT)
        assert listening["service"] == "fixture" and listening["level"] == "INFO"
        port = listening["port"]
        assert listening["address"] == f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            slow = asyncio.ensure_future(
                ch.unary_unary("/test.Echo/Slow", _raw, _raw)(b"1.0", timeout=RPC_TIMEOUT)
            )
            await asyncio.wait_for(until("slow call started"), WAIT)
            proc.send_signal(sig)
            assert await asyncio.wait_for(slow, WAIT) == b"done"
        await asyncio.wait_for(until("on_stop ran"), WAIT)
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    messages = [line["msg"] for line in lines]
    assert messages.index("shutdown requested") < messages.index("grpc server stopped")
    assert any(line.get("signal") == sig.name for line in lines)


# --- config, auth, logs, errors (no server) -------------------------------------------


def test_settings_from_env_defaults_and_overrides(tokens_file: Path) -> None:
    s = ServerSettings.from_env(
        "records", 50051, 9101, env={"CREDIT_TOKENS_FILE": str(tokens_file)}
    )
    assert (s.grpc_address, s.metrics_port, s.auth_mode) == ("127.0.0.1:50051", 9101, "tokens")
    assert (s.max_message_bytes, s.max_concurrent_rpcs) == (16 * 1024 * 1024, 256)
    assert (s.shutdown_grace_seconds, s.keepalive_time_seconds) == (10.0, 30.0)
    assert s.keepalive_timeout_seconds == 10.0 and s.keepalive_permit_without_calls
    assert s.tokens_file == tokens_file
    options = dict(s.grpc_options())
    assert options["grpc.max_receive_message_length"] == 16 * 1024 * 1024
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.so_reuseport"] == 0

    s = ServerSettings.from_env(
        "records",
        50051,
        9101,
        env={
            "RECORDS_GRPC_ADDRESS": "[::1]:6000",  # dev mode: loopback only
            "RECORDS_METRICS_PORT": "0",
            "RECORDS_MAX_CONCURRENT_RPCS": "8",
            "RECORDS_KEEPALIVE_PERMIT_WITHOUT_CALLS": "off",
            "RECORDS_SHUTDOWN_GRACE_SECONDS": "2.5",
            "CREDIT_AUTH_MODE": "dev",
            "RECORDS_MAX_MESSAGE_BYTES": "",  # blank = unset
        },
    )
    assert (s.grpc_address, s.metrics_port, s.max_concurrent_rpcs) == ("[::1]:6000", 0, 8)
    assert not s.keepalive_permit_without_calls and s.shutdown_grace_seconds == 2.5
    assert s.auth_mode == "dev" and s.tokens_file is None
    assert s.max_message_bytes == 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RECORDS_GRPC_ADDRESS": "nohost"}, "RECORDS_GRPC_ADDRESS"),
        ({"RECORDS_GRPC_ADDRESS": "127.0.0.1:99999"}, "RECORDS_GRPC_ADDRESS"),
        ({"RECORDS_METRICS_PORT": "abc"}, "RECORDS_METRICS_PORT"),
        ({"RECORDS_MAX_CONCURRENT_RPCS": "0"}, "RECORDS_MAX_CONCURRENT_RPCS"),
        ({"RECORDS_SHUTDOWN_GRACE_SECONDS": "nan"}, "RECORDS_SHUTDOWN_GRACE_SECONDS"),
        (
            {"RECORDS_KEEPALIVE_PERMIT_WITHOUT_CALLS": "maybe"},
            "RECORDS_KEEPALIVE_PERMIT_WITHOUT_CALLS",
        ),
        ({"CREDIT_AUTH_MODE": "none"}, "CREDIT_AUTH_MODE"),
        ({"CREDIT_AUTH_MODE": "tokens"}, "CREDIT_TOKENS_FILE"),
        ({"CREDIT_TOKENS_FILE": "/nonexistent/tokens.json"}, "CREDIT_TOKENS_FILE"),
    ],
)
def test_settings_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    full = {"CREDIT_AUTH_MODE": "dev", **env}
    with pytest.raises(ConfigError) as info:
        ServerSettings.from_env("records", 50051, 9101, env=full)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")


def test_env_helpers() -> None:
    env = {"A": " 42 ", "B": "yes", "C": "x-1"}
    assert env_int("A", 0, env=env) == 42 and env_int("Z", 7, env=env) == 7
    assert env_bool("B", False, env=env) is True
    assert env_str("C", None, pattern=r"x-\d", env=env) == "x-1"
    with pytest.raises(ConfigError, match=r"^A: "):
        env_int("A", 0, max_value=10, env=env)
    with pytest.raises(ConfigError, match=r"^Z: is required"):
        env_str("Z", None, required=True, env=env)


@pytest.mark.parametrize(("content", "reason"), [
    ("00" * 32, "distinct bytes"),            # all zeros: a placeholder
    ("ab" * 64, "distinct bytes"),            # one byte repeated, however long
    ("01234567" * 16, "distinct bytes"),      # a short pattern repeated
    ("ab" * 31, "at least 32 bytes"),
    ("not hex", "hex key"),
])
def test_a_weak_or_malformed_pii_key_is_refused(tmp_path: Path, content: str,
                                                 reason: str) -> None:
    (tmp_path / "key").write_text(content)
    with pytest.raises(ConfigError, match=reason) as info:
        pii_key({"CREDIT_PII_KEY_FILE": str(tmp_path / "key")}, tmp_path, dev=False)
    assert info.value.variable == "CREDIT_PII_KEY_FILE"
    assert content not in str(info.value)  # the key never appears in the message


def test_a_random_pii_key_is_accepted_and_dev_mode_makes_one(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(secrets.token_hex(32) + "\n")
    assert len(pii_key({"CREDIT_PII_KEY_FILE": str(tmp_path / "key")}, tmp_path,
                       dev=False)) == 32
    made = pii_key({}, tmp_path / "dev", dev=True)
    assert len(set(made)) >= 8 and (tmp_path / "dev" / "pii.key").stat().st_mode & 0o077 == 0


def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "sha256": hash_token(TOKEN),
        "name": "insurer-a",
        "department": "medical_insurance",
        "roles": ["department"],
    }
    entry.update(overrides)
    return entry


def test_token_registry_lookup_and_strict_validation(tmp_path: Path) -> None:
    registry = TokenRegistry.from_json({"tokens": [_entry(), _entry(sha256="ab" * 32)]})
    assert registry.lookup(TOKEN) == Principal(
        "insurer-a", "medical_insurance", frozenset({"department"})
    )
    assert registry.lookup("other") is None

    bad: list[Any] = [
        [],
        {"tokens": [], "extra": 1},
        {"tokens": {}},
        {"tokens": [_entry(sha256="xyz")]},
        {"tokens": [_entry(), _entry()]},  # duplicate hash
        {"tokens": [_entry(name="")]},
        {"tokens": [_entry(department="Medical Insurance")]},
        {"tokens": [_entry(department="admin")]},  # reserved: an admin's shield covers all
        {"tokens": [_entry(roles="admin")]},
        {"tokens": [_entry(roles=["admin", "admin"])]},
        {"tokens": [_entry(token=TOKEN)]},  # plaintext never accepted
        {"tokens": [{k: v for k, v in _entry().items() if k != "roles"}]},
        {"tokens": [_entry(roles=["superuser"])]},  # a typo is no grant
        {"tokens": [_entry(roles=[])]},
        {"tokens": [_entry(department=None)]},  # the department role names its department
        {"tokens": [_entry(roles=["regulator"])]},  # a department without the role
    ]
    for raw in bad:
        with pytest.raises(auth.TokenFileError):
            TokenRegistry.from_json(raw)
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        TokenRegistry.from_file(path)


def test_current_principal_outside_a_call_is_an_error() -> None:
    with pytest.raises(auth.NoPrincipalError):
        current_principal()
    p = Principal("x", None, frozenset())
    with auth.use_principal(p):
        assert current_principal() is p
    assert auth.optional_principal() is None


def test_auth_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert auth.main(["hash-token", "abc"]) == 0
    assert capsys.readouterr().out.strip() == hash_token("abc")
    assert auth.main(["new-token"]) == 0
    out = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert len(out["token"]) >= 40 and out["sha256"] == hash_token(out["token"])


def test_auth_cli_as_module() -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "services.common.auth", "hash-token", "-"],
        input="abc\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == hash_token("abc")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_json_logging(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("records", "INFO")
    configure_logging("records", "DEBUG")  # idempotent: still one handler
    log = logging.getLogger("records.test")
    log.debug("hello %s", "world", extra={"record_id": 7, "when": Path("/x")})
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed", extra={"msg_extra": 1, "level_x": 2})
    lines = [json.loads(x) for x in capsys.readouterr().err.strip().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["msg"] == "hello world" and first["level"] == "DEBUG"
    assert first["service"] == "records" and first["logger"] == "records.test"
    assert first["record_id"] == 7 and first["when"] == "/x"
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert "Traceback" in second["exc"] and "ValueError: bad" in second["exc"]
    with pytest.raises(ValueError):
        configure_logging("records", "LOUD")


def test_service_error_constructors() -> None:
    err = ServiceError.invalid_argument(errors.FieldViolation("a", "b"), ("c", "d"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.description) for v in err.violations] == [("a", "b"), ("c", "d")]
    status = errors.to_rpc_status(err)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT and status.details == err.message
    assert status.trailing_metadata[0][0] == "grpc-status-details-bin"
    for make, code in [
        (errors.not_found, grpc.StatusCode.NOT_FOUND),
        (errors.already_exists, grpc.StatusCode.ALREADY_EXISTS),
        (errors.failed_precondition, grpc.StatusCode.FAILED_PRECONDITION),
        (errors.permission_denied, grpc.StatusCode.PERMISSION_DENIED),
        (errors.unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
        (errors.resource_exhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.unavailable, grpc.StatusCode.UNAVAILABLE),
    ]:
        e = make("m")
        assert (e.code, e.message, e.violations) == (code, "m", ())
    with pytest.raises(ValueError):
        ServiceError(grpc.StatusCode.OK, "no")


def test_dev_mode_only_on_a_loopback_address() -> None:
    dev = {"CREDIT_AUTH_MODE": "dev"}
    for address in ("127.0.0.1:1", "[::1]:1", "localhost:1"):
        assert ServerSettings.from_env("records", 1, 0, env={
            **dev, "RECORDS_GRPC_ADDRESS": address}).auth_mode == "dev"
    for address in ("0.0.0.0:1", "[::]:1", "10.0.0.5:1", "records:1"):
        with pytest.raises(ConfigError) as exc:
            ServerSettings.from_env("records", 1, 0, env={**dev, "RECORDS_GRPC_ADDRESS": address})
        assert exc.value.variable == "CREDIT_AUTH_MODE" and "loopback" in str(exc.value)


def test_database_pool_sizes_are_set_per_service(tmp_path: Path) -> None:
    from services.records.config import RecordsSettings
    from services.scoring.config import ScoringSettings

    env = {"CREDIT_AUTH_MODE": "dev", "CREDIT_DATA_DIR": str(tmp_path)}
    assert RecordsSettings.from_env(env).database_pool_size == 10
    assert ScoringSettings.from_env({**env, "SCORING_DATABASE_POOL_SIZE": "4"}
                                    ).database_pool_size == 4
    with pytest.raises(ConfigError, match=r"^RECORDS_DATABASE_POOL_SIZE: "):
        RecordsSettings.from_env({**env, "RECORDS_DATABASE_POOL_SIZE": "1"})
