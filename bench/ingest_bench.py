"""Records benchmarks on PostgreSQL, with their baselines measured in the same run.

1. Streaming ingestion over gRPC (validation and classification included) of N records
   into a fresh database, against the naive path (one ORM insert and commit per record)
   on a sample, side by side.
2. GetCreditFile latency (p50/p99) over gRPC on the database the first part filled.

    python bench/ingest_bench.py --records 1000000 [--naive-records 20000]

Figures are appended to bench/RESULTS.md. Only 127.0.0.1 is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import psycopg
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FieldDescriptorProto
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from credit.v1 import common_pb2, records_pb2  # noqa: E402
from services.common.auth import Principal  # noqa: E402
from services.common.stubs import records_stub  # noqa: E402
from services.records import departments  # noqa: E402
from services.records.demo import generate  # noqa: E402
from services.records.ingest import _row, entity_row, rule_texts  # noqa: E402
from services.records.models import Entity, Record, RuleText  # noqa: E402
from services.records.rules import Context, classify  # noqa: E402
from services.records.store import Store, now, open_store  # noqa: E402
from services.records.submission import decode_submission  # noqa: E402
from tests.conftest import PG_URL, drop_pg_database, fresh_pg_database  # noqa: E402
from tests.procs import bearer, records_service  # noqa: E402

TODAY = date(2025, 11, 20)
# Records per stream message by default (--batch): the service's largest, as a bulk feed
# sends them, acknowledged in the brief view (--view; RESULT_VIEW_BRIEF in records.proto).
# Such an acknowledgement can outgrow gRPC's default 4 MiB: the client raises its limit.
BATCH = 5000
ADMIN = Principal("bench", None, frozenset({"admin"}))


VIEWS = {"brief": records_pb2.RESULT_VIEW_BRIEF, "full": records_pb2.RESULT_VIEW_FULL}


def _requests(subs: list[records_pb2.RecordSubmission], replicas: int,
              batch: int, view: str) -> list[list[bytes]]:
    """One request list per replica, serialised up front (the load generator shares the two
    cores with the servers, so it does as little as it can while measuring); an entity's
    records all go to one replica, in order, the way departments' feeds would be partitioned."""
    parts: list[list[records_pb2.RecordSubmission]] = [[] for _ in range(replicas)]
    for sub in subs:
        ref = sub.subject.ref
        key = ref.uscc or ref.resident_id or ref.entity_key
        parts[zlib.crc32(key.encode()) % replicas].append(sub)
    return [[records_pb2.SubmitRecordsRequest(
        records=part[i:i + batch], result_view=VIEWS[view]).SerializeToString()
        for i in range(0, len(part), batch)] for part in parts]


