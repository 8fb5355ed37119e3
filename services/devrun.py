"""`make run`: the whole platform on one machine, embedded SQLite, demo data, dev tokens.

Loads the 1,000-entity Jilin demo data set into data/ on first start, then runs every
service as its own process and prints where to reach them. Ctrl-C stops them gracefully.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# name, module, gRPC port, metrics port
SERVICES = [("records", "services.records", 50051, 9101),
            ("scoring", "services.scoring", 50052, 9102),
            ("gateway", "services.gateway", 50053, 9103)]
HTTP_PORT = 8080


def main() -> int:
    env = {
        **os.environ,
        "CREDIT_AUTH_MODE": os.environ.get("CREDIT_AUTH_MODE", "dev"),
        "CREDIT_TOKENS_FILE": os.environ.get("CREDIT_TOKENS_FILE",
                                             str(ROOT / "config" / "dev-tokens.json")),
        "CREDIT_DATA_DIR": str(DATA),
        "RECORDS_DATABASE_URL": os.environ.get("RECORDS_DATABASE_URL",
                                               f"sqlite:///{DATA / 'records.db'}"),
        "GATEWAY_HTTP_ADDRESS": f"127.0.0.1:{HTTP_PORT}",
        "GATEWAY_RECORDS_ADDRESS": "127.0.0.1:50051",
        "GATEWAY_SCORING_ADDRESS": "127.0.0.1:50052",
        # The gateway's own principal for anonymous public pages.
        "GATEWAY_SERVICE_TOKEN": os.environ.get("GATEWAY_SERVICE_TOKEN", "dev-scoring"),
    }
    DATA.mkdir(exist_ok=True)
    print("loading demo data (first start only) ...", flush=True)
    subprocess.run([sys.executable, "-m", "services.records.demo", "--entities", "1000",
                    "--seed", "7", "--if-empty"], cwd=ROOT, env=env, check=True)
    if not (DATA / "scoring.db").exists():
        # Every entity gets a grade, also those no change event will ever mention.
        subprocess.run([sys.executable, "-m", "services.scoring.regrade"], cwd=ROOT, env=env,
                       check=True)
    procs: list[subprocess.Popen[bytes]] = []
    for name, module, port, metrics in SERVICES:
        prefix = name.upper()
        env[f"{prefix}_GRPC_ADDRESS"] = f"127.0.0.1:{port}"
        env[f"{prefix}_METRICS_PORT"] = str(metrics)
        log = (DATA / f"{name}.log").open("ab")
        procs.append(subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env,
                                      stdout=log, stderr=log))
    time.sleep(1.5)
    for (name, _, port, metrics), proc in zip(SERVICES, procs, strict=True):
        if proc.poll() is not None:
            print(f"{name} failed to start; see data/{name}.log", file=sys.stderr)
            _stop(procs)
            return 1
        print(f"{name:8} gRPC 127.0.0.1:{port}   metrics http://127.0.0.1:{metrics}/metrics"
              f"   log data/{name}.log")
    print("\nauth: dev mode (calls without a token act as admin; tokens in config/dev-tokens.json"
          " such as dev-medical, dev-regulator)\n"
          "try:  grpcurl -plaintext 127.0.0.1:50051 list\n"
          "      grpcurl -plaintext -H 'authorization: Bearer dev-regulator' "
          "-d '{\"page_size\": 3}' 127.0.0.1:50051 credit.v1.RecordsService/ListRecords\n"
          "      grpcurl -plaintext -H 'authorization: Bearer dev-regulator' -d "
          "'{\"entity\": {\"entity_key\": \"<key from ListRecords>\"}}' "
          "127.0.0.1:50052 credit.v1.ScoringService/Evaluate\n"
          f"\ndashboard:  http://127.0.0.1:{HTTP_PORT}/dashboard/   (token e.g. dev-planner)\n"
          f"HTTP API:   http://127.0.0.1:{HTTP_PORT}/api/v1/grades   "
          f"(OpenAPI: http://127.0.0.1:{HTTP_PORT}/api/v1/openapi.json)\n"
          "      curl -H 'authorization: Bearer dev-planner' "
          f"'http://127.0.0.1:{HTTP_PORT}/api/v1/grades?grade=D&page_size=5'\n"
          "Ctrl-C stops everything.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("a service exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    sys.exit(main())
