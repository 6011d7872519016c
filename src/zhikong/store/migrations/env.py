"""Alembic environment: runs migrations on the engine handed over by zhikong.store.migrate.

Running migrations needs no models. To autogenerate a new revision, hand Alembic the metadata
of every table in `config.attributes["target_metadata"]`: `zhikong.schema.metadata` (the
composition layer gathers it; the store below may not import the domains).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

config = context.config
metadata = config.attributes.get("target_metadata")


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    from zhikong.store.engine import make_engine

    url = config.get_main_option("sqlalchemy.url")
    return make_engine(url) if url else create_engine("sqlite://")


def run_migrations_offline() -> None:
    """Emit SQL to stdout without a database connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run every pending migration inside one transaction."""
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=False,
            # SQLite can roll back DDL once the driver leaves BEGIN to SQLAlchemy (see engine.py).
            transactional_ddl=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