def _ack_counters() -> Any:
    """A message type holding only SubmitRecordsResponse's counters (same field numbers): the
    client reads the counts and skips the per-record results instead of building them."""
    proto = descriptor_pb2.FileDescriptorProto(name="bench/ack_counters.proto",
                                               package="bench", syntax="proto3")
    message = proto.message_type.add(name="AckCounters")
    for name, number in (("batch", 1), ("accepted", 3), ("rejected", 4)):
        message.field.add(name=name, number=number, type=FieldDescriptorProto.TYPE_INT64,
                          label=FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.AckCounters"))


ACK_COUNTERS = _ack_counters()


def stream_ingest(address: str, requests: list[bytes]) -> tuple[float, int, int]:
    with grpc.insecure_channel(address, options=[
            ("grpc.max_receive_message_length", 64 << 20)]) as channel:
        submit = channel.stream_stream("/credit.v1.RecordsService/SubmitRecords",
                                       request_serializer=None,
                                       response_deserializer=ACK_COUNTERS.FromString)
        accepted = rejected = 0
        start = time.perf_counter()
        for reply in submit(iter(requests), metadata=bearer("dev-admin"), timeout=3600):
            accepted += reply.accepted
            rejected += reply.rejected
        return time.perf_counter() - start, accepted, rejected


class AutoAnalyze:
    """Stands in for autovacuum's ANALYZE, which is switched off on this machine's server:
    without fresh statistics the planner keeps plans made for an empty table."""

    def __init__(self, url: str, every_s: float = 30) -> None:
        self.url, self.every_s = url, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(self.every_s):
                conn.execute("ANALYZE records.records, records.entities, records.audit_log")

    def __enter__(self) -> AutoAnalyze:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def naive_ingest(store: Store, subs: list[records_pb2.RecordSubmission],
                 budget_s: float) -> tuple[float, int]:
    """The baseline: per record, ORM look-ups, classification, one insert, one commit."""
    start, done = time.perf_counter(), 0
    for pb in subs:
        if time.perf_counter() - start > budget_s:
            break
        sub = decode_submission(pb, store.protector, TODAY)
        with Session(store.engine) as s:  # a plain session: store.sessions() only reads
            entity = s.query(Entity).filter_by(entity_key=sub.subject.ref.key).one_or_none()
            if entity is None:
                next_id = (s.query(Entity.id).order_by(Entity.id.desc()).limit(1).scalar()
                           or 0) + 1
                entity = Entity(**entity_row(sub.subject, next_id, now()))
                s.add(entity)
                s.flush()
            prior = s.query(Record).filter_by(entity_id=entity.id).all()
            from services.records.ingest import _prior

            ctx = Context(sub.decided_on, [_prior(r.__dict__) for r in prior], entity.kind)
            facts = dict(sub.facts)
            if sub.source == "credit_service_agency":
                facts["established_on"] = entity.established_on
            try:
                cls = classify(sub.source, facts, ctx)
            except Exception:
                continue
            row = _row(sub, cls, entity.id, now(), None)
            texts = rule_texts(cls.measures, cls.legal_basis, cls.repair_requirements)
            text = s.query(RuleText).filter_by(digest=texts.digest).one_or_none()
            if text is None:
                text = RuleText(id=(s.query(RuleText.id).order_by(RuleText.id.desc()).limit(1)
                                    .scalar() or 0) + 1, digest=texts.digest,
                                measures=texts.measures, legal_basis=texts.legal_basis,
                                requirements=texts.requirements)
                s.add(text)
                s.flush()
            row["texts_id"] = text.id
            row["id"] = (s.query(Record.id).order_by(Record.id.desc()).limit(1).scalar()
                         or 0) + 1
            row["department"] = departments.owner(sub.source)
            s.add(Record(**row))
            s.commit()
        done += 1
    return time.perf_counter() - start, done


def credit_file_latency(address: str, keys: list[str], seconds: float) -> list[float]:
    lat: list[float] = []
    with grpc.insecure_channel(address) as channel:
        stub = records_stub(channel)
        md = bearer("dev-regulator")
        deadline = time.perf_counter() + seconds
        for key in keys:
            if time.perf_counter() > deadline:
                break
            t = time.perf_counter()
            stub.GetCreditFile(records_pb2.GetCreditFileRequest(
                entity=common_pb2.EntityRef(entity_key=key), as_of="2025-11-20"),
                metadata=md, timeout=10)
            lat.append(time.perf_counter() - t)
    return sorted(lat)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes (Linux /proc); 0 for those that are gone."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (Linux /proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def postgres_pids(url: str) -> list[int]:
    """The PostgreSQL processes working for the benchmark: its database's backends and the
    server's WAL writer, checkpointer and background writer (shared, but driven by the load;
    other databases on the server are not counted)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "OR backend_type IN ('walwriter', 'checkpointer', 'background writer')")]


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--naive-records", type=int, default=20_000)
    ap.add_argument("--naive-seconds", type=float, default=120)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--replicas", type=int, default=2,
                    help="records server processes sharing the database (Kubernetes replicas)")
    ap.add_argument("--latency-seconds", type=float, default=60)
    ap.add_argument("--batch", type=int, default=BATCH,
                    help="records per stream message (the service takes up to 5,000)")
    ap.add_argument("--view", choices=sorted(VIEWS), default="brief",
                    help="the acknowledgements' result_view")
    ap.add_argument("--compliant-share", type=float, default=0.0,
                    help="the generator's compliant majority; 0 (every entity at risk, records "
                         "spread over all entities) is the population of every earlier figure; "
                         "the demo's 0.85 puts the same records on 6x fewer, fuller files")
    ap.add_argument("--no-report", action="store_true",
                    help="print the figures only; RESULTS.md is left alone (for iterating)")
    args = ap.parse_args()

    t = time.perf_counter()
    entities = max(1, args.records // 3)
    subs = list(generate(args.seed, entities, records_per_entity=3.0, today=TODAY,
                         compliant_share=args.compliant_share))
    subs = subs[:args.records]
    requests = _requests(subs, args.replicas, args.batch, args.view)
    print(f"generated {len(subs)} records in {time.perf_counter() - t:.1f}s", file=sys.stderr)

    fast_url, fast_db = fresh_pg_database(PG_URL)
    naive_url, naive_db = fresh_pg_database(PG_URL)
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            servers = [stack.enter_context(records_service(
                Path(tmp), fast_url, CREDIT_TODAY=TODAY.isoformat(),
                RECORDS_MAX_BATCH=str(max(args.batch, BATCH)),
                # The first publication-end sweep after a bulk load announces every expired
                # record; it is measured on its own, not mixed into the latency figures.
                RECORDS_SWEEP_SECONDS="86400")) for _ in range(args.replicas)]
            addresses = [s[0] for s in servers]
            address = addresses[0]
            server_pids = [s[2].pid for s in servers]
            with AutoAnalyze(fast_url), ThreadPoolExecutor(args.replicas) as pool:
                pg_pids = postgres_pids(fast_url)
                busy_before = machine_busy_seconds()
                cpu_before = (cpu_seconds(server_pids), time.process_time(),
                              cpu_seconds(pg_pids))
                start = time.perf_counter()
                outcomes = list(pool.map(stream_ingest, addresses, requests))
                elapsed = time.perf_counter() - start
                pg_pids = sorted(set(pg_pids) | set(postgres_pids(fast_url)))
                cpu = [(after - before) / len(subs) * 1e6 for before, after in zip(
                    cpu_before, (cpu_seconds(server_pids), time.process_time(),
                                 cpu_seconds(pg_pids)), strict=True)]
                # CPU the rest of the machine took meanwhile (other work on the two cores).
                others = (machine_busy_seconds() - busy_before
                          - sum(cpu) * len(subs) / 1e6) / elapsed
            accepted = sum(o[1] for o in outcomes)
            rejected = sum(o[2] for o in outcomes)
            rate = len(subs) / elapsed
            print(f"stream x{args.replicas}: {len(subs)} in {elapsed:.1f}s = {rate:,.0f}/s "
                  f"(accepted {accepted}, rejected {rejected}); CPU per record: servers "
                  f"{cpu[0]:.0f} µs, client {cpu[1]:.0f} µs, PostgreSQL {cpu[2]:.0f} µs; "
                  f"other processes {others:.2f} cores", file=sys.stderr)
            with psycopg.connect(fast_url) as conn:
                n_records = conn.execute("SELECT count(*) FROM records.records").fetchone()
                keys = [k for (k,) in conn.execute(
                    "SELECT entity_key FROM records.entities ORDER BY random() LIMIT 5000")]
            random.Random(1).shuffle(keys)
            credit_file_latency(address, keys[:200], 30)  # warm-up
            lat = credit_file_latency(address, keys[200:], args.latency_seconds)
        naive_store = open_store(naive_url, pii_key=b"ab" * 32, clock=lambda: TODAY)
        n_elapsed, n_done = naive_ingest(naive_store, subs[:args.naive_records],
                                         args.naive_seconds)
        naive_store.engine.dispose()
    finally:
        drop_pg_database(fast_db)
        drop_pg_database(naive_db)
    naive_rate = n_done / n_elapsed if n_done else float("nan")
    p50, p99 = pct(lat, 0.50) * 1000, pct(lat, 0.99) * 1000
    report = (
        "\n## Records: streaming ingestion and GetCreditFile "
        f"({time.strftime('%Y-%m-%d %H:%M')})\n\n"
        f"Command: `python bench/ingest_bench.py --records {args.records} --replicas "
        f"{args.replicas} --batch {args.batch} --view {args.view} --compliant-share "
        f"{args.compliant_share}` on "
        f"PostgreSQL 15 "
        f"(default settings, synchronous_commit on), 2 "
        f"cores, client and server on one machine; ANALYZE every 30 s stands in for "
        f"autovacuum, which is off on this server. The load generator sends requests "
        f"serialised before the clock starts and reads only each acknowledgement's counts "
        f"(the servers still build and send every per-record result with its repair "
        f"notice, in the {args.view} view).\n\n"
        f"| path | records | seconds | records/s | ratio |\n|---|---:|---:|---:|---:|\n"
        f"| SubmitRecords streams (gRPC, batches of {args.batch}, COPY), {args.replicas} server "
        f"processes, one stream each | {len(subs):,} | "
        f"{elapsed:.1f} | {rate:,.0f} | {rate / naive_rate:.1f}× |\n"
        f"| naive: one ORM insert + commit per record (baseline, same run) | {n_done:,} | "
        f"{n_elapsed:.1f} | {naive_rate:,.0f} | 1.0× |\n\n"
        f"Accepted {accepted:,}, rejected {rejected:,}; rows in the database: "
        f"{n_records[0] if n_records else 0:,}. CPU per record during the stream: servers "
        f"{cpu[0]:.0f} µs, client {cpu[1]:.0f} µs, PostgreSQL {cpu[2]:.0f} µs (this "
        f"database's backends and the WAL writer, checkpointer and background writer); "
        f"other processes took {others:.2f} of the 2 cores meanwhile.\n\n"
        f"GetCreditFile over gRPC on that database, one sequential client, {len(lat):,} "
        f"random entities: p50 {p50:.2f} ms, p99 {p99:.2f} ms (target p99 ≤ 10 ms: "
        f"{'met' if p99 <= 10 else 'NOT met'}). Target ≥ 20,000 records/s: "
        f"{'met' if rate >= 20_000 else 'NOT met'}.\n"
    )
    print(report)
    if args.no_report:
        return 0
    with (ROOT / "bench" / "RESULTS.md").open("a") as f:
        f.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
