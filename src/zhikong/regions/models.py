"""Region registry tables: regions and their boundaries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base

# Depth of each level in a region tree; finer levels (street, community, grid) slot in below
# county without a schema change.
LEVEL_DEPTH: dict[str, int] = {
    "country": 0,
    "province": 1,
    "state": 1,
    "city": 2,
    "county": 3,
    "street": 4,
    "community": 5,
    "grid": 6,
}
LEVELS = tuple(LEVEL_DEPTH)


class Region(Base):
    """An administrative unit: province, city, county, or a finer level below them."""

    __tablename__ = "region"
    __table_args__ = (Index("ix_region_path", "path", postgresql_ops={"path": "text_pattern_ops"}),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    depth: Mapped[int] = mapped_column(Integer, nullable=False)
    parent_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("region.code"), index=True
    )
    path: Mapped[str] = mapped_column(String(400), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    pinyin: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(BigInteger)
    population_year: Mapped[int | None] = mapped_column(Integer)
    pack: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class RegionGeometry(Base):
    """A region's simplified WGS84 boundary (GeoJSON geometry) with its bounding box."""

    __tablename__ = "region_geometry"

    code: Mapped[str] = mapped_column(
        String(32), ForeignKey("region.code", ondelete="CASCADE"), primary_key=True
    )
    geojson: Mapped[str] = mapped_column(Text, nullable=False)
    min_lon: Mapped[float] = mapped_column(Float, nullable=False)
    min_lat: Mapped[float] = mapped_column(Float, nullable=False)
    max_lon: Mapped[float] = mapped_column(Float, nullable=False)
    max_lat: Mapped[float] = mapped_column(Float, nullable=False)
    label_lon: Mapped[float] = mapped_column(Float, nullable=False)
    label_lat: Mapped[float] = mapped_column(Float, nullable=False)
