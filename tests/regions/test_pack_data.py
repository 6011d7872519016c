"""Checks on the generated region pack data (src/zhikong/regions/packs) and its builder."""

from __future__ import annotations

import csv
import filecmp
import gzip
import json
import math
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKS = REPO_ROOT / "src" / "zhikong" / "regions" / "packs"
BUILDER = REPO_ROOT / "scripts" / "build_region_packs.py"
EXTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "extdata"

ZJ_TOTAL = 64_567_588
ZJ_BBOX = (118.0, 27.0, 123.5, 31.5)
AGE_KEYS = ["0", "1-4", *(f"{lo}-{lo + 4}" for lo in range(5, 85, 5)), "85+"]
MAX_FILE_BYTES = 1_000_000


@cache
def regions(pack: str) -> dict[str, Any]:
    """Return a pack's parsed regions.json."""
    document: dict[str, Any] = json.loads((PACKS / pack / "regions.json").read_text("utf-8"))
    return document


@cache
def boundaries(pack: str) -> dict[str, dict[str, Any]]:
    """Return a pack's boundary geometries keyed by region code."""
    with gzip.open(PACKS / pack / "boundaries.geojson.gz", "rt", encoding="utf-8") as stream:
        collection = json.load(stream)
    assert collection["type"] == "FeatureCollection"
    result: dict[str, dict[str, Any]] = {}
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert "id" not in feature
        assert set(feature["properties"]) == {"code"}
        code = feature["properties"]["code"]
        assert code not in result, f"duplicate feature {code}"
        result[code] = feature["geometry"]
    return result


def by_level(pack: str, level: str) -> list[dict[str, Any]]:
    """Return a pack's regions of one level, in file order."""
    return [r for r in regions(pack)["regions"] if r["level"] == level]


def provenance_counts(pack: str) -> dict[str, int]:
    """Parse the `| item | count |` rows of a pack's PROVENANCE.md."""
    text = (PACKS / pack / "PROVENANCE.md").read_text(encoding="utf-8")
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| ([a-z ]+) \| (\d+) \|$", text, re.M)}


@pytest.fixture(scope="module")
def extdata() -> Path:
    """The shared external data folder; its absence is a failure, not a skip."""
    assert EXTDATA.is_dir(), f"external data folder missing: {EXTDATA}"
    return EXTDATA


# --- both packs -------------------------------------------------------------------------


@pytest.mark.parametrize("pack", ["zhejiang", "us-counties"])
def test_header_and_tree(pack: str) -> None:
    """Header fields are present and every parent precedes its children."""
    document = regions(pack)
    assert document["pack"] == pack
    assert document["format"] == 1
    assert document["scheme"] == {"zhejiang": "gb2260", "us-counties": "fips"}[pack]
    assert isinstance(document["population_year"], int)
    for key in ("title_zh", "title_en", "population_source"):
        assert isinstance(document[key], str) and document[key]
    seen: set[str] = set()
    for region in document["regions"]:
        assert list(region) == [
            "code",
            "level",
            "parent_code",
            "name_zh",
            "name_en",
            "pinyin",
            "population",
            "extra",
        ]
        assert region["level"] in {"country", "province", "state", "city", "county"}
        assert region["parent_code"] is None or region["parent_code"] in seen
        assert region["code"] not in seen
        seen.add(region["code"])
    assert set(boundaries(pack)) <= seen


@pytest.mark.parametrize("pack", ["zhejiang", "us-counties"])
def test_geometries_valid(pack: str) -> None:
    """Every boundary is a valid Polygon/MultiPolygon with 5-decimal coordinates."""
    for code, geometry in boundaries(pack).items():
        assert geometry["type"] in {"Polygon", "MultiPolygon"}, code
        geom = shape(geometry)
        assert geom.is_valid and not geom.is_empty, code
        coordinates = geometry["coordinates"]
        polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
        for ring in (ring for polygon in polygons for ring in polygon):
            assert all(round(v, 5) == v for pos in ring[:5] for v in pos), code


@pytest.mark.parametrize("pack", ["zhejiang", "us-counties"])
def test_files_small(pack: str) -> None:
    """Pack files stay reasonably small."""
    for path in (PACKS / pack).iterdir():
        assert path.stat().st_size < MAX_FILE_BYTES, path.name


