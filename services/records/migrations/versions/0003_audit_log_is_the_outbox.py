"""the audit log is the change feed's outbox: move record_id over, drop the outbox table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Tables, not SQL text, so that SQLite's schema translation (no `records.`) applies.
_META = sa.MetaData()
_OUTBOX = sa.Table("outbox", _META, sa.Column("seq", _ID), sa.Column("entity_key", sa.String),
                   sa.Column("kind", sa.String), sa.Column("record_id", sa.BigInteger),
                   sa.Column("occurred_at", sa.DateTime(timezone=True)), schema="records")
_AUDIT = sa.Table("audit_log", _META, sa.Column("seq", _ID),
                  sa.Column("entity_key", sa.String), sa.Column("action", sa.String),
                  sa.Column("record_id", sa.BigInteger),
                  sa.Column("at", sa.DateTime(timezone=True)), schema="records")


def _extent(table: sa.Table) -> tuple[int, int]:
    count, top = op.get_bind().execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(table.c.seq), 0))).one()
    return int(count), int(top)


def upgrade() -> None:
    # Every change wrote one outbox event and one audit entry, in the same transaction and
    # order, so the two sequences are the same numbers and feed cursors stay valid. Checked,
    # not assumed: a database where they differ is left as it is, for a person to look at.
    conn = op.get_bind()
    outbox, audit = _extent(_OUTBOX), _extent(_AUDIT)
    if outbox != audit:
        raise RuntimeError(
            f"records.outbox ({outbox[0]} events up to seq {outbox[1]}) and records.audit_log "
            f"({audit[0]} entries up to seq {audit[1]}) do not match one to one; not migrating")
    same = ((_AUDIT.c.seq == _OUTBOX.c.seq) & (_AUDIT.c.entity_key == _OUTBOX.c.entity_key)
            & (_AUDIT.c.action == _OUTBOX.c.kind))
    unmatched = conn.execute(sa.select(sa.func.count()).select_from(_OUTBOX)
                             .where(~sa.exists().where(same))).scalar()
    if unmatched:
        raise RuntimeError(f"{unmatched} outbox events have no matching audit entry; "
                           "not migrating")
    # Alembic writes ALTER TABLE itself, past SQLite's schema translation: name it per engine.
    op.add_column("audit_log", sa.Column("record_id", sa.BigInteger(), nullable=True),
                  schema="records" if conn.dialect.name == "postgresql" else None)
    conn.execute(_AUDIT.update().values(record_id=sa.select(_OUTBOX.c.record_id)
                                        .where(_OUTBOX.c.seq == _AUDIT.c.seq)
                                        .scalar_subquery()))
    op.drop_table("outbox", schema="records")


def downgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", _ID, autoincrement=False, nullable=False),
        sa.Column("entity_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        schema="records",
    )
    op.get_bind().execute(_OUTBOX.insert().from_select(
        ["seq", "entity_key", "kind", "record_id", "occurred_at"],
        sa.select(_AUDIT.c.seq, _AUDIT.c.entity_key, _AUDIT.c.action, _AUDIT.c.record_id,
                  _AUDIT.c.at)))
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("audit_log", schema="records" if postgres else None) as batch:
        batch.drop_column("record_id")
