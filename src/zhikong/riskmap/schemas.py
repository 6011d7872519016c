"""Risk-map API shapes: a manual override with its legal basis, an assessment run."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

CODE = r"^[A-Za-z0-9-]{1,32}$"
"""A region code as the risk-map endpoints accept it."""


class OverrideCreate(BaseModel):
    """A manual level for a region, with legal basis and expiry."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    region_code: str = Field(pattern=CODE)
    profile: str = Field(max_length=80)
    level: str = Field(max_length=32)
    valid_from: date = Field(alias="from")
    until: date
    legal_basis: str = Field(min_length=4, max_length=500)


class AssessRun(BaseModel):
    """Run an assessment for a date."""

    model_config = ConfigDict(extra="forbid")

    date: date
    profile: str = Field(default="zhejiang-2020", max_length=80)
    parent: str = Field(default="330000", pattern=CODE)
