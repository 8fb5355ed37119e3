"""Typed environment configuration shared by every service.

Each service reads its own variables prefixed with its upper-cased name (``RECORDS_*``,
``SCORING_*``, ``GATEWAY_*``) plus a few platform-wide ``CREDIT_*`` variables.  The
``env_*`` helpers are public so that service-specific settings parse values the same way
and report errors the same way: a :class:`ConfigError` naming the variable and the reason.

An empty (or all-blank) variable counts as unset: deployment templates often render
``FOO=""`` for "not configured", and treating that as a parse error would be hostile.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar, overload

from services.common.codes import china_today

__all__ = [
    "DEFAULT_MAX_CONCURRENT_RPCS",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "AuthMode",
    "ConfigError",
    "ServerSettings",
    "clock",
    "data_dir",
    "database_url",
    "env_bool",
    "env_choice",
    "env_float",
    "env_int",
    "env_path",
    "env_prefix",
    "env_str",
    "fixed_today",
    "parse_address",
    "pii_key",
]

AuthMode = Literal["tokens", "dev"]
AUTH_MODES: tuple[AuthMode, ...] = ("tokens", "dev")

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CONCURRENT_RPCS = 256
# grpc core stores channel-arg integers as C ints.
_MAX_C_INT = 2**31 - 1

_T = TypeVar("_T")
log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """An environment variable is missing or invalid."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason


def _raw(name: str, env: Mapping[str, str] | None) -> str | None:
    value = (os.environ if env is None else env).get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


