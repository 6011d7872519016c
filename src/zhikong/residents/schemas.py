"""Resident API shapes: registration, lookup, the masked and clear views, population counts."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
