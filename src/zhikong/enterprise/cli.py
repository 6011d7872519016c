"""`zhikong enterprise`: enterprise registry commands (USCC checks)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, NoReturn

import typer

from zhikong.console import CliError

enterprise_app = typer.Typer(
    help="企业 · enterprises: unified social credit codes (统一社会信用代码).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _fail(message: str) -> NoReturn:
    """Stop with one line on stderr and exit code 2."""
    raise CliError(message)


@enterprise_app.command(
    "check-uscc",
    help="校验统一社会信用代码 · check unified social credit codes (GB 32100-2015); "
    "'-' reads codes from standard input, one per line. Prints one JSON object per code.",
)
def check_uscc_command(
    codes: Annotated[
        list[str] | None,
        typer.Argument(
            help="代码 · codes to check, or '-' for standard input.", show_default=False
        ),
    ] = None,
) -> None:
    """Check each code and print {code, valid, reason, reason_code, region} as JSON lines."""
    from zhikong.enterprise.uscc import validate

    given = list(codes or [])
    inputs: list[str] = []
    for item in given:
        if item == "-":
            inputs.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            inputs.append(item.strip())
    if not inputs:
        if "-" in given:
            _fail("标准输入中没有代码 · no codes on standard input")
        _fail("请给出至少一个代码或 '-' · give at least one code, or '-' to read standard input")
    out = sys.stdout
    for text in inputs:
        result = validate(text)
        record = {
            "code": text,
            "valid": result.valid,
            "reason": result.reason,
            "reason_code": result.reason_code.value if result.reason_code else None,
            "region": result.region,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
