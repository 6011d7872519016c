"""Fuzzing the verifier: whatever comes in, a verdict comes out — never an exception or a hang.

Each example's work is bounded by construction: texts stay under the size limits or are refused
by length first, zlib streams are capped at 64 KiB while inflating, and CBOR depth is capped.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import cbor2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zhikong.credential.claims import Colour, Kind, build_claims
from zhikong.credential.codec import (
    BASE45_ALPHABET,
    MAX_TEXT_CHARS,
    base45_decode,
    base45_encode,
    encode_cose_sign1,
    encode_protected_header,
    encode_text,
)
from zhikong.credential.keys import LocalSigner, SignerKeyInfo, mint
from zhikong.credential.trust import Trust, TrustEntry, TrustList
from zhikong.credential.verify import Verification, verify

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
T0 = datetime(2020, 2, 20, 2, 0, tzinfo=UTC)
STAGES = ("prefix", "base45", "zlib", "cose", "cwt", "signature", "key usage", "time", "schema")


@cache
def _setup() -> tuple[Trust, str, bytes]:
    """A trust with one key, a valid code, and that code's COSE bytes."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(20200220, ec.SECP256R1())
    info = SignerKeyInfo.of_public_key(
        key.public_key(),
        region="330000",
        version=1,
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    trust = Trust.of([TrustList(version=1, issued_at=T0, entries=(TrustEntry.from_signer(info),))])
    claims = build_claims(
        issuer="330106",
        colour=Colour.GREEN,
        masked_name="张*",
        profile_id="health-code-colour.zhejiang-2020",
        profile_version="1.0.0",
        kind=Kind.SCREEN,
        subject_reference="resident-1",
        subject_key=bytes(32),
        subject_key_version=1,
        now=T0,
    )
    text = mint(claims, LocalSigner(info, key), T0)
    raw = base45_decode(text[4:])
    assert isinstance(raw, bytes)
    return trust, text, zlib.decompress(raw)


def _checked(result: Verification) -> Verification:
    """Shared invariants of every verdict."""
    assert isinstance(result, Verification)
    if result.error is not None:
        assert "\n" not in result.error and len(result.error) < 400
        assert result.error.split(":")[0] in STAGES, result.error
    if not result.decoded:
        assert result.signature_valid is None and result.time_valid is None
        assert result.error is not None and not result.valid
    return result


def test_the_valid_code_is_valid() -> None:
    trust, text, _ = _setup()
    assert verify(text, trust, T0 + timedelta(minutes=1)).valid


@SETTINGS
@given(text=st.text(max_size=600))
def test_any_text(text: str) -> None:
    _checked(verify(text, _setup()[0], T0))


@SETTINGS
@given(prefix=st.sampled_from(["ZK1:", "HC1:"]), body=st.text(BASE45_ALPHABET, max_size=900))
def test_any_base45_text(prefix: str, body: str) -> None:
    _checked(verify(prefix + body, _setup()[0], T0))


@SETTINGS
@given(prefix=st.sampled_from(["ZK1:", "HC1:"]), data=st.binary(max_size=1500))
def test_any_bytes(prefix: str, data: bytes) -> None:
    trust = _setup()[0]
    _checked(verify(prefix + base45_encode(data), trust, T0))
    _checked(verify(prefix + base45_encode(zlib.compress(data)), trust, T0))


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_truncations(cut: int) -> None:
    trust, text, _ = _setup()
    cut %= len(text)
    result = _checked(verify(text[:cut], trust, T0))
    assert not result.valid


@SETTINGS
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_bit_flips_of_the_cose_message(position: int, bit: int) -> None:
    trust, _, cose = _setup()
    position %= len(cose)
    flipped = bytearray(cose)
    flipped[position] ^= 1 << bit
    for compressed in (True, False):
        result = _checked(
            verify(encode_text("ZK1:", bytes(flipped), compressed=compressed), trust, T0)
        )
        assert not result.valid, (position, bit, result)


@SETTINGS
@given(position=st.integers(min_value=4), character=st.sampled_from(BASE45_ALPHABET))
def test_character_changes_of_the_text(position: int, character: str) -> None:
    trust, text, _ = _setup()
    position = 4 + position % (len(text) - 4)
    assume(text[position] != character)
    changed = text[:position] + character + text[position + 1 :]
    assert not _checked(verify(changed, trust, T0)).valid


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=MAX_TEXT_CHARS - 100, max_value=20 * MAX_TEXT_CHARS))
def test_oversized_texts(size: int) -> None:
    result = _checked(verify("HC1:" + "0" * size, _setup()[0], T0))
    assert not result.decoded


@settings(max_examples=40, deadline=None)
@given(
    megabytes=st.integers(min_value=1, max_value=2),
    filler=st.sampled_from([b"\x00", b"A", b"\xd2"]),
    level=st.integers(min_value=1, max_value=9),
)
def test_zlib_bombs(megabytes: int, filler: bytes, level: int) -> None:
    bomb = zlib.compress(filler * (megabytes * 1024 * 1024), level)
    result = _checked(verify("ZK1:" + base45_encode(bomb), _setup()[0], T0))
    assert not result.decoded and result.error is not None
    # Refused before inflating past the cap: by the inflate cap, or by length (low levels).
    assert result.error.startswith("zlib:" if len(bomb) * 3 // 2 < MAX_TEXT_CHARS else "prefix:")


CBOR_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-300, 300) | st.text(max_size=4), inner, max_size=5)
        | st.builds(cbor2.CBORTag, st.sampled_from([0, 1, 2, 18, 28, 29, 61, 256, 258]), inner)
    ),
    max_leaves=30,
)


@SETTINGS
@given(
    header=st.dictionaries(st.integers(-10, 10), CBOR_VALUES, max_size=4),
    unprotected=st.dictionaries(st.integers(-10, 10), CBOR_VALUES, max_size=4),
    claims=st.dictionaries(st.integers(-70000, 10) | st.text(max_size=3), CBOR_VALUES, max_size=6),
    prefix=st.sampled_from(["ZK1:", "HC1:"]),
)
def test_structured_cbor(
    header: dict[int, Any], unprotected: dict[int, Any], claims: dict[Any, Any], prefix: str
) -> None:
    try:
        protected = encode_protected_header(header)
        payload = cbor2.dumps(claims)
        message = encode_cose_sign1(protected, unprotected, payload, bytes(64))
    except (cbor2.CBOREncodeError, TypeError, ValueError):
        assume(False)
        return
    assume(len(message) < 2500)
    result = _checked(verify(encode_text(prefix, message), _setup()[0], T0))
    assert not result.valid
