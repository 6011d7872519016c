"""Errors of the epidemiological core: one line that names the field or series."""

from __future__ import annotations


class EpiInputError(ValueError):
    """Input the methods cannot use (bad value, bad shape, bad option): one-line message."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SeriesError(EpiInputError):
    """One series cannot be used (negative counts, gaps, too short, ...)."""

    def __init__(self, series: str, message: str) -> None:
        super().__init__(f"series {series}: {message}", field="series")
        self.series = series
        self.reason = message
