"""Health code: declarations, trips, colour events, current codes, colour history, holders,
appeals and region risk designations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "code_risk_designation",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("designated_by", sa.String(length=128), nullable=False),
        sa.Column("basis", sa.String(length=500), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
            name=op.f("fk_code_risk_designation_region_code_region"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_risk_designation")),
    )
    with op.batch_alter_table("code_risk_designation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_code_risk_designation_region", ["region_code", "effective_at"], unique=False
        )

    op.create_table(
        "code_appeal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("county_code", sa.String(length=32), nullable=False),
        sa.Column("submitted_by", sa.String(length=128), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("evidence", sa.String(length=4000), nullable=True),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"], ["region.code"], name=op.f("fk_code_appeal_county_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_code_appeal_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_appeal")),
    )
    with op.batch_alter_table("code_appeal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_appeal_county_code"), ["county_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_code_appeal_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_code_appeal_status"), ["status"], unique=False)

    op.create_table(
        "code_colour_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_colour", sa.String(length=8), nullable=True),
        sa.Column("new_colour", sa.String(length=8), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("rule_version", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=128), nullable=False),
        sa.Column("county_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["region.code"], name=op.f("fk_code_colour_change_county_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_code_colour_change_resident_id_resident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_colour_change")),
    )
    with op.batch_alter_table("code_colour_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_colour_change_county_code"), ["county_code"], unique=False
        )
        batch_op.create_index("ix_code_colour_change_resident", ["resident_id", "at"], unique=False)

    op.create_table(
        "code_declaration",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("submitted_by", sa.String(length=128), nullable=False),
        sa.Column("client_request_id", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submission_sealed", sa.Text(), nullable=False),
        sa.Column("submission_hash", sa.String(length=64), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("household_region", sa.String(length=32), nullable=True),
        sa.Column("address_region", sa.String(length=32), nullable=False),
        sa.Column("temperature_decidegrees", sa.Integer(), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("underlying_conditions", sa.JSON(), nullable=False),
        sa.Column("contact_history", sa.JSON(), nullable=False),
        sa.Column("pledge", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["address_region"],
            ["region.code"],
            name=op.f("fk_code_declaration_address_region_region"),
        ),
        sa.ForeignKeyConstraint(
            ["household_region"],
            ["region.code"],
            name=op.f("fk_code_declaration_household_region_region"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_code_declaration_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_declaration")),
    )
    with op.batch_alter_table("code_declaration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_declaration_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(
            "uq_code_declaration_client", ["submitted_by", "client_request_id"], unique=True
        )

    op.create_table(
        "code_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=True),
        sa.Column("client_request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_code_event_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_event")),
    )
    with op.batch_alter_table("code_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_code_event_resident_at", ["resident_id", "occurred_at"], unique=False
        )

    op.create_table(
        "code_holder",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("consent", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_code_holder_resident_id_resident")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_code_holder_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_holder")),
    )
    with op.batch_alter_table("code_holder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_holder_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index("uq_code_holder", ["user_id", "resident_id"], unique=True)

    op.create_table(
        "health_code",
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("rule_version", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("override_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("county_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"], ["region.code"], name=op.f("fk_health_code_county_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_health_code_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_health_code")),
    )
    with op.batch_alter_table("health_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_code_colour"), ["colour"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_health_code_county_code"), ["county_code"], unique=False
        )

    op.create_table(
        "code_trip",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "declaration_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("region_code", sa.String(length=32), nullable=True),
        sa.Column("overseas", sa.Boolean(), nullable=False),
        sa.Column("arrived_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["code_declaration.id"],
            name=op.f("fk_code_trip_declaration_id_code_declaration"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_code_trip_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_code_trip_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_trip")),
    )
    with op.batch_alter_table("code_trip", schema=None) as batch_op:
        batch_op.create_index("ix_code_trip_region_left", ["region_code", "left_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_code_trip_resident_id"), ["resident_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("code_trip", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_trip_resident_id"))
        batch_op.drop_index("ix_code_trip_region_left")

    op.drop_table("code_trip")
    with op.batch_alter_table("health_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_code_county_code"))
        batch_op.drop_index(batch_op.f("ix_health_code_colour"))

    op.drop_table("health_code")
    with op.batch_alter_table("code_holder", schema=None) as batch_op:
        batch_op.drop_index("uq_code_holder")
        batch_op.drop_index(batch_op.f("ix_code_holder_resident_id"))

    op.drop_table("code_holder")
    with op.batch_alter_table("code_event", schema=None) as batch_op:
        batch_op.drop_index("ix_code_event_resident_at")

    op.drop_table("code_event")
    with op.batch_alter_table("code_declaration", schema=None) as batch_op:
        batch_op.drop_index("uq_code_declaration_client")
        batch_op.drop_index(batch_op.f("ix_code_declaration_resident_id"))

    op.drop_table("code_declaration")
    with op.batch_alter_table("code_colour_change", schema=None) as batch_op:
        batch_op.drop_index("ix_code_colour_change_resident")
        batch_op.drop_index(batch_op.f("ix_code_colour_change_county_code"))

    op.drop_table("code_colour_change")
    with op.batch_alter_table("code_appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_appeal_status"))
        batch_op.drop_index(batch_op.f("ix_code_appeal_resident_id"))
        batch_op.drop_index(batch_op.f("ix_code_appeal_county_code"))

    op.drop_table("code_appeal")
    with op.batch_alter_table("code_risk_designation", schema=None) as batch_op:
        batch_op.drop_index("ix_code_risk_designation_region")

    op.drop_table("code_risk_designation")
