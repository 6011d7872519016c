"""Rule registry table: rule documents by (id, version), drafts and immutable published ones."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime

DRAFT = "draft"
PUBLISHED = "published"
STATUSES = (DRAFT, PUBLISHED)


class RuleDocumentRecord(Base):
    """One version of a rule document.

    A draft may be replaced; once published the row is immutable (database triggers refuse
    UPDATE and DELETE of published rows, see migration 0004). ``content`` is the parsed
    document, ``source`` the text as authored (comments included), ``sha256`` the hash of the
    canonical JSON of ``content``.
    """

    __tablename__ = "rule_document"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        Index("ix_rule_document_status_rule_id", "status", "rule_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    title_zh: Mapped[str] = mapped_column(String(4000), nullable=False)
    title_en: Mapped[str] = mapped_column(String(4000), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    regions: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    content: Mapped[Any] = mapped_column(JSON, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_format: Mapped[str] = mapped_column(String(8), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    test_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
