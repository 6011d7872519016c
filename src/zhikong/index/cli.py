"""`zhikong index`: compute the precision-control index (or an OxCGRT index) from a CSV file."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zhikong.console import CliError, console, engine_from_context, say

if TYPE_CHECKING:
    from zhikong.index.compute import IndexResult, SensitivityResult
    from zhikong.index.indicators import IndexConfig

index_app = typer.Typer(
    help="精密智控指数 · precision-control index: compute, configs, indicators.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_DIRECTION = {
    "higher_is_better": "越高越好 · higher is better",
    "lower_is_better": "越低越好 · lower is better",
}
_DECIMALS = 4


def _config(name: str) -> IndexConfig:
    from zhikong.index.indicators import ConfigError, load_config

    try:
        return load_config(name)
    except ConfigError as exc:
        raise CliError(f"指数配置错误 · index configuration error: {exc}") from None


def _read_lines(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return stream.readlines()
    except FileNotFoundError:
        raise CliError(f"输入文件不存在 · input file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise CliError(
            f"输入文件不是 UTF-8 · input file {path} is not UTF-8 ({exc.reason})"
        ) from None
    except OSError as exc:
        raise CliError(f"无法读取输入文件 · cannot read {path}: {exc.strerror}") from None


def _number(value: float, decimals: int | None = _DECIMALS) -> str:
    if not math.isfinite(value):
        return ""
    return f"{value:.{decimals}f}" if decimals is not None else repr(float(value))


def _write_csv(path: Path | None, header: list[str], rows: Iterable[list[str]]) -> int:
    """Write the CSV atomically (temporary file, then rename) or to stdout; rows written."""
    if path is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"输出目录不存在 · output folder does not exist: {folder}")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            count = 0
            for row in rows:
                writer.writerow(row)
                count += 1
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return count


class _Progress:
    """A progress bar on stderr for long sensitivity runs (only on a terminal)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("敏感性分析 · sensitivity"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, done: int, total: int) -> None:
        """Show how many draw-blocks are done."""
        if self._bar is None:
            return
        if self._task is None:
            self._task = self._bar.add_task("draws", total=total)
        self._bar.update(self._task, completed=done)


