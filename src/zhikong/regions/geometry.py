"""Pure helpers over GeoJSON geometries (no I/O, no geometry library needed at run time)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

Ring = Sequence[Sequence[float]]


def polygons(geometry: dict[str, Any]) -> Iterator[Sequence[Ring]]:
    """Each polygon (a list of rings) of a Polygon or MultiPolygon geometry."""
    kind = geometry.get("type")
    if kind == "Polygon":
        yield geometry["coordinates"]
    elif kind == "MultiPolygon":
        yield from geometry["coordinates"]
    else:
        raise ValueError(f"unsupported geometry type: {kind!r}")


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """The [min_lon, min_lat, max_lon, max_lat] box around a geometry."""
    lons: list[float] = []
    lats: list[float] = []
    for polygon in polygons(geometry):
        for lon, lat, *_ in polygon[0]:
            lons.append(lon)
            lats.append(lat)
    if not lons:
        raise ValueError("geometry has no coordinates")
    return min(lons), min(lats), max(lons), max(lats)


def ring_area_and_centroid(ring: Ring) -> tuple[float, float, float]:
    """Signed planar area and centroid (lon, lat) of a closed ring (shoelace formula)."""
    # Work relative to the first vertex: far from the origin the plain formula loses precision.
    ox, oy = ring[0][0], ring[0][1]
    area2 = 0.0
    cx = 0.0
    cy = 0.0
    for (ax, ay, *_), (bx, by, *_) in pairwise(ring):
        x0, y0, x1, y1 = ax - ox, ay - oy, bx - ox, by - oy
        cross = x0 * y1 - x1 * y0
        area2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area2 == 0.0:
        xs = [point[0] for point in ring]
        ys = [point[1] for point in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area2 / 2.0, ox + cx / (3.0 * area2), oy + cy / (3.0 * area2)


def main_centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """Centroid of the outer ring of the largest polygon, a stable point to hang a label on."""
    best: tuple[float, float, float] | None = None
    for polygon in polygons(geometry):
        area, lon, lat = ring_area_and_centroid(polygon[0])
        if best is None or abs(area) > abs(best[0]):
            best = (area, lon, lat)
    if best is None:
        raise ValueError("geometry has no polygons")
    return best[1], best[2]
