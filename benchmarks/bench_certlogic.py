"""Throughput of the CertLogic engine: our interpreter, our compiled form, and panzi-json-logic.

Run from the repository root::

    .venv/bin/python benchmarks/bench_certlogic.py [--records 1000] [--repeats 7] [--no-append]

Every engine evaluates the same expressions on the same records, in one run: EU DCC template
rules (as in the official CertLogic test suite and the EU DCC Gateway) and a health-code
colour rule. The peer is the PyPI package ``panzi-json-logic`` in its CertLogic mode
(``json_logic.certLogic(logic, data)``). Records are generated with a fixed seed and carry
distinct date-times; our date-parsing caches are cleared before every timed repeat, so that
cache hits come only from values repeated within one pass. The table shows evaluations per
second (best of the repeats; the median is in the appended section) and is appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from json_logic import certLogic

from zhikong.rules.certlogic import DateTime, compile_expression, evaluate
from zhikong.rules.certlogic import dates as certlogic_dates

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def plus_time(path: str, amount: int, unit: str) -> dict[str, Any]:
    return {"plusTime": [{"var": path}, amount, unit]}


VR_EU_0003 = {
    "if": [
        {"var": "payload.v.0"},
        {
            "not-after": [
                plus_time("payload.v.0.dt", 14, "day"),
                plus_time("external.validationClock", 0, "day"),
                plus_time("payload.v.0.dt", 365, "day"),
            ]
        },
        True,
    ]
}
VR_EU_0001 = {
    "if": [
        {"var": "payload.v.0"},
        {
            "in": [
                {"var": "payload.v.0.mp"},
                ["EU/1/20/1528", "EU/1/20/1507", "EU/1/21/1529", "EU/1/20/1525"],
            ]
        },
        True,
    ]
}
GR_EU_0000 = {
    "===": [
        {
            "reduce": [
                [{"var": "payload.r"}, {"var": "payload.t"}, {"var": "payload.v"}],
                {"+": [{"var": "accumulator"}, {"if": [{"var": "current.0"}, 1, 0]}]},
                0,
            ]
        },
        1,
    ]
}
TR_EU_0005 = {
    "if": [
        {"===": [{"var": "payload.t.0.tt"}, "LP217198-3"]},
        {
            "before": [
                plus_time("external.validationClock", 0, "day"),
                plus_time("payload.t.0.sc", 48, "hour"),
            ]
        },
        True,
    ]
}
VR_DOSES = {
    "if": [
        {"var": "payload.v.0"},
        {
            "and": [
                {">=": [{"var": "payload.v.0.dn"}, {"var": "payload.v.0.sd"}]},
                {"in": [{"extractFromUVCI": [{"var": "payload.v.0.ci"}, 1]}, ["NL", "BE", "DE"]]},
            ]
        },
        True,
    ]
}
HEALTH_CODE_COLOUR = {
    "if": [
        {
            "and": [
                {"in": [{"var": "origin_risk"}, ["high", "medium"]]},
                {"<": [{"var": "days_since_arrival"}, 14]},
            ]
        },
        "red",
        {
            "if": [
                {"var": "close_contact"},
                "red",
                {
                    "if": [
                        {"in": [{"var": "symptoms"}, ["fever", "cough", "short-breath"]]},
                        "yellow",
                        {"if": [{">=": [{"var": "temperature"}, 373]}, "yellow", "green"]},
                    ]
                },
            ]
        },
    ]
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def dcc_records(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """DCC payloads (vaccination or test) with their external parameters."""
    start = datetime(2021, 3, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        vaccinated = start + timedelta(seconds=rng.randrange(300 * 86_400))
        clock = vaccinated + timedelta(seconds=rng.randrange(400 * 86_400))
        country = rng.choice(["NL", "BE", "DE", "FR"])
        payload: dict[str, Any] = {"ver": "1.3.0", "dob": "1980-01-01"}
        if i % 3:
            payload["v"] = [
                {
                    "tg": "840539006",
                    "mp": rng.choice(["EU/1/20/1528", "EU/1/20/1507", "Sputnik-V"]),
                    "dn": rng.choice([1, 2, 3]),
                    "sd": 2,
                    "dt": vaccinated.date().isoformat(),
                    "ci": f"URN:UVCI:01:{country}:{rng.randrange(10**9)}#{i}",
                }
            ]
        else:
            payload["t"] = [
                {
                    "tg": "840539006",
                    "tt": rng.choice(["LP217198-3", "LP6464-4"]),
                    "sc": _iso(vaccinated),
                }
            ]
        records.append({"payload": payload, "external": {"validationClock": _iso(clock)}})
    return records


def resident_records(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Self-declarations of residents for the health-code colour rule."""
    return [
        {
            "origin_risk": rng.choice(["high", "medium", "low", "low", "low"]),
            "days_since_arrival": rng.randrange(60),
            "close_contact": rng.random() < 0.05,
            "symptoms": rng.choice(["none", "none", "none", "fever", "cough", "headache"]),
            "temperature": rng.randrange(355, 392),
        }
        for _ in range(n)
    ]


