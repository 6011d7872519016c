"""Merge the risk-map (0006) and tracing (0007) branches, which both follow 0005.

Revision ID: 0008
Revises: 0006, 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0006", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the two branches touch different tables."""


def downgrade() -> None:
    """Nothing to undo."""