# --- zhejiang ---------------------------------------------------------------------------


def test_zhejiang_counts() -> None:
    """1 province, 11 cities, 90 counties."""
    assert [r["code"] for r in by_level("zhejiang", "province")] == ["330000"]
    assert len(by_level("zhejiang", "city")) == 11
    assert len(by_level("zhejiang", "county")) == 90
    assert len(regions("zhejiang")["regions"]) == 102
    assert [r["code"] for r in by_level("zhejiang", "city")] == [
        f"33{n:02d}00" for n in range(1, 12)
    ]


def test_zhejiang_county_codes_match_census_table(extdata: Path) -> None:
    """County codes are exactly the 90 adcodes of zhejiang_counties_2020.csv."""
    path = extdata / "zj_admin_divisions" / "zhejiang_counties_2020.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    codes = [r["code"] for r in by_level("zhejiang", "county")]
    assert codes == sorted(codes)
    assert set(codes) == {row["adcode"] for row in rows}
    assert {"330103", "330104"} <= set(codes)
    assert not {"330113", "330114", "330371"} & set(codes)


def test_zhejiang_populations() -> None:
    """Counties sum to the census total; cities and the province are sums of their children."""
    counties = by_level("zhejiang", "county")
    assert all(isinstance(r["population"], int) and r["population"] > 0 for r in counties)
    assert sum(r["population"] for r in counties) == ZJ_TOTAL
    for city in by_level("zhejiang", "city"):
        members = [r for r in counties if r["parent_code"] == city["code"]]
        assert members, city["code"]
        assert city["population"] == sum(r["population"] for r in members)
    assert by_level("zhejiang", "province")[0]["population"] == ZJ_TOTAL


def test_zhejiang_parents() -> None:
    """Every county's parent is its city and every city's parent is the province."""
    for county in by_level("zhejiang", "county"):
        assert county["parent_code"] == county["code"][:4] + "00"
    for city in by_level("zhejiang", "city"):
        assert city["parent_code"] == "330000"
    assert by_level("zhejiang", "province")[0]["parent_code"] is None


def test_zhejiang_names() -> None:
    """Names and pinyin are filled in, e.g. Hangzhou."""
    hangzhou = next(r for r in by_level("zhejiang", "city") if r["code"] == "330100")
    assert (hangzhou["name_zh"], hangzhou["name_en"], hangzhou["pinyin"]) == (
        "杭州市",
        "Hangzhou",
        "hang zhou",
    )
    province = by_level("zhejiang", "province")[0]
    assert (province["name_zh"], province["name_en"], province["pinyin"]) == (
        "浙江省",
        "Zhejiang",
        "zhe jiang",
    )
    for region in regions("zhejiang")["regions"]:
        assert region["name_zh"] and region["name_en"] and region["pinyin"]


def test_zhejiang_county_extra() -> None:
    """County extras hold the census shares; age bands sum to 1 in age order."""
    for county in by_level("zhejiang", "county"):
        extra = county["extra"]
        for key in ("name_short_zh", "level_type_zh", "level_type_en"):
            assert isinstance(extra[key], str) and extra[key]
        assert 0 < extra["share_age65plus"] < 0.5
        assert 80 < extra["sex_ratio"] < 160
        assert 0 < extra["urbanisation"] <= 1
        assert list(extra["age_bands"]) == AGE_KEYS
        assert math.isclose(sum(extra["age_bands"].values()), 1.0, abs_tol=1e-12)
        assert 0.99 < extra["age_bands_raw_sum"] < 1.01
        old = sum(extra["age_bands"][k] for k in AGE_KEYS[-5:])
        assert math.isclose(old, extra["share_age65plus"], abs_tol=0.002), county["code"]


def test_zhejiang_dev_zone_folded() -> None:
    """330371 is folded into 330303 (population, weighted shares, marker)."""
    longwan = next(r for r in by_level("zhejiang", "county") if r["code"] == "330303")
    assert longwan["population"] == 475_693 + 249_343
    assert longwan["extra"]["dev_zone_folded"] == {
        "code": "330371",
        "name_zh": "温州经济技术开发区",
        "population": 249_343,
    }
    assert 126.17 < longwan["extra"]["sex_ratio"] < 135.39
    assert 0.9955 < longwan["extra"]["urbanisation"] < 1.0
    others = [r for r in by_level("zhejiang", "county") if "dev_zone_folded" in r["extra"]]
    assert others == [longwan]


