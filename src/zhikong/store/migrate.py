"""Schema migrations: Alembic, driven from code so `zhikong db upgrade` needs no ini file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine, script_location: Path = MIGRATIONS_DIR) -> Config:
    """An Alembic configuration that runs on the given engine."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # configparser interpolates '%': escape it (URL-encoded passwords and options contain it).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["engine"] = engine
    return config


def upgrade(
    engine: Engine, revision: str = "heads", script_location: Path = MIGRATIONS_DIR
) -> None:
    """Migrate the database to a revision (default: every head), all in one transaction."""
    command.upgrade(alembic_config(engine, script_location), revision)


def head_revision(script_location: Path = MIGRATIONS_DIR) -> str | None:
    """The newest revision(s) the code knows, joined by '+' when branches are unmerged."""
    heads = ScriptDirectory(str(script_location)).get_heads()
    return "+".join(sorted(heads)) if heads else None


def current_revision(engine: Engine) -> str | None:
    """The revision(s) the database is at (None when never migrated)."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def is_up_to_date(engine: Engine) -> bool:
    """Whether the database schema is at the code's head revision(s)."""
    return current_revision(engine) == head_revision()


def drop_everything(engine: Engine) -> None:
    """Drop every table in the database, Alembic's version table included."""
    with engine.begin() as connection:
        metadata = MetaData()
        metadata.reflect(bind=connection)
        metadata.drop_all(bind=connection)
    inspect(engine).clear_cache()
