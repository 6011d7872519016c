"""The pure hash chain: canonical encoding, and detection of every kind of tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zhikong.audit import chain
from zhikong.audit.chain import GENESIS_HASH, ChainEntry, EncodingError, EntryFields

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

references = st.builds(
    "{}:{}".format,
    st.text("abcdefgh", min_size=1, max_size=8),
    st.text("0123456789abcdef", min_size=1, max_size=12),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
optional_text = st.none() | st.text(min_size=1, max_size=10)
hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "seq": st.integers(min_value=-5, max_value=50),
    "at": instants,
    "actor": references,
    "action": st.builds(
        "{}.{}".format, st.text("abcdef", min_size=1, max_size=6), st.text("xyz", min_size=1)
    ),
    "subject": references,
    "before": json_values,
    "after": json_values,
    "rule_id": optional_text,
    "rule_version": optional_text,
    "inputs": st.lists(references, max_size=3).map(tuple),
    "request_id": optional_text,
    "prev_hash": hashes,
    "hash": hashes,
}


@st.composite
def entry_fields(draw: st.DrawFn, seq: int = 1) -> EntryFields:
    """One entry's fields."""
    return EntryFields(
        seq=seq,
        at=draw(FIELD_VALUES["at"]),
        actor=draw(FIELD_VALUES["actor"]),
        action=draw(FIELD_VALUES["action"]),
        subject=draw(FIELD_VALUES["subject"]),
        before=draw(FIELD_VALUES["before"]),
        after=draw(FIELD_VALUES["after"]),
        rule_id=draw(FIELD_VALUES["rule_id"]),
        rule_version=draw(FIELD_VALUES["rule_version"]),
        inputs=draw(FIELD_VALUES["inputs"]),
        request_id=draw(FIELD_VALUES["request_id"]),
    )


@st.composite
def chains(draw: st.DrawFn, min_size: int = 1, max_size: int = 8) -> list[ChainEntry]:
    """A valid chain starting at the genesis."""
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    fields = [draw(entry_fields(seq=number)) for number in range(1, size + 1)]
    return list(chain.build_chain(fields))


def head_of(entries: list[ChainEntry]) -> tuple[int, str]:
    """The (seq, hash) of a chain's last entry."""
    return entries[-1].seq, entries[-1].hash


# -- valid chains ----------------------------------------------------------------------------


@SETTINGS
@given(chains(max_size=10))
def test_a_built_chain_verifies(entries: list[ChainEntry]) -> None:
    result = chain.verify_entries(entries, head=head_of(entries))
    assert result.ok and result.first_broken_seq is None and result.reason is None
    assert result.checked == len(entries)
    assert (result.last_seq, result.last_hash) == head_of(entries)


def test_an_empty_chain_verifies_against_the_empty_head() -> None:
    result = chain.verify_entries([], head=(0, GENESIS_HASH))
    assert result.ok and result.checked == 0 and result.last_hash == GENESIS_HASH


@SETTINGS
@given(chains(min_size=2, max_size=8), st.data())
def test_a_chain_can_be_verified_from_a_checkpoint(
    entries: list[ChainEntry], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=1, max_value=len(entries) - 1))
    tail = entries[cut:]
    result = chain.verify_entries(tail, prev_hash=entries[cut - 1].hash, first_seq=cut + 1)
    assert result.ok and result.checked == len(tail)


def test_golden_vector() -> None:
    """The example of docs/audit.md: any re-implementation must reproduce these bytes."""
    fields = EntryFields(
        seq=1,
        at=datetime(2020, 2, 20, 2, 0, tzinfo=UTC),
        actor="user:42",
        action="region.risk.set",
        subject="region:330102",
        before={"colour": "green"},
        after={"colour": "yellow", "说明": "中风险"},
        rule_id="risk-colour",
        rule_version="2020.2",
        inputs=("declaration:17", "checkin:88"),
        request_id=None,
    )
    expected = (
        '{"action":"region.risk.set","actor":"user:42","after":{"colour":"yellow",'
        '"说明":"中风险"},"at":"2020-02-20T02:00:00.000000Z","before":{"colour":"green"},'
        '"inputs":["declaration:17","checkin:88"],"prev_hash":"'
        + "0"
        * 64
        + '","request_id":null,"rule_id":"risk-colour","rule_version":"2020.2","seq":1,'
        '"subject":"region:330102"}'
    ).encode()
    assert chain.canonical_bytes(GENESIS_HASH, fields) == expected
    assert chain.entry_hash(GENESIS_HASH, fields) == hashlib.sha256(expected).hexdigest()
    assert (
        chain.entry_hash(GENESIS_HASH, fields)
        == "984fc6dcacd7958c1de970a9fdd70fad42cd6e3b324904fdfb239dd2b67704f3"
    )


