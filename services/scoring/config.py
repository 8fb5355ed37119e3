"""Settings of the scoring service, from SCORING_* and CREDIT_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.common.config import ServerSettings, env_path, env_str, pii_key

GRPC_PORT = 50052
METRICS_PORT = 9102


@dataclass(frozen=True)
class ScoringSettings:
    server: ServerSettings
    # The records database, read only: features are aggregated where the records are.
    records_database_url: str
    # The model artifact directory; default: models/artifacts/DEFAULT.
    model_dir: Path | None
    pii_key: bytes
    fixed_today: date | None
    # The scoring schema: stored grades, their history, the change-feed cursor.
    database_url: str
    # The records service whose change feed drives re-grading; empty = no consumer.
    records_address: str
    # Bearer token for the records service (a principal with the `service` role).
    records_token: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScoringSettings:
        server = ServerSettings.from_env("scoring", GRPC_PORT, METRICS_PORT, env=env)
        data_dir = env_path("CREDIT_DATA_DIR", Path("data"), env=env)
        assert data_dir is not None
        fixed = env_str("CREDIT_TODAY", None, pattern=r"\d{4}-\d{2}-\d{2}", env=env)
        return cls(
            server=server,
            records_database_url=env_str(
                "SCORING_RECORDS_DATABASE_URL",
                env_str("RECORDS_DATABASE_URL", f"sqlite:///{data_dir / 'records.db'}", env=env),
                env=env),
            model_dir=env_path("SCORING_MODEL_DIR", None, env=env),
            pii_key=pii_key(env, data_dir, dev=server.auth_mode == "dev"),
            fixed_today=date.fromisoformat(fixed) if fixed else None,
            database_url=env_str("SCORING_DATABASE_URL",
                                 f"sqlite:///{data_dir / 'scoring.db'}", env=env),
            records_address=env_str("SCORING_RECORDS_ADDRESS", "127.0.0.1:50051", env=env),
            records_token=env_str("SCORING_RECORDS_TOKEN", None, env=env),
        )
