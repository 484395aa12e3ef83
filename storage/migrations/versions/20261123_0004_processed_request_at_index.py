"""processed requests: index the claim time, so pruning old claims is a range scan

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:15:00

Every claimed Slack request prunes claims older than two days; without an index on `at` that
was a scan of two days of requests on every command.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_processedrequest_at", "processedrequest", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_processedrequest_at", table_name="processedrequest")
