"""Rule documents, pure: loading, every issue with its path, parameters, evaluation, tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from zhikong.rules.checks import (
    check_document,
    document_issues,
    load_data,
    load_document,
    value_issues,
)
from zhikong.rules.documents import (
    DocumentIssue,
    OutsideValidityError,
    Parameter,
    RuleDocument,
    RuleDocumentError,
    RuleEvaluationError,
    content_hash,
    json_equal,
    json_schema,
    version_key,
)
from zhikong.rules.evaluation import CompiledRule, compile_rule, parameter_value, run_tests
from zhikong.rules.parsing import parse_text

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "zhikong"
    / "rules"
    / "schema"
    / "rule-document.schema.json"
)
D = date(2020, 2, 20)


def issues_of(text: str, source_format: Any = "yaml") -> dict[str, str]:
    """path → message of every issue (the last message when a path repeats)."""
    return {issue.path: issue.message for issue in document_issues(text, source_format)}


@pytest.fixture(scope="module")
def rule(health_code_text: str) -> CompiledRule:
    return compile_rule(load_document(health_code_text))


# -- the shipped library ---------------------------------------------------------------------


def test_every_shipped_document_is_valid_and_passes_its_tests(library: Path) -> None:
    paths = sorted(library.glob("*.yaml")) + sorted(library.glob("*.json"))
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        document = load_document(text, "json") if path.suffix == ".json" else load_document(text)
        assert path.name == f"{document.id}.yaml" or path.name == f"{document.id}.json"
        report = run_tests(document)
        assert report.passed, [case for case in report.failures]


def test_health_code_rule_has_a_dozen_cases_and_a_date_indexed_look_back(
    health_code_text: str,
) -> None:
    document = load_document(health_code_text)
    assert document.key == ("health-code-colour.zhejiang-2020", "1.0.0")
    assert len(document.tests) >= 12
    assert {case.expected for case in document.tests} == {"green", "yellow", "red"}
    look_back = document.parameters["lookback_days"]
    assert [value.value for value in look_back.values] == [14, 7]
    assert document.regions == ["330000"]
    assert len(document.legal_basis) >= 2


def test_report_names_rule_and_version(health_code_text: str) -> None:
    report = run_tests(load_document(health_code_text))
    assert (report.rule_id, report.rule_version) == ("health-code-colour.zhejiang-2020", "1.0.0")
    assert report.passed and report.failures == ()
    assert all(case.passed for case in report.cases)


def test_the_json_form_of_a_document_is_the_same_document(health_code_text: str) -> None:
    data = parse_text(health_code_text)
    as_json = json.dumps(data, ensure_ascii=False)
    from_json = load_document(as_json, "json")
    assert from_json == load_document(health_code_text)
    assert content_hash(parse_text(as_json, "json")) == content_hash(data)


# -- the JSON Schema -------------------------------------------------------------------------


def test_schema_file_matches_the_model() -> None:
    expected = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "regenerate with: zhikong rules schema > src/zhikong/rules/schema/rule-document.schema.json"
    )


def test_schema_describes_the_document() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"format", "id", "version", "logic", "tests", "validity"}
    assert schema["$defs"]["Validity"]["properties"]["from"]["format"] == "date"
    assert schema["properties"]["format"]["const"] == 1


# -- every issue, with its path --------------------------------------------------------------


def test_several_kinds_of_issues_are_all_listed(variant: Callable[..., str]) -> None:
    text = variant(
        id="Bad Id",
        version="1.0",
        title={"zh": "标题"},
        regions=[],
        logic={"if": [{"var": "input.fevr"}, "yellow"]},
    )
    issues = issues_of(text)
    assert issues["/id"].startswith("a rule id is lower-case")
    assert "MAJOR.MINOR.PATCH" in issues["/version"]
    assert issues["/title/en"] == "required field is missing"
    assert "/regions" in issues
    assert issues["/logic"] == 'an "if"-operation must have exactly 3 values/operands, but it has 2'
    assert issues["/logic/if/0/var"].startswith("input.fevr is not declared in the input schema")
    with pytest.raises(RuleDocumentError) as caught:
        load_document(text)
    assert len(caught.value.issues) == len(document_issues(text)) >= 6
    assert "and 5 more issue(s)" in str(caught.value) or "more issue(s)" in str(caught.value)


def test_certlogic_issues_point_into_the_logic(variant: Callable[..., str]) -> None:
    logic = {
        "if": [
            {"===": [{"var": "input.fever"}]},
            {"plusTime": [{"var": "evaluation.date"}, 1.5, "week"]},
            {"and": [{"!!": [1]}, 2.5, None]},
        ]
    }
    issues = document_issues(variant(logic=logic))
    assert [(issue.path, issue.message) for issue in issues] == [
        (
            "/logic/if/0",
            'an operation with operator "===" must have 2 operands, but it has 1',
        ),
        ("/logic/if/1", '"amount" argument (#2) of "plusTime" must be an integer, but it is: 1.5'),
        (
            "/logic/if/1",
            '"unit" argument (#3) of "plusTime" must be a string equal to one of year, month, '
            "day, hour, but it is: week",
        ),
        ("/logic/if/2/and/0", 'unrecognised operator: "!!"'),
        ("/logic/if/2/and/1", "2.5 is a non-integer number"),
        ("/logic/if/2/and/2", "invalid CertLogic expression"),
    ]


def test_undefined_parameters_and_undeclared_paths(variant: Callable[..., str]) -> None:
    logic = {
        "if": [
            {"<": [{"var": "input.days_since_high_risk_area"}, {"var": "parameters.quarantine"}]},
            {"var": "evaluation.time"},
            {
                "if": [
                    {"var": "fever"},
                    {"var": "input.fever.degrees"},
                    {
                        "reduce": [
                            {"var": "input.case_status"},
                            {"+": [{"var": "accumulator"}, {"var": "input.fever"}]},
                            0,
                        ]
                    },
                ]
            },
        ]
    }
    issues = issues_of(variant(logic=logic))
    assert issues["/logic/if/0/</1/var"] == (
        "parameter 'quarantine' is not defined (defined: lookback_days)"
    )
    assert issues["/logic/if/1/var"] == "'evaluation.time': the evaluation context has only: date"
    assert issues["/logic/if/2/if/0/var"] == (
        "data path 'fever' must start with input., parameters. or evaluation."
    )
    assert issues["/logic/if/2/if/1/var"] == (
        "input.fever is a boolean (true or false): it has no part 'degrees'"
    )
    assert issues["/logic/if/2/if/2/reduce/1/+/1/var"].startswith(
        'inside a "reduce" lambda only accumulator and current can be read'
    )
    assert len(issues) == 5


def test_test_cases_are_checked_against_window_and_schemas(variant: Callable[..., str]) -> None:
    tests = [
        {"name": "a", "at": "2020-01-01", "input": {}, "expected": "green"},
        {"name": "a", "at": "2020-02-20", "input": {"fevr": True}, "expected": "blue"},
        {"name": "c", "at": "2020-02-20", "input": {"fever": "yes"}, "expected": "green"},
        {
            "name": "d",
            "at": "2020-02-30",
            "input": {"days_since_high_risk_area": -1},
            "expected": "red",
        },
        {"name": "e", "at": "2020-02-20", "input": {"days_since_high_risk_area": -1}},
    ]
    issues = issues_of(variant(tests=tests))
    assert issues == {
        "/tests/0/at": "2020-01-01 is outside the validity window",
        "/tests/1/name": "test case name 'a' repeats case 0",
        "/tests/1/input/fevr": issues["/tests/1/input/fevr"],
        "/tests/1/expected": '"blue" is not one of: "green", "yellow", "red"',
        "/tests/2/input/fever": 'must be a boolean (true or false), not "yes"',
        "/tests/3/at": "2020-02-30 is not a calendar date",
        "/tests/4/expected": "required field is missing",
    }
    assert issues["/tests/1/input/fevr"].startswith("field 'fevr' is not declared (declared: ")


def test_parameters_must_be_in_date_order_and_cover_the_window(
    variant: Callable[..., str],
) -> None:
    parameters = {
        "lookback_days": {
            "values": [
                {"from": "2020-03-01", "value": 14},
                {"from": "2020-03-01", "value": 7},
                {"from": "2020-02-01", "value": 5},
            ]
        },
        "Bad": {"values": []},
    }
    issues = issues_of(variant(parameters=parameters))
    assert (
        "must be later than the previous value's date (2020-03-01)"
        in (issues["/parameters/lookback_days/values/1/from"])
    )
    assert "/parameters/lookback_days/values/2/from" in issues
    assert issues["/parameters/lookback_days/values/0/from"] == (
        "parameter lookback_days has no value on 2020-02-17, the first day the rule is in force"
    )
    assert issues["/parameters/Bad"].startswith("key: a parameter name is lower-case")
    assert "/parameters/Bad/values" in issues


def test_input_schema_problems(variant: Callable[..., str]) -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "boolean", "minimum": 1, "enum": [True, "x"]},
            "b.c": {"type": "string"},
            "d": {"type": "string", "format": "date", "items": {"type": "string"}},
        },
        "required": ["a"],
    }
    issues = issues_of(variant(input=schema))
    assert issues["/input/required"].startswith("'required' is not supported")
    assert issues["/input/properties/b.c"].startswith("key: a field name is letters")
    schema.pop("required")
    schema["properties"].pop("b.c")  # type: ignore[attr-defined]
    issues = issues_of(variant(input=schema))
    assert issues["/input/properties/a/minimum"] == "only numbers have a minimum"
    assert issues["/input/properties/a/enum/1"] == "must be a boolean (true or false) like the type"
    assert issues["/input/properties/d/items"] == "only an array has items"
    assert (
        issues_of(variant(input={"type": "array"}))["/input/type"] == "the input must be an object"
    )


def test_validity_window_must_not_end_before_it_starts(variant: Callable[..., str]) -> None:
    issues = issues_of(variant(validity={"from": "2020-02-17", "until": "2020-02-16"}))
    assert issues["/validity/until"] == "is before validity.from"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("a: [1, 2\n", "", "YAML syntax error at line 2, column 1"),
        ("a: &x 1\nb: *x\n", "", "YAML aliases (*name) are not allowed"),
        ("a: 1\na: 2\n", "", "duplicate key 'a'"),
        ("[1, 2]\n", "", "Input should be a valid dictionary"),
        ("", "", "Input should be a valid dictionary"),
        ("format: .nan\n", "/format", "nan is not a JSON number"),
        ("format: 1\n1: x\n", "/1", "object keys must be strings"),
        ("format: true\n", "/format", "format must be the number 1"),
        ("format: !!binary aGVsbG8=\n", "/format", "a bytes is not a JSON value"),
    ],
)
def test_syntax_and_json_problems(text: str, path: str, message: str) -> None:
    issues = document_issues(text)
    assert any(issue.path == path and message in issue.message for issue in issues), issues


def test_json_syntax_problems() -> None:
    assert issues_of('{"format": 1,,}', "json")[""].startswith("JSON syntax error at line 1")
    assert issues_of('{"a": 1, "a": 2}', "json")[""] == "JSON error: duplicate key 'a'"
    assert issues_of('{"a": NaN}', "json")[""] == "JSON error: NaN is not a JSON number"


def test_yaml_is_read_as_json_would_be() -> None:
    data = parse_text("a: yes\nb: no\nc: 2020-02-17\nd: 010\ne: 12:30\nf: true\ng: 1.5\nh: ~\n")
    assert data == {
        "a": "yes",
        "b": "no",
        "c": "2020-02-17",
        "d": "010",
        "e": "12:30",
        "f": True,
        "g": 1.5,
        "h": None,
    }


def test_numbers_where_text_is_needed_get_a_hint(variant: Callable[..., str]) -> None:
    text = variant().replace('- "330000"', "- 330000").replace("'330000'", "330000")
    assert issues_of(text)["/regions/0"] == "must be a string (in YAML, put quotes around it)"


def test_a_valid_document_has_no_issues(health_code_text: str) -> None:
    document, issues = check_document(parse_text(health_code_text))
    assert issues == [] and isinstance(document, RuleDocument)
    assert str(DocumentIssue("", "x")) == "/: x"


# -- date-indexed parameters -----------------------------------------------------------------


@st.composite
def parameters(draw: st.DrawFn) -> Parameter:
    days = draw(st.lists(st.integers(0, 3000), min_size=1, max_size=6, unique=True))
    start = date(2020, 1, 1)
    values = [
        {"from": (start + timedelta(days=day)).isoformat(), "value": draw(st.integers(0, 99))}
        for day in sorted(days)
    ]
    return Parameter.model_validate({"values": values})


@given(parameters(), st.integers(-10, 3100))
def test_parameter_value_is_the_last_one_from_on_or_before_the_date(
    parameter: Parameter, offset: int
) -> None:
    day = date(2020, 1, 1) + timedelta(days=offset)
    starts = [item.from_ for item in parameter.values]
    if day < starts[0]:
        with pytest.raises(OutsideValidityError):
            parameter_value(parameter, day)
        return
    expected = [item.value for item in parameter.values if item.from_ <= day][-1]
    assert parameter_value(parameter, day) == expected


def test_look_back_days_change_on_their_date(rule: CompiledRule) -> None:
    assert rule.parameters_on(date(2020, 2, 17)) == {"lookback_days": 14}
    assert rule.parameters_on(date(2022, 6, 27)) == {"lookback_days": 14}
    assert rule.parameters_on(date(2022, 6, 28)) == {"lookback_days": 7}
    ten_days = {"days_since_high_risk_area": 10}
    assert rule.evaluate(ten_days, date(2022, 6, 27)).result == "red"
    assert rule.evaluate(ten_days, date(2022, 6, 28)).result == "green"


# -- evaluation ------------------------------------------------------------------------------

FACTS = {
    "case_status": st.sampled_from(["confirmed", "suspected"]),
    "close_contact": st.booleans(),
    "medical_observation": st.booleans(),
    "days_since_high_risk_area": st.integers(0, 40),
    "days_since_medium_risk_area": st.integers(0, 40),
    "fever": st.booleans(),
    "respiratory_symptoms": st.booleans(),
    "false_declaration": st.booleans(),
}


def oracle(facts: dict[str, Any], look_back: int) -> str:
    """DESIGN §4's zhejiang-2020 triggers, written independently of the rule document."""

    def within(name: str) -> bool:
        days = facts.get(name)
        return days is not None and days < look_back

    if (
        facts.get("case_status") in ("confirmed", "suspected")
        or facts.get("close_contact")
        or facts.get("medical_observation")
        or within("days_since_high_risk_area")
        or facts.get("false_declaration")
    ):
        return "red"
    if (
        facts.get("fever")
        or facts.get("respiratory_symptoms")
        or within("days_since_medium_risk_area")
    ):
        return "yellow"
    return "green"


