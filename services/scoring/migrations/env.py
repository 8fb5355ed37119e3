"""Alembic environment of the scoring schema; run through services.common.db.migrate."""

from services.common.db import run_migrations
from services.scoring.models import SCHEMA, Base

# Its own version table: the scoring tables may share a SQLite file with the records
# tables, whose alembic_version would otherwise pass for ours.
run_migrations(Base.metadata, SCHEMA, version_table="scoring_alembic_version")
