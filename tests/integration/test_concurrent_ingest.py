"""Writers plan outside the writer lock; a change that lands in between is caught under it.

The interfering write is injected right after the batch was planned on its snapshot, which is
exactly the window two real writers race in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from services.records import ingest as ingest_module
from services.records.ingest import commit, ingest, prepare
from services.records.store import Store
from tests.conftest import MEDICAL
from tests.factories import medical, uscc


def _interfere_after_planning(monkeypatch: pytest.MonkeyPatch,
                              interference: Callable[[], Any]) -> None:
    original = ingest_module._plan
    done = False

    def plan_then_interfere(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = original(*args, **kwargs)
        if kwargs.get("snapshot") and not done:
            done = True
            interference()
        return result

    monkeypatch.setattr(ingest_module, "_plan", plan_then_interfere)


def test_history_written_meanwhile_is_seen(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    code = uscc(1)
    _interfere_after_planning(monkeypatch, lambda: ingest(store, MEDICAL, [
        medical("b-1", code, decided="2025-06-01"), medical("b-2", code, decided="2025-06-02")]))
    result = commit(store, MEDICAL, prepare(store, MEDICAL, [
        medical("a-3", code, decided="2025-06-03")]))[0]
    # Planned alone it was a first 失信; the two records written meanwhile make it the third.
    assert result.outcome == "created" and result.record is not None
    assert result.record["source_level"] == "严重失信"


def test_entity_created_meanwhile_is_reused(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    code = uscc(2)
    _interfere_after_planning(monkeypatch, lambda: ingest(store, MEDICAL, [
        medical("b-1", code, decided="2025-06-01")]))
    result = commit(store, MEDICAL, prepare(store, MEDICAL, [
        medical("a-1", code, decided="2025-06-02")]))[0]
    assert result.outcome == "created" and result.record is not None
    with store.sessions() as s:
        from sqlalchemy import func, select

        from services.records.models import Entity
        assert s.execute(select(func.count()).select_from(Entity)).scalar_one() == 1


def test_key_taken_meanwhile_by_another_entity(store: Store,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _interfere_after_planning(monkeypatch, lambda: ingest(store, MEDICAL, [
        medical("same-id", uscc(3))]))
    results = commit(store, MEDICAL, prepare(store, MEDICAL, [
        medical("same-id", uscc(4)), medical("other", uscc(4))]))
    assert results[0].error is not None
    assert results[0].error.code == grpc.StatusCode.ALREADY_EXISTS
    assert results[1].outcome == "created"
