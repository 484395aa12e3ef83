"""coaching notes: one note per submitted form, follow-up reminder and done state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:16:43.437954
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('coachingnote', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('reminded_for', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('done_by_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_coaching_note_open_follow_up', ['done', 'follow_up_on'], unique=False)
        batch_op.create_unique_constraint('uq_coaching_note_submission', ['submission_key'])
        batch_op.create_foreign_key('fk_coaching_note_done_by', 'rep', ['done_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('coachingnote', schema=None) as batch_op:
        batch_op.drop_constraint('fk_coaching_note_done_by', type_='foreignkey')
        batch_op.drop_constraint('uq_coaching_note_submission', type_='unique')
        batch_op.drop_index('ix_coaching_note_open_follow_up')
        batch_op.drop_column('done_by_id')
        batch_op.drop_column('done_at')
        batch_op.drop_column('reminded_for')
        batch_op.drop_column('submission_key')
