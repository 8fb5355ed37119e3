"""`python -m services.scoring`: run the scoring service until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib

from models.registry import default_artifact_dir, load_dir
from services.common.codes import PersonalIdProtector
from services.common.config import clock
from services.common.db import make_engine
from services.common.server import serve
from services.records.models import SCHEMA as RECORDS_SCHEMA
from services.scoring.config import ScoringSettings
from services.scoring.consumer import ChangeConsumer
from services.scoring.evaluate import Evaluator, Model
from services.scoring.policy import default_policy
from services.scoring.server import ScoringServicer, register
from services.scoring.store import open_grade_store
from services.scoring.supervision import default_supervision


def main() -> None:
    settings = ScoringSettings.from_env()
    model_dir = settings.model_dir or default_artifact_dir()
    # A corrupt or incompatible artifact stops the start with the reason (ModelArtifactError).
    scorecard, metadata = load_dir(model_dir)
    records = make_engine(settings.records_database_url, RECORDS_SCHEMA)
    grades = open_grade_store(settings.database_url)
    servicer = ScoringServicer(
        Evaluator(Model(scorecard, metadata), default_policy(), default_supervision()),
        records, grades, PersonalIdProtector(settings.pii_key),
        clock(settings.fixed_today), model_dir, settings.records_address)
    consumer = ChangeConsumer(settings.records_address, settings.records_token, records, grades,
                              servicer.evaluator.model, servicer.evaluator.policy,
                              servicer.today)
    task: asyncio.Task[None] | None = None

    async def on_start() -> None:
        nonlocal task
        if settings.records_address:
            task = asyncio.create_task(consumer.run())

    async def on_stop() -> None:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        records.dispose()
        grades.engine.dispose()

    asyncio.run(serve("scoring", settings.server, register(servicer), on_start=on_start,
                      on_stop=on_stop))


if __name__ == "__main__":
    main()