@given(
    st.fixed_dictionaries({}, optional={name: st.none() | s for name, s in FACTS.items()}),
    st.dates(date(2020, 2, 17), date(2023, 12, 31)),
)
def test_colour_agrees_with_the_policy_on_any_subset_of_facts(
    health_code_text: str, facts: dict[str, Any], day: date
) -> None:
    compiled = compile_rule(load_document(health_code_text))
    evaluation = compiled.evaluate(facts, day)
    look_back = 14 if day < date(2022, 6, 28) else 7
    assert evaluation.result == oracle(facts, look_back)
    assert (evaluation.rule_id, evaluation.rule_version) == (
        "health-code-colour.zhejiang-2020",
        "1.0.0",
    )
    assert evaluation.parameters == {"lookback_days": look_back}


def test_missing_fields_read_as_null_never_crash(rule: CompiledRule) -> None:
    assert rule.evaluate({}, D).result == "green"
    assert rule.evaluate({"unknown": {"deep": [1]}}, D).result == "green"


def test_wrong_types_raise_the_certlogic_error_naming_the_rule(rule: CompiledRule) -> None:
    with pytest.raises(RuleEvaluationError) as caught:
        rule.evaluate({"days_since_high_risk_area": "3"}, D)
    assert caught.value.rule_id == "health-code-colour.zhejiang-2020"
    assert str(caught.value).startswith("rule health-code-colour.zhejiang-2020 1.0.0: ")
    with pytest.raises(RuleEvaluationError):
        rule.evaluate([], D)  # type: ignore[arg-type]


