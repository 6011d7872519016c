"""`zhikong map`: batch risk assessment of a CSV, risk profiles, assessment runs in the database."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from zhikong.console import CliError, console, engine_from_context, settings_from_context

map_app = typer.Typer(
    help="Risk map: profiles, batch and stored assessments.", no_args_is_help=True
)


def _profile(profile_id: str) -> Any:
    from zhikong.riskmap.engine import ProfileError, load_profile

    try:
        return load_profile(profile_id)
    except ProfileError as exc:
        raise CliError(f"风险配置错误 · risk profile error: {exc}") from None


@map_app.command("profiles")
def profiles_command() -> None:
    """List the shipped risk profiles and their levels."""
    from zhikong.riskmap.engine import PROFILES, load_profile

    for profile_id in PROFILES:
        profile = load_profile(profile_id)
        settings = profile.settings(profile.document.validity.from_)
        levels = " < ".join(f"{level.code}（{level.zh}）" for level in settings.levels)
        console.print(
            f"{profile.id} {profile.version} · {profile.document.title.zh} · "
            f"{profile.document.title.en}\n  {levels}",
            markup=False,
            highlight=False,
        )


@map_app.command("assess")
def assess_command(
    profile_id: Annotated[str, typer.Option("--profile", help="Risk profile id.")],
    input_path: Annotated[Path, typer.Option("--input", help="CSV, one row per region and date.")],
    output_path: Annotated[Path, typer.Option("--output", help="CSV to write (replaced whole).")],
    region_col: Annotated[str, typer.Option("--region-col", help="Region column.")] = "region",
    date_col: Annotated[str, typer.Option("--date-col", help="Date column.")] = "date",
) -> None:
    """Assess every region-day of a CSV with a profile; write region, date, level, reasons."""
    import csv

    from zhikong.riskmap.batch import (
        OUTPUT_COLUMNS,
        BatchInputError,
        assess_rows_memoised,
        output_row,
        read_rows,
    )
    from zhikong.rules.documents import OutsideValidityError, RuleEvaluationError

    profile = _profile(profile_id)
    try:
        with input_path.open(encoding="utf-8-sig", newline="") as stream:
            rows = read_rows(stream, profile, region_col=region_col, date_col=date_col)
    except FileNotFoundError:
        raise CliError(f"输入文件不存在 · input file not found: {input_path}") from None
    except UnicodeDecodeError as exc:
        raise CliError(
            f"输入文件不是 UTF-8 · input file {input_path} is not UTF-8 ({exc.reason})"
        ) from None
    except BatchInputError as exc:
        raise CliError(f"输入有误 · bad input: {exc}") from None
    first = profile.document.validity.from_
    for row in rows:
        if row.day < first:
            raise CliError(
                f"输入有误 · bad input: column {date_col!r}, line {row.line}: {row.day} is before "
                f"profile {profile.id} is in force ({first})"
            )
    directory = output_path.resolve().parent
    if not directory.is_dir():
        raise CliError(f"输出目录不存在 · output directory not found: {directory}")
    handle, temporary = tempfile.mkstemp(prefix=".zhikong-map-", suffix=".csv", dir=directory)
    counts: dict[str, int] = {}
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(OUTPUT_COLUMNS)
            for assessment in assess_rows_memoised(profile, rows):
                writer.writerow(output_row(profile, assessment))
                key = assessment.level or "(none)"
                counts[key] = counts.get(key, 0) + 1
        os.replace(temporary, output_path)
    except (OutsideValidityError, RuleEvaluationError) as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CliError(f"评估失败 · assessment failed: {exc}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    summary = ", ".join(f"{level} {count}" for level, count in sorted(counts.items()))
    console.print(
        f"已评估 {len(rows)} 行 · assessed {len(rows)} rows → {output_path} ({summary})",
        markup=False,
        highlight=False,
    )


@map_app.command("run")
def run_command(
    ctx: typer.Context,
    profile_id: Annotated[str, typer.Option("--profile", help="Risk profile id.")],
    day: Annotated[str, typer.Option("--date", help="Date to assess (YYYY-MM-DD).")],
    parent: Annotated[str, typer.Option("--parent", help="Region whose counties to assess.")] = (
        "330000"
    ),
) -> None:
    """Compute indicators from the platform's data and store an assessment for a date."""
    from zhikong.clock import SystemClock
    from zhikong.code.policy import ColourPolicy
    from zhikong.riskmap.service import AssessmentError, run_assessment
    from zhikong.store.engine import make_sessionmaker, transaction

    settings = settings_from_context(ctx)
    engine = engine_from_context(ctx)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise CliError(f"--date must be YYYY-MM-DD, not {day!r}") from None
    _profile(profile_id)
    policy = ColourPolicy.named(settings.code_profile, settings.timezone)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = run_assessment(
                session,
                SystemClock(),
                policy,
                profile_id=profile_id,
                day=when,
                parent=parent,
                actor="system:cli",
                timezone=settings.timezone,
            )
    except AssessmentError as exc:
        raise CliError(str(exc)) from None
    console.print(
        f"{when} {profile_id}: " + ", ".join(f"{k} {v}" for k, v in report.counts.items()),
        markup=False,
        highlight=False,
    )


@map_app.command("import-indicators")
def import_indicators_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV: region, date, one column per indicator.")],
    source: Annotated[str, typer.Option("--source", help="Where the data comes from.")],
) -> None:
    """Import outside indicator values (e.g. bus routes, electricity) for regions and days."""
    from zhikong.clock import SystemClock
    from zhikong.riskmap.importer import ImportError_, import_indicators
    from zhikong.store.engine import make_sessionmaker, transaction

    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", source):
        raise CliError("--source: 1–64 letters, digits, dots, dashes or underscores")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    engine = engine_from_context(ctx)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            count = import_indicators(
                session, SystemClock(), path, text, source=source, actor="cli:operator"
            )
    except ImportError_ as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{count} indicator values imported from {path.name} (source {source})")
