"""`zhikong trace purge` as a subprocess (audited), and the demo's traced case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from zhikong.audit.models import AuditEntry
from zhikong.code.models import HealthCode
from zhikong.trace.models import TraceContact, TraceRun

from .conftest import Installation


def _zk(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    env["ZHIKONG_DATABASE_URL"] = database
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_purge_command_is_audited(engine: Engine, tmp_path: Path) -> None:
    database = engine.url.render_as_string(hide_password=False)
    result = _zk("trace", "purge", "--at", "2020-02-20T10:00:00+08:00", database=database)
    assert result.returncode == 0, result.stderr
    assert "purged 0 scans" in result.stdout
    bad = _zk("trace", "purge", "--at", "yesterday", database=database)
    assert bad.returncode == 2 and "--at" in bad.stderr
    with Session(engine) as session:
        runs = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "trace.purge")
        )
    assert runs == 1


def test_demo_case_contacts_turn_red_through_tracing(installation: Installation) -> None:
    with Session(installation.engine) as session:
        run = session.scalars(select(TraceRun)).one()
        assert run.close_contacts == 5 and run.run_by == "system:demo"
        contacts = session.scalars(
            select(TraceContact.resident_id).where(TraceContact.run_id == run.id)
        ).all()
        colours = set(
            session.scalars(
                select(HealthCode.colour).where(HealthCode.resident_id.in_(contacts))
            ).all()
        )
        assert colours == {"red"}
