"""`python -m services.gateway`: the gRPC façade on GATEWAY_GRPC_ADDRESS (127.0.0.1:50053)
and Prometheus metrics on GATEWAY_METRICS_PORT (9103) in this process; HTTP on
GATEWAY_HTTP_ADDRESS (127.0.0.1:8080) in GATEWAY_HTTP_WORKERS worker processes sharing the
socket this process binds. Runs until SIGTERM, then drains all of them."""

from __future__ import annotations

import os
import shutil
import tempfile

# Every process writes its metrics to files that this one exposes together;
# prometheus_client reads the variable when it is first imported.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = (os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                                          or tempfile.mkdtemp(prefix="gateway-metrics-"))

import asyncio
import dataclasses
import logging
import signal
import subprocess
import sys

from prometheus_client import CollectorRegistry, multiprocess

from services.common.logs import settings_or_exit
from services.common.metrics import MetricsHttpServer, start_metrics_http_server
from services.common.server import serve
from services.gateway.config import GatewaySettings
from services.gateway.downstream import Downstream
from services.gateway.facade import GatewayServicer, register
from services.gateway.httpd import FD_VARIABLE, listen

log = logging.getLogger("services.gateway")


def main() -> None:
    settings = settings_or_exit("gateway", GatewaySettings.from_env)
    sock = listen(settings)
    # The HTTP workers are separate processes: an HTTP server sharing this event loop with
    # the gRPC server answered about 40x slower (measured), and workers use both cores.
    server_settings = dataclasses.replace(settings.server, metrics_port=0)
    down: Downstream | None = None
    workers: list[subprocess.Popen[bytes]] = []
    metrics_http: MetricsHttpServer | None = None
    watch: asyncio.Task[None] | None = None

    def downstream() -> Downstream:
        assert down is not None
        return down

    async def watch_workers() -> None:
        # A worker that dies takes the gateway down, so that the orchestrator restarts it
        # whole instead of it serving with fewer workers than configured.
        while True:
            await asyncio.sleep(1)
            for w in workers:
                if w.poll() is not None:
                    log.error("an HTTP worker exited; stopping the gateway",
                              extra={"pid": w.pid, "returncode": w.returncode})
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

    async def on_start() -> None:
        nonlocal down, metrics_http, watch
        down = Downstream(settings.records_address, settings.scoring_address,
                          settings.deadline_seconds, settings.export_deadline_seconds)
        env = {**os.environ, FD_VARIABLE: str(sock.fileno())}
        for _ in range(settings.http_workers):
            workers.append(subprocess.Popen([sys.executable, "-m", "services.gateway.httpd"],
                                            env=env, pass_fds=[sock.fileno()]))
        if settings.server.metrics_port:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            metrics_http = start_metrics_http_server(settings.server.metrics_port,
                                                     settings.server.metrics_host, registry)
        watch = asyncio.create_task(watch_workers())

    async def on_stop() -> None:
        if watch is not None:
            watch.cancel()
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                await asyncio.to_thread(w.wait, 15)
            except subprocess.TimeoutExpired:
                w.kill()
        if down is not None:
            await down.close()
        if metrics_http is not None:
            await metrics_http.stop()
        own = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        if os.path.basename(own).startswith("gateway-metrics-"):
            shutil.rmtree(own, ignore_errors=True)

    asyncio.run(serve("gateway", server_settings, register(GatewayServicer(downstream)),
                      on_start=on_start, on_stop=on_stop))


if __name__ == "__main__":
    main()
