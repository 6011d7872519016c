"""Bundled region packs: read the packaged reference data (pure; no database)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from zhikong.regions.models import LEVEL_DEPTH

PACKS: dict[str, str] = {
    "zhejiang": "Zhejiang: province, 11 cities, 90 counties (2020 census units)",
    "us-counties": "United States: nation, states, counties by FIPS (optional)",
}
DEFAULT_PACK = "zhejiang"


class UnknownPackError(ValueError):
    """A region pack name that zhikong does not ship."""


@dataclass(frozen=True)
class PackRegion:
    """One region record of a pack."""

    code: str
    level: str
    parent_code: str | None
    name_zh: str
    name_en: str
    pinyin: str | None
    population: int | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegionPack:
    """A pack's regions (parents first) and boundaries keyed by region code."""

    name: str
    scheme: str
    title_zh: str
    title_en: str
    population_year: int | None
    population_source: str
    regions: tuple[PackRegion, ...]
    boundaries: dict[str, dict[str, Any]]


def _pack_dir(name: str) -> Traversable:
    if name not in PACKS:
        known = ", ".join(sorted(PACKS))
        raise UnknownPackError(f"unknown region pack {name!r}; known packs: {known}")
    return resources.files("zhikong.regions").joinpath("packs", name)


def read_pack(name: str) -> RegionPack:
    """Read a bundled pack and check that its tree is well formed."""
    folder = _pack_dir(name)
    document = json.loads(folder.joinpath("regions.json").read_text(encoding="utf-8"))
    with folder.joinpath("boundaries.geojson.gz").open("rb") as raw, gzip.open(raw) as stream:
        collection = json.load(stream)
    regions = tuple(
        PackRegion(
            code=item["code"],
            level=item["level"],
            parent_code=item.get("parent_code"),
            name_zh=item["name_zh"],
            name_en=item["name_en"],
            pinyin=item.get("pinyin"),
            population=item.get("population"),
            extra=dict(item.get("extra") or {}),
        )
        for item in document["regions"]
    )
    _check_tree(name, regions)
    boundaries = {
        feature["properties"]["code"]: feature["geometry"] for feature in collection["features"]
    }
    return RegionPack(
        name=name,
        scheme=document["scheme"],
        title_zh=document["title_zh"],
        title_en=document["title_en"],
        population_year=document.get("population_year"),
        population_source=document.get("population_source", ""),
        regions=regions,
        boundaries=boundaries,
    )


def _check_tree(name: str, regions: tuple[PackRegion, ...]) -> None:
    """Every parent comes before its children and every level is known."""
    seen: set[str] = set()
    for region in regions:
        if region.level not in LEVEL_DEPTH:
            raise ValueError(f"pack {name}: region {region.code} has unknown level {region.level}")
        if region.parent_code is not None and region.parent_code not in seen:
            raise ValueError(f"pack {name}: parent {region.parent_code} of {region.code} missing")
        if region.code in seen:
            raise ValueError(f"pack {name}: duplicate region code {region.code}")
        seen.add(region.code)
