"""The gateway's page cache and failed-token limiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import grpc.aio
import pytest

from services.common.auth import FailedAuthLimiter
from services.common.config import ConfigError
from services.gateway import cache
from services.gateway.cache import PageCache
from services.gateway.config import GatewaySettings
from services.gateway.downstream import translate
from services.gateway.routes.grades import _cell as export_cell


async def test_concurrent_misses_share_one_load_and_hits_reuse_it() -> None:
    calls = 0

    async def load() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return b"page"

    pages = PageCache(ttl=60)
    assert await asyncio.gather(*(pages.get("k", load) for _ in range(20))) == [b"page"] * 20
    assert await pages.get("k", load) == b"page"
    assert calls == 1


async def test_an_expired_page_is_served_while_it_refreshes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    version = 0

    async def load() -> bytes:
        nonlocal version
        version += 1
        await asyncio.sleep(0.05)
        return f"v{version}".encode()

    pages = PageCache(ttl=0.05)
    assert await pages.get("k", load) == b"v1"
    await asyncio.sleep(0.06)
    assert await pages.get("k", load) == b"v1"  # stale, refresh started
    await asyncio.sleep(0.08)
    assert await pages.get("k", load) == b"v2"
    monkeypatch.setattr(cache, "STALE_SECONDS", 0.0)
    await asyncio.sleep(0.06)
    assert await pages.get("k", load) == b"v3"  # past the stale window: waits


async def test_failures_are_not_cached_and_zero_ttl_never_caches() -> None:
    attempts = 0

    async def flaky() -> bytes:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("down")
        return b"ok"

    pages = PageCache(ttl=60)
    with pytest.raises(RuntimeError):
        await pages.get("k", flaky)
    assert await pages.get("k", flaky) == b"ok"
    off = PageCache(ttl=0)
    await off.get("k", flaky)
    await off.get("k", flaky)
    assert attempts == 4


def test_failed_token_attempts_are_limited_per_client_within_the_window() -> None:
    now = [0.0]
    limiter = FailedAuthLimiter(allowed=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
    assert limiter.retry_after("a") == 60
    assert limiter.retry_after("b") is None
    now[0] = 30
    assert limiter.retry_after("a") == 30
    now[0] = 60.5
    assert limiter.retry_after("a") is None


def test_grpc_message_size_refusal_is_a_client_error_not_a_retry() -> None:
    def refused(details: str) -> grpc.aio.AioRpcError:
        return grpc.aio.AioRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(),
                                    grpc.aio.Metadata(), details, None)

    too_big = translate("scoring", refused(
        "SERVER: Received message larger than max (20971525 vs. 16777216)"))
    assert too_big.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "16777216" not in too_big.message and "scoring" in too_big.message
    # Load shedding stays RESOURCE_EXHAUSTED (429 with Retry-After).
    busy = translate("scoring", refused("too many concurrent calls"))
    assert busy.code == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+86", "'+86"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("德惠市某公司", "德惠市某公司"), (["A", "B"], "A;B"),
])
def test_csv_cells_never_start_a_formula(value: object, cell: str) -> None:
    assert export_cell(value) == cell


def test_with_tokens_the_gateway_needs_its_own_service_token() -> None:
    tokens = str(Path(__file__).resolve().parents[2] / "config" / "dev-tokens.json")
    env = {"CREDIT_AUTH_MODE": "tokens", "CREDIT_TOKENS_FILE": tokens}
    with pytest.raises(ConfigError) as missing:
        GatewaySettings.from_env(env)
    assert missing.value.variable == "GATEWAY_SERVICE_TOKEN_FILE"
    assert GatewaySettings.from_env({**env, "GATEWAY_SERVICE_TOKEN": "dev-scoring"}
                                    ).service_token == "dev-scoring"
    assert GatewaySettings.from_env({"CREDIT_AUTH_MODE": "dev"}).service_token is None
