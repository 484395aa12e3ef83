"""snapshot increments: new activities are counted in their page, not read back later

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 22:00:00

A page of activities the database did not hold adds, per (rep, day, KPI), how many of them
count, to `snapshotincrement` in the page's own transaction; the roll-up adds those sums into
`dailysnapshot` with one INSERT ... SELECT before it recomputes any dirty day. Before, every
new activity marked its day dirty and the roll-up read every activity of those days back
from the table (a full sync of a million activities read a million rows scattered across
it). Changed and deleted activities still mark their days dirty and are recomputed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "snapshotincrement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kpi", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    # Counts not yet added in: mark their days dirty, so the older roll-up recomputes them.
    op.execute(
        "INSERT INTO dirtyday (rep_id, day) SELECT DISTINCT rep_id, day FROM snapshotincrement "
        "WHERE true ON CONFLICT DO NOTHING"
    )
    op.drop_table("snapshotincrement")
