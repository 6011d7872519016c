"""USCC validation (GB 32100-2015): published vectors, the pitfalls of public code, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhikong.enterprise.uscc import (
    ENTITY_TYPES,
    ORGANISATION_ALPHABET,
    ORGANISATION_WEIGHTS,
    PROVINCE_PREFIXES,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    Problem,
    complete,
    is_valid,
    organisation_check_character,
    uscc_check_character,
    validate,
)

# economy.md §3.6: every code checked against both algorithms there.
VALID = [
    ("91330100716105852F", "330100"),  # 阿里巴巴（中国）网络技术有限公司 (unofficial source)
    ("91330000733796106P", "330000"),  # 杭州海康威视数字技术股份有限公司 (unofficial source)
    ("913304007429141869", "330400"),  # python-stdnum doctest, Jiaxing
    ("91110000600037341L", "110000"),  # python-stdnum doctest
    ("9144030071526726XG", "440300"),  # organisation check character X
    ("91620105L015101280", "620105"),  # letter in the body
    ("92340602MA2PBMEM24", "340602"),  # 92: individual business
    ("91350100M000100Y43", "350100"),  # wenerme/go-gb
    ("91310230MA1K314J7C", "310230"),  # wenerme/go-gb
    ("91310230MA1K314K57", "310230"),  # go-gb: the "next" code of the one above
    ("91310115591693856A", "310115"),  # hutool
    ("91310110666007217T", "310110"),  # hutool
    ("121200004013590816", "120000"),  # python-stdnum list: 12 = 机构编制 / 事业单位
]


@pytest.mark.parametrize(("code", "region"), VALID)
def test_published_valid_codes(code: str, region: str) -> None:
    result = validate(code)
    assert result.valid, result.reason
    assert result.reason is None and result.reason_code is None
    assert result.region == region
    assert result.organisation_code == code[8:17]


def test_bad_check_character_is_refused_with_the_expected_character() -> None:
    result = validate("91110000600037341N")
    assert not result.valid
    assert result.reason_code is Problem.CHECK_CHARACTER
    assert result.reason == "check character is 'N', expected 'L'"
    assert result.region == "110000"


def test_forbidden_letters_are_a_character_set_error() -> None:
    result = validate("9111000060003IOZSV")
    assert result.reason_code is Problem.CHARACTER_SET
    assert "'I' at position 14" in (result.reason or "")
    assert result.region is None
    for letter in "IOSVZ":
        code = "91110000600037341" + letter
        assert validate(code).reason_code is Problem.CHARACTER_SET


@pytest.mark.parametrize(
    ("code", "expected"), [("91350211M00013FA1N", "3"), ("91350203M0001QAY9B", "9")]
)
def test_real_pilot_codes_fail_mod31_but_pass_the_organisation_check(
    code: str, expected: str
) -> None:
    # Xiamen pilot-era codes (hutool, 02020/vite): real, issued before the standard, and
    # non-conforming. They are refused (an officer may record an audited override later).
    result = validate(code)
    assert result.reason_code is Problem.CHECK_CHARACTER
    assert result.reason is not None and result.reason.endswith(f"expected {expected!r}")
    assert organisation_check_character(code[8:16]) == code[16]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", Problem.EMPTY),
        ("   ", Problem.EMPTY),
        ("12345", Problem.LENGTH),
        ("91330100716105852F0", Problem.LENGTH),
        ("91330100716105852#", Problem.CHARACTER_SET),
        ("B1330100716105852F", Problem.REGISTRATION_AUTHORITY),
        ("95330100716105852F", Problem.ENTITY_TYPE),
        ("Y2330100716105852F", Problem.ENTITY_TYPE),
        ("91990100716105852F", Problem.REGION),
        ("9133A100716105852F", Problem.REGION),
        ("91330100716105853F", Problem.CHECK_CHARACTER),
    ],
)
def test_each_rule_has_its_reason_code(text: str, problem: Problem) -> None:
    result = validate(text)
    assert not result.valid
    assert result.reason_code is problem
    assert result.reason and "\n" not in result.reason


def test_spaces_and_lower_case_are_normalised() -> None:
    result = validate(" 91 330100 716105852f ")
    assert result.valid and result.uscc == "91330100716105852F"


def test_known_regions_as_a_set_or_a_callable() -> None:
    zhejiang = {"330000", "330100", "330102"}
    assert validate("91330100716105852F", known_regions=zhejiang).valid
    outside = validate("91110000600037341L", known_regions=zhejiang)
    assert outside.reason_code is Problem.UNKNOWN_REGION and outside.region == "110000"
    assert validate("91110000600037341L", known_regions=lambda code: code.startswith("11")).valid


def weighted(text: str, alphabet: str, weights: tuple[int, ...]) -> int:
    return sum(alphabet.index(c) * w for c, w in zip(text, weights, strict=True))


# --- pitfalls of public implementations (economy.md §3.5): each test fails on the bug --------


def test_pitfall_two_value_maps_org_check_uses_all_26_letters() -> None:
    # 'MA1K314J' has letters from J on, where the maps differ (J = 19 in GB 11714, 18 in USCC).
    body = "MA1K314J"
    assert organisation_check_character(body) == "7"
    wrong = 11 - weighted(body, USCC_ALPHABET, ORGANISATION_WEIGHTS) % 11
    assert str(wrong) != "7"  # a validator reusing the USCC map would refuse the real code
    assert is_valid("91310230MA1K314J7C")
    # ... and the mod-31 check must not use the 36-character map either.
    first17 = "91310230MA1K314J7"
    wrong31 = (31 - weighted(first17, ORGANISATION_ALPHABET, USCC_WEIGHTS) % 31) % 31
    assert USCC_ALPHABET[wrong31] != "C"
    assert uscc_check_character(first17) == "C"


@pytest.mark.parametrize("prefix", ["Y1", "A1", "A9", "N1", "N2", "N3", "51", "12"])
def test_pitfall_first_two_characters_need_not_be_digits_or_9(prefix: str) -> None:
    # python-stdnum requires digits in positions 1-8 and refuses Y/A/N-prefixed codes.
    code = complete(prefix + "330106" + "MA2CD1E9")
    assert validate(code).valid, validate(code).reason


def test_pitfall_organisation_check_of_sum_multiple_of_11_is_zero_not_11() -> None:
    # wenerme/go-gb returns "11" when the weighted sum is 0 mod 11.
    body = next(
        f"{n:08d}"
        for n in range(10_000_000, 10_100_000)
        if weighted(f"{n:08d}", ORGANISATION_ALPHABET, ORGANISATION_WEIGHTS) % 11 == 0
    )
    assert organisation_check_character(body) == "0"
    code = complete("91330100" + body)
    assert len(code) == 18 and code[16] == "0" and is_valid(code)


def test_pitfall_organisation_check_ten_is_x() -> None:
    assert organisation_check_character("71526726") == "X"
    assert is_valid("9144030071526726XG")


def test_pitfall_wrong_weights_algorithm_would_fail_the_published_list() -> None:
    # One public repository uses weights 31, 29, 23, ... : it disagrees on the published codes.
    wrong_weights = (31, 29, 23, 19, 17, 13, 11, 7, 5, 3, 2, 1, 31, 29, 23, 19, 17)
    disagreements = 0
    for code, _ in VALID:
        total = weighted(code[:17], USCC_ALPHABET, wrong_weights)
        disagreements += USCC_ALPHABET[(31 - total % 31) % 31] != code[17]
        assert is_valid(code)
    assert disagreements > 0


def test_weights_are_powers_of_three_and_two() -> None:
    assert USCC_WEIGHTS[:6] == (1, 3, 9, 27, 19, 26)
    assert tuple(3**i % 31 for i in range(17)) == USCC_WEIGHTS
    assert tuple(2 ** (9 - i) % 11 for i in range(1, 9)) == ORGANISATION_WEIGHTS


# --- properties ------------------------------------------------------------------------------

_PAIRS = [(a, t) for a, (_, types) in ENTITY_TYPES.items() for t in types]
_PREFIXES = sorted(PROVINCE_PREFIXES)

bodies = st.builds(
    lambda pair, province, rest, org: pair[0] + pair[1] + province + rest + org,
    st.sampled_from(_PAIRS),
    st.sampled_from(_PREFIXES),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8),
)


@given(bodies)
def test_a_body_with_both_computed_check_characters_validates(first16: str) -> None:
    code = complete(first16)
    result = validate(code)
    assert result.valid, result.reason
    assert result.region == first16[2:8]


@given(bodies, st.integers(min_value=0, max_value=17), st.characters(codec="ascii"))
def test_any_single_character_substitution_is_caught(
    first16: str, position: int, replacement: str
) -> None:
    code = complete(first16)
    if replacement.upper() == code[position] or replacement.isspace():
        replacement = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    if changed.upper() == code:  # a lower-case copy of the same letter is the same code
        return
    assert not is_valid(changed)
