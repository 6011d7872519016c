"""Region registry API shapes: one region and a page of them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RegionRead(BaseModel):
    """A region as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="GB/T 2260 code (China) or namespaced code such as US-06037")
    scheme: str = Field(description="Coding scheme: gb2260 or fips")
    level: str = Field(description="country, province, state, city, county, street, ...")
    parent_code: str | None
    name_zh: str
    name_en: str
    pinyin: str | None
    population: int | None = Field(description="Resident population (census or source year)")
    population_year: int | None
    pack: str = Field(description="The region pack this region came from")
    bbox: list[float] | None = Field(
        default=None, description="[min_lon, min_lat, max_lon, max_lat] of the boundary (WGS84)"
    )
    label_point: list[float] | None = Field(
        default=None, description="[lon, lat] inside the main polygon, for labels"
    )
    extra: dict[str, Any] = Field(default_factory=dict)


class RegionPage(BaseModel):
    """One page of a region listing."""

    items: list[RegionRead]
    total: int
    limit: int
    offset: int
