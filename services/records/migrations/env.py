"""Alembic environment of the records schema; run through services.common.db.migrate."""

from services.common.db import run_migrations
from services.records.models import SCHEMA, Base

run_migrations(Base.metadata, SCHEMA)
