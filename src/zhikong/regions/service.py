"""Region registry service: install packs, look regions up, walk the tree."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhikong.regions.geometry import bbox, main_centroid
from zhikong.regions.models import LEVEL_DEPTH, Region, RegionGeometry
from zhikong.regions.packs import RegionPack
from zhikong.regions.schemas import RegionRead
from zhikong.store.meta import get_meta, set_meta


class RegionNotFoundError(LookupError):
    """No region has the given code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no region with code {code!r}")
        self.code = code


@dataclass(frozen=True)
class PackInstallReport:
    """What installing a pack changed."""

    pack: str
    inserted: int
    updated: int
    geometries: int


def install_pack(session: Session, pack: RegionPack, at: datetime) -> PackInstallReport:
    """Insert or update every region of a pack; running it twice changes nothing more."""
    existing = {
        region.code: region
        for region in session.scalars(
            select(Region).where(Region.code.in_([r.code for r in pack.regions]))
        )
    }
    paths: dict[str, str] = {}
    inserted = updated = 0
    for item in pack.regions:
        if item.parent_code is None:
            path = f"/{item.code}/"
        elif item.parent_code in paths:
            path = f"{paths[item.parent_code]}{item.code}/"
        else:
            parent = session.get(Region, item.parent_code)
            if parent is None:
                raise RegionNotFoundError(item.parent_code)
            path = f"{parent.path}{item.code}/"
        paths[item.code] = path
        values: dict[str, Any] = {
            "scheme": pack.scheme,
            "level": item.level,
            "depth": LEVEL_DEPTH[item.level],
            "parent_code": item.parent_code,
            "path": path,
            "name_zh": item.name_zh,
            "name_en": item.name_en,
            "pinyin": item.pinyin,
            "population": item.population,
            "population_year": pack.population_year if item.population is not None else None,
            "pack": pack.name,
            "extra": item.extra,
        }
        region = existing.get(item.code)
        if region is None:
            session.add(Region(code=item.code, **values))
            inserted += 1
        else:
            for key, value in values.items():
                setattr(region, key, value)
            updated += 1
    session.flush()
    geometries = _install_geometries(session, pack)
    packs = get_meta(session, "region_packs") or {}
    packs[pack.name] = {"regions": len(pack.regions), "installed_at": at.isoformat()}
    set_meta(session, "region_packs", packs, at)
    return PackInstallReport(pack.name, inserted, updated, geometries)


def _install_geometries(session: Session, pack: RegionPack) -> int:
    """Store each boundary of a pack with its bounding box and centroid."""
    existing = {
        row.code: row
        for row in session.scalars(
            select(RegionGeometry).where(RegionGeometry.code.in_(list(pack.boundaries)))
        )
    }
    for code, geometry in pack.boundaries.items():
        min_lon, min_lat, max_lon, max_lat = bbox(geometry)
        label_lon, label_lat = main_centroid(geometry)
        values = {
            "geojson": json.dumps(geometry, separators=(",", ":")),
            "min_lon": min_lon,
            "min_lat": min_lat,
            "max_lon": max_lon,
            "max_lat": max_lat,
            "label_lon": label_lon,
            "label_lat": label_lat,
        }
        row = existing.get(code)
        if row is None:
            session.add(RegionGeometry(code=code, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
    return len(pack.boundaries)


def installed_packs(session: Session) -> dict[str, Any]:
    """The packs installed in this database, with when."""
    return get_meta(session, "region_packs") or {}


def get_region(session: Session, code: str) -> Region:
    """The region with a code, or RegionNotFoundError."""
    region = session.get(Region, code)
    if region is None:
        raise RegionNotFoundError(code)
    return region


def list_regions(
    session: Session,
    *,
    level: str | None = None,
    parent_code: str | None = None,
    within: str | None = None,
    pack: str | None = None,
    name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Region], int]:
    """Regions matching the filters, ordered by code, and how many match in all."""
    query = select(Region)
    if level is not None:
        query = query.where(Region.level == level)
    if parent_code is not None:
        query = query.where(Region.parent_code == parent_code)
    if within is not None:
        ancestor = get_region(session, within)
        query = query.where(Region.path.startswith(ancestor.path, autoescape=True))
    if pack is not None:
        query = query.where(Region.pack == pack)
    if name:
        pattern = f"%{name.lower()}%"
        query = query.where(
            func.lower(Region.name_zh).like(pattern)
            | func.lower(Region.name_en).like(pattern)
            | func.lower(func.coalesce(Region.pinyin, "")).like(pattern)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Region.code).limit(limit).offset(offset)).all()
    return rows, total


def children(session: Session, code: str) -> Sequence[Region]:
    """The direct children of a region, ordered by code."""
    get_region(session, code)
    return session.scalars(
        select(Region).where(Region.parent_code == code).order_by(Region.code)
    ).all()


def is_within(session: Session, code: str, ancestor_code: str) -> bool:
    """Whether a region is the ancestor itself or one of its descendants."""
    region = get_region(session, code)
    ancestor = get_region(session, ancestor_code)
    return region.path.startswith(ancestor.path)


def geometries_for(session: Session, codes: Sequence[str]) -> dict[str, RegionGeometry]:
    """The stored boundaries of the given regions, keyed by code."""
    if not codes:
        return {}
    rows = session.scalars(select(RegionGeometry).where(RegionGeometry.code.in_(list(codes))))
    return {row.code: row for row in rows}


def to_read(region: Region, geometry: RegionGeometry | None) -> RegionRead:
    """The API shape of a region."""
    read = RegionRead.model_validate(region)
    if geometry is not None:
        read.bbox = [geometry.min_lon, geometry.min_lat, geometry.max_lon, geometry.max_lat]
        read.label_point = [geometry.label_lon, geometry.label_lat]
    return read


def feature(region: Region, geometry: RegionGeometry | None) -> dict[str, Any]:
    """A region as a GeoJSON Feature (geometry null when the region has none)."""
    properties = to_read(region, geometry).model_dump(exclude={"extra"})
    return {
        "type": "Feature",
        "id": region.code,
        "properties": properties,
        "geometry": None if geometry is None else json.loads(geometry.geojson),
    }


def feature_collection(
    session: Session, ancestor_code: str, level: str = "county"
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of every region of a level under an ancestor."""
    ancestor = get_region(session, ancestor_code)
    regions = session.scalars(
        select(Region)
        .where(Region.path.startswith(ancestor.path, autoescape=True), Region.level == level)
        .order_by(Region.code)
    ).all()
    shapes = geometries_for(session, [r.code for r in regions])
    return {
        "type": "FeatureCollection",
        "features": [feature(region, shapes.get(region.code)) for region in regions],
    }
