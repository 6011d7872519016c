"""The power-index engine: DuckDB over columnar data (Parquet, CSV, NDJSON or Arrow).

Two scans of the readings, whatever their number:

1. one aggregation per customer: baseline, reference-period mean, row and distinct-day counts
   (duplicates), and counts of bad values — into a table of ~one row per customer;
2. one join of the readings to that table, aggregated per group (county or industry) and day:
   resumed customers and their kWh, plus rows whose region or industry disagrees with the
   customer's.

Only when a check fails does a third, slower query number the rows and say which are bad.
Nothing is returned then but the errors (all-or-nothing). City and province figures are sums
of county figures (every count and kWh sum is additive), so the roll-up costs nothing.

The semantics are those of `power.compute_reference`; tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import numpy as np
import pyarrow as pa

from zhikong.economy.power import (
    Flag,
    FlagKind,
    GroupBy,
    InvalidInputError,
    PowerIndexConfig,
    PowerIndexResult,
    RowError,
    RowProblem,
    build_rows,
    flat_load_flagged,
    shift_ratio,
)
from zhikong.enterprise.industry import industry_codes

FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".parquet": "parquet"}
COLUMNS = ("customer_id", "region", "industry", "date", "kwh")
HOURLY_COLUMNS = ("customer_id", "date", "hour", "kwh")
MAX_ERRORS = 1000

Source: TypeAlias = Path | pa.Table


class SourceError(ValueError):
    """An input that cannot be read at all (missing file, unknown format, missing columns)."""


@dataclass(frozen=True)
class _Input:
    """A view name over an input and how to number its rows when errors must be located."""

    view: str
    numbered: str
    text: bool
    """True for text formats (CSV, NDJSON), whose values are trimmed and cast."""
    arrow: pa.Table | None = None
    """An in-memory table: numbered on demand (a parallel scan has no file order)."""

    def numbering(self, con: duckdb.DuckDBPyConnection, name: str) -> str:
        """A relation with the input's columns and `row`, the 1-based record number."""
        if self.arrow is None:
            return self.numbered
        count = self.arrow.num_rows
        numbered = self.arrow.append_column("__row", pa.array(np.arange(1, count + 1)))
        con.register(f"{name}_with_rows", numbered)
        return f"(SELECT __row AS row, * EXCLUDE (__row) FROM {name}_with_rows)"


def _format_of(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise SourceError(f"{path.name}: unknown input format (use one of {known})")
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    return kind


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _register(
    con: duckdb.DuckDBPyConnection, name: str, source: Source, columns: tuple[str, ...]
) -> _Input:
    """Make `name` a view with the expected columns as text-or-typed values, plus numbering."""
    if isinstance(source, pa.Table):
        con.register(f"{name}_arrow", source)
        base = f"{name}_arrow"
        numbered = ""
        text = False
    else:
        kind = _format_of(source)
        if kind == "parquet":
            base = f"read_parquet({_literal(source)}, file_row_number = true)"
            numbered = f"(SELECT file_row_number + 1 AS row, * FROM {base})"
            text = False
        else:
            text = True
            reader = (
                f"read_csv({_literal(source)}, header = true, all_varchar = true)"
                if kind == "csv"
                else f"read_json({_literal(source)}, format = 'newline_delimited', "
                "records = true, union_by_name = true)"
            )
            try:
                con.execute(f"CREATE TEMP TABLE {name}_raw AS SELECT * FROM {reader}")
            except duckdb.Error as exc:
                message = " ".join(str(exc).split())[:300]
                raise SourceError(f"{source.name}: cannot be read ({message})") from exc
            base = f"{name}_raw"
            numbered = f"(SELECT rowid + 1 AS row, * FROM {name}_raw)"
    try:
        present = {str(row[0]) for row in con.execute(f"DESCRIBE SELECT * FROM {base}").fetchall()}
    except duckdb.Error as exc:
        message = " ".join(str(exc).split())[:300]
        raise SourceError(f"input cannot be read ({message})") from exc
    missing = [column for column in columns if column not in present]
    if missing:
        raise SourceError(f"input lacks column(s) {', '.join(missing)}")
    arrow = source if isinstance(source, pa.Table) else None
    return _Input(view=base, numbered=numbered, text=text, arrow=arrow)


def _typed(
    con: duckdb.DuckDBPyConnection, columns: tuple[str, ...], relation: str, *, text: bool
) -> str:
    """SELECT of the expected columns, typed (NULL where a value cannot be read).

    Columns already of the right type are used as they are (no per-row work); text values
    (CSV, NDJSON, strings in Parquet) are trimmed and cast.
    """
    types = {
        str(name): str(kind).upper()
        for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    }
    wanted = {"date": "DATE", "kwh": "DOUBLE", "hour": "INTEGER"}
    parts = []
    for column in columns:
        kind = types.get(column, "")
        target = wanted.get(column, "VARCHAR")
        if kind == target and not (text and target == "VARCHAR"):
            parts.append(column)
        elif target == "VARCHAR":
            parts.append(f"trim(CAST({column} AS VARCHAR)) AS {column}")
        else:
            parts.append(f"TRY_CAST({column} AS {target}) AS {column}")
    return f"SELECT {', '.join(parts)} FROM {relation}"


def _section_sql(column: str) -> str:
    """The normalised industry code whose section the mapping table gives."""
    text = f"upper(trim({column}))"
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9]{{3,4}}') THEN left({text}, 2) ELSE {text} END"
    )


