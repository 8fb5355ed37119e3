"""entity attributes on grades; inspection plans and results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Grades written before this revision get placeholders; the attributes are part of a grade
# row's content, so the next re-grade of each entity (bulk or from the feed) fills them in.
ATTRIBUTES = (
    ("kind", sa.String(length=32), ""),
    ("name", sa.String(length=200), ""),
    ("display_id", sa.String(length=32), ""),
    ("region_code", sa.String(length=6), ""),
    ("industry", sa.String(length=1), ""),
    ("sources", sa.Integer(), "0"),
)


def _altered_schema() -> str | None:
    # ALTER TABLE text escapes the engine's schema translation; SQLite has no schema here.
    return None if op.get_bind().dialect.name == "sqlite" else "scoring"


def upgrade() -> None:
    with op.batch_alter_table("grades", schema=_altered_schema()) as batch:
        for name, type_, default in ATTRIBUTES:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    with op.batch_alter_table("grades", schema=_altered_schema()) as batch:
        for name, _, _ in ATTRIBUTES:
            batch.alter_column(name, server_default=None)
    op.create_index("ix_grades_grade_key", "grades", ["grade", "entity_key"], schema="scoring")
    op.create_table(
        "inspection_plans",
        sa.Column("seq", Id, autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("task_name", sa.String(length=200), nullable=False),
        sa.Column("task_date", sa.Date(), nullable=False),
        sa.Column("plan_hash", sa.String(length=64), nullable=False),
        sa.Column("previous_plan_id", sa.String(length=40), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_inspection_plans")),
        sa.UniqueConstraint("department", "request_id",
                            name=op.f("uq_inspection_plans_department_request_id")),
        sa.UniqueConstraint("plan_id", name=op.f("uq_inspection_plans_plan_id")),
        schema="scoring",
    )
    op.create_index("ix_inspection_plans_department", "inspection_plans",
                    ["department", "seq"], schema="scoring")
    op.create_table(
        "inspection_results",
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("entity_key", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["scoring.inspection_plans.plan_id"],
                                name=op.f("fk_inspection_results_plan_id_inspection_plans")),
        sa.PrimaryKeyConstraint("plan_id", "entity_key", name=op.f("pk_inspection_results")),
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_table("inspection_results", schema="scoring")
    op.drop_index("ix_inspection_plans_department", table_name="inspection_plans",
                  schema="scoring")
    op.drop_table("inspection_plans", schema="scoring")
    op.drop_index("ix_grades_grade_key", table_name="grades", schema="scoring")
    with op.batch_alter_table("grades", schema=_altered_schema()) as batch:
        for name, _, _ in reversed(ATTRIBUTES):
            batch.drop_column(name)