@overload
def env_str(
    name: str,
    default: str,
    *,
    required: bool = ...,
    pattern: str | None = ...,
    env: Mapping[str, str] | None = ...,
) -> str: ...
@overload
def env_str(
    name: str,
    default: None = ...,
    *,
    required: bool = ...,
    pattern: str | None = ...,
    env: Mapping[str, str] | None = ...,
) -> str | None: ...
def env_str(
    name: str,
    default: str | None = None,
    *,
    required: bool = False,
    pattern: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Read a string; ``pattern`` (full match) restricts accepted values."""
    value = _raw(name, env)
    if value is None:
        if required and default is None:
            raise ConfigError(name, "is required")
        return default
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise ConfigError(name, f"{value!r} does not match {pattern!r}")
    return value


def env_int(
    name: str,
    default: int,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        parsed = int(value, 10)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not an integer") from None
    _check_range(name, parsed, min_value, max_value)
    return parsed


def env_float(
    name: str,
    default: float,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    env: Mapping[str, str] | None = None,
) -> float:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a number") from None
    if not math.isfinite(parsed):
        raise ConfigError(name, f"{value!r} is not a finite number")
    _check_range(name, parsed, min_value, max_value)
    return parsed


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, default: bool, *, env: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, env)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(name, f"{value!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_choice(
    name: str, default: _T, choices: Iterable[_T], *, env: Mapping[str, str] | None = None
) -> _T:
    """Read one of a fixed set of string values (compared case-sensitively)."""
    allowed = tuple(choices)
    value = _raw(name, env)
    if value is None:
        return default
    for choice in allowed:
        if value == choice:
            return choice
    raise ConfigError(name, f"{value!r} is not one of {', '.join(map(str, allowed))}")


def env_path(
    name: str,
    default: Path | None = None,
    *,
    must_exist: bool = False,
    required: bool = False,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    value = _raw(name, env)
    path = Path(value).expanduser() if value is not None else default
    if path is None:
        if required:
            raise ConfigError(name, "is required")
        return None
    if must_exist and not path.is_file():
        raise ConfigError(name, f"{str(path)!r} is not an existing file")
    return path


def _check_range(name: str, value: float, min_value: float | None, max_value: float | None) -> None:
    if min_value is not None and value < min_value:
        raise ConfigError(name, f"{value} is below the minimum {min_value}")
    if max_value is not None and value > max_value:
        raise ConfigError(name, f"{value} is above the maximum {max_value}")


def env_prefix(service: str) -> str:
    """``"records"`` -> ``"RECORDS_"``; dashes become underscores (valid shell names)."""
    prefix = service.strip().upper().replace("-", "_")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", prefix):
        raise ValueError(f"service name {service!r} cannot prefix environment variables")
    return prefix + "_"


def parse_address(variable: str, address: str) -> tuple[str, int]:
    """Split ``host:port`` / ``[v6]:port``; port 0 means "let the OS choose"."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise ConfigError(variable, f"{address!r} is not host:port")
    if host.startswith("[") != host.endswith("]"):
        raise ConfigError(variable, f"{address!r} has an unbalanced IPv6 bracket")
    if ":" in host and not host.startswith("["):
        raise ConfigError(variable, f"{address!r}: IPv6 hosts must be written [addr]:port")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(variable, f"{address!r} has no valid port (0-65535)")
    return host, int(port_text)


def loopback(host: str) -> bool:
    """Whether `host` (as parse_address returns it) is this machine only."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_dev_mode_address(variable: str, host: str, auth_mode: str) -> None:
    """Dev mode serves callers without a token as admin: never beyond this machine."""
    if auth_mode == "dev" and not loopback(host):
        raise ConfigError("CREDIT_AUTH_MODE", f"dev mode answers calls without a token as "
                          f"admin: only on a loopback address, not {variable}={host}")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything :func:`services.common.server.start_server` needs; see ``from_env``."""

    service: str
    grpc_address: str = "127.0.0.1:0"
    # 0 disables the Prometheus endpoint.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_concurrent_rpcs: int = DEFAULT_MAX_CONCURRENT_RPCS
    shutdown_grace_seconds: float = 10.0
    keepalive_time_seconds: float = 30.0
    keepalive_timeout_seconds: float = 10.0
    keepalive_permit_without_calls: bool = True
    # Clients pinging more often than this get GOAWAY(too_many_pings).
    keepalive_min_ping_interval_seconds: float = 10.0
    # After this long a client connection is asked to move on (GOAWAY; calls in flight, long
    # streams included, finish on it): clients keep one connection per channel, so without
    # it replicas an autoscaler adds would never get the traffic of clients already
    # connected. 0 = never.
    max_connection_age_seconds: float = 300.0
    auth_mode: AuthMode = "tokens"
    tokens_file: Path | None = None
    # Failed token attempts a client address may make per window before it is refused
    # (RESOURCE_EXHAUSTED) until the window has passed; 0 = no limit.
    auth_failures_allowed: int = 10
    auth_failure_window_seconds: float = 60.0

    @classmethod
    def from_env(
        cls,
        service: str,
        default_port: int,
        default_metrics_port: int,
        *,
        env: Mapping[str, str] | None = None,
    ) -> ServerSettings:
        """Read ``<SERVICE>_*`` and ``CREDIT_*`` variables (``env`` defaults to os.environ).

        ``<P>_GRPC_ADDRESS`` (default ``127.0.0.1:<default_port>``), ``<P>_METRICS_PORT``
        (0 disables), ``<P>_METRICS_HOST``, ``<P>_MAX_MESSAGE_BYTES``,
        ``<P>_MAX_CONCURRENT_RPCS``, ``<P>_SHUTDOWN_GRACE_SECONDS``,
        ``<P>_KEEPALIVE_TIME_SECONDS``, ``<P>_KEEPALIVE_TIMEOUT_SECONDS``,
        ``<P>_KEEPALIVE_PERMIT_WITHOUT_CALLS``, ``<P>_KEEPALIVE_MIN_PING_INTERVAL_SECONDS``,
        ``<P>_MAX_CONNECTION_AGE_SECONDS`` (0 = never),
        ``CREDIT_AUTH_MODE`` (tokens|dev), ``CREDIT_TOKENS_FILE`` (required for tokens),
        ``CREDIT_AUTH_FAILURES_ALLOWED`` and ``CREDIT_AUTH_FAILURE_WINDOW_SECONDS`` (failed
        token attempts per client address and window, default 10 per 60 s).
        """
        p = env_prefix(service)
        address_var = p + "GRPC_ADDRESS"
        address = env_str(address_var, f"127.0.0.1:{default_port}", env=env)
        host, _ = parse_address(address_var, address)
        auth_mode: AuthMode = env_choice("CREDIT_AUTH_MODE", "tokens", AUTH_MODES, env=env)
        check_dev_mode_address(address_var, host, auth_mode)
        # Fail at start rather than rejecting every call later: tokens mode with no
        # registry would make the service unusable.
        tokens_file = env_path(
            "CREDIT_TOKENS_FILE", must_exist=True, required=auth_mode == "tokens", env=env
        )
        return cls(
            service=service,
            grpc_address=address,
            metrics_port=env_int(
                p + "METRICS_PORT", default_metrics_port, min_value=0, max_value=65535, env=env
            ),
            metrics_host=env_str(p + "METRICS_HOST", "127.0.0.1", env=env),
            max_message_bytes=env_int(
                p + "MAX_MESSAGE_BYTES",
                DEFAULT_MAX_MESSAGE_BYTES,
                min_value=1024,
                max_value=_MAX_C_INT,
                env=env,
            ),
            max_concurrent_rpcs=env_int(
                p + "MAX_CONCURRENT_RPCS",
                DEFAULT_MAX_CONCURRENT_RPCS,
                min_value=1,
                max_value=1_000_000,
                env=env,
            ),
            shutdown_grace_seconds=env_float(
                p + "SHUTDOWN_GRACE_SECONDS", 10.0, min_value=0, max_value=3600, env=env
            ),
            keepalive_time_seconds=env_float(
                p + "KEEPALIVE_TIME_SECONDS", 30.0, min_value=1, max_value=86400, env=env
            ),
            keepalive_timeout_seconds=env_float(
                p + "KEEPALIVE_TIMEOUT_SECONDS", 10.0, min_value=1, max_value=3600, env=env
            ),
            keepalive_permit_without_calls=env_bool(
                p + "KEEPALIVE_PERMIT_WITHOUT_CALLS", True, env=env
            ),
            keepalive_min_ping_interval_seconds=env_float(
                p + "KEEPALIVE_MIN_PING_INTERVAL_SECONDS",
                10.0,
                min_value=0,
                max_value=86400,
                env=env,
            ),
            max_connection_age_seconds=env_float(
                p + "MAX_CONNECTION_AGE_SECONDS", 300.0, min_value=0, max_value=86400 * 30,
                env=env,
            ),
            auth_mode=auth_mode,
            tokens_file=tokens_file,
            auth_failures_allowed=env_int("CREDIT_AUTH_FAILURES_ALLOWED", 10, min_value=0,
                                          max_value=1_000_000, env=env),
            auth_failure_window_seconds=env_float("CREDIT_AUTH_FAILURE_WINDOW_SECONDS", 60.0,
                                                  min_value=1, max_value=86400, env=env),
        )

    def grpc_options(self) -> list[tuple[str, int]]:
        """Channel arguments for ``grpc.aio.server``."""

        def ms(seconds: float) -> int:
            return min(_MAX_C_INT, round(seconds * 1000))

        return [
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.keepalive_time_ms", ms(self.keepalive_time_seconds)),
            ("grpc.keepalive_timeout_ms", ms(self.keepalive_timeout_seconds)),
            ("grpc.keepalive_permit_without_calls", int(self.keepalive_permit_without_calls)),
            (
                "grpc.http2.min_recv_ping_interval_without_data_ms",
                ms(self.keepalive_min_ping_interval_seconds),
            ),
            # 0 = no cap on pings between data frames; the interval above is the limit.
            ("grpc.http2.max_pings_without_data", 0),
            # grpc enables SO_REUSEPORT by default, which lets a second instance bind the
            # same port silently and steal half the connections; fail loudly instead.
            ("grpc.so_reuseport", 0),
            # No grace option: grpc's default lets calls in flight, streams too, run on.
            *([("grpc.max_connection_age_ms", ms(self.max_connection_age_seconds))]
              if self.max_connection_age_seconds > 0 else []),
        ]


# Every service's client channels (gateway → records and scoring, the change consumer →
# records): pings find a peer that vanished without closing (a node lost), and a restarted
# service is reconnected to quickly. The servers allow pings every 10 s.
CLIENT_CHANNEL_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


def pii_key(env: Mapping[str, str] | None, data_dir: Path, *, dev: bool) -> bytes:
    """The personal-ID hashing key shared by every service: CREDIT_PII_KEY_FILE holds it (hex);
    dev mode creates one under the data dir."""
    path = env_path("CREDIT_PII_KEY_FILE", None, must_exist=not dev, required=not dev, env=env)
    if path is None:
        path = data_dir / "pii.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32) + "\n")
            path.chmod(0o600)
            log.warning("dev mode: created a personal-ID hashing key", extra={"path": str(path)})
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ConfigError("CREDIT_PII_KEY_FILE", f"{path} does not hold a hex key: {exc}") from None
    if len(key) < 32:
        raise ConfigError("CREDIT_PII_KEY_FILE", "the key must be at least 32 bytes (64 hex)")
    # Zeros or a repeated pattern (a placeholder left in a Secret) pass the length check but
    # are no secret: any random key has far more distinct bytes (P(< 8 of 32) ≈ 1e-37).
    if len(set(key)) < PII_KEY_DISTINCT_BYTES:
        raise ConfigError("CREDIT_PII_KEY_FILE",
                          f"the key has fewer than {PII_KEY_DISTINCT_BYTES} distinct bytes: a "
                          "placeholder, not a random key (make one: openssl rand -hex 32)")
    return key


PII_KEY_DISTINCT_BYTES = 8


# --- Platform-wide CREDIT_* settings -------------------------------------------------------


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """CREDIT_DATA_DIR: where the embedded default keeps its SQLite files and dev keys."""
    path = env_path("CREDIT_DATA_DIR", Path("data"), env=env)
    assert path is not None
    return path


def database_url(variable: str, sqlite_file: str, env: Mapping[str, str] | None = None) -> str:
    """`variable`, else the embedded default: a SQLite file under the data directory."""
    return env_str(variable, f"sqlite:///{data_dir(env) / sqlite_file}", env=env)


def database_pool_size(service: str, env: Mapping[str, str] | None = None) -> int:
    """<SERVICE>_DATABASE_POOL_SIZE: connections an engine keeps (as many again may overflow);
    the sum over pods must stay under the database's max_connections (see README)."""
    return env_int(f"{service.upper()}_DATABASE_POOL_SIZE", 10, min_value=2, max_value=200,
                   env=env)


def fixed_today(env: Mapping[str, str] | None = None) -> date | None:
    """CREDIT_TODAY pins "today" for rehearsals and tests; production leaves it unset."""
    value = env_str("CREDIT_TODAY", None, pattern=r"\d{4}-\d{2}-\d{2}", env=env)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise ConfigError("CREDIT_TODAY", f"{value!r} is not a date") from None


def clock(fixed: date | None) -> Callable[[], date]:
    """The service's idea of today: the pinned date, else today in China."""
    return (lambda: fixed) if fixed is not None else china_today
