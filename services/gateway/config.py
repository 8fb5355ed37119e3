"""Settings of the gateway, from GATEWAY_* and CREDIT_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.common.config import (
    ConfigError,
    ServerSettings,
    check_dev_mode_address,
    env_float,
    env_int,
    env_path,
    env_str,
    parse_address,
)

GRPC_PORT = 50053
METRICS_PORT = 9103
HTTP_ADDRESS = "127.0.0.1:8080"


@dataclass(frozen=True)
class GatewaySettings:
    # The gRPC façade for regulators (and the shared auth mode / tokens file).
    server: ServerSettings
    http_host: str
    http_port: int
    # HTTP worker processes sharing the listening socket.
    http_workers: int
    records_address: str
    scoring_address: str
    # The gateway's own principal (role `service`) for calls made on nobody's behalf:
    # anonymous public pages and readiness checks.
    service_token: str | None
    # Deadline of every downstream call, and of a whole CSV export.
    deadline_seconds: float
    export_deadline_seconds: float
    # Failed-token attempts allowed per client address per window before 429.
    auth_failures_allowed: int
    auth_failure_window_seconds: float
    # Seconds a client is told to wait when a downstream service is down.
    retry_after_seconds: int
    # How long tiered-list pages and grade counts are reused (0 = never).
    list_cache_seconds: float
    # Largest request body accepted (a published plan document is the biggest).
    max_body_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        server = ServerSettings.from_env("gateway", GRPC_PORT, METRICS_PORT, env=env)
        http = env_str("GATEWAY_HTTP_ADDRESS", HTTP_ADDRESS, env=env)
        host, port = parse_address("GATEWAY_HTTP_ADDRESS", http)
        check_dev_mode_address("GATEWAY_HTTP_ADDRESS", host, server.auth_mode)
        records = env_str("GATEWAY_RECORDS_ADDRESS", "127.0.0.1:50051", env=env)
        scoring = env_str("GATEWAY_SCORING_ADDRESS", "127.0.0.1:50052", env=env)
        parse_address("GATEWAY_RECORDS_ADDRESS", records)
        parse_address("GATEWAY_SCORING_ADDRESS", scoring)
        return cls(
            server=server,
            http_host=host.strip("[]"),
            http_port=port,
            http_workers=env_int("GATEWAY_HTTP_WORKERS", 1, min_value=1, max_value=64, env=env),
            records_address=records,
            scoring_address=scoring,
            service_token=_service_token(env, required=server.auth_mode == "tokens"),
            deadline_seconds=env_float("GATEWAY_DEADLINE_SECONDS", 5.0, min_value=0.05,
                                       max_value=300, env=env),
            export_deadline_seconds=env_float("GATEWAY_EXPORT_DEADLINE_SECONDS", 300.0,
                                              min_value=1, max_value=3600, env=env),
            auth_failures_allowed=env_int("GATEWAY_AUTH_FAILURES_ALLOWED", 10, min_value=1,
                                          max_value=100_000, env=env),
            auth_failure_window_seconds=env_float("GATEWAY_AUTH_FAILURE_WINDOW_SECONDS", 60.0,
                                                  min_value=1, max_value=86400, env=env),
            retry_after_seconds=env_int("GATEWAY_RETRY_AFTER_SECONDS", 5, min_value=1,
                                        max_value=3600, env=env),
            list_cache_seconds=env_float("GATEWAY_LIST_CACHE_SECONDS", 2.0, min_value=0,
                                         max_value=300, env=env),
            # The largest body is a published plan document sent for verification (at most
            # 5,000,000 characters, ~5–7 MB as JSON text). A body is parsed before it is
            # validated, and parsing costs far more memory than its bytes (8 MiB of nested
            # empty arrays: ~200 MB), so this bound is what keeps a worker inside its limit.
            max_body_bytes=env_int("GATEWAY_MAX_BODY_BYTES", 8 * 1024 * 1024,
                                   min_value=1024, max_value=1024**3, env=env),
        )


def _service_token(env: Mapping[str, str] | None, *, required: bool) -> str | None:
    """GATEWAY_SERVICE_TOKEN_FILE (a mounted secret) wins over GATEWAY_SERVICE_TOKEN.
    Required with tokens: without it the anonymous public pages would call the services
    with no token, and their failed-token limit, counting the gateway's one address, would
    soon refuse every user of this gateway."""
    path: Path | None = env_path("GATEWAY_SERVICE_TOKEN_FILE", None, must_exist=True, env=env)
    if path is not None:
        token = path.read_text(encoding="utf-8").strip()
        if not token:
            raise ConfigError("GATEWAY_SERVICE_TOKEN_FILE", f"{path} is empty")
        return token
    plain = env_str("GATEWAY_SERVICE_TOKEN", None, env=env)
    if plain is None and required:
        raise ConfigError("GATEWAY_SERVICE_TOKEN_FILE",
                          "is required with CREDIT_AUTH_MODE=tokens (or GATEWAY_SERVICE_TOKEN)")
    return plain
