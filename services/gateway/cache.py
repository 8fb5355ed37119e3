"""A few seconds of memory for tiered-list pages and grade counts.

Dashboards and planners ask for the same filtered pages over and over, and the grades behind
them change only when a record does; so a page is kept for GATEWAY_LIST_CACHE_SECONDS
(default 2 s), concurrent misses of one page share one downstream call, and an expired page
is served while its refresh runs in the background, or after the refresh failed, for at most
STALE_SECONDS: no caller waits for the refresh of a page in use, and a slow or struggling
scoring service does not turn a dashboard's pages into errors. Entries are keyed by the downstream
request and by the caller's view (the department, whose persons it sees unmasked), never
across views. This relies on scoring
authorising ListGrades and CountGrades by role alone, which the gateway checks first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

STALE_SECONDS = 30.0


class PageCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._loading: dict[Hashable, asyncio.Future[bytes]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[bytes]]) -> bytes:
        if self.ttl <= 0:
            return await load()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(load())
            self._loading[key] = pending
            pending.add_done_callback(lambda f: self._done(key, f))
        if hit is not None and hit[0] + STALE_SECONDS > now:
            return hit[1]
        # Shielded: one caller giving up must not cancel the load the others wait for.
        return await asyncio.shield(pending)

    def _done(self, key: Hashable, future: asyncio.Future[bytes]) -> None:
        self._loading.pop(key, None)
        # Reading the exception marks it retrieved: a failed background refresh is not an
        # error of its own; the next caller past the stale window sees it.
        if future.cancelled() or future.exception() is not None:
            return
        if key not in self._entries and len(self._entries) >= self.max_entries:
            # Oldest first: dicts keep insertion order.
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (time.monotonic() + self.ttl, future.result())
