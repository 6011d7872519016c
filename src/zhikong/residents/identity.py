"""Identity documents (GB/T 38962 ID types) and the resident ID number check (pure)."""

from __future__ import annotations

import re
from datetime import date

ID_TYPES: dict[str, str] = {
    "cn-resident": "居民身份证 · PRC resident identity card",
    "passport": "护照 · passport",
    "hk-macau-permit": "港澳居民来往内地通行证 · Mainland travel permit for HK/Macao residents",
    "taiwan-permit": "台湾居民来往大陆通行证 · Mainland travel permit for Taiwan residents",
    "foreign-permanent": "外国人永久居留身份证 · Foreign permanent resident ID card",
    "other": "其他 · other",
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_DOCUMENT = re.compile(r"^[A-Z0-9]{5,20}$")


class InvalidIdentityError(ValueError):
    """An identity number that is not valid for its type."""


def resident_id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def resident_id_birth_date(number: str) -> date:
    """The birth date embedded in an 18-digit resident ID (characters 7–14)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def validate_identity(id_type: str, number: str, today: date) -> str:
    """The normalised identity number, or InvalidIdentityError saying what is wrong."""
    if id_type not in ID_TYPES:
        raise InvalidIdentityError(f"unknown ID type {id_type!r}")
    value = re.sub(r"\s+", "", number).upper()
    if id_type == "cn-resident":
        if not _RESIDENT_ID.match(value):
            raise InvalidIdentityError("a resident ID has 17 digits and a check digit or X")
        if resident_id_check_digit(value[:17]) != value[17]:
            raise InvalidIdentityError("resident ID check digit does not match (ISO 7064 MOD 11-2)")
        try:
            born = resident_id_birth_date(value)
        except ValueError as exc:
            raise InvalidIdentityError("resident ID holds an impossible birth date") from exc
        if born > today or born.year < 1890:
            raise InvalidIdentityError("resident ID holds an impossible birth date")
        return value
    if not _DOCUMENT.match(value):
        raise InvalidIdentityError("document number: 5–20 letters or digits")
    return value
