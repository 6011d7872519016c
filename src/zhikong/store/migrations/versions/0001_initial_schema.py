"""Initial schema: regions, boundaries, residents, platform facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "platform_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_platform_meta")),
    )
    op.create_table(
        "region",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("pinyin", sa.String(length=200), nullable=True),
        sa.Column("population", sa.BigInteger(), nullable=True),
        sa.Column("population_year", sa.Integer(), nullable=True),
        sa.Column("pack", sa.String(length=32), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["region.code"],
            name=op.f("fk_region_parent_code_region"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    op.create_index(op.f("ix_region_level"), "region", ["level"])
    op.create_index(op.f("ix_region_pack"), "region", ["pack"])
    op.create_index(op.f("ix_region_parent_code"), "region", ["parent_code"])
    op.create_index(
        op.f("ix_region_path"), "region", ["path"], postgresql_ops={"path": "text_pattern_ops"}
    )
    op.create_table(
        "region_geometry",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("label_lon", sa.Float(), nullable=False),
        sa.Column("label_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["region.code"],
            name=op.f("fk_region_geometry_code_region"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region_geometry")),
    )
    op.create_table(
        "resident",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("county_code", sa.String(length=32), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_code"],
            ["region.code"],
            name=op.f("fk_resident_county_code_region"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
    )
    op.create_index("ix_resident_county_birth", "resident", ["county_code", "birth_date"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_resident_county_birth", table_name="resident")
    op.drop_table("resident")
    op.drop_table("region_geometry")
    op.drop_index(op.f("ix_region_path"), table_name="region")
    op.drop_index(op.f("ix_region_parent_code"), table_name="region")
    op.drop_index(op.f("ix_region_pack"), table_name="region")
    op.drop_index(op.f("ix_region_level"), table_name="region")
    op.drop_table("region")
    op.drop_table("platform_meta")
