"""The follower of the change feed, on real SQLite and PostgreSQL records databases: a write
to one entity's credit file drops that entity's kept answers and no other's; a feed that is
not the one followed (a restored database) drops everything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy import select

from services.records.audit import feed_head, feed_tip
from services.records.ingest import ingest
from services.records.models import AuditEntry
from services.records.store import Store
from services.scoring import answers
from services.scoring.answers import AnswerStore, follow_feed
from tests.conftest import MEDICAL
from tests.factories import medical, uscc

DAY = ("2025-11-20", None)


def _key_of(store: Store, seq: int) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(select(AuditEntry.entity_key)
                                .where(AuditEntry.seq == seq)).scalar_one())


async def _until(ok: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.02)


def test_a_write_drops_its_entitys_answers_and_keeps_the_others(store: Store) -> None:
    ingest(store, MEDICAL, [medical("f-1", uscc(1))])
    ingest(store, MEDICAL, [medical("f-2", uscc(2))])
    with store.engine.connect() as conn:
        tip = feed_tip(conn)
    one, two = _key_of(store, tip - 1), _key_of(store, tip)
    kept: AnswerStore[str] = AnswerStore(100, 60.0)

    async def scenario() -> None:
        follower = asyncio.create_task(follow_feed(kept, store.engine, every=0.02))
        try:
            await _until(lambda: kept.position is not None and kept.position[0] == tip)
            assert kept.put(kept.ticket(), tip, [(one, DAY, "1"), (two, DAY, "2")]) == 2
            await asyncio.to_thread(ingest, store, MEDICAL, [medical("f-3", uscc(1))])
            await _until(lambda: kept.get(one, DAY) is None)
            assert kept.get(two, DAY) == "2"
            assert kept.position is not None and kept.position[0] == tip + 1
        finally:
            follower.cancel()

    asyncio.run(scenario())


def test_another_event_at_the_followed_position_drops_everything(store: Store) -> None:
    ingest(store, MEDICAL, [medical("r-1", uscc(1))])
    with store.engine.connect() as conn:
        seq, digest = feed_head(conn)
        assert answers._changes_after(conn, (seq, digest)) == ((seq, digest), [])
        # What a follower remembers of a database since restored from another backup.
        assert answers._changes_after(conn, (seq, "0" * 64)) == ((seq, digest), None)
    ingest(store, MEDICAL, [medical("r-2", uscc(2))])
    with store.engine.connect() as conn:
        tip = feed_head(conn)
        assert answers._changes_after(conn, (seq, digest)) == (tip, [_key_of(store, tip[0])])
