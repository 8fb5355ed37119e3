"""the change-feed cursor keeps the hash of its event

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _altered_schema() -> str | None:
    # ALTER TABLE text escapes the engine's schema translation; SQLite has no schema here.
    return None if op.get_bind().dialect.name == "sqlite" else "scoring"


def upgrade() -> None:
    # NULL for cursors stored before: checked by position only until the next event moves them.
    op.add_column("consumer_cursor", sa.Column("hash", sa.String(64), nullable=True),
                  schema=_altered_schema())


def downgrade() -> None:
    with op.batch_alter_table("consumer_cursor", schema=_altered_schema()) as batch:
        batch.drop_column("hash")
