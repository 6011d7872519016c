"""What tracing accepts from outside: the errors that name the field at fault, the clock's
slack, and the reader of NDJSON or CSV uploads."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

FUTURE_SLACK = timedelta(minutes=5)
MAX_BATCH_ROWS = 100_000
SCAN_FIELDS = ("id", "venue_id", "at", "direction", "code")


class TraceInputError(ValueError):
    """Input naming something impossible or unknown (422), with the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MalformedFileError(ValueError):
    """An upload that cannot be read at all (rejected whole)."""


def parse_upload(data: bytes, media_type: str) -> list[dict[str, Any]]:
    """Rows of an NDJSON or CSV upload (MalformedFileError when the file cannot be read)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"文件不是 UTF-8 · not UTF-8: {exc.reason}") from None
    rows: list[dict[str, Any]] = []
    if "csv" in media_type:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        missing = [name for name in ("id", "venue_id", "at", "code") if name not in header]
        if missing:
            raise MalformedFileError(
                f"CSV 缺少列 · CSV header lacks column(s): {', '.join(missing)}"
            )
        unknown = [name for name in header if name not in SCAN_FIELDS]
        if unknown:
            raise MalformedFileError(f"CSV 未知列 · unknown CSV column(s): {', '.join(unknown)}")
        try:
            for entry in reader:
                if None in entry:
                    raise MalformedFileError(
                        f"CSV 第 {reader.line_num} 行列数过多 · too many fields on line "
                        f"{reader.line_num}"
                    )
                rows.append({k: v for k, v in entry.items() if v not in (None, "")})
        except csv.Error as exc:
            raise MalformedFileError(f"CSV 无法解析 · unreadable CSV: {exc}") from None
    elif "ndjson" in media_type or "jsonl" in media_type or "json-seq" in media_type:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedFileError(
                    f"第 {number} 行不是 JSON · line {number} is not JSON: {exc.msg}"
                ) from None
            if not isinstance(value, dict):
                raise MalformedFileError(f"第 {number} 行不是对象 · line {number} is not an object")
            rows.append(value)
    else:
        raise MalformedFileError(
            "只接受 application/x-ndjson 或 text/csv · send application/x-ndjson or text/csv"
        )
    if len(rows) > MAX_BATCH_ROWS:
        raise MalformedFileError(f"一次最多 {MAX_BATCH_ROWS} 行 · at most {MAX_BATCH_ROWS} rows")
    return rows


def instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError("not a time")
    if instant.tzinfo is None:
        raise ValueError("give the time with a UTC offset")
    return instant.astimezone(UTC)
