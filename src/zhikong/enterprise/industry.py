"""Industry classification GB/T 4754-2017: sections (门类) A–T and their divisions (大类)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Section:
    """One section of GB/T 4754-2017 with the two-digit divisions it contains."""

    code: str
    name_zh: str
    name_en: str
    first_division: int
    last_division: int

    @property
    def divisions(self) -> tuple[str, ...]:
        """The section's division codes, two digits each ('13' … '43' for C)."""
        return tuple(f"{d:02d}" for d in range(self.first_division, self.last_division + 1))


@cache
def sections() -> tuple[Section, ...]:
    """The 20 sections A–T, in order (read from the bundled data file)."""
    item = resources.files("zhikong.enterprise").joinpath("data", "gbt4754-2017-sections.yaml")
    document = yaml.safe_load(item.read_text(encoding="utf-8"))
    return tuple(
        Section(
            code=entry["code"],
            name_zh=entry["name_zh"],
            name_en=entry["name_en"],
            first_division=int(entry["divisions"][0]),
            last_division=int(entry["divisions"][1]),
        )
        for entry in document["sections"]
    )


@cache
def industry_codes() -> dict[str, str]:
    """Every accepted industry code (section letter or two-digit division) → its section."""
    mapping: dict[str, str] = {}
    for section in sections():
        mapping[section.code] = section.code
        for division in section.divisions:
            mapping[division] = section.code
    return mapping


def section_of(code: str) -> str | None:
    """The section letter for a section letter or a division code ('36' → 'C'), else None."""
    text = code.strip().upper()
    if len(text) in (3, 4) and text.isdigit():  # a group or class code starts with its division
        text = text[:2]
    return industry_codes().get(text)
