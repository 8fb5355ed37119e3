"""Event-driven re-grading from the records change feed (WatchChanges).

The consumer follows the feed from its stored cursor, gathers the entities that changed
(a record, a repair, an upheld objection, a publication period ending, a shield lifted, …),
re-grades them through the bulk path and stores the grades together with the new cursor in
one transaction. After a restart it resumes from that cursor: delivery is at least once and
re-grading is idempotent, so nothing is missed and nothing is applied twice. Of several
replicas sharing a grade store only the holder of a PostgreSQL advisory lock follows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import grpc
from prometheus_client import Gauge
from sqlalchemy import Connection, Engine, select

from credit.v1 import records_pb2
from services.common.config import CLIENT_CHANNEL_OPTIONS
from services.common.db import SessionLock
from services.common.stubs import records_stub
from services.records.audit import FEED_TIP_METADATA, feed_tip
from services.scoring.evaluate import Model
from services.scoring.features import feature_rows
from services.scoring.models import ConsumerCursor
from services.scoring.policy import GradePolicy
from services.scoring.regrade import grade_rows
from services.scoring.store import CURSOR, GradeStore, store_cursor, write_grades

log = logging.getLogger(__name__)
# One replica follows the feed (the others would re-grade the same entities); a standby
# retries the lock this often, and the follower checks it still holds it this often.
FEED_LOCK = "credit.scoring.feed-consumer"
LOCK_RETRY_SECONDS = 2.0
LOCK_CHECK_SECONDS = 5.0
# Gather events for at most this long (or this many) before re-grading them together.
IDLE_SECONDS = 0.2
MAX_EVENTS = 2000
# A trickle of events just under IDLE_SECONDS apart must not hold a batch open for minutes.
MAX_GATHER_SECONDS = 1.0
# How long a re-grade waits for a lagging read replica before it fails (and is retried).
REPLICA_WAIT_SECONDS = 30.0
QUEUED_EVENTS = 10_000  # read ahead of the re-grade in hand, at most
# 1 while the records feed refuses the stored cursor: nothing is re-graded from the feed
# until an operator resets it (`python -m services.scoring.regrade --reset-feed-cursor`).
CURSOR_REFUSED = Gauge("scoring_feed_cursor_refused",
                       "1 while the change feed refuses the stored cursor (beyond its last "
                       "event, or a different event there: a restored records database); "
                       "event re-grading has stopped")
# The feed's answers to a cursor it no longer knows (see WatchChanges in records.proto).
_REFUSED = (grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.FAILED_PRECONDITION)


class ReplicaBehind(RuntimeError):
    """The records database scoring reads has not yet applied the events it is told of."""


def _wait_for_feed(conn: Connection, seq: int) -> None:
    """Returns once `conn` sees the change feed up to `seq`. The events come from the records
    service (its primary); the features from SCORING_RECORDS_DATABASE_URL, which may be a
    replica: read before it has replayed them, an entity would be graded on its old file and
    the cursor would still move past the change."""
    deadline = time.monotonic() + REPLICA_WAIT_SECONDS
    while (tip := feed_tip(conn)) < seq:
        conn.rollback()  # the next look takes a new snapshot
        if time.monotonic() > deadline:
            raise ReplicaBehind(f"the records database read for features is at event {tip}, "
                                f"the change feed at {seq}: is the replica lagging?")
        time.sleep(0.1)


class LostFeedLock(RuntimeError):
    """This replica no longer holds the change-feed lock."""


class ChangeConsumer:
    def __init__(self, records_address: str, token: str | None, records: Engine,
                 grades: GradeStore, model: Callable[[], Model], policy: GradePolicy,
                 today: Callable[[], date]) -> None:
        self.address, self.token = records_address, token
        self.records, self.grades = records, grades
        # A callable: the service may switch models while the consumer runs.
        self.model, self.policy, self.today = model, policy, today
        self.lock = SessionLock(grades.engine, FEED_LOCK)
        # The re-grade in a worker thread, if one runs: waited for before the lock is let go.
        self._applying: asyncio.Future[int] | None = None

    def cursor(self) -> tuple[int, str]:
        """The stored cursor: (seq, hash of that event; "" if unknown), (0, "") for none."""
        with self.grades.sessions() as session:
            row = session.execute(select(ConsumerCursor.seq, ConsumerCursor.hash)
                                  .where(ConsumerCursor.name == CURSOR)).first()
        return (int(row.seq), row.hash or "") if row is not None else (0, "")

    def apply(self, last_seq: int, last_hash: str, kinds: dict[str, str]) -> int:
        """Re-grades the changed entities and moves the cursor, atomically; returns how many."""
        as_of, model = self.today(), self.model()
        rows = []
        with self.records.connect() as conn:
            _wait_for_feed(conn, last_seq)
            for batch in feature_rows(conn, as_of, entity_keys=sorted(kinds)):
                rows += grade_rows(model, self.policy, batch)
        by_cause: dict[str, list[object]] = {}
        for row in rows:
            by_cause.setdefault(f"event:{kinds[row.entity_key]}", []).append(row)
        with self.grades.writer() as session:
            # Fencing: written only while this process holds the feed lock, checked in the
            # very transaction (the writer lock orders it before any new follower's write).
            if not self.lock.holds(session):
                raise LostFeedLock("the change-feed lock is no longer held; nothing written")
            for cause, group in by_cause.items():
                # confirm: a bulk re-grade that read before this event leaves these alone.
                write_grades(session, group, cause, as_of,  # type: ignore[arg-type]
                             confirm=True)
            store_cursor(session, last_seq, last_hash or None)
        return len(rows)

    async def run(self) -> None:
        """Follows the feed until cancelled, reconnecting with backoff. With several replicas
        only the one holding the feed lock follows; the others stand by to take over."""
        backoff = 0.5
        while True:
            began = time.monotonic()
            failure: Exception | None = None
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = exc
            if time.monotonic() - began > 60:
                backoff = 0.5  # after a long healthy spell a failure is news, not a streak
            if isinstance(failure, grpc.aio.AioRpcError) and failure.code() in _REFUSED:
                # Not transient: retried only in case the records service comes back on the
                # right database. The remedy is a full re-grade that resets the cursor.
                CURSOR_REFUSED.set(1)
                log.error("the change feed refuses this consumer's cursor (records database "
                          "restored from an older backup?); grades are not following it. "
                          "Run `python -m services.scoring.regrade --reset-feed-cursor`",
                          extra={"code": failure.code().name, "detail": failure.details(),
                                 "retry_in_s": backoff})
            elif isinstance(failure, grpc.aio.AioRpcError):
                log.warning("change feed unavailable; retrying",
                            extra={"code": failure.code().name, "retry_in_s": backoff})
            elif failure is not None:
                log.error("change feed consumer failed; retrying", exc_info=failure,
                          extra={"retry_in_s": backoff})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _lead(self) -> None:
        """Waits for the feed lock, then follows the feed for as long as it holds it."""
        standing_by = False
        while not await asyncio.to_thread(self.lock.try_acquire):
            if not standing_by:
                log.info("another replica follows the change feed; standing by")
                standing_by = True
                # The follower reports the feed's answer; a standby has none of its own (a
                # refused replica that lost the lock would otherwise keep the alert on).
                CURSOR_REFUSED.set(0)
            await asyncio.sleep(LOCK_RETRY_SECONDS)
        follow = asyncio.ensure_future(self._follow())
        try:
            while not follow.done():
                await asyncio.wait({follow}, timeout=LOCK_CHECK_SECONDS)
                if not follow.done() and not await asyncio.to_thread(self.lock.alive):
                    # Another replica may hold it now: stop before grading beside it.
                    raise LostFeedLock("lost the change-feed lock (database connection gone)")
            follow.result()
        finally:
            follow.cancel()
            # Waits without taking on their outcome (and without swallowing a cancellation
            # of this task): a re-grade thread in flight finishes or fails its fence first.
            await asyncio.wait({follow})
            if self._applying is not None:
                await asyncio.wait({self._applying})
                if not self._applying.cancelled():
                    self._applying.exception()  # seen: its failure is the lock's, not news
            await asyncio.to_thread(self.lock.release)

    async def _follow(self) -> None:
        after, after_hash = await asyncio.to_thread(self.cursor)
        metadata = (("authorization", f"Bearer {self.token}"),) if self.token else None
        async with grpc.aio.insecure_channel(self.address,
                                            options=CLIENT_CHANNEL_OPTIONS) as channel:
            stub = records_stub(channel)
            call = stub.WatchChanges(records_pb2.WatchChangesRequest(
                after_seq=after, after_hash=after_hash, follow=True, batch_size=MAX_EVENTS),
                metadata=metadata)
            metadata_in = await call.initial_metadata()
            tip = metadata_in.get(FEED_TIP_METADATA) if metadata_in is not None else None
            if tip is not None:  # accepted; else the first read raises the call's error
                CURSOR_REFUSED.set(0)
                log.info("following the change feed", extra={"after_seq": after, "tip": tip})
            # One task reads the stream for the call's life and queues the events: reads are
            # never cancelled mid-message, and gathering costs a queue hand-off per event
            # (a timed wait per event held the consumer to ~7,000 events/s).
            events: asyncio.Queue[records_pb2.ChangeEvent | None] = asyncio.Queue(QUEUED_EVENTS)

            async def receive() -> None:
                async for event in call:
                    await events.put(event)
                await events.put(None)  # the stream ended

            reader = asyncio.ensure_future(receive())
            try:
                while True:
                    event = _IDLE
                    while event is _IDLE:  # (the reader may end a moment before its None)
                        event = await _take(events, reader, None)
                    if event is None:
                        return
                    assert isinstance(event, records_pb2.ChangeEvent)
                    kinds, last = {event.entity_key: event.kind}, event
                    until = time.monotonic() + MAX_GATHER_SECONDS
                    while len(kinds) < MAX_EVENTS:
                        wait = min(IDLE_SECONDS, until - time.monotonic())
                        if wait <= 0:
                            break
                        more = await _take(events, reader, wait)
                        if more is _IDLE:
                            break
                        if more is None:
                            events.put_nowait(None)  # apply what we have; then the end
                            break
                        assert isinstance(more, records_pb2.ChangeEvent)
                        kinds[more.entity_key], last = more.kind, more
                    self._applying = asyncio.ensure_future(
                        asyncio.to_thread(self.apply, last.seq, last.hash, kinds))
                    graded = await asyncio.shield(self._applying)
                    log.info("re-graded from the change feed",
                             extra={"entities": graded, "cursor": last.seq})
            finally:
                reader.cancel()
                call.cancel()
                # Retrieved, so a reader that failed (or was cancelled) leaves no warning.
                await asyncio.wait({reader})
                if not reader.cancelled():
                    reader.exception()


_IDLE = object()  # _take's answer when nothing came in time


async def _take(events: asyncio.Queue[records_pb2.ChangeEvent | None],
                reader: asyncio.Future[None], timeout: float | None) -> object:
    """The next queued event (None: the stream ended), or _IDLE after `timeout` seconds
    without one; the stream's failure is raised as soon as the reader meets it."""
    if not events.empty():
        return events.get_nowait()
    getter = asyncio.ensure_future(events.get())
    waiting: set[asyncio.Future[Any]] = {getter, reader}
    try:
        done, _ = await asyncio.wait(waiting, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()  # a cancelled get leaves any event it was woken for queued
    if getter in done and not getter.cancelled():
        return getter.result()
    if reader in done:
        reader.result()  # the stream's error; after a clean end its None is queued
    return _IDLE
