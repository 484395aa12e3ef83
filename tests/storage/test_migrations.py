"""Migrations build the schema the models describe, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from storage import migrate
from storage.migrate import current_revision


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    head = current_revision(engine)
    assert head is not None
    migrate.downgrade(engine, "base")
    assert "activity" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert current_revision(engine) == head
    assert {"rep", "activity", "dailysnapshot", "delivery", "syncstate"} <= set(
        inspect(engine).get_table_names()
    )
