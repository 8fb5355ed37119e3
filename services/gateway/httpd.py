"""An HTTP worker process: uvicorn (uvloop, httptools) serving the app on the listening
socket the gateway's main process bound and passed down (GATEWAY_HTTP_WORKERS of them)."""

from __future__ import annotations

import os
import socket
import sys

import uvicorn

from services.common.auth import Authenticator
from services.common.logs import configure_logging
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.metrics import HttpMetrics

FD_VARIABLE = "GATEWAY_HTTP_FD"


def listen(settings: GatewaySettings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.http_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.http_host, settings.http_port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def config(settings: GatewaySettings, authenticator: Authenticator,
           loop: str = "asyncio") -> uvicorn.Config:
    app = create_app(settings, authenticator, HttpMetrics())
    # log_config=None keeps our JSON logging; the access log would duplicate the metrics.
    # Keep-alive outlives the idle timeout of proxies and clients (60 s is common), so a
    # client never reuses a connection the gateway has just closed.
    return uvicorn.Config(app, loop=loop, http="httptools", lifespan="on", log_config=None,
                          access_log=False, timeout_graceful_shutdown=10,
                          timeout_keep_alive=75, proxy_headers=True, server_header=False)


def worker_main() -> None:
    """`python -m services.gateway.httpd` with the socket's fd in GATEWAY_HTTP_FD."""
    configure_logging("gateway")
    settings = GatewaySettings.from_env()
    authenticator = Authenticator.from_settings(settings.server.auth_mode,
                                                settings.server.tokens_file)
    sock = socket.socket(fileno=int(os.environ[FD_VARIABLE]))
    uvicorn.Server(config(settings, authenticator, loop="uvloop")).run(sockets=[sock])


if __name__ == "__main__":
    worker_main()
    sys.exit(0)