def test_dates_outside_the_validity_window_are_refused(rule: CompiledRule) -> None:
    with pytest.raises(OutsideValidityError, match="in force from 2020-02-17 with no end date"):
        rule.evaluate({}, date(2020, 2, 16))


def test_explanation_in_chinese_and_english(rule: CompiledRule) -> None:
    evaluation = rule.evaluate({"fever": True}, D, explain=True)
    assert evaluation.result == "yellow"
    zh = evaluation.summary("zh")
    en = evaluation.summary("en")
    assert zh is not None and zh.startswith("你的健康码为黄码，因为：") and "发热 为 是" in zh
    assert en is not None and en.startswith("Your health code is yellow because:")
    data = evaluation.as_json()
    assert data["rule_id"] == "health-code-colour.zhejiang-2020"
    assert data["rule_version"] == "1.0.0"
    assert data["at"] == "2020-02-20"
    assert data["explanation"]["zh"] == zh
    assert rule.evaluate({"fever": True}, D).summary() is None


def test_compiled_once_per_document(health_code_text: str) -> None:
    document = load_document(health_code_text)
    assert compile_rule(document) is compile_rule(document)


def test_failing_cases_are_reported(variant: Callable[..., str]) -> None:
    schema = yaml.safe_load(variant())["input"]
    schema["properties"]["days_since_high_risk_area"] = {"type": "string"}
    tests = [
        {
            "name": "wrong on purpose",
            "at": "2020-02-20",
            "input": {"fever": True},
            "expected": "red",
        },
        {"name": "right", "at": "2020-02-20", "input": {}, "expected": "green"},
        {
            "name": "throws",
            "at": "2020-02-20",
            "input": {"days_since_high_risk_area": "3"},
            "expected": "red",
        },
    ]
    report = run_tests(load_document(variant(tests=tests, input=schema)))
    assert not report.passed
    wrong, right, throws = report.cases
    assert (wrong.passed, wrong.actual, wrong.expected, wrong.error) == (
        False,
        "yellow",
        "red",
        None,
    )
    assert right.passed
    assert not throws.passed
    assert throws.error is not None
    assert throws.error.startswith("rule health-code-colour.zhejiang-2020 1.0.0: ")
    assert report.failures == (wrong, throws)


