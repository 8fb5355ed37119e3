"""Alembic environment of the records schema; run through services.common.db.migrate."""

from alembic import context

from services.records.models import SCHEMA, Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=SCHEMA if connection.dialect.name == "postgresql" else None,
    include_schemas=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
