"""kill -9 during a streaming ingest: after a restart every acknowledged record is there
exactly once, and resending the whole stream completes it without duplicates."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest

from credit.v1 import records_pb2
from services.common.stubs import records_stub
from tests.factories import medical, uscc
from tests.procs import bearer, records_service

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
BATCHES, PER_BATCH, KILL_AFTER = 40, 250, 5


def _stream() -> Iterator[records_pb2.SubmitRecordsRequest]:
    for b in range(BATCHES):
        yield records_pb2.SubmitRecordsRequest(records=[
            medical(f"crash-{b}-{i}", uscc(b * PER_BATCH + i)) for i in range(PER_BATCH)])


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT source_record_id, count(*) FROM records.records "
                            "GROUP BY source_record_id").fetchall()
    return {sid: n for sid, n in rows}


def test_kill_9_mid_stream_loses_no_acknowledged_record(tmp_path: Path, pg_url: str) -> None:
    acked: set[str] = set()
    with records_service(tmp_path, pg_url, CREDIT_TODAY="2025-11-20") as (address, _, proc), \
            grpc.insecure_channel(address) as channel:
        stub = records_stub(channel)
        replies = stub.SubmitRecords(_stream(), metadata=bearer("dev-medical"), timeout=60)
        with pytest.raises(grpc.RpcError):
            for reply in replies:
                acked |= {r.source_record_id for r in reply.results
                          if r.outcome == records_pb2.OUTCOME_CREATED}
                if reply.batch == KILL_AFTER - 1:
                    os.kill(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    assert len(acked) == KILL_AFTER * PER_BATCH
    counts = _counts(pg_url)
    assert acked <= counts.keys()
    assert all(n == 1 for n in counts.values())
    # A batch is one transaction: whatever the kill interrupted is absent, never half there.
    assert len(counts) % PER_BATCH == 0

    with records_service(tmp_path, pg_url, CREDIT_TODAY="2025-11-20") as (address, _, _proc), \
            grpc.insecure_channel(address) as channel:
        stub = records_stub(channel)
        outcomes: dict[int, int] = {}
        for reply in stub.SubmitRecords(_stream(), metadata=bearer("dev-medical"), timeout=120):
            for r in reply.results:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    assert outcomes[records_pb2.OUTCOME_UNCHANGED] == len(counts)
    assert outcomes[records_pb2.OUTCOME_CREATED] == BATCHES * PER_BATCH - len(counts)
    final = _counts(pg_url)
    assert len(final) == BATCHES * PER_BATCH and set(final.values()) == {1}
