"""Settings of the scoring service, from SCORING_* and CREDIT_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.common.config import (
    ServerSettings,
    data_dir,
    database_pool_size,
    database_url,
    env_float,
    env_int,
    env_path,
    env_str,
    fixed_today,
    pii_key,
)

GRPC_PORT = 50052
METRICS_PORT = 9102


@dataclass(frozen=True)
class ScoringSettings:
    server: ServerSettings
    # The records database, read only: features are aggregated where the records are.
    records_database_url: str
    # A fixed model artifact directory; default: the one the registry's DEFAULT names.
    model_dir: Path | None
    # The model registry (artifact directories plus DEFAULT); default: models/artifacts.
    model_registry: Path | None
    pii_key: bytes
    fixed_today: date | None
    # The scoring schema: stored grades, their history, the change-feed cursor.
    database_url: str
    # The records service whose change feed drives re-grading; empty = no consumer.
    records_address: str
    # Bearer token for the records service (a principal with the `service` role).
    records_token: str | None
    # How often to look for a new model artifact; 0 = never (serve the one loaded at start).
    model_poll_seconds: float
    # Entities per committed transaction of a Regrade RPC (memory per batch vs round trips).
    regrade_batch: int
    # Evaluate's feature queries at once. Calls that arrive while they run wait and go
    # together in the next one, so batches grow with the load and the database's latency.
    # One is best next to the database on 2 cores (1,670 req/s with 3.4 calls per query,
    # against 1,270 with 2.1 for two: the GIL hand-offs between the threads); more helps when
    # many calls ask for different dates (one query per date) against a distant database.
    evaluate_lanes: int
    # Evaluate answers kept in memory until the change feed shows their entity changed
    # (services.scoring.answers); 0 = read the records database on every call. An answer
    # takes about 2.4 KB (a serialised Evaluation with its texts and features).
    answers_kept: int
    # An answer kept longer than this is read again, even with no change on the feed (a
    # change made outside the records service shows within this time).
    answer_max_age_seconds: float
    # Per engine (the records read and the grade store); Evaluate keeps one per lane.
    database_pool_size: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScoringSettings:
        server = ServerSettings.from_env("scoring", GRPC_PORT, METRICS_PORT, env=env)
        return cls(
            server=server,
            records_database_url=records_database_url(env),
            model_dir=env_path("SCORING_MODEL_DIR", None, env=env),
            model_registry=env_path("SCORING_MODEL_REGISTRY", None, env=env),
            pii_key=pii_key(env, data_dir(env), dev=server.auth_mode == "dev"),
            fixed_today=fixed_today(env),
            database_url=scoring_database_url(env),
            records_address=env_str("SCORING_RECORDS_ADDRESS", "127.0.0.1:50051", env=env),
            records_token=env_str("SCORING_RECORDS_TOKEN", None, env=env),
            model_poll_seconds=env_float("SCORING_MODEL_POLL_SECONDS", 30.0, min_value=0,
                                         max_value=86400, env=env),
            regrade_batch=env_int("SCORING_REGRADE_BATCH", 50_000, min_value=1,
                                  max_value=1_000_000, env=env),
            evaluate_lanes=env_int("SCORING_EVALUATE_LANES", 1, min_value=1, max_value=32,
                                   env=env),
            answers_kept=env_int("SCORING_ANSWERS_KEPT", 100_000, min_value=0,
                                 max_value=10_000_000, env=env),
            answer_max_age_seconds=env_float("SCORING_ANSWER_MAX_AGE_SECONDS", 300.0,
                                             min_value=1, max_value=86400, env=env),
            database_pool_size=database_pool_size("scoring", env),
        )


def records_database_url(env: Mapping[str, str] | None = None) -> str:
    """SCORING_RECORDS_DATABASE_URL (a read-only replica in production), else the records
    service's own database."""
    return env_str("SCORING_RECORDS_DATABASE_URL",
                   database_url("RECORDS_DATABASE_URL", "records.db", env), env=env)


def scoring_database_url(env: Mapping[str, str] | None = None) -> str:
    return database_url("SCORING_DATABASE_URL", "scoring.db", env)
