"""Bulk re-grade: every entity (or one shard of them) as of a date, into the grade store.

    python -m services.scoring.regrade --records-database-url URL \\
        --scoring-database-url URL [--as-of DATE] [--shard i/n | --reset-feed-cursor]

Feature batches stream from the records database (one aggregate query, see features.py), are
scored, decided and explained vectorised, and each batch is written in its own transaction
with `write_grades`. A re-run is cheap and safe: unchanged grades are not rewritten, so a
crashed run is simply started again. Shards (ids ≡ i mod n) let a Kubernetes Indexed Job
spread the work; the writer lock keeps their writes from interleaving.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO, TypeVar

from sqlalchemy import Engine, func, select

from models.registry import ModelArtifactError
from services.common.config import clock, env_path, fixed_today
from services.common.db import make_engine
from services.records.audit import feed_head
from services.records.models import SCHEMA as RECORDS_SCHEMA
from services.records.models import Entity
from services.scoring.config import records_database_url, scoring_database_url
from services.scoring.evaluate import GRADE_INPUTS, LIST_INPUT, Model, grade_columns
from services.scoring.features import FEATURE_NAMES, FeatureBatch, feature_rows
from services.scoring.policy import GRADES, GradePolicy, default_policy
from services.scoring.serving import ModelSource
from services.scoring.store import (
    GradeRow,
    GradeStore,
    open_grade_store,
    store_cursor,
    write_grades,
)

__all__ = ["RegradeStats", "grade_rows", "main", "parse_shard", "regrade_all"]

T = TypeVar("T")
# Entities per transaction: each write stages its rows in a temporary table created for it;
# at 10,000 that overhead and the per-batch index work took a third longer on 1M entities.
BATCH = 50_000


@dataclass
class RegradeStats:
    entities: int = 0
    total: int = 0  # entities in scope when the run began
    written: int = 0  # grade rows inserted or changed
    history: int = 0  # history rows appended
    by_grade: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))
    seconds_features: float = 0.0  # waiting for the records database's aggregation
    seconds_scoring: float = 0.0  # score, hard rules, reason codes, row building
    seconds_writing: float = 0.0  # staging, history, upsert and commit
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.entities / self.seconds if self.seconds > 0 else 0.0


def grade_rows(model: Model, policy: GradePolicy, batch: FeatureBatch) -> list[GradeRow]:
    """A batch's grades, exactly as Evaluator.evaluate decides them one at a time."""
    wanted = {*model.scorecard.names, *GRADE_INPUTS, LIST_INPUT}
    graded = grade_columns(model, policy, {name: batch.matrix[:, FEATURE_NAMES.index(name)]
                                           for name in wanted})
    assert graded.reasons is not None
    names, labels = model.scorecard.names, policy.decided_by_labels
    combos: dict[tuple[int, ...], tuple[str, ...]] = {}

    def reasons(idx: list[int]) -> tuple[str, ...]:
        key = tuple(idx)
        got = combos.get(key)
        if got is None:
            got = combos[key] = tuple(names[j] for j in idx if j >= 0)
        return got

    mv, pv = model.version, policy.version
    return [
        GradeRow(key, eid, GRADES[g], s, GRADES[sg], labels[d], reasons(r), mv, pv, a.kind,
                 a.name, a.display_id, a.region_code, a.industry, bits)
        for key, eid, g, s, sg, d, r, a, bits in zip(
            batch.entity_keys, batch.entity_ids.tolist(), graded.grade.tolist(),
            graded.scores.tolist(), graded.score_grade.tolist(), graded.decided.tolist(),
            graded.reasons.tolist(), batch.attributes,
            batch.source_bits().tolist(), strict=True)
    ]


def regrade_all(records_engine: Engine, grade_store: GradeStore, model: Model,
                policy: GradePolicy, as_of: date, *, shard: tuple[int, int] | None = None,
                progress: TextIO | None = None, batch: int = BATCH,
                cause: str = "bulk",
                on_batch: Callable[[RegradeStats], None] | None = None) -> RegradeStats:
    """Grades every entity in scope (all, or ids ≡ i mod n for `shard=(i, n)`) as of
    `as_of`, one transaction per batch; `progress` gets a progress bar and `on_batch` the
    running totals after each committed batch."""
    stats = RegradeStats()
    began = time.perf_counter()
    # Before the snapshot is taken: grades written after this came from newer records.
    snapshot_after = datetime.now(UTC)
    with records_engine.connect() as conn:
        count = select(func.count()).select_from(Entity)
        if shard is not None:
            count = count.where(Entity.id % shard[1] == shard[0])
        stats.total = int(conn.execute(count).scalar_one())
        bar = _Bar(progress, stats.total, began)
        # Closed before the connection it reads from, however the loop ends.
        with contextlib.closing(_read_ahead(feature_rows(conn, as_of, shard=shard,
                                                         batch=batch))) as rows:
            while True:
                t0 = time.perf_counter()
                fb = next(rows, None)
                t1 = time.perf_counter()
                stats.seconds_features += t1 - t0
                if fb is None:
                    break
                graded = grade_rows(model, policy, fb)
                t2 = time.perf_counter()
                stats.seconds_scoring += t2 - t1
                with grade_store.writer() as session:
                    result = write_grades(session, graded, cause, as_of,
                                          unless_graded_since=snapshot_after)
                stats.seconds_writing += time.perf_counter() - t2
                stats.entities += len(fb)
                stats.written += result.written
                stats.history += result.history
                for g, n in Counter(r.grade for r in graded).items():
                    stats.by_grade[g] += n
                bar.show(stats.entities)
                if on_batch is not None:
                    on_batch(stats)
    stats.seconds = time.perf_counter() - began
    bar.show(stats.entities, final=True)
    return stats