def test_a_date_time_result_is_returned_as_iso_text(variant: Callable[..., str]) -> None:
    logic = {"plusTime": [{"var": "evaluation.date"}, 1, "day"]}
    tests = [{"name": "t", "at": "2020-02-20", "input": {}, "expected": "2020-02-21T00:00:00.000Z"}]
    document = load_document(variant(logic=logic, tests=tests, output=None, labels=None))
    assert run_tests(document).passed


# -- small helpers ---------------------------------------------------------------------------


def test_json_equal_follows_json() -> None:
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal({"a": [1, "x", None]}, {"a": [1.0, "x", None]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2}) and not json_equal("1", 1)


def test_version_key_orders_numerically() -> None:
    assert sorted(["1.10.0", "1.2.0", "0.9.9"], key=version_key) == ["0.9.9", "1.2.0", "1.10.0"]


def test_value_issues_treat_null_as_missing(health_code_text: str) -> None:
    schema = load_document(health_code_text).input
    assert value_issues(schema, {"fever": None, "case_status": None}) == []
    assert value_issues(schema, {"case_status": "asymptomatic"})[0].path == "/case_status"


def test_load_data_lists_every_issue() -> None:
    with pytest.raises(RuleDocumentError) as caught:
        load_data({"format": 1})
    paths = {issue.path for issue in caught.value.issues}
    assert {"/id", "/version", "/logic", "/tests", "/validity", "/input"} <= paths
