"""Risk-map tables: indicator values, assessments per region and date, manual overrides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime


class IndicatorValue(Base):
    """One indicator's value for a region and date, with where it came from."""

    __tablename__ = "map_indicator_value"
    __table_args__ = (
        Index("uq_map_indicator_value", "region_code", "day", "indicator", unique=True),
        Index("ix_map_indicator_value_day", "day", "indicator"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    indicator: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), nullable=False)  # platform|import|synthetic
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RiskOverride(Base):
    """A manual level for a region under a profile, with legal basis, officer and expiry."""

    __tablename__ = "map_override"
    __table_args__ = (Index("ix_map_override_region", "region_code", "profile_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    profile_id: Mapped[str] = mapped_column(String(64), nullable=False)
    level: Mapped[str] = mapped_column(String(32), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)
    legal_basis: Mapped[str] = mapped_column(String(500), nullable=False)
    officer: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class RiskAssessment(Base):
    """A region's level on a date under a profile (computed, official or overridden)."""

    __tablename__ = "map_assessment"
    __table_args__ = (
        Index("uq_map_assessment", "profile_id", "day", "region_code", unique=True),
        Index("ix_map_assessment_region", "region_code", "profile_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    profile_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_version: Mapped[str] = mapped_column(String(32), nullable=False)
    level: Mapped[str | None] = mapped_column(String(32))
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # computed|rollup|official
    override_id: Mapped[int | None] = mapped_column(ForeignKey("map_override.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
