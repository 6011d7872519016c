"""Regions for the economy, read from a bundled region pack.

This is the one place the economy reads the region registry's bundled packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from zhikong.regions.packs import read_pack

DEFAULT_PACK = "zhejiang"


@dataclass(frozen=True)
class Region:
    """A region of a pack, as the economy needs it."""

    code: str
    level: str
    parent_code: str | None
    name_zh: str
    name_en: str
    population: int | None


@cache
def pack_regions(pack: str = DEFAULT_PACK) -> tuple[Region, ...]:
    """Every region of a bundled pack, parents first."""
    data = read_pack(pack)
    return tuple(
        Region(
            code=item.code,
            level=item.level,
            parent_code=item.parent_code,
            name_zh=item.name_zh,
            name_en=item.name_en,
            population=item.population,
        )
        for item in data.regions
    )


def known_codes(pack: str = DEFAULT_PACK) -> frozenset[str]:
    """The codes of a pack (what a reading's region must be one of)."""
    return frozenset(region.code for region in pack_regions(pack))


def counties(pack: str = DEFAULT_PACK) -> tuple[Region, ...]:
    """The county-level regions of a pack."""
    return tuple(region for region in pack_regions(pack) if region.level == "county")


def region_names(pack: str = DEFAULT_PACK) -> dict[str, Region]:
    """Regions by code."""
    return {region.code: region for region in pack_regions(pack)}
