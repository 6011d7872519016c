"""Indicator definitions and index configurations are data, validated on load."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhikong.index.indicators import (
    CATALOGUES,
    OXCGRT_INDICATORS,
    ZHIKONG_INDICATORS,
    ConfigError,
    Direction,
    bundled_config_ids,
    load_config,
    parse_config,
)

DEFAULT = Path(__file__).resolve().parents[2] / "src/zhikong/index/configs/zhikong-2020.yaml"


def test_bundled_configurations() -> None:
    assert bundled_config_ids() == (
        "oxcgrt-containment-health",
        "oxcgrt-economic-support",
        "oxcgrt-government-response",
        "oxcgrt-stringency",
        "zhikong-2020",
    )
    for config_id in bundled_config_ids():
        config = load_config(config_id)
        assert config.id == config_id
        assert config.provenance


def test_the_default_index_has_5_control_and_7_flow_indicators() -> None:
    config = load_config("zhikong-2020")
    assert [group.id for group in config.sub_indices] == ["containment", "flow"]
    assert [len(group.indicators) for group in config.sub_indices] == [5, 7]
    assert set(config.indicator_ids) == {item.id for item in ZHIKONG_INDICATORS}
    assert config.sensitivity is not None
    assert set(config.sensitivity.normalisations) == {"goalposts", "minmax", "zscore"}
    assert set(config.sensitivity.aggregations) == {"arithmetic", "geometric"}
    published = {item.id for item in ZHIKONG_INDICATORS if item.published_name}
    assert published == {"new_cases_per_100k_7d", "bus_route_reopening_rate"}


def test_every_definition_is_complete() -> None:
    for item in (*ZHIKONG_INDICATORS, *OXCGRT_INDICATORS):
        assert item.name_zh and item.name_en and item.unit_zh and item.unit_en
        assert item.source and item.description_en
        assert isinstance(item.direction, Direction)
    lower = {item.id for item in ZHIKONG_INDICATORS if item.direction is Direction.LOWER_IS_BETTER}
    assert lower == {"new_cases_per_100k_7d", "active_clusters", "unknown_source_cases"}
    oxcgrt = CATALOGUES["oxcgrt"]
    assert {code: item.ordinal_max for code, item in oxcgrt.items()} == {
        "C1": 3, "C2": 3, "C3": 2, "C4": 4, "C5": 2, "C6": 3, "C7": 2, "C8": 4,
        "E1": 2, "E2": 2, "H1": 2, "H2": 3, "H3": 2, "H6": 4, "H7": 5, "H8": 3,
    }  # fmt: skip
    assert {code for code, item in oxcgrt.items() if not item.flagged} == {"C8", "E2", "H2", "H3"}


def test_oxcgrt_configurations_are_oxfords_indices() -> None:
    components = {
        "oxcgrt-stringency": "C1 C2 C3 C4 C5 C6 C7 C8 H1",
        "oxcgrt-containment-health": "C1 C2 C3 C4 C5 C6 C7 C8 H1 H2 H3 H6 H7 H8",
        "oxcgrt-government-response": "C1 C2 C3 C4 C5 C6 C7 C8 E1 E2 H1 H2 H3 H6 H7 H8",
        "oxcgrt-economic-support": "E1 E2",
    }
    for config_id, codes in components.items():
        config = load_config(config_id)
        k = len(codes.split())
        assert config.indicator_ids == tuple(codes.split())
        group = config.sub_indices[0]
        assert {spec.weight for spec in group.indicators} == {1}
        assert group.min_present == (k if k == 2 else k - 1)
        assert (config.normalisation, config.aggregation, config.missing) == (
            "ordinal",
            "arithmetic",
            "zero",
        )


def edited(old: str, new: str) -> str:
    text = DEFAULT.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (edited("id: green_code_share", "id: happiness"), "unknown indicator 'happiness'"),
        (edited("id: green_code_share", "id: bus_route_reopening_rate"), "appears twice"),
        (edited("{worst: 10, best: 0}", "{worst: 0, best: 10}"), "contradict its direction"),
        (edited("{worst: 80, best: 100}", "{worst: 80, best: 80}"), "are equal"),
        (edited("min_present: 6", "min_present: 9"), "exceeds its 7 indicators"),
        (edited("weight: 0.30", "weight: -1"), "greater than 0"),
        (edited("aggregation: arithmetic", "aggregation: harmonic"), "aggregation"),
        (edited("geometric_floor: 1.0", "geometric_floor: 0.1"), "geometric_floor"),
        (edited("missing: exclude", "missing: exclude\nsurprise: 1"), "surprise"),
        (edited("- id: flow", "- id: containment"), "repeated or reserved"),
        (edited("        goalposts: {worst: 10, best: 0}\n", ""), "needs goalposts"),
        ("- just a list", "must be a YAML mapping"),
        ("id: [unclosed", "not valid YAML"),
    ],
)
def test_invalid_configurations_are_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "custom.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("custom.yaml: ")
    assert "\n" not in str(caught.value)


def test_a_configuration_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(edited("id: zhikong-2020", "id: mine"), encoding="utf-8")
    assert load_config(str(path)).id == "mine"
    with pytest.raises(ConfigError, match="unknown index configuration 'nope'"):
        load_config("nope")
    with pytest.raises(ConfigError, match="unknown index configuration"):
        load_config(str(tmp_path / "missing.yaml"))
