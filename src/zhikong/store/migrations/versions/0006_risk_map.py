"""Risk map: indicator values, overrides, assessments; pre-aggregated control index values.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _region_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["region_code"], ["region.code"], name=op.f(f"fk_{table}_region_code_region")
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "map_indicator_value",
        _id(),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _region_fk("map_indicator_value"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_indicator_value")),
    )
    with op.batch_alter_table("map_indicator_value", schema=None) as batch_op:
        batch_op.create_index(
            "uq_map_indicator_value", ["region_code", "day", "indicator"], unique=True
        )
        batch_op.create_index("ix_map_indicator_value_day", ["day", "indicator"], unique=False)

    op.create_table(
        "map_override",
        _id(),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _region_fk("map_override"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_override")),
    )
    with op.batch_alter_table("map_override", schema=None) as batch_op:
        batch_op.create_index("ix_map_override_region", ["region_code", "profile_id"], unique=False)

    op.create_table(
        "map_assessment",
        _id(),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "override_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        _region_fk("map_assessment"),
        sa.ForeignKeyConstraint(
            ["override_id"],
            ["map_override.id"],
            name=op.f("fk_map_assessment_override_id_map_override"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_assessment")),
    )
    with op.batch_alter_table("map_assessment", schema=None) as batch_op:
        batch_op.create_index(
            "uq_map_assessment", ["profile_id", "day", "region_code"], unique=True
        )
        batch_op.create_index(
            "ix_map_assessment_region", ["region_code", "profile_id", "day"], unique=False
        )

    op.create_table(
        "index_value",
        _id(),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("containment", sa.Float(), nullable=True),
        sa.Column("flow", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("rank_p5", sa.Integer(), nullable=True),
        sa.Column("rank_p95", sa.Integer(), nullable=True),
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        _region_fk("index_value"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_value")),
    )
    with op.batch_alter_table("index_value", schema=None) as batch_op:
        batch_op.create_index("uq_index_value", ["config_id", "day", "region_code"], unique=True)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("index_value")
    op.drop_table("map_assessment")
    op.drop_table("map_override")
    op.drop_table("map_indicator_value")
