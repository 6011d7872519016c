"""Index tables: a region's control index per configuration and day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime


class IndexValue(Base):
    """A region's control index on a date (pre-aggregated for the ranking endpoint)."""

    __tablename__ = "index_value"
    __table_args__ = (Index("uq_index_value", "config_id", "day", "region_code", unique=True),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    config_id: Mapped[str] = mapped_column(String(64), nullable=False)
    config_version: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[float | None] = mapped_column(Float)
    containment: Mapped[float | None] = mapped_column(Float)
    flow: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    rank_p5: Mapped[int | None] = mapped_column(Integer)
    rank_p95: Mapped[int | None] = mapped_column(Integer)
    contributions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
