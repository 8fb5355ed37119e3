"""`python -m services.scoring`: run the scoring service until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib

from services.common.codes import PersonalIdProtector
from services.common.config import clock
from services.common.db import make_engine
from services.common.logs import settings_or_exit
from services.common.server import serve
from services.records.models import SCHEMA as RECORDS_SCHEMA
from services.scoring.answers import AnswerStore, follow_feed
from services.scoring.config import ScoringSettings
from services.scoring.consumer import ChangeConsumer
from services.scoring.evaluate import Evaluator
from services.scoring.policy import default_policy
from services.scoring.server import ScoringServicer, register
from services.scoring.serving import ModelSource
from services.scoring.store import open_grade_store
from services.scoring.supervision import default_supervision


def main() -> None:
    settings = settings_or_exit("scoring", ScoringSettings.from_env)
    policy = default_policy()
    source = ModelSource(settings.model_dir, settings.model_registry, policy)
    # A corrupt or incompatible artifact stops the start with the reason (ModelArtifactError);
    # later, a bad one is refused and the serving model stays (ModelSource.follow).
    model, model_dir = source.load()
    records = make_engine(settings.records_database_url, RECORDS_SCHEMA,
                          pool_size=settings.database_pool_size)
    grades = open_grade_store(settings.database_url, pool_size=settings.database_pool_size)
    servicer = ScoringServicer(
        Evaluator(model, policy, default_supervision()),
        records, grades, PersonalIdProtector(settings.pii_key),
        clock(settings.fixed_today), model_dir, settings.records_address,
        regrade_batch=settings.regrade_batch, evaluate_lanes=settings.evaluate_lanes,
        answers=AnswerStore(settings.answers_kept, settings.answer_max_age_seconds))
    source.serving(model)
    consumer = ChangeConsumer(settings.records_address, settings.records_token, records, grades,
                              lambda: servicer.evaluator.model, servicer.evaluator.policy,
                              servicer.today)
    tasks: list[asyncio.Task[None]] = []

    async def on_start() -> None:
        if settings.records_address:
            tasks.append(asyncio.create_task(consumer.run()))
        if servicer.answers.enabled:
            tasks.append(asyncio.create_task(follow_feed(servicer.answers, records)))
        if settings.model_poll_seconds > 0:
            tasks.append(asyncio.create_task(
                source.follow(servicer.install_model, settings.model_poll_seconds)))

    async def on_stop() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        servicer.close()
        records.dispose()
        grades.engine.dispose()

    asyncio.run(serve("scoring", settings.server, register(servicer), on_start=on_start,
                      on_stop=on_stop))


if __name__ == "__main__":
    main()
