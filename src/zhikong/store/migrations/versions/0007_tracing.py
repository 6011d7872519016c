"""Tracing: venues, scans, telecom grid pings, tracing runs and their contacts.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "trace_ping",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("grid", sa.String(length=32), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_ping")),
    )
    with op.batch_alter_table("trace_ping", schema=None) as batch_op:
        batch_op.create_index("ix_trace_ping_end", ["end_at"], unique=False)
        batch_op.create_index("ix_trace_ping_grid_start", ["grid", "start_at"], unique=False)
        batch_op.create_index(
            "ix_trace_ping_resident_start", ["resident_id", "start_at"], unique=False
        )

    op.create_table(
        "trace_scan",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("venue_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("rule_version", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_scan")),
    )
    with op.batch_alter_table("trace_scan", schema=None) as batch_op:
        batch_op.create_index("ix_trace_scan_at", ["at"], unique=False)
        batch_op.create_index("ix_trace_scan_resident_at", ["resident_id", "at"], unique=False)
        batch_op.create_index("ix_trace_scan_venue_at", ["venue_id", "at"], unique=False)
        batch_op.create_index("uq_trace_scan_client_id", ["client_id"], unique=True)

    op.create_table(
        "trace_venue",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("venue_type", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("county_code", sa.String(length=32), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_request_id", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"], ["region.code"], name=op.f("fk_trace_venue_county_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_trace_venue_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_venue")),
    )
    with op.batch_alter_table("trace_venue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trace_venue_county_code"), ["county_code"], unique=False
        )
        batch_op.create_index(
            "uq_trace_venue_client", ["registered_by", "client_request_id"], unique=True
        )

    op.create_table(
        "trace_run",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "case_resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("county_code", sa.String(length=32), nullable=False),
        sa.Column("run_by", sa.String(length=128), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("close_contacts", sa.Integer(), nullable=False),
        sa.Column("secondary_contacts", sa.Integer(), nullable=False),
        sa.Column("co_presence", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_resident_id"],
            ["resident.id"],
            name=op.f("fk_trace_run_case_resident_id_resident"),
        ),
        sa.ForeignKeyConstraint(
            ["county_code"], ["region.code"], name=op.f("fk_trace_run_county_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_run")),
    )
    with op.batch_alter_table("trace_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trace_run_case_resident_id"), ["case_resident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_trace_run_county_code"), ["county_code"], unique=False)

    op.create_table(
        "trace_contact",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("level", sa.String(length=24), nullable=False),
        sa.Column(
            "source_resident_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("overlap_minutes", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_trace_contact_resident_id_resident")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["trace_run.id"], name=op.f("fk_trace_contact_run_id_trace_run")
        ),
        sa.ForeignKeyConstraint(
            ["source_resident_id"],
            ["resident.id"],
            name=op.f("fk_trace_contact_source_resident_id_resident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_contact")),
    )
    with op.batch_alter_table("trace_contact", schema=None) as batch_op:
        batch_op.create_index("ix_trace_contact_resident", ["resident_id"], unique=False)
        batch_op.create_index("ix_trace_contact_run", ["run_id"], unique=False)
        batch_op.create_index("ix_trace_contact_source", ["source_resident_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("trace_contact", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_contact_source")
        batch_op.drop_index("ix_trace_contact_run")
        batch_op.drop_index("ix_trace_contact_resident")

    op.drop_table("trace_contact")
    with op.batch_alter_table("trace_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trace_run_county_code"))
        batch_op.drop_index(batch_op.f("ix_trace_run_case_resident_id"))

    op.drop_table("trace_run")
    with op.batch_alter_table("trace_venue", schema=None) as batch_op:
        batch_op.drop_index("uq_trace_venue_client")
        batch_op.drop_index(batch_op.f("ix_trace_venue_county_code"))

    op.drop_table("trace_venue")
    with op.batch_alter_table("trace_scan", schema=None) as batch_op:
        batch_op.drop_index("uq_trace_scan_client_id")
        batch_op.drop_index("ix_trace_scan_venue_at")
        batch_op.drop_index("ix_trace_scan_resident_at")
        batch_op.drop_index("ix_trace_scan_at")

    op.drop_table("trace_scan")
    with op.batch_alter_table("trace_ping", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_ping_resident_start")
        batch_op.drop_index("ix_trace_ping_grid_start")
        batch_op.drop_index("ix_trace_ping_end")

    op.drop_table("trace_ping")
