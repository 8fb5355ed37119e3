"""`python -m services.records`: run the records service until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib

from services.common.config import clock
from services.common.logs import settings_or_exit
from services.common.server import serve
from services.records.config import RecordsSettings
from services.records.server import register, sweep_forever
from services.records.store import open_store


def main() -> None:
    settings = settings_or_exit("records", RecordsSettings.from_env)
    store = open_store(settings.database_url, pii_key=settings.pii_key,
                       clock=clock(settings.fixed_today), pool_size=settings.database_pool_size)
    sweeper: asyncio.Task[None] | None = None

    async def on_start() -> None:
        nonlocal sweeper
        sweeper = asyncio.create_task(sweep_forever(store, settings.sweep_seconds))

    async def on_stop() -> None:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        store.engine.dispose()

    asyncio.run(serve("records", settings.server, register(store, settings.max_batch),
                      on_start=on_start, on_stop=on_stop))


if __name__ == "__main__":
    main()
