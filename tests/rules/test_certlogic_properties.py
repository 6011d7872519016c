"""Property-based tests for the traps the official suite does not reach.

Date arithmetic is checked against an independent oracle built on :mod:`datetime`;
truthiness, equality, comparison and data access against the JavaScript semantics; and the
interpreter, the compiled form and the explain mode against each other on random
well-formed expressions.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhikong.rules.certlogic import (
    CertLogicError,
    compile_expression,
    evaluate,
    explain,
    plus_time,
)

MODES = ["interpreter", "compiled", "explain"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


@st.composite
def calendar_dates(draw: st.DrawFn, first_year: int = 1900, last_year: int = 2100) -> date:
    year = draw(st.integers(first_year, last_year))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, calendar.monthrange(year, month)[1]))
    return date(year, month, day)


def shifted_by_months(start: date, months: int) -> date:
    """JavaScript setUTCMonth: keep the day of the month and let it overflow."""
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month0 + 1, 1) + timedelta(days=start.day - 1)


def shifted_by_years(start: date, years: int) -> date:
    """JavaScript setUTCFullYear: keep month and day, Feb 29 overflows to Mar 1."""
    return date(start.year + years, start.month, 1) + timedelta(days=start.day - 1)


# --- plusTime: month and year overflow --------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        ("2020-01-31", 1, "month", "2020-03-02T00:00:00.000Z"),
        ("2021-01-31", 1, "month", "2021-03-03T00:00:00.000Z"),
        ("2020-03-31", -1, "month", "2020-03-02T00:00:00.000Z"),
        ("2020-02-29", 1, "month", "2020-03-29T00:00:00.000Z"),
        ("2020-02-29", 1, "year", "2021-03-01T00:00:00.000Z"),
        ("2020-02-29", -1, "year", "2019-03-01T00:00:00.000Z"),
        ("2020-02-29", 4, "year", "2024-02-29T00:00:00.000Z"),
        ("2020-02-29", 1, "day", "2020-03-01T00:00:00.000Z"),
        ("2021-12-31T23:30:00+08:00", 1, "month", "2022-01-31T15:30:00.000Z"),
        ("2021-12-15", 1, "month", "2022-01-15T00:00:00.000Z"),
        ("2021-01-15", -13, "month", "2019-12-15T00:00:00.000Z"),
        ("2004", 18, "year", "2022-12-31T00:00:00.000Z"),
        ("2004-02", 0, "hour", "2004-02-29T00:00:00.000Z"),
        ("2003-02", 0, "hour", "2003-02-28T00:00:00.000Z"),
        ("2004-12", 1, "day", "2005-01-01T00:00:00.000Z"),
    ],
)
def test_plus_time_examples(start: str, amount: int, unit: str, expected: str) -> None:
    assert plus_time(start, amount, unit).iso() == expected


@SETTINGS
@given(start=calendar_dates(), months=st.integers(-240, 240))
def test_plus_months_overflows_like_javascript(start: date, months: int) -> None:
    result = plus_time(start.isoformat(), months, "month")
    assert result.iso() == shifted_by_months(start, months).isoformat() + "T00:00:00.000Z"


@SETTINGS
@given(start=calendar_dates(), years=st.integers(-100, 100))
def test_plus_years_overflows_like_javascript(start: date, years: int) -> None:
    result = plus_time(start.isoformat(), years, "year")
    assert result.iso() == shifted_by_years(start, years).isoformat() + "T00:00:00.000Z"


@SETTINGS
@given(
    start=calendar_dates(),
    amount=st.integers(-5000, 5000),
    unit=st.sampled_from(["day", "hour"]),
)
def test_plus_days_and_hours_are_exact_durations(start: date, amount: int, unit: str) -> None:
    moment = datetime(start.year, start.month, start.day, tzinfo=UTC)
    expected = moment + (timedelta(days=amount) if unit == "day" else timedelta(hours=amount))
    assert plus_time(start.isoformat(), amount, unit).epoch_ms == epoch_ms(expected)


def test_partial_dates_and_negative_amounts_of_every_unit() -> None:
    assert plus_time("2021-03-01T00:30:00Z", -1, "hour").iso() == "2021-02-28T23:30:00.000Z"
    assert plus_time("2021-03-01", -1, "day").iso() == "2021-02-28T00:00:00.000Z"
    assert plus_time("2021", -1, "month").iso() == "2021-12-01T00:00:00.000Z"
    assert plus_time("2021-01", -1, "year").iso() == "2020-01-31T00:00:00.000Z"


# --- time-zone offsets --------------------------------------------------------------------


def _offset_text(sign: str, hours: int, minutes: int, style: str) -> str:
    if style == "hh:mm":
        return f"{sign}{hours:02d}:{minutes:02d}"
    if style == "hhmm":
        return f"{sign}{hours:02d}{minutes:02d}"
    if style == "h:mm":
        return f"{sign}{hours}:{minutes:02d}"
    if style == "hmm":
        return f"{sign}{hours}{minutes:02d}"
    return f"{sign}{hours:02d}" if style == "hh" else f"{sign}{hours}"


@SETTINGS
@given(
    day=calendar_dates(1950, 2050),
    clock=st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)),
    millis=st.integers(0, 999),
    sign=st.sampled_from(["+", "-"]),
    hours=st.integers(0, 14),
    minutes=st.sampled_from([0, 15, 30, 45]),
    style=st.sampled_from(["hh:mm", "hhmm", "h:mm", "hmm", "hh", "h"]),
)
def test_offsets_other_than_z(
    day: date,
    clock: tuple[int, int, int],
    millis: int,
    sign: str,
    hours: int,
    minutes: int,
    style: str,
) -> None:
    if style in ("hh", "h"):
        minutes = 0
    if style in ("h", "h:mm", "hmm") and hours >= 10:
        return  # a one-digit hour cannot be written for 10-14
    hour, minute, second = clock
    text = f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}" + _offset_text(
        sign, hours, minutes, style
    )
    offset = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
    moment = datetime(
        day.year, day.month, day.day, hour, minute, second, millis * 1000, timezone(offset)
    )
    assert plus_time(text, 0, "day").epoch_ms == epoch_ms(moment)


@st.composite
def date_like_strings(draw: st.DrawFn) -> str:
    """Strings near the allowed formats: right shapes, wrong values, and one-char mutations."""

    def digits(n: int) -> str:
        return "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)))

    text = f"{digits(4)}-{draw(st.integers(0, 19)):02d}-{draw(st.integers(0, 39)):02d}"
    if draw(st.booleans()):
        hour, minute, second = (draw(st.integers(0, bound)) for bound in (29, 69, 69))
        text += f"T{hour:02d}:{minute:02d}:{second:02d}"
        if draw(st.booleans()):
            text += "." + digits(draw(st.integers(1, 9)))
        text += draw(
            st.one_of(
                st.sampled_from(["", "Z", "z"]),
                st.tuples(
                    st.sampled_from("+-"),
                    st.sampled_from(["0", "00", "8", "08", "14", "23", "24", "99"]),
                    st.sampled_from(["", ":"]),
                    st.sampled_from(["", "00", "30", "59", "60"]),
                ).map("".join),
            )
        )
    if draw(st.booleans()):
        position = draw(st.integers(0, len(text) - 1))
        text = text[:position] + draw(st.sampled_from("0795T:Z+-. a٣")) + text[position + 1 :]
    return text


@settings(max_examples=2000, deadline=None)
@given(text=date_like_strings())
def test_fast_date_parsing_agrees_with_the_exact_reading(text: str) -> None:
    from zhikong.rules.certlogic import dates

    def read(parse: Any) -> Any:
        try:
            return parse(text)
        except CertLogicError as error:
            return error.message

    assert read(dates._date_time_ms.__wrapped__) == read(dates._parse_date_time)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-06-01T08:00:00+08:00", "2021-06-01T00:00:00.000Z"),
        ("2021-06-01T08:00:00+0800", "2021-06-01T00:00:00.000Z"),
        ("2021-06-01T08:00:00+8", "2021-06-01T00:00:00.000Z"),
        ("2021-06-01T00:00:00-05:30", "2021-06-01T05:30:00.000Z"),
        ("2021-06-01T00:00:00-0530", "2021-06-01T05:30:00.000Z"),
        ("2021-06-01T00:00:00-530", "2021-06-01T05:30:00.000Z"),
        ("2021-01-01T00:30:00+01:00", "2020-12-31T23:30:00.000Z"),
        ("2021-06-01T00:00:00", "2021-06-01T00:00:00.000Z"),
        ("2021-06-01T00:00:00.98765Z", "2021-06-01T00:00:00.987Z"),
    ],
)
def test_offset_examples(text: str, expected: str) -> None:
    assert plus_time(text, 0, "hour").iso() == expected


def test_offsets_decide_date_time_comparisons() -> None:
    # 08:00 in Beijing is midnight UTC, so it is *before* 01:00 UTC on the same date.
    expression = {
        "before": [
            {"plusTime": [{"var": "beijing"}, 0, "hour"]},
            {"plusTime": [{"var": "utc"}, 0, "hour"]},
        ]
    }
    data = {"beijing": "2021-06-01T08:00:00+08:00", "utc": "2021-06-01T01:00:00Z"}
    for mode in MODES:
        assert _run(mode, expression, data) is True


@pytest.mark.parametrize(
    "text",
    ["2021-6-01", "2021-06-01 00:00:00", "2021-06-01T00:00Z", "21-06-01", "2021-06-01Z", ""],
)
def test_malformed_date_strings_throw(text: str) -> None:
    with pytest.raises(CertLogicError, match="not an allowed date or date-time format"):
        plus_time(text, 0, "day")


def test_non_ascii_digits_are_not_digits() -> None:
    with pytest.raises(CertLogicError):
        plus_time("２０２１-06-01", 0, "day")
    with pytest.raises(CertLogicError):
        plus_time("2021-06-01\n", 0, "day")


@pytest.mark.parametrize(
    "text",
    ["2021-13-01", "2021-00-10", "2021-06-32", "2021-06-01T25:00:00Z", "2021-06-01T23:60:00Z"],
)
def test_out_of_range_fields_give_an_invalid_date_that_compares_false(text: str) -> None:
    assert not plus_time(text, 0, "day").is_valid
    for operator in ("before", "after", "not-before", "not-after"):
        expression = {
            operator: [
                {"plusTime": [{"var": ""}, 0, "day"]},
                {"plusTime": ["2021-06-01", 0, "day"]},
            ]
        }
        for mode in MODES:
            assert _run(mode, expression, text) is False


# --- truthiness ---------------------------------------------------------------------------

FALSY: list[Any] = [False, None, 0, 0.0, "", [], {}]
TRUTHY_SCALARS = st.one_of(
    st.just(True),
    st.integers().filter(lambda n: n != 0),
    st.text(min_size=1),
    st.floats(allow_nan=False).filter(lambda x: x != 0),
)
TRUTHY = st.one_of(
    TRUTHY_SCALARS,
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=3),
)


def _run(mode: str, expression: Any, data: Any) -> Any:
    if mode == "interpreter":
        return evaluate(expression, data)
    if mode == "compiled":
        return compile_expression(expression)(data)
    return explain(expression, data).result


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", FALSY, ids=repr)
def test_falsy_values(value: Any, mode: str) -> None:
    assert _run(mode, {"!": [{"var": "x"}]}, {"x": value}) is True
    assert _run(mode, {"if": [{"var": "x"}, "T", "F"]}, {"x": value}) == "F"
    assert _run(mode, {"and": [{"var": "x"}, True]}, {"x": value}) is value


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(value=TRUTHY)
def test_truthy_values(value: Any, mode: str) -> None:
    assert _run(mode, {"!": [{"var": "x"}]}, {"x": value}) is False
    assert _run(mode, {"if": [{"var": "x"}, "T", "F"]}, {"x": value}) == "T"
    assert _run(mode, {"and": [{"var": "x"}, "last"]}, {"x": value}) == "last"


@pytest.mark.parametrize("mode", MODES)
def test_date_times_are_neither_truthy_nor_falsy(mode: str) -> None:
    date_time = {"plusTime": ["2021-06-01", 0, "day"]}
    for expression in (
        {"!": [date_time]},
        {"if": [date_time, 1, 2]},
        {"and": [date_time, True]},
    ):
        with pytest.raises(CertLogicError, match=r"neither truthy, nor falsy|truthy or falsy"):
            _run(mode, expression, None)
    # `and` returns its last operand without judging it, as certlogic-js does
    assert _run(mode, {"and": [True, date_time]}, None).iso() == "2021-06-01T00:00:00.000Z"


# --- strict equality and membership -----------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (True, 1, False),
        (False, 0, False),
        (1, 1.0, True),
        (0, -0.0, True),
        ("1", 1, False),
        (None, None, True),
        (None, False, False),
        ("", 0, False),
        ([1], [1], False),  # two arrays are two objects
        ({"a": 1}, {"a": 1}, False),
    ],
    ids=repr,
)
def test_strict_equality(left: Any, right: Any, expected: bool, mode: str) -> None:
    expression = {"===": [{"var": "l"}, {"var": "r"}]}
    assert _run(mode, expression, {"l": left, "r": right}) is expected


@pytest.mark.parametrize("mode", MODES)
def test_equality_of_literals_and_identity(mode: str) -> None:
    assert _run(mode, {"===": [True, {"var": "x"}]}, {"x": 1}) is False
    assert _run(mode, {"===": [{"var": "x"}, 1]}, {"x": True}) is False
    assert _run(mode, {"===": [{"var": "x"}, 1]}, {"x": 1.0}) is True
    assert _run(mode, {"===": [{"var": "x"}, "a"]}, {"x": "a"}) is True
    assert _run(mode, {"===": [[1], [1]]}, None) is False
    shared = [1, 2]
    assert _run(mode, {"===": [{"var": "x"}, {"var": "x"}]}, {"x": shared}) is True
    date_time = {"plusTime": ["2021-06-01", 0, "day"]}
    assert _run(mode, {"===": [date_time, date_time]}, None) is False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("needle", "haystack", "expected"),
    [
        (True, [1, 2], False),
        (1, [True], False),
        (1.0, [1, 2], True),
        (0, [False, ""], False),
        ("1", [1], False),
        (None, [None], True),
        (None, [], False),
        ([1], [[1]], False),
    ],
    ids=repr,
)
def test_membership_is_strict(needle: Any, haystack: Any, expected: bool, mode: str) -> None:
    data = {"x": needle, "y": haystack}
    assert _run(mode, {"in": [{"var": "x"}, {"var": "y"}]}, data) is expected
    literal = {"in": [{"var": "x"}, haystack]}
    if all(isinstance(item, (str, int, bool)) for item in haystack):
        assert _run(mode, literal, data) is expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("haystack", [None, "abc", {"a": 1}, 3])
def test_membership_in_a_non_array_throws(haystack: Any, mode: str) -> None:
    with pytest.raises(CertLogicError, match="must be an array"):
        _run(mode, {"in": ["a", {"var": "y"}]}, {"y": haystack})


# --- comparisons of mixed types ----------------------------------------------------------

NON_INTEGERS = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=3),
    st.floats(allow_nan=False).filter(lambda x: not x.is_integer()),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(
    other=NON_INTEGERS,
    number=st.integers(-10, 10),
    operator=st.sampled_from(["<", ">", "<=", ">="]),
    swap=st.booleans(),
    ternary=st.booleans(),
)
def test_integer_comparisons_reject_other_types(
    other: Any, number: int, operator: str, swap: bool, ternary: bool, mode: str
) -> None:
    operands = [{"var": "n"}, {"var": "o"}] if not swap else [{"var": "o"}, {"var": "n"}]
    if ternary:
        operands.append({"var": "n"})
    with pytest.raises(CertLogicError, match="must be of integer type"):
        _run(mode, {operator: operands}, {"n": number, "o": other})


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(
    other=st.one_of(NON_INTEGERS, st.integers(), st.just("2021-06-01")),
    operator=st.sampled_from(["before", "after", "not-before", "not-after"]),
    swap=st.booleans(),
)
def test_date_comparisons_reject_non_date_times(
    other: Any, operator: str, swap: bool, mode: str
) -> None:
    date_time = {"plusTime": ["2021-06-01", 0, "day"]}
    operands = [date_time, {"var": "o"}] if not swap else [{"var": "o"}, date_time]
    with pytest.raises(CertLogicError, match="must be date-times"):
        _run(mode, {operator: operands}, {"o": other})


@pytest.mark.parametrize("mode", MODES)
def test_integer_comparisons_on_dates_and_floats(mode: str) -> None:
    date_time = {"plusTime": ["2021-06-01", 0, "day"]}
    with pytest.raises(CertLogicError, match="must be of integer type"):
        _run(mode, {"<": [date_time, date_time]}, None)
    assert _run(mode, {"<": [{"var": "a"}, {"var": "b"}]}, {"a": 1.0, "b": 2}) is True
    with pytest.raises(CertLogicError, match="must both be integers"):
        _run(mode, {"+": [{"var": "a"}, True]}, {"a": 1})
    assert _run(mode, {"+": [{"var": "a"}, 2]}, {"a": 1.0}) == 3


# --- data access ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(items=st.lists(st.integers(), max_size=5), index=st.integers(-10, 10))
def test_var_array_indices(items: list[int], index: int, mode: str) -> None:
    expected = items[index] if 0 <= index < len(items) else None
    assert _run(mode, {"var": f"xs.{index}"}, {"xs": items}) == expected
    assert _run(mode, {"var": str(index)}, items) == expected


@pytest.mark.parametrize("mode", MODES)
def test_var_paths_follow_javascript_parse_int(mode: str) -> None:
    data = {"xs": [10, 20, 30], "o": {"1": "one", "01": "zero-one", "x": {"y": None}}}
    assert _run(mode, {"var": "xs.-0"}, data) == 10  # parseInt("-0") is -0, i.e. index 0
    assert _run(mode, {"var": "xs.1abc"}, data) == 20  # parseInt stops at the first non-digit
    assert _run(mode, {"var": "xs.length"}, data) is None
    assert _run(mode, {"var": "o.01"}, data) == "one"  # an object is read at String(1)
    assert _run(mode, {"var": "o.x.y.z"}, data) is None
    assert _run(mode, {"var": "missing.deeper.0"}, data) is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scalar", ["abc", 42, True, 3.5])
def test_var_does_not_drill_into_scalars(scalar: Any, mode: str) -> None:
    assert _run(mode, {"var": "x.0"}, {"x": scalar}) is None
    assert _run(mode, {"var": "x.length"}, {"x": scalar}) is None


@pytest.mark.parametrize("mode", MODES)
@SETTINGS
@given(uvci=st.text(alphabet="AB01:/#", max_size=12), index=st.integers(-5, 8))
def test_extract_from_uvci(uvci: str, index: int, mode: str) -> None:
    import re

    body = uvci[len("URN:UVCI:") :] if uvci.startswith("URN:UVCI:") else uvci
    fragments = re.split("[/#:]", body)
    expected = fragments[index] if 0 <= index < len(fragments) else None
    assert _run(mode, {"extractFromUVCI": [{"var": "u"}, index]}, {"u": uvci}) == expected


# --- interpreter == compiled == explain on random well-formed expressions ------------------

PATHS = ["a", "b", "s", "flag", "arr", "arr.0", "arr.5", "obj.x", "n", "d", "dob", "uvci", ""]
DATA = st.fixed_dictionaries(
    {
        "a": st.integers(-3, 3),
        "b": st.one_of(st.integers(-3, 3), st.none(), st.text(max_size=2)),
        "s": st.sampled_from(["", "fever", "cough", "none"]),
        "flag": st.one_of(st.booleans(), st.none()),
        "arr": st.lists(st.integers(-2, 2), max_size=3),
        "obj": st.fixed_dictionaries({"x": st.integers(-2, 2)}),
        "n": st.none(),
        "d": st.sampled_from(["2021-06-01", "2021-02-28T12:00:00+08:00", "2020-02-29", "nope"]),
        "dob": st.sampled_from(["2004", "2004-02", "2004-02-29", ""]),
        "uvci": st.sampled_from(["URN:UVCI:01:NL:187/37512422923", "a::c/#/f", ""]),
    }
)
LITERALS = st.one_of(st.integers(-3, 3), st.sampled_from(["", "fever", "a"]), st.booleans())
LEAVES = st.one_of(LITERALS, st.sampled_from(PATHS).map(lambda path: {"var": path}))
DATE_SOURCES = st.one_of(
    st.sampled_from(["2021-06-01", "2021-06-01T10:00:00Z", "2021-13-01"]),
    st.sampled_from(["d", "s", "a", "dob"]).map(lambda path: {"var": path}),
)
PLUS_TIMES = st.tuples(
    DATE_SOURCES, st.integers(-40, 40), st.sampled_from(["year", "month", "day", "hour"])
).map(lambda t: {"plusTime": list(t)})
DATE_VALUES = st.one_of(
    PLUS_TIMES,
    st.sampled_from(["dob", "d"]).map(lambda path: {"dccDateOfBirth": [{"var": path}]}),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    lambdas = st.one_of(
        st.just({"+": [{"var": "accumulator"}, {"var": "current"}]}),
        st.just({"if": [{"var": "current"}, {"var": "current"}, {"var": "accumulator"}]}),
        children,
    )
    return st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children, children).map(lambda t: {"if": list(t)}),
        st.lists(children, min_size=2, max_size=4).map(lambda ops: {"and": ops}),
        st.tuples(
            st.sampled_from(["<", ">", "<=", ">="]), st.lists(children, min_size=2, max_size=3)
        ).map(lambda t: {t[0]: t[1]}),
        st.tuples(
            st.sampled_from(["before", "after", "not-before", "not-after"]),
            st.lists(DATE_VALUES, min_size=2, max_size=3),
        ).map(lambda t: {t[0]: t[1]}),
        st.tuples(children, children).map(lambda t: {"===": list(t)}),
        st.tuples(children, st.one_of(st.lists(LITERALS, max_size=4), children)).map(
            lambda t: {"in": list(t)}
        ),
        st.tuples(children, children).map(lambda t: {"+": list(t)}),
        children.map(lambda c: {"!": [c]}),
        st.tuples(children, lambdas, children).map(lambda t: {"reduce": list(t)}),
        st.tuples(children, st.integers(-1, 6)).map(lambda t: {"extractFromUVCI": list(t)}),
        DATE_VALUES,
    )


EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=12)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=EXPRESSIONS, data=DATA)
def test_interpreter_compiled_and_explain_agree(expression: Any, data: Any, support: Any) -> None:
    compiled = compile_expression(expression)
    interpreted = support.outcome(evaluate, expression, data)
    assert support.same_outcome(interpreted, support.outcome(lambda e, d: compiled(d), None, data))
    explained = support.outcome(lambda e, d: explain(e, d), expression, data)
    if explained[0] == "value":
        explanation = explained[1]
        explained = ("value", explanation.result)
        for lang in ("zh", "en"):
            assert explanation.render(lang)
    assert support.same_outcome(interpreted, explained)
