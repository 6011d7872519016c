"""Rule registry: rule documents by (id, version); published versions are immutable.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_STATEMENTS = (
    """
    CREATE OR REPLACE FUNCTION zhikong_rule_published_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'zhikong: published rule documents are immutable: % refused', TG_OP
                USING HINT = 'publish a new version instead; see docs/rules.md';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    "CREATE TRIGGER rule_document_published_immutable BEFORE UPDATE OR DELETE ON rule_document "
    "FOR EACH ROW EXECUTE FUNCTION zhikong_rule_published_immutable()",
)
SQLITE_STATEMENTS = tuple(
    f"CREATE TRIGGER rule_document_published_no_{operation.lower()} BEFORE {operation} "
    "ON rule_document WHEN OLD.status = 'published' "
    f"BEGIN SELECT RAISE(ABORT, 'zhikong: published rule documents are immutable: "
    f"{operation} refused'); END"
    for operation in ("UPDATE", "DELETE")
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rule_document",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title_zh", sa.String(length=4000), nullable=False),
        sa.Column("title_en", sa.String(length=4000), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_format", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("test_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published')", name=op.f("ck_rule_document_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_document")),
        sa.UniqueConstraint("rule_id", "version", name=op.f("uq_rule_document_rule_id")),
    )
    op.create_index(
        "ix_rule_document_status_rule_id", "rule_document", ["status", "rule_id"], unique=False
    )
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        for statement in POSTGRES_STATEMENTS:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in SQLITE_STATEMENTS:
            op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    # Dropping the table drops its triggers on both backends.
    op.drop_index("ix_rule_document_status_rule_id", table_name="rule_document")
    op.drop_table("rule_document")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS zhikong_rule_published_immutable()")
