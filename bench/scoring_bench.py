"""Scoring benchmarks against Seldon MLServer, side by side in one run.

    python bench/scoring_bench.py [--seconds 15] [--rounds 2] [--threads 8]

1. `Evaluate` over gRPC (one entity as of a date) vs MLServer's v2 `ModelInfer` with one row,
   both driven by the same closed-loop client: N threads, sync stubs, one channel per thread,
   requests serialised up front. The scoring service runs twice: as shipped (answers kept in
   memory until the change feed shows them old) and with SCORING_ANSWERS_KEPT=0 (the
   features read from the records database on every call).
2. Batch: `EvaluateBatch` with 10,000-row FeatureMatrix messages vs `ModelInfer` with
   10,000-row tensors, same client.
3. In process: `Scorecard.score` on a 1,000,000-row matrix vs scikit-learn's
   `LogisticRegression.predict_proba` on the WoE matrix.

The baseline model: MLServer's scikit-learn runtime serving a `LogisticRegression` whose
coefficients and intercept are the scorecard's own, on the WoE-transformed features (the
client sends WoE values, so MLServer skips the binning our service does); its probabilities
equal the scorecard's, which the script checks. MLServer runs twice: as installed (its
default settings: one inference worker process) and tuned with parallel_workers 0 (inference
in its server process); ratios and targets are reported against both. A bare grpc.aio echo
server is measured too: the floor for any unary Python gRPC service on the machine.
MLServer and mlserver-sklearn pin a protobuf
older than ours, so they live in their own venv (.venv/mlserver, created on first run). Its
runtime loads a joblib file: that is the baseline's own format, written inside the
benchmark's temporary directory only; nothing of ours loads it.

Records database: the one bench/regrade_bench.py builds (1,000,000 entities), reused.
Figures are appended to bench/RESULTS.md. Only 127.0.0.1 is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import psycopg
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from regrade_bench import TODAY, ensure_records_database, publish  # noqa: E402

from credit.v1 import common_pb2, scoring_pb2  # noqa: E402
from models.registry import load_default  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.records.models import SCHEMA as RECORDS_SCHEMA  # noqa: E402
from services.scoring.evaluate import GRADE_INPUTS  # noqa: E402
from services.scoring.features import FEATURE_NAMES, feature_rows  # noqa: E402
from tests.conftest import PG_URL, drop_pg_database, fresh_pg_database  # noqa: E402
from tests.procs import free_port, service, stop  # noqa: E402

MLSERVER = "1.7.1"
BATCH_ROWS = 10_000
MODEL_NAME = "scorecard"


# ------------------------------------------------------------------------------ MLServer


# MLServer 1.7.1's inference worker calls asyncio.get_event_loop() in a fresh process, which
# uvloop 0.22 and later refuse: with the newest uvloop its default worker pool dies at start.
UVLOOP = "uvloop<0.22"


def mlserver_venv(path: Path) -> Path:
    """The MLServer venv's python, installing mlserver and mlserver-sklearn when missing."""
    python = path / "bin" / "python"
    probe = [str(python), "-c", "import mlserver, mlserver_sklearn, importlib.metadata as m; "
             "assert tuple(map(int, m.version('uvloop').split('.')[:2])) < (0, 22)"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"installing mlserver {MLSERVER} into {path}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"mlserver=={MLSERVER}",
                    f"mlserver-sklearn=={MLSERVER}", UVLOOP], check=True, timeout=900)
    return python


# Run in the MLServer venv: the joblib file must come from the scikit-learn that loads it.
_DUMP = """
import json, sys, joblib, numpy as np
from sklearn.linear_model import LogisticRegression
spec = json.load(open(sys.argv[1]))
lr = LogisticRegression()
lr.classes_ = np.array([0, 1])
lr.coef_ = np.array([spec["coef"]])
lr.intercept_ = np.array([spec["intercept"]])
lr.n_features_in_ = len(spec["coef"])
joblib.dump(lr, sys.argv[2])
"""


