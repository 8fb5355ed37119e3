"""Coalescing of concurrent lookups: batches form only under load, each caller gets its own
answer, failures and cancellations stay with their batch and their caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence

import pytest

from services.scoring.coalesce import Coalescer


class Source:
    """A fetch that records its batches and holds each until released."""

    def __init__(self, missing: frozenset[int] = frozenset()) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.release = threading.Event()
        self.missing = missing
        self.fail_on: int | None = None

    def __call__(self, group: str, keys: Sequence[int]) -> Mapping[int, str]:
        self.batches.append((group, list(keys)))
        self.release.wait(timeout=10)
        if self.fail_on in keys:
            raise RuntimeError(f"database down at {self.fail_on}")
        return {k: f"{group}:{k}" for k in keys if k not in self.missing}


async def _until(predicate: object, seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.001)


def test_an_idle_lookup_goes_alone_and_at_once() -> None:
    async def main() -> None:
        source = Source()
        source.release.set()
        c = Coalescer("t", source, lanes=2)
        assert await c.get("a", 1) == "a:1"
        assert source.batches == [("a", [1])]
    asyncio.run(main())


def test_lookups_arriving_while_the_lanes_are_busy_share_one_batch_per_group() -> None:
    async def main() -> None:
        source = Source(missing=frozenset({13}))
        c = Coalescer("t", source, lanes=1, most=3)
        first = asyncio.create_task(c.get("a", 1))
        await _until(lambda: source.batches)
        # While the only lane reads key 1: two groups, a repeated key, an absent key, and
        # more keys of group a than one batch takes.
        later = [asyncio.create_task(c.get(g, k))
                 for g, k in [("a", 2), ("b", 7), ("a", 2), ("a", 13), ("a", 4), ("a", 5)]]
        await asyncio.sleep(0.01)
        source.release.set()
        assert await first == "a:1"
        assert [await t for t in later] == ["a:2", "b:7", "a:2", None, "a:4", "a:5"]
        # Oldest group first, each key once, at most 3 keys per batch; the rest of group a
        # waited for the next batch.
        assert source.batches == [("a", [1]), ("a", [2, 13, 4]), ("b", [7]), ("a", [5])]
    asyncio.run(main())


def test_lanes_bound_the_batches_in_flight() -> None:
    async def main() -> None:
        source = Source()
        c = Coalescer("t", source, lanes=2)
        first = [asyncio.create_task(c.get("a", k)) for k in (0, 1)]
        await _until(lambda: len(source.batches) == 1)
        # Keys 0 and 1 arrived in one turn of the loop: one batch. Key 2 takes the second
        # lane; keys 3 and 4 wait for a free one.
        second = asyncio.create_task(c.get("a", 2))
        await _until(lambda: len(source.batches) == 2)
        rest = [asyncio.create_task(c.get("a", k)) for k in (3, 4)]
        await asyncio.sleep(0.01)
        assert len(source.batches) == 2
        source.release.set()
        assert [await t for t in [*first, second, *rest]] == [f"a:{k}" for k in range(5)]
        assert source.batches == [("a", [0, 1]), ("a", [2]), ("a", [3, 4])]
    asyncio.run(main())


def test_a_failed_batch_fails_its_callers_only() -> None:
    async def main() -> None:
        source = Source()
        source.fail_on = 2
        c = Coalescer("t", source, lanes=1)
        first = asyncio.create_task(c.get("a", 1))
        await _until(lambda: source.batches)
        doomed = [asyncio.create_task(c.get("a", k)) for k in (2, 3)]
        other = asyncio.create_task(c.get("b", 2))
        await asyncio.sleep(0.01)
        source.release.set()
        assert await first == "a:1"
        for t in doomed:
            with pytest.raises(RuntimeError, match="database down at 2"):
                await t
        # Group b's batch also holds key 2 and fails; a later lookup succeeds again.
        with pytest.raises(RuntimeError):
            await other
        source.fail_on = None
        assert await c.get("a", 3) == "a:3"
    asyncio.run(main())


def test_a_caller_that_gives_up_leaves_the_batch_to_the_others() -> None:
    async def main() -> None:
        source = Source()
        c = Coalescer("t", source, lanes=1)
        first = asyncio.create_task(c.get("a", 1))
        await _until(lambda: source.batches)
        quitter = asyncio.create_task(c.get("a", 2))
        stayer = asyncio.create_task(c.get("a", 2))
        await asyncio.sleep(0.01)
        quitter.cancel()
        source.release.set()
        assert await first == "a:1" and await stayer == "a:2"
        assert quitter.cancelled()
    asyncio.run(main())


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer("t", Source(), lanes=0)
