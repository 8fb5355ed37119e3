"""Full re-grade benchmark on PostgreSQL, with the naive per-entity path measured beside it.

    python bench/regrade_bench.py [--entities 1000000] [--shards 2] [--reload]

The records database (`credit_bench_scoring`, kept between runs; `--reload` rebuilds it):
a template of generated entities goes through the real in-process ingestion
(services.records.demo.load: classification, rule texts, annual-report register), a few
workflow rows are added the way the workflows write them (open and resolved objections,
kept and broken commitments, reorganisation shields), and the template is then copied in SQL
under new ids until the wanted size is reached (copies carry the template's keys with a
"~k" suffix): 5 records per entity on average, with the generator's distribution. Loading
5M records through gRPC runs at about 11k/s; the copies keep a rebuild to minutes.

Fast path: `python -m services.scoring.regrade --shard i/n` in n processes at once (a
Kubernetes Indexed Job), into a fresh grade database, timed from launch to the last exit.
Baseline, same run: per entity, `Evaluator.evaluate` (one feature query) and one ORM upsert
plus history row and commit, on random entities for a bounded time, its rate extrapolated.

Figures are appended to bench/RESULTS.md. Only 127.0.0.1 is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.registry import load_default  # noqa: E402
from services.common.workdays import default_calendar  # noqa: E402
from services.records import demo  # noqa: E402
from services.records.store import open_store  # noqa: E402
from services.scoring.evaluate import Evaluator, Model  # noqa: E402
from services.scoring.models import Grade, GradeHistory  # noqa: E402
from services.scoring.policy import default_policy  # noqa: E402
from services.scoring.store import GradeStore, open_grade_store  # noqa: E402
from services.scoring.supervision import default_supervision  # noqa: E402
from tests.conftest import PG_URL, drop_pg_database, fresh_pg_database  # noqa: E402

TODAY = date(2025, 11, 20)
SEED = 7
BENCH_DB = "credit_bench_scoring"
PII_KEY = b"ab" * 32
# Tables copied with the template, with their id and entity-reference columns.
_COPIED = ("entities", "records", "objections", "commitments", "shields", "annual_reports")


def _server_url(db: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + db


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)


def _loaded(url: str) -> tuple[int, int, int] | None:
    """(template entities, entities, records) of a complete earlier load, else None."""
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT template, entities, records FROM public.bench_meta"
                               ).fetchone()
    except psycopg.Error:
        return None
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def ensure_records_database(entities: int, template: int, reload: bool = False) -> str:
    """The URL of the benchmark's records database, loading it when absent, incomplete,
    of another size, or when `reload` is set."""
    url = _server_url(BENCH_DB)
    have = None if reload else _loaded(url)
    if have is not None and have[:2] == (template, entities):
        print(f"records database {BENCH_DB}: {have[1]:,} entities, {have[2]:,} records "
              "(cached; --reload rebuilds it)", file=sys.stderr)
        return url
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    began = time.perf_counter()
    store = open_store(url, pii_key=PII_KEY, calendar=default_calendar(),
                       clock=lambda: TODAY)
    # Every entity at risk (compliant_share 0): the population every figure in RESULTS.md
    # was measured on, with records spread over all entities.
    stats = demo.load(store, SEED, template, records_per_entity=5.0, today=TODAY,
                      progress=sys.stderr, compliant_share=0.0)
    store.engine.dispose()
    if stats.rejected:
        raise SystemExit(f"template load rejected {stats.rejected} records: {stats.errors}")
    print(f"template: {stats.entities:,} entities, {stats.records:,} records through "
          f"ingestion in {time.perf_counter() - began:.0f}s", file=sys.stderr)
    with psycopg.connect(url, autocommit=True) as conn:
        _add_workflow_rows(conn)
        copies = -(-entities // template)
        _copy_template(conn, copies, entities)
        conn.execute("ANALYZE")  # autovacuum is off on this server
        n_records = conn.execute("SELECT count(*) FROM records.records").fetchone()
        n = int(n_records[0]) if n_records else 0
        conn.execute("CREATE TABLE public.bench_meta (template int, entities int, records "
                     "bigint)")
        conn.execute("INSERT INTO public.bench_meta VALUES (%s, %s, %s)",
                     (template, entities, n))
    print(f"records database {BENCH_DB}: {entities:,} entities, {n:,} records in "
          f"{time.perf_counter() - began:.0f}s", file=sys.stderr)
    return url


def _add_workflow_rows(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Objections, commitments and shields on a few template entities, as the workflows
    (services.records.workflows) store them; deterministic by id."""
    today = TODAY.isoformat()
    # 1 in 50 listed records objected to: a third still open (disputed), the rest rejected.
    conn.execute(f"""
        INSERT INTO records.objections (id, record_id, department, target, grounds, state,
                                        filed_on, due, resolved_on, resolution)
        SELECT row_number() OVER (ORDER BY r.id), r.id, r.department, 'content', '事实有误',
               CASE WHEN r.id % 3 = 0 THEN 'open' ELSE 'rejected' END, f.filed,
               f.filed + 15, CASE WHEN r.id % 3 = 0 THEN NULL ELSE f.filed + 10 END,
               CASE WHEN r.id % 3 = 0 THEN '' ELSE '维持原认定' END
        FROM records.records r,
             LATERAL (SELECT least(r.decided_on + 20, DATE '{today}' - 20) AS filed) f
        WHERE r.listed AND r.id % 50 = 7""")
    conn.execute("""UPDATE records.records r SET disputed = true FROM records.objections o
                    WHERE o.record_id = r.id AND o.state = 'open'""")
    # 1 in 20 entities made a commitment: kept, broken or still running.
    conn.execute(f"""
        INSERT INTO records.commitments (id, entity_id, department, source, content,
                                         registered_on, due_on, state, resolved_on, record_id)
        SELECT row_number() OVER (ORDER BY e.id), e.id, 'healthcare_security',
               'medical_procurement', '按期整改并公开承诺', DATE '{today}' - 400,
               DATE '{today}' - 100,
               (ARRAY['kept', 'broken', 'registered'])[e.id % 3 + 1],
               CASE WHEN e.id % 3 < 2 THEN DATE '{today}' - 120 END, NULL
        FROM records.entities e WHERE e.id % 20 = 3""")
    # 1 in 500 entities under a reorganisation shield, a third of them lifted since.
    conn.execute(f"""
        INSERT INTO records.shields (id, entity_id, department, court_ruling, started_on,
                                     lifted_on)
        SELECT row_number() OVER (ORDER BY e.id), e.id, 'admin', '（2025）吉01破申1号',
               DATE '{today}' - 200, CASE WHEN e.id % 3 = 0 THEN DATE '{today}' - 30 END
        FROM records.entities e WHERE e.id % 500 = 11""")