# -- tampering -------------------------------------------------------------------------------


def _encoding(entry: ChainEntry) -> tuple[bytes, int, str, str]:
    """What a mutation has to change to be a mutation at all."""
    return chain.canonical_bytes(entry.prev_hash, entry), entry.seq, entry.prev_hash, entry.hash


@SETTINGS
@given(chains(), st.sampled_from(sorted(FIELD_VALUES)), st.data())
def test_any_single_field_mutation_is_detected(
    entries: list[ChainEntry], field: str, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    original = entries[index]
    changed = dataclasses.replace(original, **{field: data.draw(FIELD_VALUES[field])})
    assume(_encoding(changed) != _encoding(original))
    tampered = [*entries[:index], changed, *entries[index + 1 :]]
    result = chain.verify_entries(tampered, head=head_of(entries))
    assert not result.ok
    assert result.reason
    if field != "seq":
        assert result.first_broken_seq == original.seq


@SETTINGS
@given(chains(min_size=2), st.data())
def test_deleting_any_entry_is_detected(entries: list[ChainEntry], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    tampered = entries[:index] + entries[index + 1 :]
    result = chain.verify_entries(tampered, head=head_of(entries))
    assert not result.ok
    assert result.first_broken_seq == index + 1
    if index < len(entries) - 1:
        # Only the head (or an anchor) can tell that entries are missing at the end.
        assert not chain.verify_entries(tampered).ok


@SETTINGS
@given(chains(min_size=2), st.data())
def test_swapping_two_entries_is_detected(entries: list[ChainEntry], data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=0, max_value=len(entries) - 2))
    second = data.draw(st.integers(min_value=first + 1, max_value=len(entries) - 1))
    rows = list(entries)
    rows[first], rows[second] = rows[second], rows[first]
    result = chain.verify_entries(rows)
    assert not result.ok and result.first_broken_seq == first + 1
    # Swapping their seq numbers too (what an UPDATE of two rows does) is no better.
    renumbered = list(rows)
    renumbered[first] = dataclasses.replace(rows[first], seq=first + 1)
    renumbered[second] = dataclasses.replace(rows[second], seq=second + 1)
    result = chain.verify_entries(renumbered)
    assert not result.ok and result.first_broken_seq == first + 1


@SETTINGS
@given(chains(), st.data())
def test_inserting_a_forged_entry_is_detected(
    entries: list[ChainEntry], data: st.DataObject
) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(entries)))
    prev = GENESIS_HASH if position == 0 else entries[position - 1].hash
    forged_fields = data.draw(entry_fields(seq=position + 1))
    if data.draw(st.booleans()):
        forged = chain.link(prev, forged_fields)  # a forger who links to its predecessor
    else:
        forged = ChainEntry(**{**_as_dict(forged_fields), "prev_hash": prev, "hash": "f" * 64})
    # The forger renumbers everything after it to make room and moves the head along.
    later = [dataclasses.replace(e, seq=e.seq + 1) for e in entries[position:]]
    tampered = [*entries[:position], forged, *later]
    if position < len(entries):
        result = chain.verify_entries(tampered, head=(len(tampered), tampered[-1].hash))
    else:
        # Appended at the end, it is caught by the head it did not move. (A forger who also
        # moves the head appends undetectably: keep write access to the database closed.)
        result = chain.verify_entries(tampered, head=head_of(entries))
    assert not result.ok
    # Without renumbering, the seq numbers themselves give it away.
    if position < len(entries):
        assert not chain.verify_entries([*entries[:position], forged, *entries[position:]]).ok


@SETTINGS
@given(chains(), hashes)
def test_a_wrong_genesis_is_detected(entries: list[ChainEntry], genesis: str) -> None:
    assume(genesis != GENESIS_HASH)
    relinked = list(chain.build_chain(entries, prev_hash=genesis))
    result = chain.verify_entries(relinked)
    assert not result.ok and result.first_broken_seq == 1
    assert result.reason is not None and "genesis" in result.reason


def test_an_unencodable_entry_is_reported_not_raised() -> None:
    good = next(iter(chain.build_chain([_fields(1)])))
    bad = dataclasses.replace(good, after={"score": 0.5})
    result = chain.verify_entries([bad])
    assert not result.ok and result.first_broken_seq == 1
    assert result.reason is not None and "cannot be encoded" in result.reason