@index_app.command(
    "compute", help="计算指数、贡献、排名与排名区间 · compute the index, contributions, ranks."
)
def compute_command(
    input_path: Annotated[
        Path,
        typer.Option("--input", help="输入 CSV · input CSV (zhikong layout, or OxCGRT's own)."),
    ],
    config_name: Annotated[
        str,
        typer.Option(
            "--config",
            help="配置 id 或 YAML 文件 · configuration id (zhikong index configs) or a YAML file.",
        ),
    ] = "zhikong-2020",
    output_path: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="输出 CSV（原子写入）· output CSV, written atomically (default: stdout).",
        ),
    ] = None,
    draws: Annotated[
        int,
        typer.Option(
            "--sensitivity",
            min=0,
            max=100_000,
            help="敏感性分析抽样次数 · Monte Carlo draws (0 = none).",
        ),
    ] = 0,
    seed: Annotated[
        int, typer.Option("--seed", help="随机种子 · random seed of the draws.")
    ] = 2020,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant",
            help="OxCGRT v1 版本 · OxCGRT v1 files: non-vaccinated, vaccinated, simple-average "
            "or weighted-average (default).",
        ),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="打印该地区的分解 · print this region's breakdown."),
    ] = None,
    explain_date: Annotated[
        str | None, typer.Option("--date", help="要分解的日期 · the day to explain (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Compute the index per region and day, with contributions, ranks and rank intervals."""
    if (explain is None) != (explain_date is None):
        raise CliError("--explain 与 --date 须同时给出 · --explain and --date go together")
    config = _config(config_name)
    lines = _read_lines(input_path)
    if config.catalogue == "oxcgrt":
        if draws or explain is not None:
            raise CliError(
                "OxCGRT 配置只复现已发布指数，不做敏感性分析或分解 · OxCGRT configurations "
                "reproduce the published index only (no --sensitivity or --explain)"
            )
        _compute_oxcgrt(config, lines, output_path, variant)
        return
    if variant is not None:
        raise CliError(
            "--variant 仅用于 OxCGRT v1 文件 · --variant applies to OxCGRT v1 files only"
        )
    _compute_zhikong(config, lines, output_path, draws, seed, explain, explain_date)


def _compute_oxcgrt(
    config: IndexConfig, lines: list[str], output: Path | None, variant: str | None
) -> None:
    from zhikong.index.indicators import InputError
    from zhikong.index.oxcgrt import LEGACY, VARIANTS, format_value, oxcgrt_index, read_oxcgrt

    if variant is not None and variant not in VARIANTS:
        names = ", ".join(VARIANTS)
        raise CliError(f"--variant 须为 {names} 之一 · --variant must be one of {names}")
    try:
        table = read_oxcgrt(lines, config)
        if table.layout == LEGACY and variant is not None:
            raise CliError(
                "--variant 仅用于 OxCGRT v1 文件 · --variant applies to OxCGRT v1 files only"
            )
        values = oxcgrt_index(table, config, variant)
    except InputError as exc:
        raise CliError(f"输入错误 · bad input: {exc}") from None
    rows = table.rows

    def records() -> Iterator[list[str]]:
        for r, t, value in zip(rows.region_index, rows.date_index, values, strict=True):
            yield [rows.regions[r], rows.dates[t].isoformat(), format_value(value, config.decimals)]

    count = _write_csv(output, ["region", "date", "value"], records())
    if output is not None:
        defined = int(sum(1 for value in values if math.isfinite(value)))
        say(
            f"{config.id}（{table.layout}）：已写入 {count} 行，其中 {defined} 行有指数值 · "
            f"wrote {count} rows ({defined} with a value) to {output}",
            emoji=False,
        )


def _compute_zhikong(
    config: IndexConfig,
    lines: list[str],
    output: Path | None,
    draws: int,
    seed: int,
    explain: str | None,
    explain_date: str | None,
) -> None:
    from zhikong.index.compute import IndexModel, Panel, compute_index, sensitivity
    from zhikong.index.indicators import InputError, read_panel

    try:
        table = read_panel(lines, config)
    except InputError as exc:
        raise CliError(f"输入错误 · bad input: {exc}") from None
    target: tuple[int, int] | None = None
    if explain is not None and explain_date is not None:
        target = _explain_target(table.regions, table.dates, explain, explain_date)
    panel = Panel(
        regions=table.regions,
        dates=table.dates,
        indicators=config.indicator_ids,
        values=table.values,
        present=table.present,
    )
    model = IndexModel.from_config(config)
    result = compute_index(panel, model)
    analysis = None
    if draws:
        with _Progress() as bar:
            analysis = sensitivity(panel, model, draws, seed, base=result, progress=bar.update)
    if output is not None or target is None:
        header, records = _zhikong_rows(result, analysis, table.region_index, table.date_index)
        count = _write_csv(output, header, records)
        if output is not None:
            say(f"{config.id}：已写入 {count} 行 · wrote {count} rows to {output}", emoji=False)
    if analysis is not None and output is not None:
        shift = float(_median(analysis.mean_abs_shift))
        say(
            f"敏感性分析：{analysis.draws} 次抽样，种子 {analysis.seed}，平均排名位移中位数 "
            f"{shift:.2f} · sensitivity: {analysis.draws} draws, seed {analysis.seed}, "
            f"median mean |rank shift| {shift:.2f}",
            emoji=False,
        )
    if target is not None:
        _print_explanation(config, result, analysis, *target)


def _median(values: Any) -> float:
    import numpy as np

    return float(np.median(values)) if len(values) else 0.0


def _explain_target(
    regions: tuple[str, ...], dates: tuple[date, ...], region: str, day: str
) -> tuple[int, int]:
    from zhikong.index.indicators import InputError, parse_date

    if region not in regions:
        raise CliError(f"输入中没有地区 {region} · region {region} is not in the input")
    try:
        when = parse_date(day, 0, "--date")
    except InputError:
        raise CliError(f"--date 须为 YYYY-MM-DD · --date must be YYYY-MM-DD, not {day!r}") from None
    if when not in dates:
        raise CliError(f"输入中没有日期 {when.isoformat()} · no row dated {when.isoformat()}")
    return regions.index(region), dates.index(when)


def _zhikong_rows(
    result: IndexResult,
    analysis: SensitivityResult | None,
    region_index: Iterable[int],
    date_index: Iterable[int],
) -> tuple[list[str], Iterator[list[str]]]:
    model = result.model
    header = ["region", "date", *model.group_ids, "total", "rank"]
    header += [f"contribution_{indicator}" for indicator in model.indicators]
    rank_columns = ("rank_p05", "rank_median", "rank_p95", "rank_min", "rank_max")
    if analysis is not None:
        header += list(rank_columns)

    def rows() -> Iterator[list[str]]:
        panel = result.panel
        for r, t in zip(region_index, date_index, strict=True):
            row = [panel.regions[r], panel.dates[t].isoformat()]
            row += [_number(float(result.groups[g, r, t])) for g in range(len(model.group_ids))]
            row.append(_number(float(result.total[r, t])))
            rank = int(result.rank[r, t])
            row.append(str(rank) if rank else "")
            row += [_number(float(value)) for value in result.contributions[r, t]]
            if analysis is not None:
                for name in rank_columns:
                    value = int(getattr(analysis, name)[r, t])
                    row.append(str(value) if value else "")
            yield row

    return header, rows()


def _print_explanation(
    config: IndexConfig,
    result: IndexResult,
    analysis: SensitivityResult | None,
    r: int,
    t: int,
) -> None:
    panel, model = result.panel, result.model
    region, day = panel.regions[r], panel.dates[t].isoformat()
    defined = int((result.rank[:, t] > 0).sum())
    total = float(result.total[r, t])
    say(f"{config.name_zh} · {config.name_en}", emoji=False)
    say(
        f"地区 region {region} · 日期 date {day} · 配置 config {config.id} v{config.version}",
        emoji=False,
    )
    if not math.isfinite(total):
        say(
            "总指数：无（指标缺失过多）· total: undefined (too many indicators missing)",
            emoji=False,
        )
    else:
        rank = int(result.rank[r, t])
        say(
            f"总指数 {total:.2f}，第 {rank} 名 / 共 {defined} 个地区 · "
            f"total {total:.2f}, rank {rank} of {defined}",
            emoji=False,
        )
    if analysis is not None and math.isfinite(total):
        say(
            f"排名区间（{analysis.draws} 次抽样）：5%–95% 为第 {analysis.rank_p05[r, t]}–"
            f"{analysis.rank_p95[r, t]} 名，中位第 {analysis.rank_median[r, t]} 名，"
            f"全距第 {analysis.rank_min[r, t]}–{analysis.rank_max[r, t]} 名 · "
            f"rank interval over {analysis.draws} draws: 5–95 % "
            f"{analysis.rank_p05[r, t]}–{analysis.rank_p95[r, t]}, median "
            f"{analysis.rank_median[r, t]}, full range "
            f"{analysis.rank_min[r, t]}–{analysis.rank_max[r, t]}",
            emoji=False,
        )
        shift = _median(analysis.mean_abs_shift)
        say(
            f"全体地区平均排名位移（中位数）{shift:.2f} 位 · median over draws of the mean "
            f"|rank shift| of all regions: {shift:.2f}",
            emoji=False,
        )
    for g, group in enumerate(config.sub_indices):
        value = float(result.groups[g, r, t])
        shown = f"{value:.2f}" if math.isfinite(value) else "—"
        say("", emoji=False)
        say(f"{group.name_zh} {shown} · {group.name_en} {shown}", emoji=False)
        for k in model.members[g]:
            say(_indicator_line(config, result, r, t, int(k), total), emoji=False)
    aggregation = (
        "算术平均 arithmetic" if model.aggregation == "arithmetic" else "几何平均 geometric"
    )
    say("", emoji=False)
    say(
        f"归一化 normalisation: {model.normalisation} · 汇总 aggregation: {aggregation} · "
        "各指标贡献之和等于总指数 · the contributions add up to the total",
        emoji=False,
    )


def _indicator_line(
    config: IndexConfig, result: IndexResult, r: int, t: int, k: int, total: float
) -> str:
    """One indicator of the breakdown: value, score, weight and contribution."""
    definition = config.definition(result.model.indicators[k])
    raw = _number(float(result.panel.values[r, t, k]), 2)
    contribution = float(result.contributions[r, t, k])
    weight = float(result.weights[r, t, k]) * 100
    value = f"{raw} {definition.unit_zh}" if raw else "缺失 missing"
    line = (
        f"  {definition.name_zh} · {definition.name_en}\n"
        f"      值 value {value} · {_DIRECTION[definition.direction.value]} · "
        f"得分 score {_number(float(result.scores[r, t, k]), 1) or '—'}"
    )
    if math.isfinite(total):
        share = f" ({contribution / total * 100:.1f}%)" if total else ""
        line += f" · 权重 weight {weight:.1f}% · 贡献 contribution {contribution:.2f}{share}"
    return line


@index_app.command("configs", help="列出指数配置 · list the bundled index configurations.")
def configs_command() -> None:
    """List the bundled index configurations."""
    from rich.table import Table

    from zhikong.index.indicators import bundled_config_ids, load_config

    table = Table(title="指数配置 · index configurations", title_justify="left")
    table.add_column("id", no_wrap=True)
    for column in ("名称 · name", "指标 · indicators", "方法 · method"):
        table.add_column(column)
    for config_id in bundled_config_ids():
        config = load_config(config_id)
        table.add_row(
            config.id,
            f"{config.name_zh}\n{config.name_en}",
            " + ".join(str(len(group.indicators)) for group in config.sub_indices),
            f"{config.normalisation}\n{config.aggregation}",
        )
    console.print(table, highlight=False)


@index_app.command(
    "indicators", help="列出指标定义、权重与目标值 · list indicators, weights, goalposts."
)
def indicators_command(
    config_name: Annotated[
        str, typer.Option("--config", help="配置 id 或 YAML 文件 · configuration id or YAML file.")
    ] = "zhikong-2020",
) -> None:
    """List a configuration's indicators: definition, direction, weight, goalposts."""
    config = _config(config_name)
    say(f"{config.name_zh} · {config.name_en}", emoji=False)
    for group in config.sub_indices:
        total = sum(spec.weight for spec in group.indicators)
        say("", emoji=False)
        say(
            f"{group.name_zh} · {group.name_en}（{group.id}，权重 weight {group.weight:g}，"
            f"至少 {group.min_present} 项 · needs {group.min_present} present）",
            emoji=False,
        )
        for spec in group.indicators:
            definition = config.definition(spec.id)
            goalposts = ""
            if spec.goalposts is not None:
                goalposts = (
                    f" · 目标值 goalposts {spec.goalposts.worst:g} → {spec.goalposts.best:g}"
                )
            marker = " · 已公布名称 published name" if definition.published_name else ""
            say(
                f"  {spec.id}: {definition.name_zh} · {definition.name_en}{marker}\n"
                f"      {definition.unit_zh} · {_DIRECTION[definition.direction.value]} · "
                f"权重 weight {spec.weight / total * 100:.1f}%{goalposts}\n"
                f"      来源 source: {definition.source}",
                emoji=False,
            )


@index_app.command(
    "store", help="计算并保存指数（数据库）· compute the index from stored indicators and store it."
)
def store_command(
    ctx: typer.Context,
    days: Annotated[
        list[str], typer.Option("--date", help="Date to compute (YYYY-MM-DD); repeatable.")
    ],
    config_name: Annotated[str, typer.Option("--config", help="Configuration id.")] = (
        "zhikong-2020"
    ),
    parent: Annotated[str, typer.Option("--parent", help="Region whose counties to rank.")] = (
        "330000"
    ),
    draws: Annotated[int, typer.Option("--sensitivity", min=0, help="Monte Carlo draws.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws.")] = 0,
) -> None:
    """Compute the index of the counties under a region for the dates and store it."""
    from zhikong.clock import SystemClock
    from zhikong.index.service import IndexStoreError, compute_and_store
    from zhikong.store.engine import make_sessionmaker, transaction

    try:
        when = [date.fromisoformat(day) for day in days]
    except ValueError:
        raise CliError(f"--date 应为 YYYY-MM-DD · must be YYYY-MM-DD: {days!r}") from None
    engine = engine_from_context(ctx)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = compute_and_store(
                session,
                SystemClock(),
                days=when,
                config_id=config_name,
                parent=parent,
                draws=draws,
                seed=seed,
                actor="system:cli",
            )
    except IndexStoreError as exc:
        raise CliError(str(exc)) from None
    say(
        f"已保存 stored {report.rows} 行 rows · {report.config_id} v{report.config_version} · "
        f"{report.regions} 个地区 regions × {len(report.days)} 天 days · "
        f"{report.ranked} 已排名 ranked · {report.draws} 次抽样 draws",
        emoji=False,
    )
