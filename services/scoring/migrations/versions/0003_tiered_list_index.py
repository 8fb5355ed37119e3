"""tiered lists page by (grade, region_code, entity_key)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A region filter on (grade, entity_key) skipped every earlier region's rows of the grade.
    op.drop_index("ix_grades_grade_key", table_name="grades", schema="scoring")
    op.create_index("ix_grades_grade_region_key", "grades",
                    ["grade", "region_code", "entity_key"], schema="scoring")


def downgrade() -> None:
    op.drop_index("ix_grades_grade_region_key", table_name="grades", schema="scoring")
    op.create_index("ix_grades_grade_key", "grades", ["grade", "entity_key"], schema="scoring")
