"""Explanations: the decision trace and the sentences a resident reads."""

from __future__ import annotations

import pytest

from zhikong.rules.certlogic import CertLogicError, Labels, evaluate, explain

SYMPTOM_RULE = {"if": [{"in": [{"var": "symptoms"}, ["fever", "cough"]]}, "yellow", "green"]}
LABELS = Labels(
    paths={
        "symptoms": {"zh": "症状", "en": "symptom"},
        "contact": {"zh": "密切接触者", "en": "close contact"},
        "days_since_arrival": {"zh": "抵达天数", "en": "days since arrival"},
        "origin_risk": {"zh": "来源地风险", "en": "risk level of origin"},
        "payload.dob": {"zh": "出生日期", "en": "date of birth"},
        "external.validationClock": {"zh": "核验时间", "en": "validation time"},
    },
    values={
        "red": {"zh": "红码", "en": "red"},
        "yellow": {"zh": "黄码", "en": "yellow"},
        "green": {"zh": "绿码", "en": "green"},
        "high": {"zh": "高风险", "en": "high"},
        "true": {"zh": "是", "en": "yes"},
    },
    subject={"zh": "你的健康码", "en": "Your health code"},
)
# a three-colour policy: red for close contacts or recent arrivals from high-risk areas,
# yellow for symptoms, green otherwise
COLOUR_RULE = {
    "if": [
        {
            "and": [
                {"===": [{"var": "origin_risk"}, "high"]},
                {"<": [{"var": "days_since_arrival"}, 14]},
            ]
        },
        "red",
        {
            "if": [
                {"var": "contact"},
                "red",
                {"if": [{"in": [{"var": "symptoms"}, ["fever", "cough"]]}, "yellow", "green"]},
            ]
        },
    ]
}


def test_the_example_from_the_brief() -> None:
    explanation = explain(SYMPTOM_RULE, {"symptoms": "fever"})
    assert explanation.result == "yellow"
    assert (
        explanation.summary("zh", LABELS)
        == "你的健康码为黄码，因为：症状 fever 属于 [fever, cough]"
    )
    assert explanation.summary("en", LABELS) == (
        "Your health code is yellow because: symptom fever is in [fever, cough]"
    )


def test_without_labels_paths_and_values_are_shown_as_they_are() -> None:
    explanation = explain(SYMPTOM_RULE, {"symptoms": "headache"})
    assert explanation.summary("zh") == "结果为green，因为：symptoms headache 不属于 [fever, cough]"
    assert explanation.summary("en") == (
        "The result is green because: symptoms headache is not in [fever, cough]"
    )


def test_if_trace_holds_the_guard_and_the_chosen_branch_only() -> None:
    trace = explain(SYMPTOM_RULE, {"symptoms": "cough"}).trace
    assert trace.operator == "if"
    guard, branch = trace.children
    assert (guard.role, guard.operator, guard.value) == ("guard", "in", True)
    assert (branch.role, branch.value) == ("then", "yellow")
    needle, haystack = guard.children
    assert (needle.operator, needle.path, needle.value) == ("var", "symptoms", "cough")
    assert haystack.value == ["fever", "cough"]


def test_and_trace_keeps_the_first_falsy_operand_or_all() -> None:
    falsy = explain({"and": [True, {"var": "x"}, {"var": "y"}]}, {"x": 0, "y": 1}).trace
    assert falsy.value == 0
    assert [child.expression for child in falsy.children] == [{"var": "x"}]
    truthy = explain({"and": [True, {"var": "x"}, {"var": "y"}]}, {"x": 2, "y": 3}).trace
    assert truthy.value == 3
    assert len(truthy.children) == 3


def test_nested_colours_name_every_guard_passed_on_the_way() -> None:
    data = {"origin_risk": "low", "days_since_arrival": 3, "contact": False, "symptoms": "none"}
    explanation = explain(COLOUR_RULE, data)
    assert explanation.result == "green"
    assert explanation.reasons("zh", LABELS) == [
        "来源地风险 low 不等于 高风险",
        "密切接触者 缺失或为空",
        "症状 none 不属于 [fever, cough]",
    ]
    assert explanation.summary("en", LABELS) == (
        "Your health code is green because: risk level of origin low does not equal high; "
        "close contact is missing or empty; symptom none is not in [fever, cough]"
    )


