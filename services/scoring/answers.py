"""Evaluate's answers kept in memory, dropped as soon as the change feed says they are old.

An evaluation as of a date is a function of the entity's credit file, the model and the
policies. Every write to a credit file appends an entry to the records database's audit log
(the change feed) under the writer lock, so feed positions are in commit order. An answer is
therefore kept with the feed position read just before its features were; a follower reads
the log from the same database a few times a second and drops the answers of every entity
that changed after that position. The answers served are those of the credit file as of the
last poll: an answer is normally one poll interval (plus the poll's own query) behind a
write and never more than STALE_SECONDS, the same guarantee in kind as the stored grades',
which follow the same feed. Callers that need their own write reflected ask for `fresh`.

Safety nets, each of which empties the store or stops it serving:
- an answer computed from a snapshot older than the follower's position is not kept (the
  follower may already have passed the event that makes it old);
- no successful poll has begun within STALE_SECONDS (database unreachable, polls slow):
  nothing is served from memory until one has;
- the events at the follower's position or at the latest position an answer was read at are
  gone or are other events (the records database was restored, or a replica promoted without
  the last writes), a new model is installed, or a burst of changes too large to read key by
  key: everything is dropped;
- an answer is served for at most `max_age` seconds, so a change made outside the service
  (an SQL repair, a migration) is reflected within that time even without a feed entry.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Gauge
from sqlalchemy import Connection, Engine, select

from services.common.db import KeptConnections
from services.records.audit import feed_head
from services.records.models import AuditEntry

__all__ = ["AnswerStore", "follow_feed"]

log = logging.getLogger(__name__)
V = TypeVar("V")

POLL_SECONDS = 0.2
# Without a successful poll begun this recently, the store answers nothing: a change may be
# unseen. The most an answer served can lag behind a write (polls normally take milliseconds).
STALE_SECONDS = 1.0
# More changed entities than this in one poll (a bulk load): drop everything instead of
# reading and matching each key.
MOST_KEYS_PER_POLL = 50_000
# Variants kept per entity (dates × departments asked); beyond it the oldest goes.
VARIANTS_PER_ENTITY = 8

LOOKUPS = Counter("scoring_answer_lookups_total",
                  "Evaluate calls by where the answer came from", ["source"])
FROM_MEMORY, FROM_DATABASE = LOOKUPS.labels(source="memory"), LOOKUPS.labels(source="database")
DROPPED = Counter("scoring_answers_dropped_total",
                  "Evaluate answers dropped from memory, by why", ["cause"])
KEPT = Gauge("scoring_answers_kept", "Evaluate answers kept in memory")
POSITION = Gauge("scoring_answers_feed_position",
                 "The change-feed position the kept answers are checked against")


# The feed's last event: (seq, hash), (0, None) for an empty feed (records.audit.feed_head).
FeedPosition = tuple[int, str | None]


def _changes_after(conn: Connection, seen: FeedPosition, newest: FeedPosition | None = None
                   ) -> tuple[FeedPosition, list[str] | None]:
    """(the feed's tip, the entities changed after `seen`), or (tip, None) when everything
    must go: too many changes, or the feed is not the one the answers were read from (a
    restored database, a replica promoted after losing the last writes). `newest` is the
    latest position an answer kept was read at, which may be past `seen`: both must still
    be there. The log is hash-chained, so the later one's hash vouches for every event up to
    it."""
    tip = feed_head(conn)
    check = max(seen, newest or seen, key=lambda position: position[0])
    if check[0] and check != tip and conn.execute(select(AuditEntry.hash).where(
            AuditEntry.seq == check[0])).scalar() != check[1]:
        return tip, None
    if tip == seen:
        return tip, []
    keys = list(conn.execute(
        select(AuditEntry.entity_key).distinct()
        .where(AuditEntry.seq > seen[0], AuditEntry.seq <= tip[0])
        .limit(MOST_KEYS_PER_POLL + 1)).scalars())
    return tip, (None if len(keys) > MOST_KEYS_PER_POLL else keys)


class AnswerStore(Generic[V]):
    """Answers by entity, then by (as_of, department, …) variant: at most `most` answers, the
    least recently asked entity's dropped first. Thread-safe: answers are put from the
    evaluation thread and dropped from the feed follower."""

    def __init__(self, most: int, max_age: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.most, self.max_age, self.clock = most, max_age, clock
        self._by_entity: OrderedDict[str, dict[Hashable, tuple[V, float]]] = OrderedDict()
        self._count = 0  # answers in _by_entity
        self._lock = threading.Lock()
        self._seen: FeedPosition | None = None  # None until the first poll
        # The latest feed position a kept answer was read at (since the last drop-all).
        self._newest: FeedPosition | None = None
        # Clock time at which the last successful poll began: what it saw is at least as new.
        self._synced = float("-inf")
        self._generation = 0  # bumped by every drop-all: work begun before it is not kept

    @property
    def enabled(self) -> bool:
        return self.most > 0

    @property
    def position(self) -> FeedPosition | None:
        """The feed's last event as of the follower's last poll (None before the first)."""
        return self._seen

    def watch(self) -> tuple[FeedPosition | None, FeedPosition | None]:
        """What the next poll checks the feed against: the follower's position and the
        latest position a kept answer was read at."""
        with self._lock:
            return self._seen, self._newest

    def get(self, entity: str, variant: Hashable) -> V | None:
        now = self.clock()
        if now - self._synced > STALE_SECONDS:
            FROM_DATABASE.inc()
            return None
        with self._lock:
            kept = self._by_entity.get(entity)
            found = kept.get(variant) if kept is not None else None
            if found is not None and now - found[1] <= self.max_age:
                self._by_entity.move_to_end(entity)
                FROM_MEMORY.inc()
                return found[0]
        FROM_DATABASE.inc()
        return None

    def ticket(self) -> int | None:
        """Taken before reading an answer's inputs (and before choosing the model that
        computes it): None when nothing may be kept (disabled, or not yet following)."""
        with self._lock:
            if not self.enabled or self._seen is None:
                return None
            return self._generation

    def put(self, ticket: int | None, read_at: FeedPosition,
            answers: Iterable[tuple[str, Hashable, V]]) -> int:
        """Keeps answers whose inputs were read at feed position `read_at` (the feed's last
        event, read just before them), unless the follower has since passed that position or
        everything was dropped since `ticket`; returns how many were kept."""
        if ticket is None:
            return 0
        now, kept = self.clock(), 0
        with self._lock:
            if (self._seen is None or ticket != self._generation
                    or read_at[0] < self._seen[0]):
                return 0
            if self._newest is None or read_at[0] > self._newest[0]:
                self._newest = read_at
            for entity, variant, value in answers:
                variants = self._by_entity.get(entity)
                if variants is None:
                    variants = self._by_entity[entity] = {}
                else:
                    self._by_entity.move_to_end(entity)
                self._count -= variants.pop(variant, None) is not None
                variants[variant] = (value, now)
                self._count += 1
                if len(variants) > VARIANTS_PER_ENTITY:
                    del variants[next(iter(variants))]
                    self._count -= 1
                kept += 1
            while self._count > self.most:
                _, gone = self._by_entity.popitem(last=False)
                self._count -= len(gone)
                DROPPED.labels(cause="capacity").inc(len(gone))
            KEPT.set(self._count)
        return kept

    def clear(self, cause: str) -> None:
        with self._lock:
            self._drop_all(cause)

    def _drop_all(self, cause: str) -> None:
        self._generation += 1
        self._newest = None
        DROPPED.labels(cause=cause).inc(self._count)
        self._by_entity.clear()
        self._count = 0
        KEPT.set(0)

    def advance(self, tip: FeedPosition, changed: list[str] | None, polled_at: float) -> None:
        """The follower's poll, begun at clock time `polled_at`: drops the answers of
        `changed` (everything when None) and moves the position to `tip`."""
        with self._lock:
            if changed is None or (self._seen is not None and tip[0] < self._seen[0]):
                self._drop_all("feed_reset")
            else:
                for key in changed:
                    gone = self._by_entity.pop(key, None)
                    if gone is not None:
                        self._count -= len(gone)
                        DROPPED.labels(cause="changed").inc(len(gone))
                KEPT.set(self._count)
            self._seen, self._synced = tip, max(self._synced, polled_at)
            POSITION.set(tip[0])


async def follow_feed(store: AnswerStore[Any], records: Engine,
                      every: float = POLL_SECONDS) -> None:
    """Polls the records database's change feed until cancelled, dropping changed answers.
    A failed poll is logged once per outage; the store stops serving after STALE_SECONDS.
    The polls have a thread of their own: queued behind EvaluateBatch or Regrade work in
    the shared pool, they would let the answers served fall behind."""

    # One connection kept for the polls: a pooled one would cost a pre-ping round trip and
    # a reset on every poll. Autocommit suits them: events up to the tip read first are
    # committed, and commit order is feed order.
    reader = KeptConnections(records, 1)

    def poll(seen: FeedPosition | None, newest: FeedPosition | None
             ) -> tuple[FeedPosition, list[str] | None]:
        if seen is None:
            return reader.run(lambda conn: (feed_head(conn), []))
        return reader.run(lambda conn: _changes_after(conn, seen, newest))

    loop = asyncio.get_running_loop()
    thread = ThreadPoolExecutor(1, thread_name_prefix="answers-feed")
    failing = False
    try:
        while True:
            try:
                began = store.clock()
                tip, changed = await loop.run_in_executor(thread, poll, *store.watch())
                store.advance(tip, changed, began)
                if failing:
                    log.info("following the change feed again; answers kept in memory are "
                             "served")
                failing = False
            except Exception:  # the follower must outlive any outage
                if not failing:
                    log.exception("cannot read the change feed; Evaluate reads the database "
                                  "until it can")
                failing = True
            await asyncio.sleep(every)
    finally:
        thread.shutdown(wait=False)  # a poll stuck on the database must not hold the stop
        reader.close()
