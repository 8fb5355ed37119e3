"""The change consumer reads features only from a records database that has caught up with
the events it is re-grading (a read replica may lag behind the records service's primary)."""

from __future__ import annotations

import threading
import time

import pytest

from services.records.audit import feed_tip
from services.records.ingest import ingest
from services.records.store import Store
from services.scoring import consumer
from tests.conftest import MEDICAL
from tests.factories import medical, uscc


def test_features_wait_for_the_feed_and_give_up_loudly(store: Store,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(store, MEDICAL, [medical("w-1", uscc(1))])
    with store.engine.connect() as conn:
        tip = feed_tip(conn)
        consumer._wait_for_feed(conn, tip)  # caught up: at once

        # An event the reader has not seen yet arrives while it waits (a replica replaying).
        later = threading.Timer(0.3, lambda: ingest(store, MEDICAL, [medical("w-2", uscc(2))]))
        later.start()
        started = time.monotonic()
        consumer._wait_for_feed(conn, tip + 1)
        later.join()
        assert time.monotonic() - started >= 0.2
        assert feed_tip(conn) >= tip + 1

        # Never caught up: the re-grade fails (and is retried), the cursor stays put.
        monkeypatch.setattr(consumer, "REPLICA_WAIT_SECONDS", 0.3)
        with pytest.raises(consumer.ReplicaBehind, match="lagging"):
            consumer._wait_for_feed(conn, tip + 100)
