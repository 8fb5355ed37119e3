"""The whole platform as real processes for the gateway's tests: records, scoring (which
follows the records change feed) and the gateway, on SQLite files in a temporary folder,
seeded with records through the real records API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx

from credit.v1 import records_pb2, records_pb2_grpc
from services.common.stubs import records_stub
from tests.factories import fire, hr, medical, resident_id, subject, uscc
from tests.procs import ROOT, bearer, free_port, records_service, service

TODAY = "2025-11-20"
TOKENS = {"medical": "dev-medical", "fire": "dev-fire", "credit": "dev-credit", "hr": "dev-hr",
          "regulator": "dev-regulator", "planner": "dev-planner", "public": "dev-public",
          "applicant": "dev-applicant", "service": "dev-scoring", "admin": "dev-admin"}


@dataclass
class Platform:
    http: str
    grpc: str
    metrics: int
    records: str
    scoring: str
    tmp: Path
    seeded: dict[str, str]

    def client(self, role: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {TOKENS[role]}"} if role else {}
        return httpx.Client(base_url=self.http, headers=headers, timeout=30, **kw)


def gateway(tmp: Path, records: str, scoring: str, *, cwd: Path | str = ROOT, **env: str) -> Any:
    """The gateway process; yields (grpc address, metrics port, process, http base URL)."""

    @contextmanager
    def run() -> Iterator[tuple[str, int, Any, str]]:
        port = free_port()
        with service("gateway", tmp, cwd=cwd, GATEWAY_HTTP_ADDRESS=f"127.0.0.1:{port}",
                     GATEWAY_RECORDS_ADDRESS=records, GATEWAY_SCORING_ADDRESS=scoring,
                     GATEWAY_SERVICE_TOKEN="dev-scoring", CREDIT_TODAY=TODAY,
                     **env) as (address, metrics, proc):
            yield address, metrics, proc, f"http://127.0.0.1:{port}"

    return run()


def seed(records: records_pb2_grpc.RecordsServiceStub) -> dict[str, str]:
    """A small, varied population; returns names → entity references."""
    def submit(token: str, record: records_pb2.RecordSubmission) -> records_pb2.SubmitResult:
        result: records_pb2.SubmitResult = records.SubmitRecord(
            records_pb2.SubmitRecordRequest(record=record), metadata=bearer(token), timeout=20)
        assert not result.HasField("error"), result
        return result

    out: dict[str, str] = {}
    for n in range(1, 7):  # clean: no penalty, so graded but without records in force
        submit("dev-hr", hr(f"clean-{n}", uscc(n), tier="minor", no_penalty=True))
    for n in range(7, 9):
        r = hr(f"clean-{n}", uscc(n, "220102"), tier="minor", no_penalty=True)
        r.subject.CopyFrom(subject(uscc(n, "220102"), region="220102", industry="C"))
        submit("dev-hr", r)
    out["medical"] = uscc(20)
    submit("dev-medical", medical("med-1", uscc(20)))
    out["fire"] = uscc(21)
    submit("dev-fire", fire("fire-1", uscc(21)))
    out["serious"] = uscc(22)
    submit("dev-hr", hr("hr-serious", uscc(22), tier="serious"))
    out["graded_record"] = submit("dev-hr", hr("hr-grave", uscc(23), tier="grave",
                                              decided="2024-01-02")).record_id
    out["grave"] = uscc(23)
    person = submit("dev-hr", hr("hr-person", resident_id(1), kind="person", tier="grave"))
    out["person_key"] = person.entity_key
    out["person_record"] = person.record_id
    return out


def wait_graded(http: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen = -1
    with httpx.Client(base_url=http, headers={"authorization": "Bearer dev-admin"}) as c:
        while time.monotonic() < deadline:
            reply = c.get("/api/v1/grades/counts")
            if reply.status_code == 200:
                seen = reply.json()["total"]
                if seen >= count:
                    return
            time.sleep(0.3)
    raise TimeoutError(f"only {seen} of {count} entities graded after {timeout}s")


@contextmanager
def platform(tmp: Path, *, cwd: Path | str = ROOT, **gateway_env: str) -> Iterator[Platform]:
    """Records, scoring and the gateway on SQLite files in `tmp`, started in `cwd`."""
    url = f"sqlite:///{tmp}/records.db"
    with ExitStack() as stack:
        r_addr, _, _ = stack.enter_context(records_service(tmp, url, cwd=cwd,
                                                           CREDIT_TODAY=TODAY))
        s_addr, _, _ = stack.enter_context(service(
            "scoring", tmp, cwd=cwd, SCORING_RECORDS_DATABASE_URL=url,
            SCORING_DATABASE_URL=f"sqlite:///{tmp}/scoring.db", SCORING_RECORDS_ADDRESS=r_addr,
            SCORING_RECORDS_TOKEN="dev-scoring", CREDIT_TODAY=TODAY))
        g_addr, metrics, _, http = stack.enter_context(gateway(tmp, r_addr, s_addr, cwd=cwd,
                                                               **gateway_env))
        with grpc.insecure_channel(r_addr) as channel:
            seeded = seed(records_stub(channel))
        wait_graded(http, 13)
        yield Platform(http, g_addr, metrics, r_addr, s_addr, tmp, seeded)
