"""`zhikong economy`: the resumption power index (企业复工电力指数) from daily kWh files."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from zhikong.console import CliError

if TYPE_CHECKING:
    from zhikong.economy.power import PowerIndexConfig, PowerIndexResult, RowError

economy_app = typer.Typer(
    help="经济 · economy: the resumption power index (企业复工电力指数).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OUTPUT_COLUMNS = ("date", "customers", "resumed", "work_rate", "output_rate", "index")


class By(StrEnum):
    """What the index is grouped by."""

    region = "region"
    industry = "industry"


def _fail(message: str) -> NoReturn:
    """Stop with one line on stderr and exit code 2."""
    raise CliError(message)


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


def _parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} 须为 YYYY-MM-DD · {option} must be a date YYYY-MM-DD, got {text!r}")


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _records(result: PowerIndexResult) -> Iterator[dict[str, Any]]:
    key = result.by
    for row in result.rows:
        yield {
            key: row.key,
            "date": row.date.isoformat(),
            "customers": row.customers,
            "resumed": row.resumed,
            "work_rate": _number(row.work_rate),
            "output_rate": _number(row.output_rate),
            "index": _number(row.index),
        }


def _atomic_write(path: Path, lines: Iterable[str]) -> int:
    """Write lines to a temporary file beside `path`, then rename it: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    count = 0
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            for line in lines:
                stream.write(line)
                count += 1
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return count


def _csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    class _Line:
        value = ""

        def write(self, text: str) -> None:
            self.value = text

    line = _Line()
    writer = csv.writer(line, lineterminator="\n")
    writer.writerow(header)
    yield line.value
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
        yield line.value


def _write_table(path: Path, header: list[str], records: Iterable[dict[str, Any]]) -> int:
    """CSV or NDJSON by the file's suffix; returns the number of records written."""
    if path.suffix.lower() in {".ndjson", ".jsonl"}:
        lines: Iterable[str] = (json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        return _atomic_write(path, lines)
    rows = ([record[column] for column in header] for record in records)
    return _atomic_write(path, _csv_lines(header, rows)) - 1


def _write_errors(path: Path, errors: Iterable[RowError]) -> None:
    header = ["source", "row", "field", "problem", "message"]
    records = (
        {
            "source": e.source,
            "row": e.row,
            "field": e.field,
            "problem": e.problem.value,
            "message": e.message,
        }
        for e in errors
    )
    _write_table(path, header, records)


def _config(name: str) -> PowerIndexConfig:
    from zhikong.economy.power import ConfigError, load_config

    try:
        return load_config(name)
    except ConfigError as exc:
        _fail(f"指数配置错误 · power-index configuration error: {exc}")


@economy_app.command(
    "power-index",
    help="计算企业复工电力指数 · compute the enterprise resumption power index per region "
    "(county, city, province) or industry section, for every day. Input columns "
    "customer_id,region,industry,date,kwh (CSV, NDJSON or Parquet).",
)
def power_index_command(
    input_path: Annotated[
        Path,
        typer.Option("--input", help="日用电量 · daily kWh per customer (.csv/.ndjson/.parquet)."),
    ],
    output_path: Annotated[
        Path,
        typer.Option("--output", help="输出 · output file (.csv or .ndjson), written atomically."),
    ],
    baseline_from: Annotated[
        str | None, typer.Option("--baseline-from", help="基准期起 · baseline window start.")
    ] = None,
    baseline_to: Annotated[
        str | None, typer.Option("--baseline-to", help="基准期止 · baseline window end.")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="复工阈值 · resumed when kWh ≥ threshold × baseline."),
    ] = None,
    by: Annotated[By, typer.Option("--by", help="按地区或行业 · group by region or industry.")] = (
        By.region
    ),
    config_name: Annotated[
        str, typer.Option("--config", help="配置 id 或 YAML 文件 · configuration id or file.")
    ] = "power-index.zhejiang-2020",
    hourly_path: Annotated[
        Path | None,
        typer.Option("--hourly", help="逐时负荷 · hourly load customer_id,date,hour,kwh (flags)."),
    ] = None,
    flags_path: Annotated[
        Path | None,
        typer.Option("--flags", help="待核查客户 · write the flagged customers here (.csv)."),
    ] = None,
    errors_path: Annotated[
        Path | None,
        typer.Option("--errors", help="错误明细 · write every refused row here (.csv)."),
    ] = None,
    pack: Annotated[
        str, typer.Option("--regions", help="地区包 · region pack the regions must belong to.")
    ] = "zhejiang",
) -> None:
    """Compute the power index; refuse the whole input when any row is bad."""
    from zhikong.economy import power_engine
    from zhikong.economy.geography import known_codes
    from zhikong.economy.power import ConfigError, InvalidInputError, with_overrides

    if threshold is not None and not (0 < threshold <= 10 and math.isfinite(threshold)):
        _fail(f"--threshold 须大于 0 · --threshold must be above 0, got {threshold:g}")
    if output_path.suffix.lower() not in {".csv", ".ndjson", ".jsonl"}:
        _fail("--output 须为 .csv 或 .ndjson · --output must end in .csv or .ndjson")
    config = _config(config_name)
    try:
        config = with_overrides(
            config,
            baseline_from=_parse_day(baseline_from, "--baseline-from"),
            baseline_to=_parse_day(baseline_to, "--baseline-to"),
            threshold=threshold,
        )
    except ConfigError as exc:
        _fail(f"参数错误 · bad option: {exc}")
    try:
        known = known_codes(pack)
    except ValueError as exc:
        _fail(str(exc))
    try:
        result = power_engine.compute(
            input_path, config, known_regions=known, by=by.value, hourly=hourly_path
        )
    except power_engine.SourceError as exc:
        _fail(f"无法读取输入 · cannot read input: {exc}")
    except InvalidInputError as exc:
        if errors_path is not None:
            _write_errors(errors_path, exc.errors)
            where = f"; all listed in {errors_path}"
        else:
            where = "; use --errors FILE for the list"
        first = exc.errors[0]
        _fail(
            f"输入有 {exc.total} 处错误，未输出任何结果 · {exc.total} invalid row(s), nothing "
            f"written; first: {first.source} row {first.row} {first.field}: {first.message}"
            f"{where}"
        )
    header = [by.value, *OUTPUT_COLUMNS]
    count = _write_table(output_path, header, _records(result))
    if flags_path is not None:
        flag_records = (
            {
                "customer_id": f.customer_id,
                "flag": f.kind.value,
                "cleared": f.cleared,
                "detail": f.detail,
            }
            for f in result.flags
        )
        _write_table(flags_path, ["customer_id", "flag", "cleared", "detail"], flag_records)
    _say(
        f"{config.label()}: {count} 行 rows → {output_path}; {result.with_baseline} customers "
        f"with a baseline of {result.customers}; {len(result.flags)} flag(s), "
        f"{result.excluded} customer(s) excluded pending review"
    )
