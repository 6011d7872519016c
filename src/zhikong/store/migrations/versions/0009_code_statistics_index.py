"""Index health codes by (county, colour) so colour statistics are one index-only aggregate.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_health_code_county_colour", "health_code", ["county_code", "colour"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_health_code_county_colour", table_name="health_code")
