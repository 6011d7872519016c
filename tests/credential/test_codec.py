"""The layers: prefix, Base45 (RFC 9285), zlib with a size cap, COSE_Sign1 variants, CWT."""

from __future__ import annotations

import zlib

import base45  # type: ignore[import-untyped]
import cbor2
import pytest

from zhikong.credential.codec import (
    MAX_DECOMPRESSED_BYTES,
    MAX_TEXT_CHARS,
    DecodeFailure,
    Stage,
    base45_decode,
    base45_encode,
    decode_cbor,
    decode_cose,
    decode_text,
    decompress,
    encode_cose_sign1,
    encode_protected_header,
    encode_text,
    sig_structure,
    split_prefix,
)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff\xff", "FGW"),
    ],
)
def test_base45_rfc9285_examples(raw: bytes, text: str) -> None:
    assert base45_encode(raw) == text
    assert base45_decode(text) == raw


def test_base45_agrees_with_the_reference_package() -> None:
    for size in range(0, 300, 7):
        data = bytes((index * 37 + size) % 256 for index in range(size))
        assert base45_encode(data) == base45.b45encode(data).decode()
        assert base45_decode(base45_encode(data)) == data


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("GGW", "group at position 0 exceeds 65535"),
        ("ZZZ", "exceeds 65535"),
        ("A", "invalid length 1"),
        ("ABCD", "invalid length 4"),
        ("abc", "invalid character 'a' at position 0"),
        ("BB8=", "invalid character '='"),
        ("BB8é", "non-ASCII character at position 3"),
        (":Z", "final group at position 0 exceeds 255"),
    ],
)
def test_base45_refuses_bad_text(text: str, reason: str) -> None:
    failure = base45_decode(text)
    assert isinstance(failure, DecodeFailure)
    assert failure.stage is Stage.BASE45
    assert reason in failure.reason


def test_base45_length_is_bounded_before_decoding() -> None:
    failure = base45_decode("0" * (MAX_TEXT_CHARS + 3))
    assert isinstance(failure, DecodeFailure) and "exceeds" in failure.reason


def test_prefix() -> None:
    assert split_prefix("HC1:ABC", ["HC1:", "ZK1:"]) == ("HC1:", "ABC")
    assert split_prefix("  ZK1:ABC\n", ["HC1:", "ZK1:"]) == ("ZK1:", "ABC")
    for text, reason in [
        ("HC2:ABC", "unsupported context identifier 'HC2:'"),
        ("6BFOABCDEFG", "missing context identifier"),
        ("", "empty input"),
        ("ZK1:" + "0" * 5000, "exceeds"),
    ]:
        failure = split_prefix(text, ["HC1:", "ZK1:"])
        assert isinstance(failure, DecodeFailure) and failure.stage is Stage.PREFIX
        assert reason in failure.reason


def test_decompress_passes_uncompressed_data_and_inflates_zlib() -> None:
    cose = b"\xd2\x84" + bytes(50)
    assert decompress(cose) == (cose, False)
    assert decompress(zlib.compress(cose)) == (cose, True)


def test_zlib_bomb_stops_at_the_cap() -> None:
    bomb = zlib.compress(bytes(2 * 1024 * 1024), 9)  # about 2 KiB, inflating to 2 MiB
    assert len(bomb) < 2933
    failure = decompress(bomb)
    assert isinstance(failure, DecodeFailure) and failure.stage is Stage.ZLIB
    assert f"exceeds {MAX_DECOMPRESSED_BYTES}" in failure.reason
    oversized = decompress(zlib.compress(bytes(8 * 1024 * 1024), 9))
    assert isinstance(oversized, DecodeFailure) and "exceed the limit" in oversized.reason
    just_fits = zlib.compress(bytes(MAX_DECOMPRESSED_BYTES))
    assert decompress(just_fits) == (bytes(MAX_DECOMPRESSED_BYTES), True)


def test_truncated_and_corrupt_zlib() -> None:
    stream = zlib.compress(b"\xd2\x84" + bytes(300))
    truncated = decompress(stream[:-6])
    assert isinstance(truncated, DecodeFailure) and truncated.reason == "truncated stream"
    corrupt = decompress(stream[:2] + b"\xff" * 10)
    assert isinstance(corrupt, DecodeFailure) and "corrupt" in corrupt.reason


def _message(tags: tuple[int, ...], *, protected: bytes | None = None) -> bytes:
    if protected is None:
        protected = encode_protected_header({1: -7, 4: b"12345678"})
    item: object = [protected, {}, cbor2.dumps({1: "330106"}), bytes(64)]
    for tag in reversed(tags):
        item = cbor2.CBORTag(tag, item)
    return cbor2.dumps(item)


