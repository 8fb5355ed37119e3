"""`python -m services.scoring`: run the scoring service until SIGTERM."""

from __future__ import annotations

import asyncio
from datetime import date

from models.registry import default_artifact_dir, load_dir
from services.common.codes import PersonalIdProtector
from services.common.db import make_engine
from services.common.server import serve
from services.records.models import SCHEMA as RECORDS_SCHEMA
from services.scoring.config import ScoringSettings
from services.scoring.evaluate import Evaluator, Model
from services.scoring.policy import default_policy
from services.scoring.server import ScoringServicer, register
from services.scoring.supervision import default_supervision


def main() -> None:
    settings = ScoringSettings.from_env()
    model_dir = settings.model_dir or default_artifact_dir()
    # A corrupt or incompatible artifact stops the start with the reason (ModelArtifactError).
    scorecard, metadata = load_dir(model_dir)
    records = make_engine(settings.records_database_url, RECORDS_SCHEMA)
    fixed = settings.fixed_today
    servicer = ScoringServicer(
        Evaluator(Model(scorecard, metadata), default_policy(), default_supervision()),
        records, PersonalIdProtector(settings.pii_key),
        (lambda: fixed) if fixed else date.today, model_dir)

    async def on_stop() -> None:
        records.dispose()

    asyncio.run(serve("scoring", settings.server, register(servicer), on_stop=on_stop))


if __name__ == "__main__":
    main()
