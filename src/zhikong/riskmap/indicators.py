"""Risk-map indicator definitions: names (zh/en), unit, direction and source of each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndicatorDefinition:
    """What an indicator means: names, unit, which way is worse, and where it comes from."""

    id: str
    zh: str
    en: str
    unit: str
    direction: str  # "higher_is_worse" | "higher_is_better"
    source: str


_WORSE = "higher_is_worse"
_BETTER = "higher_is_better"
_CASES = "platform: confirmed case reports (code_event case_report) by the resident's county"

DEFINITIONS: dict[str, IndicatorDefinition] = {
    d.id: d
    for d in (
        IndicatorDefinition(
            "new_cases", "当日新增确诊", "new confirmed cases", "cases", _WORSE, _CASES
        ),
        IndicatorDefinition(
            "new_cases_7d", "近 7 日新增确诊", "new cases, 7 days", "cases", _WORSE, _CASES
        ),
        IndicatorDefinition(
            "new_cases_14d", "近 14 日新增确诊", "new cases, 14 days", "cases", _WORSE, _CASES
        ),
        IndicatorDefinition(
            "cumulative_cases", "累计确诊", "cumulative cases", "cases", _WORSE, _CASES
        ),
        IndicatorDefinition(
            "new_local_cases", "当日新增本地病例", "new local cases", "cases", _WORSE, _CASES
        ),
        IndicatorDefinition(
            "new_imported_cases",
            "当日新增输入病例",
            "new imported cases",
            "cases",
            _WORSE,
            _CASES + "; imported = overseas trip within 14 days or marked imported",
        ),
        IndicatorDefinition(
            "local_case_share", "本地病例占比", "share of local cases", "%", _WORSE, _CASES
        ),
        IndicatorDefinition(
            "clusters_14d",
            "近 14 日聚集性疫情",
            "clusters, 14 days",
            "clusters",
            _WORSE,
            "platform: distinct cluster tags on case reports (tracing), or imported",
        ),
        IndicatorDefinition(
            "cumulative_clusters",
            "累计聚集性疫情",
            "clusters so far",
            "clusters",
            _WORSE,
            "platform: distinct cluster tags on case reports (tracing), or imported",
        ),
        IndicatorDefinition(
            "days_since_last_case",
            "连续无新增确诊天数",
            "days without a new case",
            "days",
            _BETTER,
            _CASES,
        ),
        IndicatorDefinition(
            "new_cases_per_100k_7d",
            "近 7 日每 10 万人新增病例",
            "new cases per 100k, 7 days",
            "cases/100k",
            _WORSE,
            _CASES + " and census population",
        ),
        IndicatorDefinition(
            "new_cases_per_100k_7d_avg",
            "近 7 日平均每日每 10 万人新增病例",
            "daily new cases per 100k, 7-day average",
            "cases/100k/day",
            _WORSE,
            _CASES + " and census population",
        ),
        IndicatorDefinition(
            "green_code_share",
            "绿码占比",
            "green-code share",
            "%",
            _BETTER,
            "platform: colour history (code_colour_change) as of the end of the day",
        ),
        IndicatorDefinition(
            "exposure_sites",
            "病例停留过的场所数",
            "places where cases stayed",
            "places",
            _WORSE,
            "import (tracing)",
        ),
        IndicatorDefinition(
            "covid_cases_per_100k",
            "近 7 日每 10 万人新增病例（CDC）",
            "COVID-19 cases per 100k, 7 days (CDC)",
            "cases/100k",
            _WORSE,
            "import: CDC",
        ),
        IndicatorDefinition(
            "covid_hospital_admissions_per_100k",
            "近 7 日每 10 万人新冠住院（CDC）",
            "COVID-19 admissions per 100k, 7 days (CDC)",
            "admissions/100k",
            _WORSE,
            "import: CDC",
        ),
        IndicatorDefinition(
            "covid_inpatient_bed_utilization",
            "新冠患者床位占用率（CDC）",
            "inpatient beds used by COVID-19 patients (CDC)",
            "%",
            _WORSE,
            "import: CDC",
        ),
    )
}
PLATFORM_INDICATORS = (
    "new_cases",
    "new_cases_7d",
    "new_cases_14d",
    "cumulative_cases",
    "new_local_cases",
    "new_imported_cases",
    "local_case_share",
    "clusters_14d",
    "cumulative_clusters",
    "days_since_last_case",
    "new_cases_per_100k_7d",
    "new_cases_per_100k_7d_avg",
    "green_code_share",
)