def test_red_because_all_operands_of_and_hold() -> None:
    data = {"origin_risk": "high", "days_since_arrival": 3}
    explanation = explain(COLOUR_RULE, data)
    assert explanation.summary("zh", LABELS) == (
        "你的健康码为红码，因为：来源地风险 高风险 等于 高风险；抵达天数 3 小于 14"
    )
    later = explain(COLOUR_RULE, {"origin_risk": "high", "days_since_arrival": 20, "contact": 1})
    assert later.reasons("en", LABELS) == [
        "days since arrival 20 is not less than 14",
        "close contact is 1",
    ]


def test_negation_and_ternary_comparisons() -> None:
    rule = {"!": [{"<=": [18, {"var": "age"}, 65]}]}
    assert explain(rule, {"age": 70}).reasons("en") == ["age 70 is greater than 65"]
    assert explain(rule, {"age": 10}).reasons("zh") == ["18 大于 age 10"]
    assert explain(rule, {"age": 30}).reasons("en") == [
        "18 is at most age 30 and age 30 is at most 65"
    ]


def test_date_reasons_show_the_computed_instants() -> None:
    minor = {
        "after": [
            {"dccDateOfBirth": [{"var": "payload.dob"}]},
            {"plusTime": [{"var": "external.validationClock"}, -18, "year"]},
        ]
    }
    data = {"payload": {"dob": "2004-02"}, "external": {"validationClock": "2022-03-01T00:00:00Z"}}
    explanation = explain(minor, data)
    assert explanation.result is False
    assert explanation.reasons("zh", LABELS) == [
        "出生日期 2004-02（按 2004-02-29T00:00:00.000Z 计） 不晚于 "
        "核验时间 2022-03-01T00:00:00Z 减 18 年（即 2004-03-01T00:00:00.000Z）"
    ]
    assert explanation.reasons("en", LABELS) == [
        "date of birth 2004-02 (taken as 2004-02-29T00:00:00.000Z) is not after "
        "validation time 2022-03-01T00:00:00Z minus 18 years (= 2004-03-01T00:00:00.000Z)"
    ]


def test_render_lists_the_summary_then_the_decision_tree() -> None:
    lines = explain(COLOUR_RULE, {"origin_risk": "low", "symptoms": "fever"}).render("zh", LABELS)
    assert lines[0] == (
        "你的健康码为黄码，因为：来源地风险 low 不等于 高风险；密切接触者 缺失或为空；"
        "症状 fever 属于 [fever, cough]"
    )
    assert lines[1] == "- if → 黄码"
    assert "  - 条件: and → 否" in lines
    assert "    - 来源地风险 low 不等于 高风险" in lines
    assert any(line.strip() == "- 则: 黄码" for line in lines)


def test_explain_agrees_with_evaluate_and_raises_the_same_errors() -> None:
    rules = [
        COLOUR_RULE,
        {"reduce": [{"var": "xs"}, {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]},
        {"extractFromUVCI": [{"var": "u"}, 2]},
        {"+": [{"var": "a"}, 1]},
    ]
    data = {"xs": [1, 2, 3], "u": "URN:UVCI:01:NL:187/37512422923", "a": 4, "origin_risk": "x"}
    for rule in rules:
        assert explain(rule, data).result == evaluate(rule, data)
        assert explain(rule, data).render("en")
    with pytest.raises(CertLogicError, match="must be an array"):
        explain({"in": ["a", {"var": "nothing"}]}, {})


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        explain(SYMPTOM_RULE, {}).summary("fr")  # type: ignore[arg-type]


def test_walk_visits_every_node() -> None:
    trace = explain(SYMPTOM_RULE, {"symptoms": "fever"}).trace
    assert [node.operator for node in trace.walk()] == [
        "if",
        "in",
        "var",
        "array",
        "literal",
        "literal",
        "literal",
    ]
