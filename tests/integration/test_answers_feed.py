"""Evaluate's answers in memory, on real SQLite and PostgreSQL records databases: a write to
one entity's credit file drops that entity's kept answers and no other's; a feed that is not
the one the answers were read from (a restored database) drops everything; an answer whose
entity changed, or whose model was replaced, while it was computed is served but not kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from credit.v1 import scoring_pb2
from services.common.codes import PersonalIdProtector
from services.records.audit import feed_head, feed_tip
from services.records.ingest import ingest
from services.records.models import AuditEntry
from services.records.store import Store
from services.scoring import answers
from services.scoring.answers import AnswerStore, follow_feed
from services.scoring.evaluate import Evaluator
from services.scoring.policy import default_policy
from services.scoring.server import ScoringServicer
from services.scoring.serving import ModelSource
from services.scoring.store import open_grade_store
from services.scoring.supervision import default_supervision
from tests.conftest import MEDICAL, PII_KEY, TODAY
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
            assert kept.put(kept.ticket(), (tip, None), [(one, DAY, "1"), (two, DAY, "2")]) == 2
            await asyncio.to_thread(ingest, store, MEDICAL, [medical("f-3", uscc(1))])
            await _until(lambda: kept.get(one, DAY) is None)
            assert kept.get(two, DAY) == "2"
            assert kept.position is not None and kept.position[0] == tip + 1
        finally:
            follower.cancel()

    asyncio.run(scenario())


def test_a_feed_without_the_events_checked_drops_everything(store: Store) -> None:
    ingest(store, MEDICAL, [medical("r-0", uscc(3))])
    ingest(store, MEDICAL, [medical("r-1", uscc(1))])
    with store.engine.connect() as conn:
        seq, digest = feed_head(conn)
        assert answers._changes_after(conn, (seq, digest)) == ((seq, digest), [])
        # What a follower remembers of a database since restored from another backup.
        assert answers._changes_after(conn, (seq, "0" * 64)) == ((seq, digest), None)
        # An answer was read at an event past the tip, or at one that is now another: a
        # replica promoted without the last writes, a restore to a point between them.
        assert answers._changes_after(conn, (seq, digest), (seq + 1, "1" * 64)) == \
            ((seq, digest), None)
        assert answers._changes_after(conn, (seq - 1, feed_hash(conn, seq - 1)),
                                      (seq, "1" * 64)) == ((seq, digest), None)
    ingest(store, MEDICAL, [medical("r-2", uscc(2))])
    with store.engine.connect() as conn:
        tip = feed_head(conn)
        assert answers._changes_after(conn, (seq, digest), (seq, digest)) == \
            (tip, [_key_of(store, tip[0])])


def feed_hash(conn: Connection, seq: int) -> str:
    return str(conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == seq)).scalar_one())


class Following:
    """A scoring servicer whose answers are kept, its store following the feed by hand (one
    poll per `poll()`), and the key of the entity of the feed's last event."""

    def __init__(self, store: Store, tmp_path: Path) -> None:
        policy = default_policy()
        self.model, self.model_dir = ModelSource(None, None, policy).load()
        self.kept: AnswerStore[bytes] = AnswerStore(100, 60.0)
        self.servicer = ScoringServicer(
            Evaluator(self.model, policy, default_supervision()), store.engine,
            open_grade_store(f"sqlite:///{tmp_path}/scoring.db"),
            PersonalIdProtector(PII_KEY), lambda: TODAY, self.model_dir, answers=self.kept)
        self.engine = store.engine
        with store.engine.connect() as conn:
            tip = feed_head(conn)
        self.kept.advance(tip, [], self.kept.clock())
        self.key = _key_of(store, tip[0])
        self._read = self.servicer.evaluator.evaluate_many

    def poll(self) -> None:
        seen, newest = self.kept.watch()
        assert seen is not None
        with self.engine.connect() as conn:
            self.kept.advance(*answers._changes_after(conn, seen, newest), self.kept.clock())

    def during_the_read(self, then: Callable[[], None] | None) -> None:
        """Runs `then` after an evaluation has read its features, before its answer is kept
        (None: no longer)."""
        def evaluate_many(*args: Any, **kwargs: Any) -> Any:
            found = self._read(*args, **kwargs)
            if then is not None:
                then()
            return found

        self.servicer.evaluator.evaluate_many = evaluate_many  # type: ignore[method-assign]

    def evaluate(self) -> scoring_pb2.Evaluation | None:
        """Evaluate's read of the entity as of TODAY; what it kept is `kept_answer`."""
        return self.servicer._evaluate_keys(TODAY, [(self.key, None)]).get((self.key, None))

    def kept_answer(self) -> bytes | None:
        return self.kept.get(self.key, (TODAY, None))


def test_an_answer_whose_entity_changed_while_it_was_read_is_not_kept(
        store: Store, tmp_path: Path) -> None:
    ingest(store, MEDICAL, [medical("o-1", uscc(1))])
    p = Following(store, tmp_path)

    def write_and_poll() -> None:
        # The entity's new record lands after its features were read, and the follower
        # sees it before the answer is kept.
        ingest(store, MEDICAL, [medical("o-2", uscc(1), amount="1500000")])
        p.poll()

    p.during_the_read(write_and_poll)
    try:
        assert p.evaluate() is not None  # served: the credit file as read
        assert p.kept_answer() is None  # but not kept: the feed passed it
        p.during_the_read(None)
        again = p.evaluate()  # read again, now after the write: kept
        assert again is not None and again.features["n_active_serious"] == 1
        assert p.kept_answer() == again.SerializeToString()
    finally:
        p.servicer.close()


def test_an_answer_read_while_the_model_was_replaced_is_not_kept(
        store: Store, tmp_path: Path) -> None:
    ingest(store, MEDICAL, [medical("m-1", uscc(1))])
    p = Following(store, tmp_path)
    p.during_the_read(lambda: p.servicer.install_model(p.model, p.model_dir))
    try:
        assert p.evaluate() is not None
        assert p.kept_answer() is None
    finally:
        p.servicer.close()
