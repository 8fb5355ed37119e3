"""Settings of the records service, from RECORDS_* and CREDIT_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from services.common.config import (
    ServerSettings,
    data_dir,
    database_pool_size,
    database_url,
    env_float,
    env_int,
    fixed_today,
    pii_key,
)

GRPC_PORT = 50051
METRICS_PORT = 9101


# Records per SubmitRecords message. Each acknowledgement carries every record's repair
# notice, up to about 3 kB per record in the full view (1 kB in the brief one): 1,000 fit
# gRPC's default 4 MiB client receive limit, 5,000 (15 MB) the server's 16 MiB send limit;
# clients of larger batches raise their grpc.max_receive_message_length.
DEFAULT_MAX_BATCH = 1_000
MOST_MAX_BATCH = 5_000


@dataclass(frozen=True)
class RecordsSettings:
    server: ServerSettings
    # sqlite:///data/records.db (embedded default) or postgresql://user@host/db.
    database_url: str
    # Secret for the keyed hash of resident IDs (at least 32 bytes).
    pii_key: bytes
    # Largest SubmitRecords message, in records.
    max_batch: int
    # Seconds between sweeps that announce publication periods ending on their own.
    sweep_seconds: float
    # Pins "today" for rehearsals and tests (ISO date); production leaves it unset.
    fixed_today: date | None
    database_pool_size: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RecordsSettings:
        server = ServerSettings.from_env("records", GRPC_PORT, METRICS_PORT, env=env)
        return cls(
            server=server,
            database_url=database_url("RECORDS_DATABASE_URL", "records.db", env),
            pii_key=pii_key(env, data_dir(env), dev=server.auth_mode == "dev"),
            max_batch=env_int("RECORDS_MAX_BATCH", DEFAULT_MAX_BATCH, min_value=1,
                              max_value=MOST_MAX_BATCH, env=env),
            sweep_seconds=env_float("RECORDS_SWEEP_SECONDS", 60.0, min_value=0.1,
                                    max_value=86400, env=env),
            fixed_today=fixed_today(env),
            database_pool_size=database_pool_size("records", env),
        )
