"""periods of months end on their corresponding day (民法典 第二百零一条、第二百零二条)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Records stored before this revision counted the decision (or effective) day as the period's
first day, so publication ended, and repair became possible, one day earlier than the general
rule of Chinese law has it (services.records.rules.national.START_DAY_COUNTED). Their stored
dates move one day later: every publication end (published records and the 3 months an
unpublished 轻微 record stays in effect), and the repair date of 一般 and 严重 records (after the
minimum period; a 轻微 record may be repaired from its start, which does not move).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from services.common.config import clock, fixed_today

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDS = sa.Table("records", sa.MetaData(), sa.Column("category", sa.String),
                    sa.Column("publication_end", sa.Date),
                    sa.Column("repair_eligible_from", sa.Date),
                    sa.Column("end_announced", sa.Boolean), schema="records")


def _shift(column: sa.Column[sa.Date], days: int) -> sa.ColumnElement[sa.Date]:
    if op.get_bind().dialect.name == "sqlite":  # dates are ISO text there
        return sa.func.date(column, f"{days:+d} day")
    return column + days  # PostgreSQL: date ± integer is a date


def _move(days: int) -> None:
    # One statement, one new version of each row: two passes took twice the time and left
    # twice the dead rows (5,000,000 records: 169 s in two passes on the benchmark machine).
    r = _RECORDS.c
    after_minimum = r.category.in_(("general", "serious"))
    op.get_bind().execute(_RECORDS.update().where(
        sa.or_(r.publication_end.is_not(None), after_minimum)).values(
            publication_end=sa.case((r.publication_end.is_not(None),
                                     _shift(r.publication_end, days))),
            repair_eligible_from=sa.case((after_minimum, _shift(r.repair_eligible_from, days)),
                                         else_=r.repair_eligible_from)))


def upgrade() -> None:
    _move(+1)
    # An end announced for a record that, counted so, is still published on the service's
    # today (the store's clock; else China's date or CREDIT_TODAY, never the database
    # server's): announced again when it does end (the sweeper looks at end_announced).
    today = context.config.attributes.get("today") or clock(fixed_today())()
    op.get_bind().execute(_RECORDS.update().where(
        _RECORDS.c.end_announced.is_(True),
        _RECORDS.c.publication_end > today).values(end_announced=False))


def downgrade() -> None:
    _move(-1)
