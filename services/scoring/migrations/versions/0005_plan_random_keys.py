"""each stored plan keeps its randomly drawn keys beside its document

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

The yearly cap on random draws (services.scoring.plans._at_yearly_cap) counts them over the
department's plans of the year. Read from the published documents, that parsed up to 25 MB of
JSON per plan (200,000 candidates: 1 s) while the draw held the writer lock; this column holds
just the keys. Plans stored before are filled from their documents here.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLANS = sa.Table("inspection_plans", sa.MetaData(), sa.Column("seq", sa.BigInteger),
                  sa.Column("document", sa.Text), sa.Column("random_keys", sa.JSON),
                  schema="scoring")


def _altered_schema() -> str | None:
    # ALTER TABLE text escapes the engine's schema translation; SQLite has no schema here.
    return None if op.get_bind().dialect.name == "sqlite" else "scoring"


def upgrade() -> None:
    op.add_column("inspection_plans", sa.Column("random_keys", sa.JSON(), nullable=True),
                  schema=_altered_schema())
    conn = op.get_bind()
    for seq in conn.execute(sa.select(_PLANS.c.seq)).scalars().all():
        # One document at a time: each can be tens of MB. The plan's entities, as published.
        document = conn.execute(sa.select(_PLANS.c.document).where(_PLANS.c.seq == seq)
                                ).scalar_one()
        entities = json.loads(document)["plan"]["entities"]
        keys = [e["key"] for e in entities if e["reason"] == "random"]
        conn.execute(_PLANS.update().where(_PLANS.c.seq == seq).values(random_keys=keys))


def downgrade() -> None:
    with op.batch_alter_table("inspection_plans", schema=_altered_schema()) as batch:
        batch.drop_column("random_keys")
