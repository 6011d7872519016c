"""Database engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    """Whether a database URL names an SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


BEGIN_OPTION = "zhikong_begin"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and transactional DDL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, future=True)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, future=True, connect_args={"check_same_thread": False, "timeout": 30}
    )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Turn on WAL and foreign keys, and let SQLAlchemy own BEGIN so DDL is transactional."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers begin IMMEDIATE (see `writing`): they take the write lock up front, so a
        # transaction that reads and then writes never fails half-way with "database is
        # locked". Readers begin DEFERRED and, with WAL, never wait for writers.
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to an engine."""
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


def writing(session: Session) -> Session:
    """Mark a session's transaction as one that writes (SQLite: BEGIN IMMEDIATE); call first."""
    session.connection(execution_options={BEGIN_OPTION: "IMMEDIATE"})
    return session


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A writing session whose work commits together at the end, or not at all."""
    with factory() as session, session.begin():
        yield writing(session)


def ping(engine: Engine) -> None:
    """Run a trivial query; raises if the database cannot be reached."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def backend_name(engine: Engine) -> str:
    """'sqlite' or 'postgresql'."""
    return engine.url.get_backend_name()