@contextlib.contextmanager
def mlserver(python: Path, lr: LogisticRegression, tmp: Path,
             workers: int | None) -> Iterator[str]:
    """MLServer serving `lr` with its scikit-learn runtime; yields the gRPC address.
    `workers` None keeps MLServer's default (one inference worker process); 0 infers in the
    server process."""
    tmp = tmp / f"mlserver-{workers}"
    models = tmp / "models"
    (models / MODEL_NAME).mkdir(parents=True)
    spec = tmp / "lr.json"
    spec.write_text(json.dumps({"coef": lr.coef_[0].tolist(),
                                "intercept": float(lr.intercept_[0])}))
    subprocess.run([str(python), "-c", _DUMP, str(spec), str(models / MODEL_NAME /
                                                              "model.joblib")], check=True)
    (models / MODEL_NAME / "model-settings.json").write_text(json.dumps({
        "name": MODEL_NAME, "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"}}))
    port = free_port()
    settings = {"host": "127.0.0.1", "http_port": free_port(), "grpc_port": port,
                "metrics_port": free_port(), "load_models_at_startup": True}
    if workers is not None:
        settings["parallel_workers"] = workers
    (models / "settings.json").write_text(json.dumps(settings))
    log = (tmp / "mlserver.log").open("wb")
    proc = subprocess.Popen([str(python.parent / "mlserver"), "start", str(models)], cwd=tmp,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()


# The floor for any unary Python gRPC service here: a grpc.aio server that answers each
# request with its own bytes (no interceptors, no work), in its own process.
_ECHO = """
import asyncio, sys, grpc
async def main():
    async def echo(request, context):
        return request
    handler = grpc.method_handlers_generic_handler("bench.Echo", {
        "Echo": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(sys.argv[1])
    await server.start()
    await server.wait_for_termination()
asyncio.run(main())
"""
ECHO = "/bench.Echo/Echo"


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen([sys.executable, "-c", _ECHO, address])
    try:
        yield address
    finally:
        stop(proc)


def dataplane(python: Path) -> Any:
    """MLServer's v2 message classes, from the descriptor its dataplane_pb2 embeds (its
    generated module targets an older protobuf than ours)."""
    where = subprocess.run([str(python), "-c", "import mlserver.grpc.dataplane_pb2 as m; "
                            "print(m.__file__)"], capture_output=True, text=True, check=True)
    text = Path(where.stdout.strip()).read_text()
    start = text.index("AddSerializedFile(") + len("AddSerializedFile(")
    literal = text[start:text.index(")\n", start)].strip()
    proto = descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(literal))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)

    class V2:
        request = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("inference.ModelInferRequest"))
        response = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("inference.ModelInferResponse"))

    return V2


def infer_request(v2: Any, woe: np.ndarray) -> bytes:
    req = v2.request(model_name=MODEL_NAME)
    tensor = req.inputs.add(name="input-0", datatype="FP64", shape=list(woe.shape))
    tensor.contents.fp64_contents.extend(woe.ravel().tolist())
    req.outputs.add(name="predict_proba")
    return bytes(req.SerializeToString())