def _copy_template(conn: psycopg.Connection[tuple[object, ...]], copies: int,
                   entities: int) -> None:
    """Copies 1..copies-1 of every template row under offset ids; entities past `entities`
    are left out (with their rows)."""
    span = {t: _max_id(conn, t) for t in _COPIED}
    ent = span["entities"]
    k = f"generate_series(1, {copies - 1}) AS k"
    keep = f"e.id + k * {ent} <= {entities}"
    started = time.perf_counter()
    conn.execute(f"""
        INSERT INTO records.entities
        SELECT e.id + k * {ent}, e.entity_key || '~' || k, e.kind, e.name, e.display_id,
               e.region_code, e.industry, e.established_on, e.created_at, e.updated_at
        FROM records.entities e, {k} WHERE {keep}""")
    # The records' own columns, in table order, with ids, entity ids and keys offset.
    cols = [str(c) for (c,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'records' "
        "AND table_name = 'records' ORDER BY ordinal_position")]
    offset = {"id": f"r.id + k * {span['records']}", "entity_id": f"r.entity_id + k * {ent}",
              "source_record_id": "r.source_record_id || '~' || k"}
    select = ", ".join(offset.get(c, f"r.{c}") for c in cols)
    conn.execute(f"""INSERT INTO records.records SELECT {select}
                     FROM records.records r JOIN records.entities e ON e.id = r.entity_id,
                     {k} WHERE {keep}""")
    rec = span["records"]
    conn.execute(f"""
        INSERT INTO records.objections
        SELECT o.id + k * {span['objections']}, o.record_id + k * {rec}, o.department,
               o.target, o.grounds, o.state, o.filed_on, o.due, o.resolved_on, o.resolution
        FROM records.objections o JOIN records.records r ON r.id = o.record_id
        JOIN records.entities e ON e.id = r.entity_id, {k} WHERE {keep}""")
    conn.execute(f"""
        INSERT INTO records.commitments
        SELECT c.id + k * {span['commitments']}, c.entity_id + k * {ent}, c.department,
               c.source, c.content, c.registered_on, c.due_on, c.state, c.resolved_on, NULL
        FROM records.commitments c JOIN records.entities e ON e.id = c.entity_id, {k}
        WHERE {keep}""")
    conn.execute(f"""
        INSERT INTO records.shields
        SELECT s.id + k * {span['shields']}, s.entity_id + k * {ent}, s.department,
               s.court_ruling, s.started_on, s.lifted_on
        FROM records.shields s JOIN records.entities e ON e.id = s.entity_id, {k}
        WHERE {keep}""")
    conn.execute(f"""
        INSERT INTO records.annual_reports
        SELECT a.id + k * {span['annual_reports']}, a.entity_id + k * {ent}, a.year,
               a.filed_on
        FROM records.annual_reports a JOIN records.entities e ON e.id = a.entity_id, {k}
        WHERE {keep}""")
    print(f"copied the template {copies - 1} times in {time.perf_counter() - started:.0f}s",
          file=sys.stderr)


