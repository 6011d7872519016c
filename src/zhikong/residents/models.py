"""Resident table and the API shape of population summaries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime


class Resident(Base):
    """A person living in a county; identity kept as a keyed hash and sealed fields only."""

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
    id_type: Mapped[str | None] = mapped_column(String(32))
    id_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_lookup_version: Mapped[int | None] = mapped_column(Integer)
    name_masked: Mapped[str | None] = mapped_column(String(64))
    name_sealed: Mapped[str | None] = mapped_column(String(512))
    phone_sealed: Mapped[str | None] = mapped_column(String(512))
    registered_by: Mapped[str | None] = mapped_column(String(128))


class ResidentCreate(BaseModel):
    """A resident registered by a health officer (identity document, name, phone, county)."""

    model_config = ConfigDict(extra="forbid")

    id_type: str = Field(description="cn-resident, passport, hk-macau-permit, ...")
    id_number: str = Field(min_length=5, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(pattern=r"^\+?\d{6,15}$")
    county_code: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")
    sex: Literal["F", "M"]
    birth_date: date


class ResidentLookup(BaseModel):
    """Find a resident by identity document (sent in a body so it never lands in a URL log)."""

    model_config = ConfigDict(extra="forbid")

    id_type: str
    id_number: str = Field(min_length=5, max_length=32)


class ResidentRead(BaseModel):
    """A resident as staff see it: masked personal data."""

    id: int
    county_code: str
    sex: str
    birth_date: date
    name: str | None = Field(description="Masked (张*)")
    phone: str | None = Field(description="Masked (138****1234)")
    id_type: str | None
    synthetic: bool


class ResidentPersonalData(BaseModel):
    """A resident's personal data in clear (health officers only; every read is audited)."""

    id: int
    name: str | None
    phone: str | None
    id_type: str | None


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
