"""Validate a unified social credit code (统一社会信用代码, GB 32100-2015). Pure; no I/O.

An 18-character code is laid out as

====== ============================================================================
 pos    part
====== ============================================================================
 1      registration authority (登记管理部门码): 1–9, A, N, Y
 2      entity type (机构类别码), whose meaning depends on position 1
 3–8    region of the registering authority (登记管理机关行政区划码, GB/T 2260)
 9–17   entity identifier (主体标识码) = the 9-character organisation code of GB 11714:
        8 body characters and its own mod-11 check character (position 17)
 18     check character over positions 1–17, mod 31 (GB/T 17710 style)
====== ============================================================================

The two checks use *different* value maps: the organisation code maps all 26 letters
(A=10 … Z=35), the USCC maps only its 31 characters (no I, O, S, V, Z; J=18, not 19). Reusing
one map for both is a bug found in public code; see docs/economy.md and the tests.

The region is checked for form (six digits, a real province-level prefix). Membership in a
region registry is the caller's business: pass ``known_regions`` (a set of codes, or a
callable) and a code outside it is refused as ``unknown_region``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a USCC may contain, in value order (GB 32100-2015, 表 1)."""

ORGANISATION_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""The value map of the GB 11714 organisation code: 0–9, then A=10 … Z=35."""

USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
"""Weights of positions 1–17 for the mod-31 check: 1, 3, 9, 27, 19, 26, 16, … (3^(i−1) mod 31)."""

ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
"""Weights of the 8 organisation-code body characters (2^(9−i) mod 11)."""

_USCC_VALUE = {character: value for value, character in enumerate(USCC_ALPHABET)}
_ORGANISATION_VALUE = {character: value for value, character in enumerate(ORGANISATION_ALPHABET)}

ENTITY_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "1": (
        "机构编制",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {
            "1": "外国旅游部门常驻代表机构",
            "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "9": "其他",
        },
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社", "9": "其他"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {"1": "其他"}),
}
"""Registration authorities (position 1) and the entity types (position 2) each may issue."""

PROVINCE_PREFIXES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82",
    }
)  # fmt: skip
"""First two digits of the province-level divisions of GB/T 2260."""

NATIONAL_REGION = "100000"
"""Region code used by registering authorities at national level."""


class Problem(StrEnum):
    """Machine-readable reason a code is refused (first failed check, in this order)."""

    EMPTY = "empty"
    LENGTH = "length"
    CHARACTER_SET = "character_set"
    REGISTRATION_AUTHORITY = "registration_authority"
    ENTITY_TYPE = "entity_type"
    REGION = "region"
    UNKNOWN_REGION = "unknown_region"
    CHECK_CHARACTER = "check_character"
    ORGANISATION_CHECK = "organisation_check"


@dataclass(frozen=True)
class UsccResult:
    """The outcome of checking one code."""

    uscc: str
    """The code as checked: surrounding and inner spaces removed, letters upper-cased."""
    valid: bool
    reason: str | None
    """One English line saying what is wrong, or None when valid."""
    reason_code: Problem | None
    region: str | None = None
    """The 6-digit division of the registering authority when well formed (even if a later
    check fails), else None."""
    authority: str | None = None
    """Registration authority (Chinese name) when position 1 is known."""
    entity_type: str | None = None
    """Entity type (Chinese name) when position 2 is known for the authority."""
    organisation_code: str | None = None
    """Positions 9–17 (the GB 11714 organisation code) when the length is right."""


RegionLookup = Collection[str] | Callable[[str], bool]


def normalise(text: str) -> str:
    """The code with spaces removed and letters upper-cased (what users paste varies)."""
    return "".join(text.split()).upper()


def uscc_check_character(first17: str) -> str:
    """The mod-31 check character (position 18) for the first 17 characters."""
    if len(first17) != 17:
        raise ValueError("a USCC check character is computed over exactly 17 characters")
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the USCC alphabet") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organisation_check_character(body: str) -> str:
    """The GB 11714 check character for an 8-character organisation-code body: 0–9 or X."""
    if len(body) != 8:
        raise ValueError("an organisation-code check is computed over exactly 8 characters")
    try:
        total = sum(
            _ORGANISATION_VALUE[c] * w for c, w in zip(body, ORGANISATION_WEIGHTS, strict=True)
        )
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the organisation alphabet") from None
    value = 11 - total % 11
    if value == 10:
        return "X"
    if value == 11:
        return "0"
    return str(value)


def complete(first16: str) -> str:
    """An 18-character code from its first 16 characters, both check characters computed."""
    if len(first16) != 16:
        raise ValueError("complete() needs the first 16 characters")
    with_organisation = first16 + organisation_check_character(first16[8:16])
    return with_organisation + uscc_check_character(with_organisation)


def region_is_well_formed(region: str) -> bool:
    """True when the six characters can be a GB/T 2260 division (or the national level)."""
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        return False
    return region == NATIONAL_REGION or region[:2] in PROVINCE_PREFIXES


def _is_known(region: str, known_regions: RegionLookup) -> bool:
    if callable(known_regions):
        return bool(known_regions(region))
    return region in known_regions


def validate(text: str, *, known_regions: RegionLookup | None = None) -> UsccResult:
    """Check a unified social credit code; the result says whether it is valid and why not."""
    code = normalise(text)

    def refuse(problem: Problem, reason: str, **found: str | None) -> UsccResult:
        return UsccResult(uscc=code, valid=False, reason=reason, reason_code=problem, **found)

    if not code:
        return refuse(Problem.EMPTY, "empty code")
    if len(code) != 18:
        return refuse(Problem.LENGTH, f"expected 18 characters, got {len(code)}")
    for position, character in enumerate(code, start=1):
        if character not in _USCC_VALUE:
            return refuse(
                Problem.CHARACTER_SET,
                f"character {character!r} at position {position} is not allowed "
                "(digits and capital letters except I, O, S, V, Z)",
            )
    organisation = code[8:17]
    known_authority = ENTITY_TYPES.get(code[0])
    if known_authority is None:
        return refuse(
            Problem.REGISTRATION_AUTHORITY,
            f"unknown registration authority {code[0]!r} at position 1",
            organisation_code=organisation,
        )
    authority, types = known_authority
    entity_type = types.get(code[1])
    if entity_type is None:
        return refuse(
            Problem.ENTITY_TYPE,
            f"entity type {code[1]!r} at position 2 is not defined for authority {code[0]!r}",
            authority=authority,
            organisation_code=organisation,
        )
    found: dict[str, str | None] = {
        "authority": authority,
        "entity_type": entity_type,
        "organisation_code": organisation,
    }
    region = code[2:8]
    if not region_is_well_formed(region):
        return refuse(
            Problem.REGION,
            f"positions 3-8 {region!r} are not a GB/T 2260 division",
            region=None,
            **found,
        )
    found["region"] = region
    if known_regions is not None and not _is_known(region, known_regions):
        return refuse(Problem.UNKNOWN_REGION, f"region {region} is not a known division", **found)
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return refuse(
            Problem.CHECK_CHARACTER,
            f"check character is {code[17]!r}, expected {expected!r}",
            **found,
        )
    expected_organisation = organisation_check_character(organisation[:8])
    if organisation[8] != expected_organisation:
        return refuse(
            Problem.ORGANISATION_CHECK,
            f"organisation-code check character at position 17 is {organisation[8]!r}, "
            f"expected {expected_organisation!r}",
            **found,
        )
    return UsccResult(uscc=code, valid=True, reason=None, reason_code=None, **found)


def is_valid(text: str, *, known_regions: RegionLookup | None = None) -> bool:
    """True when the code passes every check."""
    return validate(text, known_regions=known_regions).valid
