"""Pure geometry helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhikong.regions.geometry import bbox, main_centroid, ring_area_and_centroid

coordinate = st.floats(min_value=-170, max_value=170, allow_nan=False)
size = st.floats(min_value=0.001, max_value=5, allow_nan=False)


@given(x=coordinate, y=st.floats(min_value=-80, max_value=80), w=size, h=size)
def test_rectangle_area_centroid_and_bbox(x: float, y: float, w: float, h: float) -> None:
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    area, cx, cy = ring_area_and_centroid(ring)
    assert area == pytest.approx(w * h, rel=1e-6)
    assert cx == pytest.approx(x + w / 2, abs=1e-6)
    assert cy == pytest.approx(y + h / 2, abs=1e-6)
    assert bbox({"type": "Polygon", "coordinates": [ring]}) == pytest.approx((x, y, x + w, y + h))


def test_main_centroid_picks_the_largest_polygon() -> None:
    small = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    large = [[10, 10], [14, 10], [14, 14], [10, 14], [10, 10]]
    geometry = {"type": "MultiPolygon", "coordinates": [[small], [large]]}
    assert main_centroid(geometry) == pytest.approx((12, 12))
    assert bbox(geometry) == (0, 0, 14, 14)


def test_other_geometry_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported geometry"):
        bbox({"type": "Point", "coordinates": [0, 0]})