@dataclass(frozen=True)
class Case:
    name: str
    expression: Any
    records: list[dict[str, Any]]


def comparable(value: Any) -> Any:
    if isinstance(value, DateTime):
        return value.epoch_ms
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    return value


def timed(function: Callable[[Any], Any], records: list[Any], repeats: int) -> list[float]:
    """Seconds per pass over the records, one entry per repeat."""
    times = []
    for _ in range(repeats):
        certlogic_dates.clear_caches()
        begin = time.perf_counter()
        for record in records:
            function(record)
        times.append(time.perf_counter() - begin)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="records per expression")
    parser.add_argument("--repeats", type=int, default=7, help="timed passes per engine")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()

    rng = random.Random(20200220)
    dcc = dcc_records(rng, args.records)
    residents = resident_records(rng, args.records)
    cases = [
        Case("VR-EU-0003 vaccination window (plusTime, not-after ×3)", VR_EU_0003, dcc),
        Case("VR-EU-0001 approved vaccine (in)", VR_EU_0001, dcc),
        Case("GR-EU-0000 exactly one event (reduce, +)", GR_EU_0000, dcc),
        Case("TR-EU-0005 rapid test 48 h (===, before, plusTime)", TR_EU_0005, dcc),
        Case("doses and issuer (>=, extractFromUVCI, in)", VR_DOSES, dcc),
        Case("health-code colour (nested if, and, in, <, >=)", HEALTH_CODE_COLOUR, residents),
    ]

    rows = []
    for case in cases:
        compiled = compile_expression(case.expression)
        expression = case.expression
        engines: dict[str, Callable[[Any], Any]] = {
            "interpreter": partial(evaluate, expression),
            "compiled": compiled,
            "panzi-json-logic": partial(certLogic, expression),
        }
        disagreements = sum(
            comparable(compiled(r)) != comparable(certLogic(expression, r))
            or comparable(compiled(r)) != comparable(evaluate(expression, r))
            for r in case.records
        )
        stats = {}
        for name, function in engines.items():
            times = timed(function, case.records, args.repeats)
            n = len(case.records)
            stats[name] = (n / min(times), n / statistics.median(times))
        rows.append((case.name, stats, disagreements))

    header = (
        "| expression | interpreter (eval/s) | compiled (eval/s) | panzi-json-logic (eval/s) "
        "| compiled / peer | interpreter / peer | compiled / interpreter | results differ |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    ratios = []
    for name, stats, disagreements in rows:
        interp, comp, peer = (stats[k][0] for k in ("interpreter", "compiled", "panzi-json-logic"))
        ratios.append(comp / peer)
        lines.append(
            f"| {name} | {interp:,.0f} | {comp:,.0f} | {peer:,.0f} | {comp / peer:.1f}× "
            f"| {interp / peer:.1f}× | {comp / interp:.1f}× | {disagreements} |"
        )
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    medians = "; ".join(
        f"{name.split(' ')[0]}: " + ", ".join(f"{k} {v[1]:,.0f}" for k, v in stats.items())
        for name, stats, _ in rows
    )
    summary = (
        f"Geometric mean of compiled / peer: **{geomean:.1f}×** "
        f"(range {min(ratios):.1f}×–{max(ratios):.1f}×)."
    )
    print("\n".join(lines))
    print()
    print(summary)

    if args.no_append:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/bench_certlogic.py " + " ".join(sys.argv[1:])
    section = [
        "",
        f"## CertLogic engine throughput — {stamp}",
        "",
        f"Command: `{command.strip()}` · machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.machine()} · "
        f"{args.records} records per expression, best of {args.repeats} passes, "
        "date caches cleared before each pass",
        "",
        *lines,
        "",
        summary,
        "A *results differ* count above 0 means panzi-json-logic disagrees with our engine on "
        "that many records (our results are checked against the official test suite).",
        "",
        f"Medians (eval/s): {medians}.",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as results:
        if RESULTS.stat().st_size == 0:
            results.write("# Benchmark results\n")
        results.write("\n".join(section))
    print(f"\nappended to {RESULTS}")


if __name__ == "__main__":
    main()