def _read_ahead(items: Iterator[T], depth: int = 2) -> Generator[T]:
    """`items`, drawn by a thread up to `depth` ahead: the records database aggregates the
    next batches while this one is scored and written (the two alternated before, each
    waiting on PostgreSQL). `items` is only ever touched by that thread."""
    box: queue.Queue[tuple[bool, T | BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[bool, T | BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=run, name="regrade-features", daemon=True)
    reader.start()
    try:
        while True:
            more, item = box.get()
            if not more:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()


class _Bar:
    """`[#####-----] done/total entities, rate/s, ETA` on a terminal (redrawn in place at most
    5 times a second); a plain line every 10 s in logs, where carriage returns pile up."""

    WIDTH = 30

    def __init__(self, out: TextIO | None, total: int, began: float) -> None:
        self.out, self.total, self.began = out, total, began
        self.tty = out is not None and out.isatty()
        self.last = 0.0

    def show(self, done: int, *, final: bool = False) -> None:
        if self.out is None:
            return
        now = time.perf_counter()
        if not final and now - self.last < (0.2 if self.tty else 10.0):
            return
        self.last = now
        elapsed = max(now - self.began, 1e-9)
        rate = done / elapsed
        # The total was counted at the start; entities created since can take it past 100 %.
        share = min(done / self.total, 1.0) if self.total else 1.0
        filled = round(share * self.WIDTH)
        eta = (timedelta(seconds=round(max(self.total - done, 0) / rate)) if rate > 0
               else "?")
        line = (f"regrade [{'#' * filled}{'-' * (self.WIDTH - filled)}] {done:,}/{self.total:,}"
                f" entities, {rate:,.0f}/s, "
                + (f"{elapsed:.1f}s" if final else f"ETA {eta}"))
        end = "\n" if final or not self.tty else ""
        print(("\r" if self.tty else "") + line, end=end, file=self.out, flush=True)


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' → (i, n) with 0 ≤ i < n."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r}: expected i/n, e.g. 0/4") from None
    if not 0 <= i < n:
        raise ValueError(f"shard {text!r}: expected 0 <= i < n")
    return i, n


def main(argv: Sequence[str] | None = None) -> int:
    records_default, scoring_default = records_database_url(), scoring_database_url()
    ap = argparse.ArgumentParser(prog="python -m services.scoring.regrade",
                                 description="Re-grade every entity (or one shard) as of a date.")
    ap.add_argument("--records-database-url", default=records_default,
                    help="default: SCORING_RECORDS_DATABASE_URL, RECORDS_DATABASE_URL or "
                         "sqlite:///$CREDIT_DATA_DIR/records.db")
    ap.add_argument("--scoring-database-url", default=scoring_default,
                    help="default: SCORING_DATABASE_URL or sqlite:///$CREDIT_DATA_DIR/scoring.db")
    ap.add_argument("--as-of", type=date.fromisoformat, default=None,
                    help="YYYY-MM-DD; default: CREDIT_TODAY or today")
    ap.add_argument("--shard", default=None, help="i/n: only entities with id ≡ i mod n")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="default: SCORING_MODEL_DIR, else the DEFAULT of SCORING_MODEL_REGISTRY "
                         "(models/artifacts)")
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--reset-feed-cursor", action="store_true",
                    help="afterwards move the change-feed consumer's cursor to the feed's last "
                         "event as read before the run: after a records database restore, when "
                         "the feed refuses the cursor (scoring_feed_cursor_refused); every "
                         "entity, so not with --shard")
    args = ap.parse_args(argv)
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        ap.error(str(exc))
    if args.reset_feed_cursor and shard is not None:
        ap.error("--reset-feed-cursor re-grades every entity: not with --shard")
    if args.batch < 1:
        ap.error("--batch must be at least 1")
    as_of = args.as_of or clock(fixed_today())()
    policy = default_policy()
    source = ModelSource(args.model_dir or env_path("SCORING_MODEL_DIR"),
                         env_path("SCORING_MODEL_REGISTRY"), policy)
    try:
        model, _ = source.load()
    except ModelArtifactError as exc:
        print(f"regrade: {exc}", file=sys.stderr)
        return 2
    records = make_engine(args.records_database_url, RECORDS_SCHEMA)
    store = open_grade_store(args.scoring_database_url)
    try:
        head = None
        if args.reset_feed_cursor:
            # Read before the grades' snapshot: every event up to it is in what they read.
            with records.connect() as conn:
                head = feed_head(conn)
        stats = regrade_all(records, store, model, policy,
                            as_of, shard=shard, progress=sys.stderr, batch=args.batch)
        if head is not None:
            with store.writer() as session:
                store_cursor(session, *head)
            print(f"regrade: change-feed cursor set to {head[0]:,}", file=sys.stderr)
    finally:
        records.dispose()
        store.engine.dispose()
    grades = ", ".join(f"{g} {n:,}" for g, n in stats.by_grade.items())
    print(f"regrade: {stats.entities:,} entities as of {as_of} in {stats.seconds:.1f}s "
          f"({stats.rate:,.0f}/s: features {stats.seconds_features:.1f}s, scoring "
          f"{stats.seconds_scoring:.1f}s, writing {stats.seconds_writing:.1f}s); "
          f"{stats.written:,} grades written, {stats.history:,} history rows; {grades}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