def wait_ready(address: str, method: str, request: bytes, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(method, request_serializer=None,
                                   response_deserializer=None)
        while True:
            try:
                call(request, timeout=5)
                return
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


# ------------------------------------------------------------------------------- client

EVALUATE = "/credit.v1.ScoringService/Evaluate"
EVALUATE_BATCH = "/credit.v1.ScoringService/EvaluateBatch"
MODEL_INFER = "/inference.GRPCInferenceService/ModelInfer"


def answer_lookups(port: int) -> dict[str, float]:
    """The scoring service's scoring_answer_lookups_total, by source."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    found: dict[str, float] = {}
    for line in text.decode().splitlines():
        if line.startswith("scoring_answer_lookups_total{"):
            source = line.split('source="', 1)[1].split('"', 1)[0]
            found[source] = float(line.rsplit(" ", 1)[1])
    return found


def each_once(address: str, method: str, requests: list[bytes], threads: int) -> None:
    """Sends every request once, `threads` at a time."""
    def run(t: int) -> None:
        with grpc.insecure_channel(address) as channel:
            unary = channel.unary_unary(method, request_serializer=None,
                                        response_deserializer=None)
            for request in requests[t::threads]:
                unary(request, timeout=60)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))


def closed_loop(address: str, method: str, requests: list[bytes],
                parse: Callable[[bytes], Any], threads: int, seconds: float,
                stream: bool = False) -> tuple[int, float]:
    """`threads` threads, one channel each, sending the next request as soon as the last
    answer is parsed, for `seconds`; (calls completed, elapsed)."""
    counts = [0] * threads
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()
    opts = [("grpc.max_receive_message_length", 64 << 20),
            ("grpc.max_send_message_length", 64 << 20)]

    def run(t: int) -> None:
        outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        try:
            with grpc.insecure_channel(address, options=opts) as channel:
                call: Callable[[bytes], Any]
                if stream:
                    # One stream per thread for the whole run, the way a batch client uses a
                    # bidirectional stream: the next message goes once the last answer is in.
                    def sending() -> Iterator[bytes]:
                        while (item := outbox.get()) is not None:
                            yield item

                    answers: Iterator[Any] = iter(channel.stream_stream(
                        method, request_serializer=None, response_deserializer=parse,
                    )(sending(), timeout=seconds + 180))

                    def call(r: bytes) -> Any:
                        outbox.put(r)
                        return next(answers)
                else:
                    unary = channel.unary_unary(method, request_serializer=None,
                                                response_deserializer=parse)

                    def call(r: bytes) -> Any:
                        return unary(r, timeout=60)
                call(requests[t % len(requests)])  # connect before the start
                barrier.wait()
                i = t
                while not stop.is_set():
                    call(requests[i % len(requests)])
                    counts[t] += 1
                    i += threads
                outbox.put(None)  # ends the stream, if any: read it to its OK status
                if stream:
                    for _ in answers:
                        pass
        except BaseException as exc:  # reported by the caller
            outbox.put(None)
            errors.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    workers = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(threads)]
    for w in workers:
        w.start()
    try:
        barrier.wait(timeout=60)
    except threading.BrokenBarrierError:
        stop.set()
        for w in workers:
            w.join(timeout=120)
        raise RuntimeError(f"{method}: {errors[0] if errors else 'start timed out'!r}") from None
    start = time.perf_counter()
    stop.wait(seconds)
    stop.set()
    for w in workers:
        w.join(timeout=120)
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{method}: {errors[0]!r}")
    return sum(counts), elapsed


def evaluate_pb(data: bytes) -> scoring_pb2.Evaluation:
    return scoring_pb2.Evaluation.FromString(data)


def batch_pb(data: bytes) -> scoring_pb2.EvaluateBatchResponse:
    reply = scoring_pb2.EvaluateBatchResponse.FromString(data)
    if reply.HasField("error"):
        print(f"EvaluateBatch: {reply.error.message}", file=sys.stderr)
        raise RuntimeError(reply.error.message)
    return reply


# ------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--template", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15, help="per measurement")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per pair")
    ap.add_argument("--mlserver-venv", type=Path, default=ROOT / ".venv" / "mlserver")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()

    records_url = ensure_records_database(args.entities, args.template)
    python = mlserver_venv(args.mlserver_venv)
    v2 = dataplane(python)
    scorecard, _ = load_default()
    names = scorecard.names

    # Real feature rows: the template's entities (their keys are the generator's own).
    engine = make_engine(records_url, RECORDS_SCHEMA)
    with engine.connect() as sa_conn:
        fb = next(feature_rows(sa_conn, TODAY, entity_ids=range(1, 50_001), batch=50_000))
    engine.dispose()
    cols = {n: fb.matrix[:, FEATURE_NAMES.index(n)] for n in FEATURE_NAMES}
    woe = scorecard.transform(cols)
    lr = LogisticRegression()
    lr.classes_ = np.array([0, 1])
    lr.coef_ = scorecard.coefficients[np.newaxis, :]
    lr.intercept_ = np.array([scorecard.intercept])
    lr.n_features_in_ = len(names)
    gap = np.abs(lr.predict_proba(woe) - scorecard.predict_proba(cols)).max()
    assert gap < 1e-9, f"the baseline model is not the scorecard: {gap}"

    # ---- 3. in process
    reps = -(-1_000_000 // len(fb))
    big = {n: np.tile(c, reps)[:1_000_000] for n, c in cols.items()}
    big_woe = scorecard.transform(big)

    def best(f: Callable[[], object], times: int = 5) -> float:
        out = []
        for _ in range(times):
            t = time.perf_counter()
            f()
            out.append(time.perf_counter() - t)
        return min(out)

    t_card = best(lambda: scorecard.score(big))
    t_lr = best(lambda: lr.predict_proba(big_woe))
    t_lr_full = best(lambda: lr.predict_proba(scorecard.transform(big)))
    inproc = (1e6 / t_card, 1e6 / t_lr, 1e6 / t_lr_full)
    print(f"in process: scorecard {inproc[0]:,.0f} rows/s, sklearn predict_proba on WoE "
          f"{inproc[1]:,.0f}, WoE transform + predict_proba {inproc[2]:,.0f}", file=sys.stderr)

    # ---- requests, serialised up front
    with psycopg.connect(records_url) as conn:
        keys = [k for (k,) in conn.execute(
            "SELECT entity_key FROM records.entities WHERE id <= %s ORDER BY id",
            (args.template,))]
    rng = random.Random(3)
    picks = rng.sample(range(len(keys)), 5_000)
    eval_reqs = [scoring_pb2.EvaluateRequest(entity=common_pb2.EntityRef(entity_key=keys[i]),
                                             as_of=TODAY.isoformat()).SerializeToString()
                 for i in picks]
    row_idx = {k: i for i, k in enumerate(fb.entity_keys)}
    infer_reqs = [infer_request(v2, woe[row_idx[keys[i]]][np.newaxis, :]) for i in picks]
    sent = list(dict.fromkeys([*names, *GRADE_INPUTS]))
    batch_reqs, infer_batch_reqs = [], []
    for lo in range(0, 5 * BATCH_ROWS, BATCH_ROWS):
        part = slice(lo, lo + BATCH_ROWS)
        values = np.column_stack([cols[n][part] for n in sent]).ravel()
        batch_reqs.append(scoring_pb2.EvaluateBatchRequest(features=scoring_pb2.FeatureMatrix(
            columns=sent, values=values.tolist())).SerializeToString())
        infer_batch_reqs.append(infer_request(v2, woe[part]))

    keys_run = ("eval", "eval_db", "echo", "infer", "infer0", "batch", "infer_b", "infer_b0")
    figures: dict[str, list[float]] = {k: [] for k in keys_run}
    url, name = fresh_pg_database(PG_URL)
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            scoring_env = dict(SCORING_RECORDS_DATABASE_URL=records_url,
                               SCORING_DATABASE_URL=url, CREDIT_AUTH_MODE="dev",
                               SCORING_RECORDS_ADDRESS="", CREDIT_TODAY=TODAY.isoformat())
            # As shipped (answers kept in memory), and reading the database on every call.
            address, metrics_port, _ = stack.enter_context(
                service("scoring", Path(tmp), **scoring_env))
            address_db = stack.enter_context(service(
                "scoring", Path(tmp), SCORING_ANSWERS_KEPT="0", **scoring_env))[0]
            # The baseline as installed (its default worker pool), and tuned: in process.
            ml = stack.enter_context(mlserver(python, lr, Path(tmp), None))
            ml0 = stack.enter_context(mlserver(python, lr, Path(tmp), 0))
            echo = stack.enter_context(echo_server())
            for where, method, probe in ((ml, MODEL_INFER, infer_reqs[0]),
                                         (ml0, MODEL_INFER, infer_reqs[0]),
                                         (echo, ECHO, eval_reqs[0])):
                wait_ready(where, method, probe)
            infer_pb = v2.response.FromString
            pairs = (("eval", address, EVALUATE, eval_reqs, evaluate_pb, False, 1),
                     ("eval_db", address_db, EVALUATE, eval_reqs, evaluate_pb, False, 1),
                     ("echo", echo, ECHO, eval_reqs, bytes, False, 1),
                     ("infer", ml, MODEL_INFER, infer_reqs, infer_pb, False, 1),
                     ("infer0", ml0, MODEL_INFER, infer_reqs, infer_pb, False, 1),
                     ("batch", address, EVALUATE_BATCH, batch_reqs, batch_pb, True,
                      BATCH_ROWS),
                     ("infer_b", ml, MODEL_INFER, infer_batch_reqs, infer_pb, False,
                      BATCH_ROWS),
                     ("infer_b0", ml0, MODEL_INFER, infer_batch_reqs, infer_pb, False,
                      BATCH_ROWS))
            # Warm-up. Each Evaluate request goes once first, as to a service that has been
            # answering its regulators for a while: the shipped one then holds every answer.
            for addr in (address, address_db):
                each_once(addr, EVALUATE, eval_reqs, args.threads)
            for _key, addr, method, reqs, parse, stream, _rows in pairs:
                closed_loop(addr, method, reqs, parse, args.threads, 3, stream)
            warm = answer_lookups(metrics_port)
            for r in range(args.rounds):
                for key, addr, method, reqs, parse, stream, rows in pairs:
                    done, elapsed = closed_loop(addr, method, reqs, parse, args.threads,
                                                args.seconds, stream)
                    figures[key].append(done * rows / elapsed)
                    print(f"round {r + 1} {key}: {done * rows / elapsed:,.0f}/s",
                          file=sys.stderr)
            lookups = answer_lookups(metrics_port)
            lookups = {k: v - warm.get(k, 0.0) for k, v in lookups.items()}
    finally:
        drop_pg_database(name)

    mean = {k: float(np.mean(v)) for k, v in figures.items()}
    runs = {k: ", ".join(f"{x:,.0f}" for x in v) for k, v in figures.items()}
    r_single, r_batch = mean["eval"] / mean["infer"], mean["batch"] / mean["infer_b"]
    r_single0, r_batch0 = mean["eval"] / mean["infer0"], mean["batch"] / mean["infer_b0"]
    r_db, r_db0 = mean["eval_db"] / mean["infer"], mean["eval_db"] / mean["infer0"]
    asked = sum(lookups.values())
    hits = lookups.get("memory", 0.0) / asked if asked else 0.0
    r_inproc = inproc[0] / inproc[1]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    report = (
        f"\n## Scoring: Evaluate, batch and in-process scoring vs MLServer "
        f"({time.strftime('%Y-%m-%d %H:%M')})\n\n"
        f"Command: `python bench/scoring_bench.py --threads {args.threads} --seconds "
        f"{args.seconds:g} --rounds {args.rounds}`. Client, the servers and PostgreSQL share "
        f"the 2 cores. Client: {args.threads} threads, sync "
        f"grpc stubs, one channel per thread, closed loop, requests serialised up front, "
        f"every answer parsed; the paths alternate, {args.rounds} rounds of "
        f"{args.seconds:g} s each (figures: mean, then each round). Scoring service: "
        f"`python -m services.scoring` (one process, change consumer off) on the "
        f"{args.entities:,}-entity records database of bench/regrade_bench.py, twice: as "
        f"shipped, with `Evaluate`'s answers kept in memory until the change feed shows "
        f"their entity changed (services/scoring/answers.py; its follower polls the feed "
        f"five times a second throughout), and with SCORING_ANSWERS_KEPT=0, reading "
        f"the records database on every call. The `Evaluate` requests name "
        f"{len(picks):,} entities drawn at random, each asked once before the warm-up (a "
        f"service that has answered about them before) and then about "
        f"{asked / len(picks):,.0f} times over the measured runs: {hits:.1%} of the shipped "
        f"service's answers in those runs came from memory (scoring_answer_lookups_total), "
        f"the rest read the database. Baseline: "
        f"MLServer {MLSERVER} with mlserver-sklearn as installed, i.e. its default settings "
        f"(one inference worker process; {UVLOOP} is pinned in its venv because its worker "
        f"fails to start with newer uvloop), serving a LogisticRegression with the "
        f"scorecard's coefficients on the WoE-transformed features (same probabilities, "
        f"checked), through v2 gRPC `ModelInfer` with `predict_proba` output. Beside it, "
        f"MLServer tuned with parallel_workers 0 (inference in the server process, no process "
        f"hop), the stronger reference. `EvaluateBatch` is a bidirectional stream and its "
        f"client keeps one open per thread (the next message once the last answer is in); "
        f"MLServer's `ModelInfer` is unary, one call per message. MLServer gets the WoE "
        f"values: the binning is done for "
        f"it by the client, while `Evaluate`, when it reads, reads the entity's records "
        f"from PostgreSQL, aggregates its features, scores, applies the hard rules and "
        f"explains (reason codes, legal basis, supervision tier).\n\n"
        f"| path | rate | runs | vs MLServer default | vs MLServer in-process | target "
        f"≥ 3× (vs default; vs in-process) |\n|---|---:|---|---:|---:|---|\n"
        f"| `Evaluate`, one entity per call, as shipped | {mean['eval']:,.0f} req/s | "
        f"{runs['eval']} | {r_single:.2f}× | {r_single0:.2f}× | {met(r_single >= 3)}; "
        f"{met(r_single0 >= 3)} |\n"
        f"| `Evaluate`, one entity per call, reading the database on every call | "
        f"{mean['eval_db']:,.0f} req/s | {runs['eval_db']} | {r_db:.2f}× | {r_db0:.2f}× | |\n"
        f"| bare grpc.aio echo of the `Evaluate` request (no interceptors, no work): the "
        f"floor | {mean['echo']:,.0f} req/s | {runs['echo']} | "
        f"{mean['echo'] / mean['infer']:.2f}× | {mean['echo'] / mean['infer0']:.2f}× | |\n"
        f"| MLServer `ModelInfer`, one row (default: 1 worker) | {mean['infer']:,.0f} req/s "
        f"| {runs['infer']} | 1.0× | | |\n"
        f"| MLServer `ModelInfer`, one row (parallel_workers 0) | {mean['infer0']:,.0f} "
        f"req/s | {runs['infer0']} | | 1.0× | |\n"
        f"| `EvaluateBatch`, FeatureMatrix of {BATCH_ROWS:,} rows ({len(sent)} columns, "
        f"scores and grades) | {mean['batch']:,.0f} rows/s | {runs['batch']} | "
        f"{r_batch:.2f}× | {r_batch0:.2f}× | {met(r_batch >= 3)}; {met(r_batch0 >= 3)} |\n"
        f"| MLServer `ModelInfer`, {BATCH_ROWS:,}-row FP64 tensor (default: 1 worker) | "
        f"{mean['infer_b']:,.0f} rows/s | {runs['infer_b']} | 1.0× | | |\n"
        f"| MLServer `ModelInfer`, {BATCH_ROWS:,}-row FP64 tensor (parallel_workers 0) | "
        f"{mean['infer_b0']:,.0f} rows/s | {runs['infer_b0']} | | 1.0× | |\n"
        f"| in process: `Scorecard.score`, 1,000,000 rows (best of 5) | "
        f"{inproc[0]:,.0f} rows/s | | {r_inproc:.2f}× vs scikit-learn | | ≥ 5,000,000 "
        f"rows/s: {met(inproc[0] >= 5e6)} |\n"
        f"| in process: scikit-learn `predict_proba` on the precomputed WoE matrix | "
        f"{inproc[1]:,.0f} rows/s | | 1.0× | | |\n"
        f"| in process: WoE transform + `predict_proba` | {inproc[2]:,.0f} rows/s | | "
        f"{inproc[2] / inproc[1]:.2f}× | | |\n"
    )
    publish(report, args.no_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
