"""drop the audit log's (object_type, object_id) index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No query reads the audit log by object (credit files read it by entity, verification
    # by seq); every ingested record paid for one more index entry.
    op.drop_index("ix_audit_log_object", table_name="audit_log", schema="records")


def downgrade() -> None:
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"],
                    schema="records")