def _max_id(conn: psycopg.Connection[tuple[object, ...]], table: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(id), 0) FROM records.{table}").fetchone()
    return int(str(row[0])) if row else 0


def entity_keys(url: str, n: int, seed: int = 1) -> list[str]:
    """`n` entity keys drawn at random (reproducibly) from the whole database."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(id) FROM records.entities").fetchone()
        top = int(row[0]) if row else 0
        ids = random.Random(seed).sample(range(1, top + 1), min(n, top))
        return [k for (k,) in conn.execute(
            "SELECT entity_key FROM records.entities WHERE id = ANY(%s)", (ids,))]


# ------------------------------------------------------------------------ the two paths


def sharded_regrade(records_url: str, scoring_url: str, shards: int,
                    batch: int) -> tuple[float, str]:
    """`python -m services.scoring.regrade --shard i/n` × n at once; (seconds, their logs)."""
    env = {**os.environ, "CREDIT_AUTH_MODE": "dev", "CREDIT_TODAY": TODAY.isoformat()}
    logs = []
    began = time.perf_counter()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "services.scoring.regrade", "--records-database-url",
         records_url, "--scoring-database-url", scoring_url, "--as-of", TODAY.isoformat(),
         "--shard", f"{i}/{shards}", "--batch", str(batch)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(shards)]
    for p in procs:
        out, _ = p.communicate(timeout=900)
        if p.returncode:
            raise SystemExit(f"regrade shard failed ({p.returncode}):\n{out}")
        logs.append(out.strip().splitlines()[-1])
    return time.perf_counter() - began, "\n".join(logs)


def naive_regrade(records_url: str, grades: GradeStore, keys: list[str],
                  budget_s: float) -> tuple[float, int]:
    """The baseline: per entity, one evaluation (its own feature query) and one ORM upsert
    of its grade with a history row, committed."""
    from services.common.db import make_engine
    from services.records.models import SCHEMA

    records = make_engine(records_url, SCHEMA)
    evaluator = Evaluator(Model(*load_default()), default_policy(), default_supervision())
    start, done = time.perf_counter(), 0
    try:
        for key in keys:
            if time.perf_counter() - start > budget_s:
                break
            with records.connect() as conn:
                e = evaluator.evaluate(conn, key, TODAY)
            assert e is not None
            d = e.decision
            with grades.sessions() as s:
                old = s.get(Grade, key)
                at = datetime.now(UTC)
                content = dict(grade=d.grade, score=e.score, score_grade=d.score_grade,
                               decided_by=d.decided_by, reasons=[r.code for r in e.reasons],
                               model_version=e.model_version, policy_version=d.policy_version,
                               as_of=TODAY, graded_at=at, cause="bulk")
                if old is None:
                    s.add(Grade(entity_key=key, entity_id=0, kind="", name="", display_id="",
                                region_code="", industry="", sources=0, **content))
                else:
                    for name, value in content.items():
                        setattr(old, name, value)
                s.add(GradeHistory(entity_key=key, previous_grade=old and old.grade,
                                   grade=d.grade, score=e.score, cause="bulk",
                                   model_version=e.model_version,
                                   policy_version=d.policy_version, as_of=TODAY,
                                   graded_at=at))
                s.commit()
            done += 1
    finally:
        records.dispose()
    return time.perf_counter() - start, done


def _count_grades(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        g = conn.execute("SELECT count(*) FROM scoring.grades").fetchone()
        h = conn.execute("SELECT count(*) FROM scoring.grade_history").fetchone()
    return (int(g[0]) if g else 0, int(h[0]) if h else 0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--template", type=int, default=50_000,
                    help="entities generated and ingested; the rest are copies of them")
    ap.add_argument("--reload", action="store_true", help="rebuild the records database")
    ap.add_argument("--shards", type=int, default=2, help="re-grade processes at once")
    ap.add_argument("--batch", type=int, default=50_000, help="entities per transaction")
    ap.add_argument("--repeat", type=int, default=2, help="fast-path runs (fresh grades each)")
    ap.add_argument("--naive-seconds", type=float, default=30)
    ap.add_argument("--no-report", action="store_true",
                    help="print the figures only; RESULTS.md is left alone (for iterating)")
    args = ap.parse_args()

    records_url = ensure_records_database(args.entities, args.template, args.reload)
    with psycopg.connect(records_url) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM records.entities), "
                           "(SELECT count(*) FROM records.records)").fetchone()
    assert row is not None
    n_entities, n_records = int(row[0]), int(row[1])

    runs: list[tuple[float, str, tuple[int, int]]] = []
    naive: tuple[float, int] = (0.0, 0)
    for i in range(args.repeat):
        url, name = fresh_pg_database(PG_URL)
        try:
            open_grade_store(url).engine.dispose()  # migrated once, before the shards start
            seconds, log = sharded_regrade(records_url, url, args.shards, args.batch)
            runs.append((seconds, log, _count_grades(url)))
            print(f"run {i + 1}: {n_entities:,} entities in {seconds:.1f}s "
                  f"= {n_entities / seconds:,.0f}/s\n{log}", file=sys.stderr)
        finally:
            drop_pg_database(name)
        if i == 0:  # the baseline between the fast runs, on the same loaded machine
            url, name = fresh_pg_database(PG_URL)
            try:
                store = open_grade_store(url)
                naive = naive_regrade(records_url, store,
                                      entity_keys(records_url, 200_000), args.naive_seconds)
                store.engine.dispose()
            finally:
                drop_pg_database(name)
            print(f"naive: {naive[1]:,} entities in {naive[0]:.1f}s = "
                  f"{naive[1] / naive[0]:,.1f}/s", file=sys.stderr)

    naive_rate = naive[1] / naive[0]
    best = min(runs, key=lambda r: r[0])
    rate = n_entities / best[0]
    grades, history = best[2]
    all_runs = ", ".join(f"{r[0]:.1f}" for r in runs)
    report = (
        f"\n## Scoring: full re-grade ({time.strftime('%Y-%m-%d %H:%M')})\n\n"
        f"Command: `python bench/regrade_bench.py --entities {args.entities} --shards "
        f"{args.shards} --batch {args.batch}` on PostgreSQL 15, 2 cores shared with the "
        f"database (nothing is stopped for the run). Records database: {n_entities:,} "
        f"entities, {n_records:,} records "
        f"({args.template:,} generated entities ingested in process, then copied; see the "
        f"script's docstring). Each run writes into a fresh grade database, so every grade "
        f"and its first history row is inserted.\n\n"
        f"| path | entities | seconds | entities/s | ratio |\n|---|---:|---:|---:|---:|\n"
        f"| `python -m services.scoring.regrade --shard i/{args.shards} --batch {args.batch}` × "
        f"{args.shards} "
        f"processes (best of {len(runs)}: {all_runs} s) | {n_entities:,} | {best[0]:.1f} | "
        f"{rate:,.0f} | {rate / naive_rate:,.0f}× |\n"
        f"| naive: `Evaluator.evaluate` + ORM upsert, history row and commit per entity "
        f"(baseline, same run, {args.naive_seconds:.0f} s sample of random entities, rate "
        f"extrapolated) | {naive[1]:,} | {naive[0]:.1f} | {naive_rate:,.1f} | 1.0× |\n\n"
        f"Stored: {grades:,} grades, {history:,} history rows. The naive path would take "
        f"{n_entities / naive_rate / 3600:,.1f} h for all entities. Shards' own accounts:\n\n"
        + "".join(f"    {line}\n" for line in best[1].splitlines()) +
        f"\nTarget ≤ 60 s: {'met' if best[0] <= 60 else 'NOT met'}; target ≥ 50× naive: "
        f"{'met' if rate / naive_rate >= 50 else 'NOT met'}.\n"
    )
    publish(report, args.no_report)
    return 0


def publish(report: str, dry: bool) -> None:
    """Prints a results section and, unless `dry`, appends it to bench/RESULTS.md."""
    print(report)
    if not dry:
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(report)


if __name__ == "__main__":
    sys.exit(main())
