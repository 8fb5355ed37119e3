"""Gateway benchmark: a filtered tiered-list page of 100 rows over 1,000,000 graded entities
on PostgreSQL, through the gateway's HTTP API, against the same pages asked of
ScoringService.ListGrades directly over gRPC (the baseline), side by side in one run.

    python bench/gateway_bench.py [--entities 1000000] [--seconds 20] [--concurrency 16]
                                  [--workers 2] [--database-url URL] [--keep]

The grades are written straight into the scoring schema with COPY (a bulk re-grade of a
million entities would need a million credit files); records, scoring and the gateway then
run as real processes on that database. The load generator is a closed loop of keep-alive
HTTP/1.1 connections (asyncio streams, one process) on the same two cores: every figure
includes its cost. Each run is bounded by --seconds (after 5 s of warm-up); a failed
request (non-200, or a gRPC error) is counted, and its latency kept. Results are appended to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlencode

import grpc
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from credit.v1 import scoring_pb2  # noqa: E402
from services.common.stubs import scoring_stub  # noqa: E402
from services.scoring.store import open_grade_store  # noqa: E402
from tests.conftest import PG_URL, drop_pg_database, fresh_pg_database  # noqa: E402
from tests.gateway_platform import gateway  # noqa: E402
from tests.procs import records_service, service  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
REGIONS = [f"2201{n:02d}" for n in (2, 3, 4, 5, 6, 12, 13, 22, 82, 83, 84)] + \
          [f"2202{n:02d}" for n in (2, 3, 4, 11, 21, 81, 82, 83, 84)] + \
          [f"22{c:02d}{n:02d}" for c in (3, 4, 5, 6, 7, 8, 24) for n in (2, 22, 81)]
INDUSTRIES = "CFGIKLMPQR"
GRADES = "ABCD"
GRADE_WEIGHTS = (10, 30, 40, 20)
# What planners ask for: a grade tier, within a city or county, sometimes an industry.
FILTERS: list[dict[str, str | list[str]]] = [
    {"grade": ["D"], "region": "2201"},
    {"grade": ["C", "D"], "region": "220183"},
    {"grade": ["B"], "region": "2202"},
    {"grade": ["D"], "region": "22", "industry": ["F"]},
    {"grade": ["A"], "region": "2201"},
    {"grade": ["C"], "region": "2203", "industry": ["C", "F"]},
]


def grade_rows(n: int, seed: int = 11) -> Iterator[tuple[object, ...]]:
    rnd = random.Random(seed)
    graded_at = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
    as_of = date(2025, 11, 20)
    for i in range(1, n + 1):
        grade = rnd.choices(GRADES, GRADE_WEIGHTS)[0]
        region = rnd.choice(REGIONS)
        yield (f"91{region}MA{i:08d}", i, grade, round(rnd.uniform(420, 760), 2), grade,
               "score", json.dumps(["n_listed_36m", "entity_age_years"]),
               "scorecard-bench", "grade-policy-bench", as_of, graded_at, "bulk",
               "enterprise", f"吉林省测试企业{i}有限公司", f"91{region}MA{i:08d}", region,
               rnd.choice(INDUSTRIES), rnd.choice((0, 0, 0, 1, 2, 8)))


def load(url: str, n: int) -> float:
    """Creates the scoring schema (its own migrations) and COPYs n grades into it."""
    open_grade_store(url).engine.dispose()
    started = time.perf_counter()
    columns = ("entity_key, entity_id, grade, score, score_grade, decided_by, reasons, "
               "model_version, policy_version, as_of, graded_at, cause, kind, name, "
               "display_id, region_code, industry, sources")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE scoring.grades")
        with cur.copy(f"COPY scoring.grades ({columns}) FROM STDIN") as copy:
            for row in grade_rows(n):
                copy.write_row(row)
        conn.commit()
        cur.execute("ANALYZE scoring.grades")
        conn.commit()
    return time.perf_counter() - started


def page_queries(http: str, pages: int = 3) -> list[str]:
    """First pages of every filter plus a few keyset continuations (deeper pages)."""
    import httpx

    out: list[str] = []
    with httpx.Client(base_url=http, headers={"authorization": "Bearer dev-planner"},
                      timeout=30) as c:
        for f in FILTERS:
            params = {**f, "page_size": "100"}
            for _ in range(pages):
                query = urlencode(params, doseq=True)
                out.append(f"/api/v1/grades?{query}")
                reply = c.get(f"/api/v1/grades?{query}")
                reply.raise_for_status()
                body = reply.json()
                assert len(body["grades"]) == 100, (query, len(body["grades"]))
                if not body["next_page_token"]:
                    break
                params["page_token"] = body["next_page_token"]
    return out


def grpc_request(path: str) -> scoring_pb2.ListGradesRequest:
    """The same page as a ListGrades request (what the gateway sends)."""
    from urllib.parse import parse_qs, urlparse

    q = parse_qs(urlparse(path).query)
    return scoring_pb2.ListGradesRequest(
        filter=scoring_pb2.GradeFilter(grades=q.get("grade", []),
                                       region_prefix=q.get("region", [""])[0],
                                       industries=q.get("industry", [])),
        page_size=int(q["page_size"][0]), page_token=q.get("page_token", [""])[0])


Result = tuple[int, list[float], float, int]


async def closed_loop(call: Callable[[int], Awaitable[bool]], concurrency: int,
                      seconds: float, warmup: float = 5.0) -> Result:
    """Runs `call` (True = success) from `concurrency` loops for `seconds` after a warm-up;
    returns (requests, latencies in seconds, elapsed, failed requests)."""
    latencies: list[float] = []
    failed = 0
    measuring = False
    stop_at = time.monotonic() + warmup + seconds

    async def loop(worker: int) -> None:
        i = worker
        nonlocal failed
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            ok = await call(i)
            if measuring:
                latencies.append(time.perf_counter() - t0)
                failed += not ok
            i += concurrency

    tasks = [asyncio.create_task(loop(w)) for w in range(concurrency)]
    await asyncio.sleep(warmup)
    measuring = True
    started = time.monotonic()
    await asyncio.gather(*tasks)
    return len(latencies), latencies, time.monotonic() - started, failed


async def http_load(http: str, paths: list[str], concurrency: int,
                    seconds: float) -> Result:
    host, port = http.removeprefix("http://").split(":")
    conns = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]
    requests = [(f"GET {p} HTTP/1.1\r\nHost: {host}\r\n"
                 "authorization: Bearer dev-planner\r\n\r\n").encode() for p in paths]

    async def call(i: int) -> bool:
        reader, writer = conns[i % concurrency]
        writer.write(requests[i % len(requests)])
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        return head.startswith(b"HTTP/1.1 200")

    try:
        return await closed_loop(call, concurrency, seconds)
    finally:
        for _, writer in conns:
            writer.close()


async def grpc_load(address: str, paths: list[str], concurrency: int,
                    seconds: float) -> Result:
    requests = [grpc_request(p) for p in paths]
    metadata = (("authorization", "Bearer dev-planner"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = scoring_stub(channel)

        async def call(i: int) -> bool:
            try:
                reply = await stub.ListGrades(requests[i % len(requests)], metadata=metadata,
                                              timeout=5)
            except grpc.RpcError:
                return False
            return len(reply.grades) == 100

        return await closed_loop(call, concurrency, seconds)


def summary(name: str, result: Result) -> dict[str, float | str]:
    n, latencies, elapsed, failed = result
    latencies.sort()
    return {"path": name, "requests": n, "failed": failed, "rps": (n - failed) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gateway HTTP worker processes")
    parser.add_argument("--database-url", help="an existing database already loaded by an "
                        "earlier --keep run (skips the load)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()

    name = None
    if args.database_url:
        url, load_seconds = args.database_url, 0.0
    else:
        url, name = fresh_pg_database(PG_URL)
        print(f"loading {args.entities:,} grades into {name} ...", flush=True)
        load_seconds = load(url, args.entities)
        print(f"loaded in {load_seconds:.1f}s", flush=True)
    try:
        with TemporaryDirectory() as tmp_dir, ExitStack() as stack:
            tmp = Path(tmp_dir)
            r_addr, _, _ = stack.enter_context(records_service(tmp, url))
            s_addr, _, _ = stack.enter_context(service(
                "scoring", tmp, SCORING_DATABASE_URL=url, SCORING_RECORDS_DATABASE_URL=url,
                SCORING_RECORDS_ADDRESS=""))
            _, _, _, http = stack.enter_context(gateway(
                tmp, r_addr, s_addr, GATEWAY_HTTP_WORKERS=str(args.workers)))
            _, _, _, uncached = stack.enter_context(gateway(
                tmp, r_addr, s_addr, GATEWAY_HTTP_WORKERS=str(args.workers),
                GATEWAY_LIST_CACHE_SECONDS="0"))
            paths = page_queries(uncached)
            print(f"{len(paths)} distinct pages; {args.seconds:.0f}s per run, "
                  f"{args.concurrency} connections", flush=True)
            rows = []
            runs: tuple[tuple[str, Callable[[], Coroutine[Any, Any, Result]]], ...] = (
                    ("ScoringService.ListGrades over gRPC, direct (baseline)",
                     lambda: grpc_load(s_addr, paths, args.concurrency, args.seconds)),
                    (f"gateway GET /api/v1/grades, no page cache, {args.workers} HTTP workers",
                     lambda: http_load(uncached, paths, args.concurrency, args.seconds)),
                    (f"gateway GET /api/v1/grades, 2 s page cache (default), {args.workers} "
                     "HTTP workers",
                     lambda: http_load(http, paths, args.concurrency, args.seconds)))
            for label, run in runs:
                rows.append(summary(label, asyncio.run(run())))
                print(rows[-1], flush=True)
    finally:
        if name and not args.keep:
            drop_pg_database(name)
    base = rows[0]
    table = ["| path | requests | failed | ok req/s | p50 ms | p99 ms | req/s vs baseline |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['path']} | {r['requests']:,} | {r['failed']:,} | {r['rps']:,.0f} "
                     f"| {r['p50']:.1f} "
                     f"| {r['p99']:.1f} | {float(r['rps']) / float(base['rps']):.2f}× |")
    gw = rows[-1]
    met = float(gw["rps"]) >= 1000 and float(gw["p99"]) <= 50 and not gw["failed"]
    text = "\n".join([
        f"\n## Gateway: filtered tiered-list pages ({datetime.now():%Y-%m-%d %H:%M})\n",
        f"Command: `python bench/gateway_bench.py --entities {args.entities} --seconds "
        f"{args.seconds:g} --concurrency {args.concurrency} --workers {args.workers}` on "
        f"PostgreSQL; {args.entities:,} graded entities (COPY into scoring.grades"
        + (f" in {load_seconds:.0f} s" if load_seconds else "") + "), pages of 100 rows "
        f"filtered by grade, region and industry ({len(paths)} distinct pages, first pages and "
        "keyset continuations); records, scoring, gateway, PostgreSQL and the load generator "
        "share the two cores.\n", *table, "",
        f"Target ≥ 1,000 req/s with p99 ≤ 50 ms through the gateway: "
        f"{'met' if met else 'NOT met'}.\n"])
    print(text)
    if not args.no_results:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
