"""Starts platform services as real processes for end-to-end tests."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
DEV_TOKENS = ROOT / "config" / "dev-tokens.json"
# The personal-ID key the test processes share (fixed, so runs are comparable; not a secret).
TEST_PII_KEY_HEX = hashlib.sha256(b"credit platform tests").hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(address: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"service exited with {proc.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{address} not SERVING after {timeout}s")


@contextmanager
def service(name: str, tmp: Path, *, cwd: Path | str = ROOT, **env_vars: str) -> Iterator[
        tuple[str, int, subprocess.Popen[bytes]]]:
    """Runs `python -m services.<name>` in `cwd` (the checkout, first on its path);
    yields (grpc address, metrics port, process). `cwd` may be a str as well, so that callers
    can pass their environment as `**dict[str, str]`.

    Services started with the same `tmp` share its personal-ID key, as deployments share one.
    """
    key = tmp / "pii.key"
    if not key.exists():
        key.write_text(TEST_PII_KEY_HEX)
    port, metrics = free_port(), free_port()
    prefix = name.upper()
    env = {
        **os.environ,
        f"{prefix}_GRPC_ADDRESS": f"127.0.0.1:{port}",
        f"{prefix}_METRICS_PORT": str(metrics),
        "CREDIT_AUTH_MODE": "tokens",
        "CREDIT_TOKENS_FILE": str(DEV_TOKENS),
        "CREDIT_PII_KEY_FILE": str(key),
        "CREDIT_DATA_DIR": str(tmp),
        **env_vars,
    }
    log = (tmp / f"{name}-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=cwd, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        wait_serving(address, proc)
        yield address, metrics, proc
    finally:
        stop(proc)
        log.close()


def stop(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def records_service(tmp: Path, database_url: str, *, cwd: Path | str = ROOT,
                    **extra_env: str) -> Any:
    """The records service on `database_url` (see `service`)."""
    return service("records", tmp, cwd=cwd, RECORDS_DATABASE_URL=database_url, **extra_env)


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def sqlite_restore(source: Path, target: Path) -> None:
    """Copies SQLite database `source` over `target` with SQLite's online backup (consistent
    in WAL mode, safe while a service has `target` open): a backup, or a restore from one."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()  # the context managers commit; they do not close
    dst.close()