# -- canonical encoding ----------------------------------------------------------------------


def _shuffled(value: Any, seed: int) -> Any:
    """The same JSON value with every object's members inserted in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        items = items[seed % max(len(items), 1) :] + items[: seed % max(len(items), 1)]
        items.reverse()
        return {key: _shuffled(item, seed + 1) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, seed + 1) for item in value]
    return value


@SETTINGS
@given(json_values, st.integers(min_value=0, max_value=10))
def test_canonical_json_ignores_insertion_order(value: Any, seed: int) -> None:
    assert chain.canonical_json(_shuffled(value, seed)) == chain.canonical_json(value)


@SETTINGS
@given(json_values)
def test_canonical_json_is_stable_through_a_round_trip(value: Any) -> None:
    encoded = chain.canonical_json(value)
    decoded = json.loads(encoded.decode("utf-8"))
    assert decoded == chain.normalize_json(value)
    assert chain.canonical_json(decoded) == encoded
    assert b"\n" not in encoded


@SETTINGS
@given(entry_fields(), st.integers(min_value=0, max_value=10))
def test_entry_hash_ignores_insertion_order_of_summaries(fields: EntryFields, seed: int) -> None:
    shuffled = dataclasses.replace(
        fields, before=_shuffled(fields.before, seed), after=_shuffled(fields.after, seed + 3)
    )
    assert chain.entry_hash(GENESIS_HASH, shuffled) == chain.entry_hash(GENESIS_HASH, fields)


def test_canonical_json_writes_text_as_itself_and_nulls_explicitly() -> None:
    value = {"b": None, "a": "中风险 é", "c": [1, True, '\n"\\'], "\u00e9": -(2**70)}
    assert (
        chain.canonical_json(value)
        == (
            '{"a":"中风险 é","b":null,"c":[1,true,"\\n\\"\\\\"],"é":-1180591620717411303424}'
        ).encode()
    )


@pytest.mark.parametrize(
    "value",
    [1.5, {"a": float("nan")}, {1: "x"}, [object()], {"a": "\ud800"}, b"bytes", {"a": {1.0}}],
)
def test_values_without_a_canonical_encoding_are_refused(value: Any) -> None:
    with pytest.raises(EncodingError):
        chain.canonical_json(value)


def test_nesting_is_bounded() -> None:
    value: Any = "leaf"
    for _ in range(chain.MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(EncodingError, match="nested"):
        chain.canonical_json(value)


def test_times_are_utc_with_microseconds_and_z() -> None:
    beijing = timezone(timedelta(hours=8))
    instant = datetime(2020, 2, 20, 10, 0, 0, 5, tzinfo=beijing)
    assert chain.format_time(instant) == "2020-02-20T02:00:00.000005Z"
    assert chain.format_time(datetime(5, 1, 1, tzinfo=UTC)) == "0005-01-01T00:00:00.000000Z"
    assert chain.parse_time("2020-02-20T02:00:00.000005Z") == instant
    with pytest.raises(EncodingError):
        chain.format_time(datetime(2020, 2, 20))
    for text in ("2020-02-20T02:00:00Z", "2020-02-20T02:00:00.000000+00:00", "yesterday", 7):
        with pytest.raises(EncodingError):
            chain.parse_time(text)  # type: ignore[arg-type]


# -- streaming -------------------------------------------------------------------------------


def _fields(seq: int) -> EntryFields:
    return EntryFields(
        seq=seq,
        at=datetime(2020, 2, 20, tzinfo=UTC) + timedelta(seconds=seq),
        actor="system:code-tick",
        action="resident.code.recompute",
        subject=f"resident:{seq:064x}",
        before={"colour": "green", "padding": "x" * 200},
        after={"colour": "yellow", "padding": "y" * 200},
        inputs=(f"declaration:{seq}",),
    )


def test_verification_streams_in_constant_memory() -> None:
    count = 10_000

    def generate() -> Iterator[ChainEntry]:
        return iter(chain.build_chain(_fields(seq) for seq in range(1, count + 1)))

    tracemalloc.start()
    try:
        result = chain.verify_entries(generate())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok and result.checked == count
    # Holding the 10,000 entries at once would take tens of megabytes.
    assert peak < 2_000_000


def _as_dict(fields: EntryFields) -> dict[str, Any]:
    return {f.name: getattr(fields, f.name) for f in dataclasses.fields(EntryFields)}