@pytest.mark.parametrize("tags", [(18,), (), (61, 18)])
def test_cose_tagged_untagged_and_cwt_tag(tags: tuple[int, ...]) -> None:
    message = decode_cose(_message(tags))
    assert not isinstance(message, DecodeFailure)
    assert message.tags == tags
    assert message.alg == -7 and message.kid == b"12345678"


@pytest.mark.parametrize(
    ("tags", "reason"),
    [((61,), "tag 61 does not wrap"), ((18, 18), "unexpected CBOR tag 18"), ((98,), "tag 98")],
)
def test_cose_wrong_tags(tags: tuple[int, ...], reason: str) -> None:
    failure = decode_cose(_message(tags))
    assert isinstance(failure, DecodeFailure) and reason in failure.reason


def test_alg_and_kid_in_the_unprotected_header_only() -> None:
    data = cbor2.dumps(cbor2.CBORTag(18, [b"", {1: -7, 4: b"kid-only"}, b"\xa0", bytes(64)]))
    message = decode_cose(data)
    assert not isinstance(message, DecodeFailure)
    assert message.protected_header == {}
    assert message.alg == -7 and message.kid == b"kid-only"


def test_protected_kid_wins_over_unprotected() -> None:
    protected = encode_protected_header({1: -7, 4: b"right"})
    data = cbor2.dumps([protected, {4: b"wrong"}, b"\xa0", bytes(64)])
    message = decode_cose(data)
    assert not isinstance(message, DecodeFailure) and message.kid == b"right"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (cbor2.dumps([b"", {}, b"\xa0"]), "array of 3"),
        (cbor2.dumps({"a": 1}), "got dict"),
        (cbor2.dumps([b"", {}, None, b""]), "detached payload"),
        (cbor2.dumps([b"\xff", {}, b"", b""]), "protected header is not CBOR"),
        (cbor2.dumps([cbor2.dumps([1]), {}, b"", b""]), "protected header is not a map"),
        (cbor2.dumps([b"", [], b"", b""]), "unprotected header is not a map"),
        (cbor2.dumps([b"", {}, b"", "sig"]), "signature is not a byte string"),
        (cbor2.dumps([b"", {}, b"", b""]) + b"\x00", "trailing byte"),
        (b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff\x00", "not CBOR"),
    ],
)
def test_cose_structure_errors(data: bytes, reason: str) -> None:
    failure = decode_cose(data)
    assert isinstance(failure, DecodeFailure) and failure.stage is Stage.COSE
    assert reason in failure.reason, failure.reason


def test_hostile_cbor_tags_stay_plain() -> None:
    cyclic = bytes.fromhex("d81c81d81d00")  # shareable [sharedref(0)]
    value = decode_cbor(cyclic)
    assert isinstance(value, cbor2.CBORTag) and value.tag == 28
    bigfloat = cbor2.dumps(cbor2.CBORTag(5, [10**9, 1]))
    assert decode_cbor(bigfloat) == cbor2.CBORTag(5, [10**9, 1])
    deep = b"\x81" * 200 + b"\x00"
    with pytest.raises(ValueError):
        decode_cbor(deep)


def test_sig_structure_matches_cbor_encoding() -> None:
    protected, payload = b"\xa1\x01\x26", bytes(300)
    expected = cbor2.dumps(["Signature1", protected, b"", payload])
    assert sig_structure(protected, payload) == expected


def test_encode_decode_text_round_trip() -> None:
    protected = encode_protected_header({1: -7, 4: b"12345678"})
    cose = encode_cose_sign1(protected, {}, cbor2.dumps({1: "330106", 4: 2, 6: 1}), bytes(64))
    for compressed in (True, False):
        text = encode_text("ZK1:", cose, compressed=compressed)
        decoded = decode_text(text, ["ZK1:"])
        assert not isinstance(decoded, DecodeFailure)
        assert decoded.compressed is compressed
        assert decoded.cose_bytes == cose
        assert decoded.claims == {1: "330106", 4: 2, 6: 1}


def test_failures_after_zlib_report_whether_it_was_compressed() -> None:
    text = encode_text("ZK1:", cbor2.dumps([b"", {}, b"\xff", b""]))
    failure = decode_text(text, ["ZK1:"])
    assert isinstance(failure, DecodeFailure)
    assert failure.stage is Stage.CWT and failure.compressed is True
    assert str(failure).startswith("cwt: payload is not CBOR")