def test_zhejiang_geometry_everywhere_in_bbox() -> None:
    """Every Zhejiang region has a geometry inside the province's bounding box."""
    shapes = boundaries("zhejiang")
    assert set(shapes) == {r["code"] for r in regions("zhejiang")["regions"]}
    for code, geometry in shapes.items():
        minx, miny, maxx, maxy = shape(geometry).bounds
        assert ZJ_BBOX[0] <= minx < maxx <= ZJ_BBOX[2], code
        assert ZJ_BBOX[1] <= miny < maxy <= ZJ_BBOX[3], code
    province = shape(shapes["330000"])
    county_area = sum(shape(shapes[r["code"]]).area for r in by_level("zhejiang", "county"))
    assert math.isclose(province.area, county_area, rel_tol=0.01)


# --- us-counties ------------------------------------------------------------------------


def test_us_counts_match_provenance() -> None:
    """The counts table of PROVENANCE.md matches regions.json and the boundaries."""
    counts = provenance_counts("us-counties")
    counties = by_level("us-counties", "county")
    states = by_level("us-counties", "state")
    shapes = boundaries("us-counties")
    assert counts["regions"] == len(regions("us-counties")["regions"])
    assert counts["country"] == len(by_level("us-counties", "country")) == 1
    assert counts["states"] == len(states) == 56
    assert counts["counties"] == len(counties)
    assert counts["counties with geometry"] == sum(r["code"] in shapes for r in counties)
    assert counts["counties without geometry"] == sum(r["code"] not in shapes for r in counties)
    assert counts["counties without population"] == sum(r["population"] is None for r in counties)
    assert counts["states without population"] == sum(r["population"] is None for r in states)
    assert counts["boundary features"] == len(shapes)
    assert counts["territory pseudo codes left out"] == 4
    assert "US" not in shapes
    assert all(r["code"] in shapes for r in states)


def test_us_codes_and_populations() -> None:
    """Codes are namespaced FIPS; states and the nation sum their counties."""
    counties = by_level("us-counties", "county")
    codes = {r["code"] for r in counties}
    assert all(re.fullmatch(r"US-\d{5}", c) for c in codes)
    assert not {"US-60000", "US-66000", "US-69000", "US-78000"} & codes
    assert "US-51610" in codes and "US-51610" not in boundaries("us-counties")
    for county in counties:
        assert county["parent_code"] == county["code"][:5]
        assert county["extra"] == {"fips": county["code"][3:]}
        assert county["name_zh"] == county["name_en"] and county["pinyin"] is None
    la = next(r for r in counties if r["code"] == "US-06037")
    assert la["name_en"] == "Los Angeles County" and la["population"] == 10_039_107
    for state in by_level("us-counties", "state"):
        assert re.fullmatch(r"US-\d{2}", state["code"]) and state["parent_code"] == "US"
        known = [
            r["population"]
            for r in counties
            if r["parent_code"] == state["code"] and r["population"] is not None
        ]
        assert state["population"] == (sum(known) if known else None)
    nation = by_level("us-counties", "country")[0]
    assert (nation["code"], nation["name_zh"], nation["name_en"]) == ("US", "美国", "United States")
    assert nation["population"] == sum(r["population"] or 0 for r in counties)
    text = (PACKS / "us-counties" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert f"{nation['population']:,}" in text
    assert (PACKS / "us-counties" / "LICENSE-us-atlas.txt").is_file()


# --- reproducibility --------------------------------------------------------------------


def test_builder_reproduces_committed_files(extdata: Path, tmp_path: Path) -> None:
    """Re-running the builder gives byte-identical files."""
    result = subprocess.run(
        [sys.executable, str(BUILDER), "--extdata", str(extdata), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(PACKS) for p in PACKS.rglob("*") if p.is_file())
    assert built == committed
    assert len(built) == 7
    for rel in built:
        assert filecmp.cmp(tmp_path / rel, PACKS / rel, shallow=False), f"{rel} differs"