def compute(
    readings: Source,
    config: PowerIndexConfig,
    *,
    known_regions: Collection[str],
    by: GroupBy = "region",
    hourly: Source | None = None,
    cleared: Collection[str] = frozenset(),
    threads: int | None = None,
    max_errors: int = MAX_ERRORS,
) -> PowerIndexResult:
    """The power index per group and day; InvalidInputError (nothing computed) on bad rows."""
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        return _compute(
            con, readings, config, known_regions, by, hourly, frozenset(cleared), max_errors
        )
    finally:
        con.close()


def _compute(
    con: duckdb.DuckDBPyConnection,
    readings: Source,
    config: PowerIndexConfig,
    known_regions: Collection[str],
    by: GroupBy,
    hourly: Source | None,
    cleared: frozenset[str],
    max_errors: int,
) -> PowerIndexResult:
    daily = _register(con, "daily", readings, COLUMNS)
    if daily.text:
        con.execute(
            f"CREATE TEMP TABLE r AS {_typed(con, COLUMNS, daily.view, text=True)} ORDER BY rowid"
        )
    else:
        con.execute(f"CREATE TEMP VIEW r AS {_typed(con, COLUMNS, daily.view, text=False)}")
    con.execute("CREATE TEMP TABLE known_regions (region VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO known_regions VALUES (?)", [(code,) for code in known_regions])
    con.execute("CREATE TEMP TABLE industries (code VARCHAR PRIMARY KEY, section VARCHAR)")
    con.executemany("INSERT INTO industries VALUES (?, ?)", list(industry_codes().items()))

    lo, hi = config.dates.start, config.dates.end
    span = (hi - lo).days
    reference = config.reference_window
    params = {
        "lo": lo,
        "hi": hi,
        "b_lo": config.baseline.start,
        "b_hi": config.baseline.end,
        "ref_lo": reference.start,
        "ref_hi": reference.end,
    }

    def literal(day: date) -> str:
        return f"DATE '{day.isoformat()}'"

    def within(first: date, last: date) -> str:
        return f"date BETWEEN {literal(first)} AND {literal(last)}"

    # One pass, cheap aggregates only, grouped by customer, region and industry (a customer
    # whose rows disagree on region or industry shows up twice): bad values show in min, max
    # and counts, duplicates in the number of distinct days (a bitmap over the data dates),
    # the baseline and reference means as CASE sums.
    pass_a = f"""
        CREATE TEMP TABLE customers AS
        SELECT customer_id, region, industry,
               count(*) AS n,
               count(date) AS n_dated,
               count(kwh) AS n_kwh,
               min(date) AS first_day,
               max(date) AS last_day,
               min(kwh) AS min_kwh,
               max(kwh) AS max_kwh,
               bit_count(bitstring_agg(CAST(date - {literal(lo)} AS INTEGER), 0, {span}))
                   AS distinct_days,
               sum(CASE WHEN {within(config.baseline.start, config.baseline.end)} THEN kwh END)
                   AS window_kwh,
               count(CASE WHEN {within(config.baseline.start, config.baseline.end)} THEN kwh END)
                   AS window_days,
               sum(CASE WHEN {within(reference.start, reference.end)} THEN kwh END)
                   AS reference_kwh,
               count(CASE WHEN {within(reference.start, reference.end)} THEN kwh END)
                   AS reference_days
        FROM r GROUP BY customer_id, region, industry
        """
    try:
        con.execute(pass_a)
    except duckdb.OutOfRangeException:
        # a date outside the data dates does not fit the bitmap: refuse, and say where
        errors, total = _locate_errors(con, daily, None, params, max_errors)
        raise InvalidInputError(errors, total) from None
    problems = con.execute(
        f"""
        SELECT count(*) FILTER (
                   WHERE customer_id IS NULL OR customer_id = ''
                      OR n_kwh < n OR min_kwh < 0 OR NOT isfinite(max_kwh)
                      OR n_dated < n OR first_day < {literal(lo)} OR last_day > {literal(hi)}
                      OR distinct_days < n_dated
                      OR region IS NULL OR region NOT IN (SELECT region FROM known_regions)
                      OR industry IS NULL
                      OR {_section_sql("industry")} NOT IN (SELECT code FROM industries))
             + count(*) - count(DISTINCT customer_id)
        FROM customers
        """
    ).fetchall()[0]
    bad = int(problems[0]) if problems else 0

    hourly_stats: list[tuple[str, int, int, int]] = []
    if hourly is not None:
        hourly_input = _register(con, "hourly", hourly, HOURLY_COLUMNS)
        typed = _typed(con, HOURLY_COLUMNS, hourly_input.view, text=hourly_input.text)
        con.execute(f"CREATE TEMP VIEW h AS {typed}")
        hourly_bad = _hourly_problem_count(con, params)
        if hourly_bad:
            bad += hourly_bad
        else:
            hourly_stats = _hourly_stats(con, config, params)
    else:
        hourly_input = None
    if bad:
        errors, total = _locate_errors(con, daily, hourly_input, params, max_errors)
        raise InvalidInputError(errors, total)

    flags = _flags(con, config, hourly_stats, cleared)
    flagged = sorted({flag.customer_id for flag in flags if not flag.cleared})
    con.execute("CREATE TEMP TABLE flagged (customer_id VARCHAR PRIMARY KEY)")
    if flagged:
        con.executemany("INSERT INTO flagged VALUES (?)", [(c,) for c in flagged])
    key = "c.region" if by == "region" else "s.section"
    eligible = "coalesce(c.window_days >= $min_days AND c.window_kwh > 0, false)"
    con.execute(
        f"""
        CREATE TEMP TABLE scored AS
        SELECT c.customer_id, c.region, c.industry, {key} AS key,
               c.window_kwh / c.window_days AS baseline,
               c.customer_id IN (SELECT customer_id FROM flagged) AS excluded,
               {eligible} AS eligible,
               CASE WHEN {eligible} AND c.customer_id NOT IN (SELECT customer_id FROM flagged)
                    THEN $threshold * (c.window_kwh / c.window_days) END AS limit_kwh
        FROM customers c
        LEFT JOIN industries s ON s.code = {_section_sql("c.industry")}
        """,
        {"threshold": config.threshold, "min_days": config.baseline.min_days},
    )
    # The second pass: every row against its customer's limit (NULL when not counted).
    numerators = con.execute(
        """
        SELECT c.key, r.date,
               sum(CASE WHEN r.kwh >= c.limit_kwh THEN 1 ELSE 0 END) AS resumed,
               sum(CASE WHEN r.kwh >= c.limit_kwh THEN r.kwh ELSE 0 END) AS kwh
        FROM r JOIN scored c USING (customer_id)
        GROUP BY ALL
        """
    ).fetchall()
    days = {day for _, day, _, _ in numerators if day is not None}
    denominators = {
        str(group): (int(count), float(total))
        for group, count, total in con.execute(
            "SELECT key, count(*), sum(baseline) FROM scored WHERE eligible AND NOT excluded "
            "GROUP BY key"
        ).fetchall()
    }
    totals = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE eligible AND NOT excluded),
               count(*) FILTER (WHERE eligible AND excluded)
        FROM scored
        """
    ).fetchall()[0]
    assert totals is not None
    rows = build_rows(
        denominators,
        {
            (str(group), day): (int(count or 0), float(kwh or 0.0))
            for group, day, count, kwh in numerators
            if group is not None and day is not None and count
        },
        days,
        config,
        by,
    )
    return PowerIndexResult(
        config=config,
        by=by,
        rows=rows,
        flags=tuple(sorted(flags)),
        customers=int(totals[0]),
        with_baseline=int(totals[1]),
        excluded=int(totals[2]),
    )


def _hourly_problem_count(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> int:
    found = con.execute(
        """
        SELECT count(*) FILTER (WHERE customer_id IS NULL
                                   OR customer_id NOT IN (SELECT customer_id FROM customers)
                                   OR date IS NULL OR date NOT BETWEEN $lo AND $hi
                                   OR hour IS NULL OR hour NOT BETWEEN 0 AND 23
                                   OR kwh IS NULL OR NOT isfinite(kwh) OR kwh < 0)
             + (SELECT coalesce(sum(n - 1), 0) FROM (
                    SELECT count(*) AS n FROM h
                    WHERE date BETWEEN $lo AND $hi AND hour BETWEEN 0 AND 23
                    GROUP BY customer_id, date, hour HAVING count(*) > 1))
        FROM h
        """,
        {"lo": params["lo"], "hi": params["hi"]},
    ).fetchall()[0]
    return int(found[0]) if found else 0


def _hourly_stats(
    con: duckdb.DuckDBPyConnection, config: PowerIndexConfig, params: dict[str, Any]
) -> list[tuple[str, int, int, int]]:
    """Per customer: flat days after the window, hourly days in it, flat days in it."""
    rows = con.execute(
        """
        WITH days AS (
            SELECT customer_id, date,
                   CASE WHEN avg(kwh) > 0 THEN stddev_pop(kwh) / avg(kwh) END AS cv
            FROM h GROUP BY customer_id, date HAVING count(*) = 24
        )
        SELECT customer_id,
               count(*) FILTER (WHERE date > $b_hi AND cv < $max_cv),
               count(*) FILTER (WHERE date BETWEEN $b_lo AND $b_hi),
               count(*) FILTER (WHERE date BETWEEN $b_lo AND $b_hi AND cv < $max_cv)
        FROM days GROUP BY customer_id
        """,
        {
            "b_lo": params["b_lo"],
            "b_hi": params["b_hi"],
            "max_cv": config.flags.flat_load.max_cv,
        },
    ).fetchall()
    return [(str(c), int(a), int(b), int(d)) for c, a, b, d in rows]


def _flags(
    con: duckdb.DuckDBPyConnection,
    config: PowerIndexConfig,
    hourly_stats: list[tuple[str, int, int, int]],
    cleared: frozenset[str],
) -> list[Flag]:
    flags: list[Flag] = []
    spec = config.flags.flat_load
    for customer_id, report, base, base_flat in hourly_stats:
        if flat_load_flagged(report, base, base_flat, config):
            flags.append(
                Flag(
                    customer_id,
                    FlagKind.FLAT_LOAD,
                    f"hourly load flat (CV < {spec.max_cv:g}) on {report} day(s) after the "
                    "baseline window",
                    customer_id in cleared,
                )
            )
    shift = config.flags.baseline_shift
    candidates = con.execute(
        """
        SELECT customer_id, reference_kwh / reference_days, window_kwh / window_days
        FROM customers
        WHERE reference_days >= $min_ref AND window_days >= $min_days
        """,
        {"min_ref": shift.min_reference_days, "min_days": config.baseline.min_days},
    ).fetchall()
    for customer_id, before, window in candidates:
        ratio = shift_ratio(float(before), float(window))
        if ratio > shift.max_ratio:
            flags.append(
                Flag(
                    str(customer_id),
                    FlagKind.BASELINE_SHIFT,
                    f"mean kWh of the {shift.reference_days} days before the baseline window "
                    f"and of the window differ by a factor {ratio:.3g} (> {shift.max_ratio:g})",
                    str(customer_id) in cleared,
                )
            )
    return flags


def _locate_errors(
    con: duckdb.DuckDBPyConnection,
    daily: _Input,
    hourly: _Input | None,
    params: dict[str, Any],
    max_errors: int,
) -> tuple[list[RowError], int]:
    """The first refused rows and how many there are (the slow path, only on bad input)."""
    con.execute(
        f"""
        CREATE TEMP TABLE numbered AS
        SELECT row, trim(CAST(customer_id AS VARCHAR)) AS customer_id,
               trim(CAST(region AS VARCHAR)) AS region,
               trim(CAST(industry AS VARCHAR)) AS industry,
               CAST(date AS VARCHAR) AS date_text, TRY_CAST(date AS DATE) AS date,
               CAST(kwh AS VARCHAR) AS kwh_text, TRY_CAST(kwh AS DOUBLE) AS kwh
        FROM {daily.numbering(con, "daily")}
        """
    )
    checks = f"""
        SELECT row, 'customer_id', 'missing_customer_id', 'customer_id is missing'
        FROM numbered WHERE customer_id IS NULL OR customer_id = ''
        UNION ALL
        SELECT row, 'region', 'unknown_region',
               'unknown region ' || ('''' || coalesce(region, '') || '''')
        FROM numbered WHERE region IS NULL OR region NOT IN (SELECT region FROM known_regions)
        UNION ALL
        SELECT row, 'industry', 'unknown_industry',
               'unknown industry ' || ('''' || coalesce(industry, '') || '''')
        FROM numbered
        WHERE industry IS NULL OR {_section_sql("industry")} NOT IN (SELECT code FROM industries)
        UNION ALL
        SELECT row, 'date', 'bad_date', 'not a date: ' || ('''' || coalesce(date_text, '') || '''')
        FROM numbered WHERE date IS NULL
        UNION ALL
        SELECT row, 'date', 'date_out_of_range',
               'date ' || CAST(date AS VARCHAR) || ' outside ' || CAST($lo AS VARCHAR) || '..'
               || CAST($hi AS VARCHAR)
        FROM numbered WHERE date NOT BETWEEN $lo AND $hi
        UNION ALL
        SELECT row, 'kwh',
               CASE WHEN kwh_text IS NULL OR trim(kwh_text) = '' OR isnan(kwh) THEN 'missing_kwh'
                    WHEN kwh IS NULL OR NOT isfinite(kwh) THEN 'bad_kwh'
                    ELSE 'negative_kwh' END,
               CASE WHEN kwh_text IS NULL OR trim(kwh_text) = '' OR isnan(kwh)
                         THEN 'kwh is missing'
                    WHEN kwh IS NULL OR NOT isfinite(kwh) THEN 'kwh is not a finite number'
                    ELSE 'kwh is negative' END
        FROM numbered
        WHERE kwh_text IS NULL OR trim(kwh_text) = '' OR kwh IS NULL OR isnan(kwh)
              OR NOT isfinite(kwh) OR kwh < 0
        UNION ALL
        SELECT row, 'date', 'duplicate',
               'customer ' || customer_id || ' already has ' || CAST(date AS VARCHAR)
               || ' on row ' || CAST(first_row AS VARCHAR)
        FROM (SELECT row, customer_id, date,
                     min(row) OVER (PARTITION BY customer_id, date) AS first_row
              FROM numbered
              WHERE customer_id <> '' AND date BETWEEN $lo AND $hi)
        WHERE row <> first_row
        UNION ALL
        SELECT n.row, 'region', 'inconsistent_region',
               'customer ' || n.customer_id || ' has region ' || coalesce(f.region, '')
               || ' on row ' || CAST(f.row AS VARCHAR)
        FROM numbered n JOIN (SELECT customer_id, arg_min_null(region, row) AS region,
                                     min(row) AS row
                              FROM numbered GROUP BY customer_id) f USING (customer_id)
        WHERE n.customer_id <> '' AND n.region IS DISTINCT FROM f.region
        UNION ALL
        SELECT n.row, 'industry', 'inconsistent_industry',
               'customer ' || n.customer_id || ' has industry ' || coalesce(f.industry, '')
               || ' on row '
               || CAST(f.row AS VARCHAR)
        FROM numbered n JOIN (SELECT customer_id, arg_min_null(industry, row) AS industry,
                                     min(row) AS row
                              FROM numbered GROUP BY customer_id) f USING (customer_id)
        WHERE n.customer_id <> '' AND n.industry IS DISTINCT FROM f.industry
    """
    window = {"lo": params["lo"], "hi": params["hi"]}
    con.execute(f"CREATE TEMP TABLE refused AS {checks}", window)
    found = con.execute(
        f"SELECT * FROM refused ORDER BY 1, 2, 3 LIMIT {int(max_errors)}"
    ).fetchall()
    counted = con.execute("SELECT count(*) FROM refused").fetchall()[0]
    total = int(counted[0]) if counted else 0
    errors = [
        RowError(int(row), str(name), RowProblem(str(problem)), str(message))
        for row, name, problem, message in found
    ]
    if hourly is not None:
        hourly_errors, hourly_total = _locate_hourly_errors(
            con, hourly, params, max_errors - len(errors)
        )
        errors += hourly_errors
        total += hourly_total
    return sorted(errors), total


def _locate_hourly_errors(
    con: duckdb.DuckDBPyConnection, hourly: _Input, params: dict[str, Any], limit: int
) -> tuple[list[RowError], int]:
    con.execute(
        f"""
        CREATE TEMP TABLE hourly_numbered AS
        SELECT row, trim(CAST(customer_id AS VARCHAR)) AS customer_id,
               CAST(date AS VARCHAR) AS date_text, TRY_CAST(date AS DATE) AS date,
               CAST(hour AS VARCHAR) AS hour_text, TRY_CAST(hour AS INTEGER) AS hour,
               CAST(kwh AS VARCHAR) AS kwh_text, TRY_CAST(kwh AS DOUBLE) AS kwh
        FROM {hourly.numbering(con, "hourly")}
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE hourly_refused AS
            SELECT row, 'customer_id', 'unknown_customer',
                   'unknown customer ' || ('''' || coalesce(customer_id, '') || '''')
            FROM hourly_numbered
            WHERE customer_id IS NULL OR customer_id NOT IN (SELECT customer_id FROM customers)
            UNION ALL
            SELECT row, 'date', 'bad_date',
                   'not a date: ' || ('''' || coalesce(date_text, '') || '''')
            FROM hourly_numbered WHERE date IS NULL
            UNION ALL
            SELECT row, 'date', 'date_out_of_range', 'date ' || CAST(date AS VARCHAR)
                   || ' outside the data dates'
            FROM hourly_numbered WHERE date NOT BETWEEN $lo AND $hi
            UNION ALL
            SELECT row, 'hour', 'bad_hour',
                   'hour must be 0-23, got ' || ('''' || coalesce(hour_text, '') || '''')
            FROM hourly_numbered WHERE hour IS NULL OR hour NOT BETWEEN 0 AND 23
            UNION ALL
            SELECT row, 'kwh',
                   CASE WHEN kwh_text IS NULL OR trim(kwh_text) = '' OR isnan(kwh)
                             THEN 'missing_kwh'
                        WHEN kwh IS NULL OR NOT isfinite(kwh) THEN 'bad_kwh'
                        ELSE 'negative_kwh' END,
                   CASE WHEN kwh_text IS NULL OR trim(kwh_text) = '' OR isnan(kwh)
                             THEN 'kwh is missing'
                        WHEN kwh IS NULL OR NOT isfinite(kwh) THEN 'kwh is not a finite number'
                        ELSE 'kwh is negative' END
            FROM hourly_numbered
            WHERE kwh_text IS NULL OR trim(kwh_text) = '' OR kwh IS NULL OR isnan(kwh)
                  OR NOT isfinite(kwh) OR kwh < 0
            UNION ALL
            SELECT row, 'hour', 'duplicate', 'customer ' || customer_id || ' '
                   || CAST(date AS VARCHAR) || ' hour ' || CAST(hour AS VARCHAR) || ' twice'
            FROM (SELECT row, customer_id, date, hour,
                         min(row) OVER (PARTITION BY customer_id, date, hour) AS first_row
                  FROM hourly_numbered
                  WHERE date BETWEEN $lo AND $hi AND hour BETWEEN 0 AND 23)
            WHERE row <> first_row
        """,
        {"lo": params["lo"], "hi": params["hi"]},
    )
    found = con.execute(
        f"SELECT * FROM hourly_refused ORDER BY 1, 2, 3 LIMIT {max(int(limit), 0)}"
    ).fetchall()
    counted = con.execute("SELECT count(*) FROM hourly_refused").fetchall()[0]
    errors = [
        RowError(int(row), str(name), RowProblem(str(problem)), str(message), source="hourly")
        for row, name, problem, message in found
    ]
    return errors, int(counted[0]) if counted else 0
