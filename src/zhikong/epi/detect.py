"""One entry point for the five detectors: method name + options → `Detection`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from zhikong.epi.ears import EarsMethod, EarsOptions, ears
from zhikong.epi.errors import EpiInputError
from zhikong.epi.farrington import (
    FarringtonOptions,
    FlexibleOptions,
    PowerTransform,
    farrington,
    farrington_flexible,
)
from zhikong.epi.models import Detection
from zhikong.epi.series import Frequency


class DetectorMethod(StrEnum):
    """Detector names used by the CLI and the signal pipeline."""

    ears_c1 = "ears-c1"
    ears_c2 = "ears-c2"
    ears_c3 = "ears-c3"
    farrington = "farrington"
    farrington_flexible = "farrington-flexible"

    @property
    def is_ears(self) -> bool:
        """True for the EARS family."""
        return self.value.startswith("ears")


@dataclass(frozen=True)
class DetectorSettings:
    """Options as given by a user; None = the method's default in `surveillance`."""

    alpha: float | None = None
    baseline: int | None = None
    min_sigma: float | None = None
    b: int | None = None
    w: int | None = None
    no_periods: int | None = None
    powertrans: PowerTransform | None = None
    population_offset: bool = False
    reweight: bool | None = None
    trend: bool | None = None
    weights_threshold: float | None = None
    past_weeks_not_included: int | None = None
    limit54: tuple[int, int] | None = None
    start: int | None = None


DetectorOptions = EarsOptions | FarringtonOptions | FlexibleOptions

_EARS_ONLY = ("baseline", "min_sigma")
_FARRINGTON_ONLY = ("b", "w", "powertrans", "reweight", "trend", "limit54")
_FLEXIBLE_ONLY = ("no_periods", "weights_threshold", "past_weeks_not_included")
_OPTION_NAMES = {
    "baseline": "--baseline",
    "min_sigma": "--min-sigma",
    "b": "--b",
    "w": "--w",
    "powertrans": "--powertrans",
    "reweight": "--no-reweight",
    "trend": "--no-trend",
    "limit54": "--limit54",
    "no_periods": "--no-periods",
    "weights_threshold": "--weights-threshold",
    "past_weeks_not_included": "--past-weeks",
    "population_offset": "--population-offset",
}


def _refuse(method: DetectorMethod, settings: DetectorSettings, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(settings, name)
        if value is not None and value is not False:
            raise EpiInputError(
                f"{_OPTION_NAMES[name]} does not apply to {method.value}", field=name
            )


def detector_options(
    method: DetectorMethod, frequency: Frequency, settings: DetectorSettings
) -> DetectorOptions:
    """The method's options from user settings (refusing options of other methods)."""
    if method.is_ears:
        _refuse(method, settings, (*_FARRINGTON_ONLY, *_FLEXIBLE_ONLY, "population_offset"))
        ears_method: EarsMethod = "C1"
        if method is DetectorMethod.ears_c2:
            ears_method = "C2"
        elif method is DetectorMethod.ears_c3:
            ears_method = "C3"
        return EarsOptions(
            method=ears_method,
            baseline=7 if settings.baseline is None else settings.baseline,
            alpha=settings.alpha,
            min_sigma=0.0 if settings.min_sigma is None else settings.min_sigma,
            start=settings.start,
        )
    _refuse(method, settings, _EARS_ONLY)
    b = 5 if settings.b is None else settings.b
    w = 3 if settings.w is None else settings.w
    alpha = 0.05 if settings.alpha is None else settings.alpha
    reweight = True if settings.reweight is None else settings.reweight
    trend = True if settings.trend is None else settings.trend
    limit54 = (5, 4) if settings.limit54 is None else settings.limit54
    powertrans: PowerTransform = "2/3" if settings.powertrans is None else settings.powertrans
    if method is DetectorMethod.farrington:
        _refuse(method, settings, (*_FLEXIBLE_ONLY, "population_offset"))
        return FarringtonOptions(
            b=b,
            w=w,
            alpha=alpha,
            reweight=reweight,
            trend=trend,
            limit54=limit54,
            powertrans=powertrans,
            period=frequency.period,
            start=settings.start,
        )
    return FlexibleOptions(
        b=b,
        w=w,
        alpha=alpha,
        reweight=reweight,
        weights_threshold=2.58
        if settings.weights_threshold is None
        else settings.weights_threshold,
        trend=trend,
        limit54=limit54,
        powertrans=powertrans,
        population_offset=settings.population_offset,
        no_periods=1 if settings.no_periods is None else settings.no_periods,
        past_weeks_not_included=settings.past_weeks_not_included,
        period=frequency.period,
        start=settings.start,
    )


def detect(
    counts: NDArray[np.float64],
    options: DetectorOptions,
    population: NDArray[np.float64] | None = None,
) -> Detection:
    """Run one detector on counts [series × time] (NaN after each series' end)."""
    if isinstance(options, EarsOptions):
        return ears(counts, options)
    if isinstance(options, FarringtonOptions):
        return farrington(counts, options)
    return farrington_flexible(counts, options, population)
