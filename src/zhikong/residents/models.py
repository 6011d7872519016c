"""Resident table and the API shape of population summaries."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime


class Resident(Base):
    """A person living in a county. Identity fields (encrypted) arrive with the identity domain."""

    __tablename__ = "resident"
    __table_args__ = (Index("ix_resident_county_birth", "county_code", "birth_date"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    county_code: Mapped[str] = mapped_column(
        String(32), ForeignKey("region.code", ondelete="RESTRICT"), nullable=False
    )
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    synthetic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AgeGroupCount(BaseModel):
    """How many residents fall in one age group."""

    group: str = Field(description="0-14, 15-64 or 65+")
    count: int


class PopulationSummary(BaseModel):
    """Residents registered in a region, by sex and broad age group."""

    region_code: str
    as_of: date = Field(description="Date the ages are computed for")
    residents: int
    synthetic: int = Field(description="How many of them are synthetic (demo) residents")
    synthetic_notice: str | None = Field(
        default=None, description="Shown whenever synthetic data is included"
    )
    female: int
    male: int
    age_groups: list[AgeGroupCount]
    census_population: int | None
