"""Helpers for the audit tests: sessions, a key directory, filling the log, an attacker's hands.

The project runs pytest with ``--import-mode=importlib``, so test modules reach these helpers
through fixtures rather than imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text, update
from sqlalchemy.orm import Session, sessionmaker

from zhikong.audit import chain, service, verification
from zhikong.audit.models import AuditAnchor, AuditEntry, AuditHead
from zhikong.clock import FixedClock
from zhikong.keys import FileKeyStore
from zhikong.store.engine import make_sessionmaker, transaction

ENTRY = AuditEntry.__table__
HEAD = AuditHead.__table__
ANCHOR = AuditAnchor.__table__


class AuditKit:
    """Write entries the normal way, and tamper with them the way an attacker would."""

    def __init__(self, engine: Engine, clock: FixedClock) -> None:
        self.engine = engine
        self.clock = clock
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    # -- normal use --------------------------------------------------------------------------

    def fill(self, count: int, subject: str = "region:330102") -> list[str]:
        """Record `count` varied entries, one transaction each; returns their hashes."""
        hashes = []
        for number in range(count):
            self.clock.set(self.clock.now() + timedelta(seconds=1, microseconds=number))
            with transaction(self.sessions) as session:
                entry = service.record(
                    session,
                    self.clock,
                    actor=f"user:{number % 3 + 1}",
                    action="region.risk.set" if number % 2 else "resident.pii.read",
                    subject=subject if number % 2 else f"resident:{number:064x}",
                    before={"colour": "green", "n": number} if number % 2 else None,
                    after={"colour": "yellow", "n": number, "说明": "中高风险"},
                    rule=("risk-colour", f"2020.{number}") if number % 2 else None,
                    inputs=[f"declaration:{number}", f"checkin:{number * 7}"],
                    request_id=f"req-{number}" if number % 3 else None,
                )
                hashes.append(entry.hash)
        return hashes

    def verify(self, **options: Any) -> chain.VerifyResult:
        """Verify the log in a fresh session."""
        with self.sessions() as session:
            return verification.verify(session, **options)

    def head(self) -> tuple[int, str]:
        """The current head."""
        with self.sessions() as session:
            return service.head(session)

    def entries(self) -> list[chain.ChainEntry]:
        """Every entry as plain data."""
        with self.sessions() as session:
            return list(service.iter_entries(session))

    # -- the attacker ------------------------------------------------------------------------

    def disarm(self) -> None:
        """Switch off the append-only triggers, as someone owning the tables can."""
        with self.engine.begin() as connection:
            if self.backend == "postgresql":
                for table in ("audit_entry", "audit_head", "audit_anchor"):
                    connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                names = connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
                for name in list(names):
                    connection.execute(text(f'DROP TRIGGER "{name}"'))

    def set_fields(self, target: int, /, **values: Any) -> None:
        """UPDATE one entry's columns."""
        with self.engine.begin() as connection:
            connection.execute(update(ENTRY).where(ENTRY.c.seq == target).values(**values))

    def delete(self, *seqs: int) -> None:
        """DELETE entries."""
        with self.engine.begin() as connection:
            connection.execute(ENTRY.delete().where(ENTRY.c.seq.in_(seqs)))

    def set_head(self, seq: int, hash_: str) -> None:
        """Point the head elsewhere."""
        with self.engine.begin() as connection:
            connection.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=hash_))

    def insert(self, entry: chain.ChainEntry) -> None:
        """INSERT a row straight into the table."""
        with self.engine.begin() as connection:
            connection.execute(insert(ENTRY).values(**as_row(entry)))

    def swap(self, first: int, second: int) -> None:
        """Exchange two entries' seq numbers."""
        with self.engine.begin() as connection:
            for old, new in ((first, -1), (second, first), (-1, second)):
                connection.execute(update(ENTRY).where(ENTRY.c.seq == old).values(seq=new))

    def rewrite_from(self, seq: int, **values: Any) -> None:
        """Edit an entry and recompute every later hash and the head: a careful forger."""
        self.set_fields(seq, **values)
        entries = self.entries()
        prev = chain.GENESIS_HASH if seq == 1 else entries[seq - 2].hash
        with self.engine.begin() as connection:
            for entry in entries[seq - 1 :]:
                relinked = chain.link(prev, entry)
                connection.execute(
                    update(ENTRY)
                    .where(ENTRY.c.seq == entry.seq)
                    .values(prev_hash=relinked.prev_hash, hash=relinked.hash)
                )
                prev = relinked.hash
            connection.execute(update(HEAD).where(HEAD.c.id == 1).values(hash=prev))


def as_row(entry: chain.ChainEntry) -> dict[str, Any]:
    """The column values of an entry."""
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
        "rule_id": entry.rule_id,
        "rule_version": entry.rule_version,
        "inputs": list(entry.inputs),
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@pytest.fixture
def kit(engine: Engine, clock: FixedClock) -> AuditKit:
    """Audit helpers on the migrated database of each backend."""
    return AuditKit(engine, clock)


@pytest.fixture
def keystore(tmp_path: Path, clock: FixedClock) -> Iterator[FileKeyStore]:
    """A fresh key directory."""
    yield FileKeyStore.init(tmp_path / "keys", clock.now())
