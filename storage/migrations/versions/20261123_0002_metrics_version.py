"""metrics version: a counter every write to the board inputs moves

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:45:00

Rank tables over all reps are cached between bot requests (domain.scorecard.RankCache); the
cache is keyed by this version, which triggers move on every insert, update or delete of
daily snapshots, reps and goals, whoever writes them. The first write after the row is gone
(a fresh or emptied database) starts from a random value, so a version is never reused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("dailysnapshot", "rep", "goal")
BUMP = (
    "INSERT INTO metricsversion (id, version) VALUES (1, {random}) "
    "ON CONFLICT (id) DO UPDATE SET version = metricsversion.version + 1"
)


def upgrade() -> None:
    op.create_table(
        "metricsversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    random = "floor(random() * 1e15)::bigint" if postgres else "abs(random() % 1000000000000000)"
    # The data may predate the counter: start it at a random value, never at a known one.
    op.execute(f"INSERT INTO metricsversion (id, version) VALUES (1, {random})")
    bump = BUMP.format(random=random)
    if postgres:
        # Deferred to commit and once per transaction: the counter row is locked only for the
        # instant before commit, after every other lock the transaction takes, so writers of
        # snapshots, reps and goals never wait on it mid-transaction or deadlock through it.
        op.execute(
            "CREATE FUNCTION bump_metrics_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF current_setting('pacesetter.metrics_bumped', true) "
            "IS DISTINCT FROM txid_current()::text THEN "
            f"{bump}; "
            "PERFORM set_config('pacesetter.metrics_bumped', txid_current()::text, true); "
            "END IF; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_metrics_version "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION bump_metrics_version()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_metrics_version_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_metrics_version()"
            )
        return
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_metrics_version_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {bump}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_metrics_version ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_metrics_version_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_metrics_version()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_metrics_version_{event}")
    op.drop_table("metricsversion")
