"""`zhikong alerts detect` and `zhikong epi rt|project`: thin Typer layer over `epi.files`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from zhikong.console import CliError
from zhikong.epi.detect import DetectorMethod, DetectorSettings
from zhikong.epi.errors import EpiInputError
from zhikong.epi.farrington import PowerTransform
from zhikong.epi.series import Frequency

alerts_app = typer.Typer(
    help="监测预警 early warning: EARS and Farrington alarms on count series.",
    no_args_is_help=True,
)
epi_app = typer.Typer(
    help="流行病学 epidemiology: R_t nowcasts and SEIR projections (推演).",
    no_args_is_help=True,
)


def _warn(report_errors: list[Any]) -> None:
    for error in report_errors:
        typer.echo(f"zhikong: warning: {error} (skipped)", err=True)


def _powertrans(text: str | None) -> PowerTransform | None:
    if text is None:
        return None
    for choice in get_args(PowerTransform):
        if text == choice:
            return choice  # type: ignore[no-any-return]
    raise EpiInputError("--powertrans must be none, 1/2 or 2/3", field="powertrans")


def _limit54(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        cases, weeks = (int(part) for part in text.split(","))
    except ValueError:
        raise EpiInputError("--limit54 must be CASES,WEEKS, e.g. 5,4", field="limit54") from None
    return cases, weeks


@alerts_app.command("detect")
def detect_command(
    method: Annotated[DetectorMethod, typer.Option("--method", help="Detector.")],
    input_path: Annotated[
        Path, typer.Option("--input", help="CSV with columns series,date,count.")
    ],
    output_path: Annotated[
        Path, typer.Option("--output", help="CSV series,date,method,upperbound,alarm.")
    ],
    freq: Annotated[
        Frequency, typer.Option("--freq", help="day (period 365) or week (period 52).")
    ] = Frequency.day,
    alpha: Annotated[
        float | None,
        typer.Option("--alpha", help="EARS: 0.001 (C1, C2) / 0.025 (C3); Farrington: 0.05."),
    ] = None,
    baseline: Annotated[
        int | None, typer.Option("--baseline", help="EARS baseline length (default 7).")
    ] = None,
    b: Annotated[int | None, typer.Option("--b", help="Farrington: years back (5).")] = None,
    w: Annotated[int | None, typer.Option("--w", help="Farrington: half window (3).")] = None,
    no_periods: Annotated[
        int | None,
        typer.Option("--no-periods", help="farrington-flexible: seasonal periods (1)."),
    ] = None,
    powertrans: Annotated[
        str | None, typer.Option("--powertrans", help="Farrington: none, 1/2 or 2/3 (2/3).")
    ] = None,
    population_offset: Annotated[
        bool,
        typer.Option(
            "--population-offset",
            help="farrington-flexible: log(population) offset (input needs a population column).",
        ),
    ] = False,
    no_reweight: Annotated[
        bool, typer.Option("--no-reweight", help="Farrington: no outbreak reweighting.")
    ] = False,
    no_trend: Annotated[
        bool, typer.Option("--no-trend", help="Farrington: never fit a time trend.")
    ] = False,
    weights_threshold: Annotated[
        float | None,
        typer.Option("--weights-threshold", help="farrington-flexible: residual cut-off (2.58)."),
    ] = None,
    past_weeks: Annotated[
        int | None,
        typer.Option("--past-weeks", help="farrington-flexible: recent weeks left out (w)."),
    ] = None,
    limit54: Annotated[
        str | None,
        typer.Option("--limit54", help="Farrington: CASES,WEEKS minimum recent cases (5,4)."),
    ] = None,
    min_sigma: Annotated[
        float | None, typer.Option("--min-sigma", help="EARS: floor of the SD (0).")
    ] = None,
    start: Annotated[
        int | None,
        typer.Option("--start", min=1, help="First evaluated t (1-based); default as R."),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", help="Text of the method column (default: the run id)."),
    ] = None,
) -> None:
    """Run an outbreak detector on every series of a CSV; one row per evaluated time point."""
    from zhikong.epi.files import detect_file

    try:
        settings = DetectorSettings(
            alpha=alpha,
            baseline=baseline,
            min_sigma=min_sigma,
            b=b,
            w=w,
            no_periods=no_periods,
            powertrans=_powertrans(powertrans),
            population_offset=population_offset,
            reweight=False if no_reweight else None,
            trend=False if no_trend else None,
            weights_threshold=weights_threshold,
            past_weeks_not_included=past_weeks,
            limit54=_limit54(limit54),
            start=start,
        )
        report = detect_file(
            input_path, output_path, method, frequency=freq, settings=settings, label=label
        )
    except EpiInputError as exc:
        raise CliError(str(exc)) from exc
    _warn(report.errors)
    typer.echo(
        f"{method.value}: {report.series} series, {report.rows} time points → {output_path}"
        + (f" ({len(report.errors)} series skipped)" if report.errors else "")
    )


@epi_app.command("rt")
def rt_command(
    input_path: Annotated[
        Path, typer.Option("--input", help="Daily CSV series,date,count without gaps.")
    ],
    output_path: Annotated[Path, typer.Option("--output", help="CSV of R_t per window.")],
    si_mean: Annotated[
        float | None, typer.Option("--si-mean", help="Serial interval mean (days, > 1).")
    ] = None,
    si_sd: Annotated[float | None, typer.Option("--si-sd", help="Serial interval sd.")] = None,
    si_distribution: Annotated[
        Path | None,
        typer.Option("--si-distribution", help="CSV k,w (k = 0..n, w_0 = 0, sums to 1)."),
    ] = None,
    window: Annotated[int, typer.Option("--window", min=1, help="Window length (days).")] = 7,
    prior_mean: Annotated[float, typer.Option("--prior-mean", help="Gamma prior mean.")] = 5.0,
    prior_sd: Annotated[float, typer.Option("--prior-sd", help="Gamma prior sd.")] = 5.0,
) -> None:
    """Estimate R_t (Cori et al. 2013, as EpiEstim) on sliding windows for every series."""
    from zhikong.epi.files import read_si_distribution, rt_file
    from zhikong.epi.rt import SerialInterval

    parametric = si_mean is not None or si_sd is not None
    if parametric == (si_distribution is not None):
        raise CliError("give either --si-mean and --si-sd, or --si-distribution")
    if parametric and (si_mean is None or si_sd is None):
        raise CliError("--si-mean and --si-sd go together")
    try:
        if si_distribution is not None:
            si = SerialInterval(distribution=read_si_distribution(si_distribution))
        else:
            si = SerialInterval(mean=si_mean, sd=si_sd)
        report = rt_file(
            input_path,
            output_path,
            si,
            window=window,
            prior_mean=prior_mean,
            prior_sd=prior_sd,
        )
    except EpiInputError as exc:
        raise CliError(str(exc)) from exc
    _warn(report.errors)
    typer.echo(
        f"R_t: {report.series} series, {report.rows} windows → {output_path}"
        + (f" ({len(report.errors)} series skipped)" if report.errors else "")
    )


@epi_app.command("project")
def project_command(
    scenario: Annotated[Path, typer.Option("--scenario", help="Scenario JSON file.")],
    output_path: Annotated[Path, typer.Option("--output", help="CSV patch,day,S,E,I,R.")],
    runs: Annotated[
        int | None,
        typer.Option(
            "--runs", min=1, max=100_000, help="Stochastic: this many chain-binomial runs."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the runs.")] = 2020,
) -> None:
    """Project a metapopulation SEIR scenario (deterministic; with --runs, uncertainty bands)."""
    from zhikong.epi.files import project_file

    try:
        report = project_file(scenario, output_path, runs=runs, seed=seed)
    except EpiInputError as exc:
        raise CliError(str(exc)) from exc
    mode = f"{runs} stochastic runs" if runs else "deterministic"
    typer.echo(f"projection ({mode}): {report.series} patches, {report.rows} rows → {output_path}")
