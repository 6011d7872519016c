"""EU DCC business rules: selection, evaluation and PASSED / FAILED / OPEN outcomes.

The rules below follow the EU template rules GR-EU-0000, VR-EU-0001, VR-EU-0003, TR-EU-0005
and RR-EU-0001 (same identifiers, envelope fields and logic as published for the EU DCC
Gateway), with descriptions of our own.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from zhikong.rules.dcc import (
    CertificateType,
    DccRule,
    DccRuleFormatError,
    RuleOutcome,
    certificate_type_of,
    evaluate_rule,
    select_rules,
    validate_dcc,
)


def envelope(
    identifier: str, certificate_type: str, logic: Any, **overrides: Any
) -> dict[str, Any]:
    rule = {
        "Identifier": identifier,
        "Type": "Acceptance",
        "Country": "EU",
        "Version": "1.0.0",
        "SchemaVersion": "1.0.0",
        "Engine": "CERTLOGIC",
        "EngineVersion": "0.7.5",
        "CertificateType": certificate_type,
        "Description": [{"lang": "en", "desc": f"template rule {identifier}"}],
        "ValidFrom": "2021-06-01T00:00:00Z",
        "ValidTo": "2030-06-01T00:00:00Z",
        "AffectedFields": [],
        "Logic": logic,
    }
    rule.update(overrides)
    return rule


def plus_time(path: str, amount: int, unit: str) -> dict[str, Any]:
    return {"plusTime": [{"var": path}, amount, unit]}


GR_EU_0000 = envelope(
    "GR-EU-0000",
    "General",
    {
        "===": [
            {
                "reduce": [
                    [{"var": "payload.r"}, {"var": "payload.t"}, {"var": "payload.v"}],
                    {"+": [{"var": "accumulator"}, {"if": [{"var": "current.0"}, 1, 0]}]},
                    0,
                ]
            },
            1,
        ]
    },
    AffectedFields=["r", "t", "v"],
)
VR_EU_0001 = envelope(
    "VR-EU-0001",
    "Vaccination",
    {
        "if": [
            {"var": "payload.v.0"},
            {
                "in": [
                    {"var": "payload.v.0.mp"},
                    ["EU/1/20/1528", "EU/1/20/1507", "EU/1/21/1529", "EU/1/20/1525"],
                ]
            },
            True,
        ]
    },
    AffectedFields=["v.0", "v.0.mp"],
)
VR_EU_0003 = envelope(
    "VR-EU-0003",
    "Vaccination",
    {
        "if": [
            {"var": "payload.v.0"},
            {
                "not-after": [
                    plus_time("payload.v.0.dt", 14, "day"),
                    plus_time("external.validationClock", 0, "day"),
                    plus_time("payload.v.0.dt", 365, "day"),
                ]
            },
            True,
        ]
    },
    AffectedFields=["v.0", "v.0.dt"],
)
TR_EU_0005 = envelope(
    "TR-EU-0005",
    "Test",
    {
        "if": [
            {"===": [{"var": "payload.t.0.tt"}, "LP217198-3"]},
            {
                "before": [
                    plus_time("external.validationClock", 0, "day"),
                    plus_time("payload.t.0.sc", 48, "hour"),
                ]
            },
            True,
        ]
    },
    AffectedFields=["t.0.sc", "t.0.tt"],
)
RR_EU_0001 = envelope(
    "RR-EU-0001",
    "Recovery",
    {
        "if": [
            {"var": "payload.r.0"},
            {
                "not-after": [
                    plus_time("payload.r.0.df", 0, "day"),
                    plus_time("external.validationClock", 0, "day"),
                    plus_time("payload.r.0.du", 0, "day"),
                ]
            },
            True,
        ]
    },
    AffectedFields=["r.0", "r.0.df", "r.0.du"],
)
RULES = [GR_EU_0000, VR_EU_0001, VR_EU_0003, TR_EU_0005, RR_EU_0001]

NAME = {"fn": "Zhang", "fnt": "ZHANG", "gn": "Wei", "gnt": "WEI"}
VACCINATION: dict[str, Any] = {
    "ver": "1.3.0",
    "nam": NAME,
    "dob": "1984-03-02",
    "v": [
        {
            "tg": "840539006",
            "vp": "1119349007",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 2,
            "sd": 2,
            "dt": "2021-06-01",
            "co": "NL",
            "is": "Ministry of Health Welfare and Sport",
            "ci": "URN:UVCI:01:NL:187/37512422923",
        }
    ],
}
RAPID_TEST: dict[str, Any] = {
    "ver": "1.3.0",
    "nam": NAME,
    "dob": "1984-03-02",
    "t": [
        {
            "tg": "840539006",
            "tt": "LP217198-3",
            "ma": "1232",
            "sc": "2021-06-10T08:00:00+02:00",
            "tr": "260415000",
            "tc": "Test centre Amsterdam",
            "co": "NL",
            "is": "Ministry of Health Welfare and Sport",
            "ci": "URN:UVCI:01:NL:GGD/81AAH16AZ",
        }
    ],
}
RECOVERY: dict[str, Any] = {
    "ver": "1.3.0",
    "nam": NAME,
    "dob": "1984-03-02",
    "r": [
        {
            "tg": "840539006",
            "fr": "2021-06-01",
            "co": "NL",
            "is": "Ministry of Health Welfare and Sport",
            "df": "2021-06-12",
            "du": "2021-11-28",
            "ci": "URN:UVCI:01:NL:LSP/REC/1289821",
        }
    ],
}


def data(payload: dict[str, Any], clock: str, **external: Any) -> dict[str, Any]:
    return {
        "payload": payload,
        "external": {"validationClock": clock, "valueSets": {}, **external},
    }


def outcomes(payload: dict[str, Any], clock: str, rules: list[Any] = RULES) -> dict[str, str]:
    result = validate_dcc(rules, data(payload, clock))
    return {r.identifier: r.outcome.value for r in result.results}


def test_certificate_type_of_a_payload() -> None:
    assert certificate_type_of(VACCINATION) is CertificateType.VACCINATION
    assert certificate_type_of(RAPID_TEST) is CertificateType.TEST
    assert certificate_type_of(RECOVERY) is CertificateType.RECOVERY
    assert certificate_type_of({**VACCINATION, "t": RAPID_TEST["t"]}) is None
    assert certificate_type_of({"ver": "1.3.0", "v": []}) is None
    assert certificate_type_of(None) is None


def test_vaccination_rules_are_selected_and_pass_after_14_days() -> None:
    assert outcomes(VACCINATION, "2021-06-20T09:00:00+02:00") == {
        "GR-EU-0000": "PASSED",
        "VR-EU-0001": "PASSED",
        "VR-EU-0003": "PASSED",
    }


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("2021-06-14T23:59:59Z", "FAILED"),  # protection starts 14 days after vaccination
        ("2021-06-15T00:00:00Z", "PASSED"),
        ("2022-06-01T00:00:00Z", "PASSED"),
        ("2022-06-01T00:00:00.001Z", "FAILED"),  # and lasts 365 days
    ],
)
def test_vaccination_validity_period(clock: str, expected: str) -> None:
    result = validate_dcc(RULES, data(VACCINATION, clock))
    assert {r.identifier: r.outcome.value for r in result.results}["VR-EU-0003"] == expected
    assert result.outcome.value == expected


def test_unapproved_vaccine_fails() -> None:
    payload = copy.deepcopy(VACCINATION)
    payload["v"][0]["mp"] = "Sputnik-V"
    result = validate_dcc(RULES, data(payload, "2021-07-01T00:00:00Z"))
    assert [r.identifier for r in result.failed] == ["VR-EU-0001"]
    assert result.outcome is RuleOutcome.FAILED


def test_rapid_test_is_valid_for_48_hours() -> None:
    assert outcomes(RAPID_TEST, "2021-06-12T05:59:59Z") == {
        "GR-EU-0000": "PASSED",
        "TR-EU-0005": "PASSED",
    }
    assert outcomes(RAPID_TEST, "2021-06-12T06:00:00Z")["TR-EU-0005"] == "FAILED"
    pcr = copy.deepcopy(RAPID_TEST)
    pcr["t"][0]["tt"] = "LP6464-4"  # not a rapid test: the rule does not restrict it
    assert outcomes(pcr, "2021-06-30T00:00:00Z")["TR-EU-0005"] == "PASSED"


def test_recovery_certificate_window() -> None:
    assert outcomes(RECOVERY, "2021-06-11T23:59:59Z")["RR-EU-0001"] == "FAILED"
    assert outcomes(RECOVERY, "2021-11-28T00:00:00Z") == {
        "GR-EU-0000": "PASSED",
        "RR-EU-0001": "PASSED",
    }


def test_a_payload_with_two_kinds_of_event_fails_the_general_rule() -> None:
    mixed = {**VACCINATION, "t": RAPID_TEST["t"]}
    result = validate_dcc(RULES, data(mixed, "2021-06-20T00:00:00Z"))
    assert result.certificate_type is None
    assert [(r.identifier, r.outcome) for r in result.results] == [
        ("GR-EU-0000", RuleOutcome.FAILED)
    ]


def test_rules_outside_their_validity_window_are_not_selected() -> None:
    future = envelope("VR-EU-0099", "Vaccination", True, ValidFrom="2021-07-01T00:00:00Z")
    ended = envelope("VR-EU-0098", "Vaccination", True, ValidTo="2021-06-10T00:00:00Z")
    rules = [DccRule.from_json(rule) for rule in (future, ended)]
    assert select_rules(rules, data(VACCINATION, "2021-06-10T00:00:00Z")) == [rules[1]]
    assert select_rules(rules, data(VACCINATION, "2021-06-10T00:00:00.001Z")) == []
    assert select_rules(rules, data(VACCINATION, "2021-07-01T00:00:00Z")) == [rules[0]]


def test_the_highest_version_of_a_rule_is_used() -> None:
    stricter = copy.deepcopy(VR_EU_0003)
    stricter["Version"] = "1.10.0"
    stricter["Logic"]["if"][1]["not-after"][2] = plus_time("payload.v.0.dt", 270, "day")
    stricter["ValidFrom"] = "2022-02-01T00:00:00Z"
    rules = [VR_EU_0003, stricter, copy.deepcopy(VR_EU_0003) | {"Version": "1.9.0"}]
    before = validate_dcc(rules, data(VACCINATION, "2022-01-15T00:00:00Z"))
    assert [(r.rule.version, r.outcome.value) for r in before.results] == [("1.9.0", "PASSED")]
    after = validate_dcc(rules, data(VACCINATION, "2022-03-01T00:00:00Z"))
    assert [(r.rule.version, r.outcome.value) for r in after.results] == [("1.10.0", "FAILED")]


def test_country_of_arrival_and_issuing_country() -> None:
    national = envelope("VR-NL-0001", "Vaccination", True, Country="NL")
    invalidation = envelope("IR-NL-0001", "General", False, Country="NL", Type="Invalidation")
    rules = [*RULES, national, invalidation]
    arriving_in_nl = data(VACCINATION, "2021-07-01T00:00:00Z", countryCode="NL")
    selected = select_rules([DccRule.from_json(r) for r in rules], arriving_in_nl)
    assert [r.identifier for r in selected] == ["IR-NL-0001", "VR-NL-0001"]
    by_issuer = validate_dcc(rules, arriving_in_nl, issuer_country="BE")
    assert [r.identifier for r in by_issuer.results] == ["VR-NL-0001"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"Engine": "JSONLOGIC"}, "unsupported rule engine"),
        ({"EngineVersion": "2.0.0"}, "unsupported engine version"),
        ({"EngineVersion": "latest"}, "unsupported engine version"),
        ({"SchemaVersion": "2.0.0"}, "does not satisfy"),
        ({"SchemaVersion": "1.3.1"}, "does not satisfy"),
        (
            {"Logic": {"in": [{"var": "payload.v.0.mp"}, {"var": "external.valueSets.none"}]}},
            "must be an array",
        ),
        ({"Logic": {"var": "payload.v.0.dn"}}, "did not evaluate to a boolean"),
        ({"Logic": {"!!": [True]}}, 'unrecognised operator: "!!"'),
        (
            {"Logic": {"plusTime": [{"var": "payload.v.0.dt"}, 0, "day"]}},
            "not evaluate to a boolean",
        ),
    ],
)
def test_undecidable_rules_are_open(overrides: dict[str, Any], error: str) -> None:
    rule = DccRule.from_json(envelope("VR-EU-0100", "Vaccination", True, **overrides))
    result = evaluate_rule(rule, data(VACCINATION, "2021-07-01T00:00:00Z"))
    assert result.outcome is RuleOutcome.OPEN
    assert result.error is not None and error in result.error


def test_a_payload_without_schema_version_leaves_rules_open() -> None:
    payload = {key: value for key, value in VACCINATION.items() if key != "ver"}
    result = validate_dcc(RULES, data(payload, "2021-07-01T00:00:00Z"))
    assert result.outcome is RuleOutcome.OPEN
    assert len(result.open) == 3


def test_open_is_worse_than_passed_but_better_than_failed() -> None:
    broken = envelope("VR-EU-0101", "Vaccination", {"var": "payload.v.0.mp"})
    result = validate_dcc([*RULES, broken], data(VACCINATION, "2021-07-01T00:00:00Z"))
    assert result.outcome is RuleOutcome.OPEN
    failing = envelope("VR-EU-0102", "Vaccination", False)
    result = validate_dcc([*RULES, broken, failing], data(VACCINATION, "2021-07-01T00:00:00Z"))
    assert result.outcome is RuleOutcome.FAILED


def test_rule_envelopes_are_checked() -> None:
    rule = DccRule.from_json(VR_EU_0003)
    assert rule.certificate_type is CertificateType.VACCINATION
    assert rule.affected_fields == ("v.0", "v.0.dt")
    assert rule.description("de") == "template rule VR-EU-0003"
    for broken in (
        {k: v for k, v in VR_EU_0003.items() if k != "Logic"},
        {**VR_EU_0003, "CertificateType": "Passport"},
        {**VR_EU_0003, "Type": "Other"},
        {**VR_EU_0003, "Version": 1},
        {**VR_EU_0003, "Description": [{"lang": "en"}]},
        {**VR_EU_0003, "AffectedFields": "v.0"},
    ):
        with pytest.raises(DccRuleFormatError):
            DccRule.from_json(broken)


def test_the_validation_clock_is_required() -> None:
    with pytest.raises(ValueError, match="validationClock"):
        select_rules([], {"payload": VACCINATION, "external": {}})
