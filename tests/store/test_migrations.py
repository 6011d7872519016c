"""Migrations: from empty to head, no drift from the models, all-or-nothing on failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from zhikong.schema import metadata
from zhikong.store import migrate

FAILING_MIGRATION = '''
"""A migration that creates a table and then fails."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = {heads!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("region", sa.Column("half_done_flag", sa.Integer(), nullable=True))
    raise RuntimeError("this migration fails on purpose")


def downgrade() -> None:
    pass
'''


def test_upgrade_from_empty_reaches_head(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert migrate.is_up_to_date(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert {"region", "region_geometry", "resident", "platform_meta"} <= tables


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_failed_migration_leaves_database_as_it_was(empty_engine: Engine, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    assert head is not None
    heads = tuple(head.split("+"))
    (scripts / "versions" / "9999_fails.py").write_text(FAILING_MIGRATION.format(heads=heads))

    with pytest.raises(RuntimeError, match="fails on purpose"):
        migrate.upgrade(empty_engine, script_location=scripts)
    # The whole upgrade ran in one transaction: not even the first revision stayed.
    assert migrate.current_revision(empty_engine) is None
    assert inspect(empty_engine).get_table_names() == []

    migrate.upgrade(empty_engine)
    with pytest.raises(RuntimeError, match="fails on purpose"):
        migrate.upgrade(empty_engine, script_location=scripts)
    assert migrate.current_revision(empty_engine) == head
    inspector = inspect(empty_engine)
    assert "half_done" not in inspector.get_table_names()
    assert "half_done_flag" not in {c["name"] for c in inspector.get_columns("region")}
