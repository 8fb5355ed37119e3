"""Coalescing of concurrent lookups into batches: one database round trip for many callers.

Evaluate reads one entity's features with one aggregate query. Under load most of a call's
cost is the statement itself (its round trip, execution start-up, result handling), not the
entity, so lookups that arrive while earlier ones are being served wait for the next free
lane and then go together, as one query over their keys. Nothing waits for a batch to fill:
an idle service serves a lookup at once, alone, as before; batches form only while every lane
is busy, and their size follows the load (the adaptive batching of model servers, without
the timer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from prometheus_client import Histogram

__all__ = ["Coalescer"]

G = TypeVar("G", bound=Hashable)  # lookups of one group can share a batch
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


BATCH_SIZES = Histogram("scoring_coalesced_batch_keys",
                        "Distinct keys per coalesced lookup (1: served alone)", ["lookup"],
                        buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))


class Coalescer(Generic[G, K, V]):
    """`await get(group, key)` returns `fetch(group, keys)[key]` (None when absent), with
    `fetch` run in a worker thread on at most `lanes` batches at once, each of at most `most`
    distinct keys of one group, oldest group first. An exception from `fetch` is raised to
    every caller of that batch; a caller that gives up (cancellation) leaves the others be."""

    def __init__(self, name: str, fetch: Callable[[G, Sequence[K]], Mapping[K, V]], *,
                 lanes: int = 1, most: int = 64) -> None:
        if lanes < 1 or most < 1:
            raise ValueError("lanes and most must be at least 1")
        self.fetch, self.lanes, self.most = fetch, lanes, most
        self._sizes = BATCH_SIZES.labels(lookup=name)
        # group → key → the callers waiting for it; dicts keep arrival order.
        self._pending: dict[G, dict[K, list[asyncio.Future[V | None]]]] = {}
        self._busy = 0
        self._lanes: set[asyncio.Task[None]] = set()  # strong references while they run

    async def get(self, group: G, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(group, {}).setdefault(key, []).append(future)
        if self._busy < self.lanes:
            self._busy += 1
            task = asyncio.create_task(self._lane())
            self._lanes.add(task)
            task.add_done_callback(self._lanes.discard)
        return await future

    def _take(self) -> tuple[G, dict[K, list[asyncio.Future[V | None]]]]:
        group, waiting = next(iter(self._pending.items()))
        if len(waiting) <= self.most:
            del self._pending[group]
            return group, waiting
        keys = list(waiting)[:self.most]
        self._pending[group] = self._pending.pop(group)  # the rest queues behind the others
        return group, {k: waiting.pop(k) for k in keys}

    async def _lane(self) -> None:
        try:
            while self._pending:
                group, waiting = self._take()
                self._sizes.observe(len(waiting))
                try:
                    found = await asyncio.to_thread(self.fetch, group, list(waiting))
                except asyncio.CancelledError:
                    _settle(waiting, None)  # the lane is stopped: so are its callers
                    raise
                except Exception as exc:  # handed to every caller of the batch
                    _settle(waiting, exc)
                    continue
                for key, futures in waiting.items():
                    value = found.get(key)
                    for f in futures:
                        if not f.done():
                            f.set_result(value)
        finally:
            self._busy -= 1


def _settle(waiting: Mapping[K, list[asyncio.Future[V | None]]],
            exc: BaseException | None) -> None:
    """Raises `exc` to the callers still waiting, or cancels them when it is None."""
    for futures in waiting.values():
        for f in futures:
            if f.done():
                continue
            if exc is None:
                f.cancel()
            else:
                f.set_exception(exc)
