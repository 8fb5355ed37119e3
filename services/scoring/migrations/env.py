"""Alembic environment of the scoring schema; run through services.common.db.migrate."""

from alembic import context

from services.scoring.models import SCHEMA, Base

# Its own version table: the scoring tables may share a SQLite file with the records
# tables, whose alembic_version would otherwise pass for ours.
VERSION_TABLE = "scoring_alembic_version"

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    version_table_schema=SCHEMA if connection.dialect.name == "postgresql" else None,
    include_schemas=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
