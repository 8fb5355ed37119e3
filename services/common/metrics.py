"""Prometheus gRPC server metrics under the conventional go-grpc-prometheus names.

Keeping the names and labels identical to go-grpc-prometheus / py-grpc-prometheus lets
stock Grafana dashboards and alert rules work unchanged:

* ``grpc_server_started_total{grpc_type,grpc_service,grpc_method}``
* ``grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}``
* ``grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}`` (histogram)
* ``grpc_server_msg_received_total`` / ``grpc_server_msg_sent_total`` (same labels as
  started; stream messages are counted when they pass through the request iterator or
  a response generator, not through ``context.read()``/``context.write()``)

``grpc_type`` is one of unary, client_stream, server_stream, bidi_stream; ``grpc_code``
is the StatusCode name (OK, INVALID_ARGUMENT, ...).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server

__all__ = [
    "GrpcServerMetrics",
    "MetricsHttpServer",
    "grpc_type",
    "server_metrics",
    "split_method",
    "start_metrics_http_server",
]

log = logging.getLogger(__name__)

_LABELS = ("grpc_type", "grpc_service", "grpc_method")


def grpc_type(request_streaming: bool, response_streaming: bool) -> str:
    if request_streaming:
        return "bidi_stream" if response_streaming else "client_stream"
    return "server_stream" if response_streaming else "unary"


def split_method(full_method: str) -> tuple[str, str]:
    """``"/pkg.Service/Method"`` -> ``("pkg.Service", "Method")``."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return (service or "unknown"), (method or "unknown")


class GrpcServerMetrics:
    """The collectors, registered once on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.started = Counter(
            "grpc_server_started_total",
            "Total number of RPCs started on the server.",
            _LABELS,
            registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            (*_LABELS, "grpc_code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level "
            "handled by the server.",
            _LABELS,
            registry=registry,
        )
        self.msg_received = Counter(
            "grpc_server_msg_received_total",
            "Total number of RPC stream messages received on the server.",
            _LABELS,
            registry=registry,
        )
        self.msg_sent = Counter(
            "grpc_server_msg_sent_total",
            "Total number of gRPC stream messages sent by the server.",
            _LABELS,
            registry=registry,
        )


_by_registry: dict[int, tuple[CollectorRegistry, GrpcServerMetrics]] = {}
_lock = threading.Lock()


def server_metrics(registry: CollectorRegistry | None = None) -> GrpcServerMetrics:
    """The metrics bound to ``registry`` (default: prometheus_client.REGISTRY).

    Cached per registry because registering the same names twice raises, and tests and
    restarts create several servers in one process.
    """
    reg = REGISTRY if registry is None else registry
    with _lock:
        hit = _by_registry.get(id(reg))
        # Holding the registry in the value keeps its id from being reused.
        if hit is None or hit[0] is not reg:
            hit = (reg, GrpcServerMetrics(reg))
            _by_registry[id(reg)] = hit
        return hit[1]


@dataclass
class MetricsHttpServer:
    """prometheus_client's threaded HTTP exporter, stoppable (tests start many)."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_port)

    async def stop(self) -> None:
        # shutdown() blocks until serve_forever notices (up to its 0.5 s poll).
        await asyncio.to_thread(self.httpd.shutdown)
        self.httpd.server_close()


def start_metrics_http_server(
    port: int, host: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> MetricsHttpServer:
    """Serve ``registry`` as Prometheus text (GET /metrics) on ``host:port``."""
    httpd, thread = start_http_server(port, addr=host, registry=registry or REGISTRY)
    server = MetricsHttpServer(httpd, thread)
    log.info("metrics endpoint listening", extra={"address": f"{host}:{server.port}"})
    return server
