"""The store: engines, pragmas, timestamps, transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text

from zhikong.store.engine import make_engine, make_sessionmaker, ping, transaction
from zhikong.store.meta import PlatformMeta, get_meta, set_meta


def test_sqlite_uses_wal_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'z.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "var").is_dir()


def test_timestamps_come_back_aware_utc(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2020, 2, 20, 10, 0, tzinfo=shanghai)
    with transaction(factory) as session:
        set_meta(session, "probe", {"n": 1}, at)
    with factory() as session:
        row = session.scalars(select(PlatformMeta)).one()
        assert row.updated_at == at
        assert row.updated_at.tzinfo is not None
        assert row.updated_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    with pytest.raises(Exception, match="naive datetime"), transaction(factory) as session:
        set_meta(session, "probe", {}, datetime(2020, 1, 1))


def test_transaction_rolls_back_on_error(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        set_meta(session, "probe", {"n": 1}, datetime(2020, 1, 1, tzinfo=UTC))
        session.flush()
        raise RuntimeError("boom")
    with factory() as session:
        assert get_meta(session, "probe") is None


def test_ping(engine: Engine) -> None:
    ping(engine)
