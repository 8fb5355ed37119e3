"""`python -m services.gateway`: HTTP on GATEWAY_HTTP_ADDRESS (127.0.0.1:8080), the gRPC
façade on GATEWAY_GRPC_ADDRESS (127.0.0.1:50053), Prometheus metrics on
GATEWAY_METRICS_PORT (9103), until SIGTERM."""

from __future__ import annotations

import os
import tempfile

# With several HTTP workers every process writes its metrics to files that the main process
# exposes together; prometheus_client reads this variable when it is first imported.
if int(os.environ.get("GATEWAY_HTTP_WORKERS", "1") or "1") > 1:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="gateway-metrics-"))

import asyncio
import dataclasses
import signal
import subprocess
import sys

from prometheus_client import CollectorRegistry, multiprocess

from services.common.auth import Authenticator
from services.common.metrics import MetricsHttpServer, start_metrics_http_server
from services.common.server import serve
from services.gateway.config import GatewaySettings
from services.gateway.downstream import Downstream
from services.gateway.facade import GatewayServicer, register
from services.gateway.httpd import FD_VARIABLE, EmbeddedServer, config, listen


def main() -> None:
    settings = GatewaySettings.from_env()
    authenticator = Authenticator.from_settings(settings.server.auth_mode,
                                                settings.server.tokens_file)
    sock = listen(settings)
    multiproc = settings.http_workers > 1
    # In multi-worker mode the metrics endpoint is ours, reading every worker's files.
    server_settings = (dataclasses.replace(settings.server, metrics_port=0) if multiproc
                       else settings.server)
    down: Downstream | None = None
    http = EmbeddedServer(config(settings, authenticator))
    http_task: asyncio.Task[None] | None = None
    workers: list[subprocess.Popen[bytes]] = []
    metrics_http: MetricsHttpServer | None = None

    def downstream() -> Downstream:
        assert down is not None
        return down

    async def on_start() -> None:
        nonlocal down, http_task, metrics_http
        down = Downstream(settings.records_address, settings.scoring_address,
                          settings.deadline_seconds, settings.export_deadline_seconds)
        http_task = asyncio.create_task(http.serve(sockets=[sock]))
        while not http.started:
            if http_task.done():
                http_task.result()
                raise RuntimeError("the HTTP server stopped during start")
            await asyncio.sleep(0.02)
        env = {**os.environ, FD_VARIABLE: str(sock.fileno())}
        for _ in range(settings.http_workers - 1):
            workers.append(subprocess.Popen([sys.executable, "-m", "services.gateway.httpd"],
                                            env=env, pass_fds=[sock.fileno()]))
        if multiproc and settings.server.metrics_port:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            metrics_http = start_metrics_http_server(settings.server.metrics_port,
                                                     settings.server.metrics_host, registry)

    async def on_stop() -> None:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        http.should_exit = True
        if http_task is not None:
            await http_task
        for w in workers:
            await asyncio.to_thread(w.wait, 15)
        if down is not None:
            await down.close()
        if metrics_http is not None:
            await metrics_http.stop()

    asyncio.run(serve("gateway", server_settings, register(GatewayServicer(downstream)),
                      on_start=on_start, on_stop=on_stop))


if __name__ == "__main__":
    main()
