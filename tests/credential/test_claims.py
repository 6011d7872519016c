"""zhikong claims: CWT mapping, validation, and the sealed (unlinkable) subject reference."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from zhikong.credential.claims import (
    CLAIM_ZHIKONG,
    SUBJECT_SEALED_BYTES,
    ClaimsError,
    CodeClaims,
    Colour,
    Kind,
    build_claims,
    open_subject,
    seal_subject,
)
from zhikong.credential.codec import DecodeFailure, decode_text


def test_cwt_round_trip(kit: Any) -> None:
    claims = kit.claims_for(colour=Colour.ORANGE, kind=Kind.PAPER)
    cwt = claims.to_cwt()
    assert set(cwt) == {1, 4, 6, CLAIM_ZHIKONG}
    assert cwt[1] == "330106" and cwt[6] == int(kit.T0.timestamp())
    assert cwt[4] - cwt[6] == 7 * 24 * 3600
    assert set(cwt[CLAIM_ZHIKONG]) == {1, 2, 3, 4, 5, 6, 7}
    assert CodeClaims.from_cwt(cwt) == claims
    view = claims.to_json()
    assert view["iat"] == "2020-02-20T02:00:00Z" and view["colour"] == "orange"
    assert view["masked_name"] == "张*" and view["kind"] == "paper"


def test_unknown_inner_keys_are_ignored(kit: Any) -> None:
    claims = kit.claims_for()
    cwt = claims.to_cwt()
    cwt[CLAIM_ZHIKONG][99] = "a later minor version's claim"
    assert CodeClaims.from_cwt(cwt) == claims


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c.pop(-65537), "missing or not a map"),
        (lambda c: c[-65537].update({1: 2}), "format 2 is not supported"),
        (lambda c: c[-65537].update({2: "purple"}), "colour 'purple' is unknown"),
        (lambda c: c[-65537].update({6: "forever"}), "kind 'forever' is unknown"),
        (lambda c: c[-65537].update({7: "text"}), "subject (7)"),
        (lambda c: c[-65537].update({7: b"\x01" * 10}), "sealed reference of 79 bytes"),
        (lambda c: c[-65537].update({3: ""}), "masked_name"),
        (lambda c: c.update({1: "Zhejiang"}), "GB/T 2260"),
        (lambda c: c.update({1: 330106}), "iss (1)"),
        (lambda c: c.update({4: "tomorrow"}), "exp (4) is not a NumericDate"),
        (lambda c: c.update({4: c[6]}), "expiry must be after issued-at"),
        (lambda c: c.update({6: 10**30}), "iat (6) is out of range"),
    ],
)
def test_malformed_claims_are_refused(kit: Any, change: Any, reason: str) -> None:
    cwt = kit.claims_for().to_cwt()
    change(cwt)
    with pytest.raises(ClaimsError, match=None) as caught:
        CodeClaims.from_cwt(cwt)
    assert reason in str(caught.value)


def test_validity_limits_per_kind(kit: Any) -> None:
    assert kit.claims_for().validity == timedelta(minutes=5)
    assert kit.claims_for(kind=Kind.PAPER).validity == timedelta(days=7)
    with pytest.raises(ClaimsError, match="at most 1:00:00"):
        kit.claims_for(validity=timedelta(hours=2))
    with pytest.raises(ClaimsError, match="at most 31 days"):
        kit.claims_for(kind=Kind.PAPER, validity=timedelta(days=60))


def test_subject_opens_only_with_the_issuer_key(kit: Any) -> None:
    sealed = seal_subject("resident-42", kit.SUBJECT_KEY, key_version=3, issuer="330106")
    assert len(sealed) == SUBJECT_SEALED_BYTES
    assert open_subject(sealed, {3: kit.SUBJECT_KEY}, issuer="330106") == b"resident-42"
    with pytest.raises(ClaimsError, match="no subject key of version 3"):
        open_subject(sealed, {1: kit.SUBJECT_KEY}, issuer="330106")
    with pytest.raises(ClaimsError, match="does not open"):
        open_subject(sealed, {3: bytes(32)}, issuer="330106")
    with pytest.raises(ClaimsError, match="does not open"):  # bound to the issuer
        open_subject(sealed, {3: kit.SUBJECT_KEY}, issuer="330102")
    tampered = sealed[:-1] + bytes((sealed[-1] ^ 1,))
    with pytest.raises(ClaimsError, match="does not open"):
        open_subject(tampered, {3: kit.SUBJECT_KEY}, issuer="330106")


def test_subject_length_does_not_reveal_the_reference(kit: Any) -> None:
    short = seal_subject("7", kit.SUBJECT_KEY, key_version=1, issuer="330106")
    long = seal_subject("x" * 47, kit.SUBJECT_KEY, key_version=1, issuer="330106")
    assert len(short) == len(long) == SUBJECT_SEALED_BYTES
    with pytest.raises(ClaimsError, match="1 to 47 bytes"):
        seal_subject("x" * 48, kit.SUBJECT_KEY, key_version=1, issuer="330106")
    with pytest.raises(ClaimsError, match="AES-256"):
        seal_subject("7", bytes(16), key_version=1, issuer="330106")


def _longest_common_run(left: bytes, right: bytes) -> int:
    """Length of the longest byte string found in both."""
    best = 0
    for start in range(len(left)):
        size = best + 1
        while start + size <= len(left) and left[start : start + size] in right:
            best = size
            size += 1
    return best


def test_two_codes_of_one_person_share_no_linkable_bytes(kit: Any) -> None:
    """Many codes of the same person: the sealed references share no more than chance does."""
    sealed = [kit.claims_for("resident-000001").subject for _ in range(40)]
    others = [kit.claims_for(f"resident-{n:06d}").subject for n in range(2, 42)]
    header = sealed[0][:3]  # format byte and subject-key version: the same for every person
    assert all(item[:3] == header for item in sealed + others)
    same_person = [_longest_common_run(a[3:], b[3:]) for a, b in itertools.combinations(sealed, 2)]
    different = [_longest_common_run(a[3:], b[3:]) for a, b in zip(sealed, others, strict=True)]
    # 76 random bytes against 76 share a run of 5 bytes with probability ~5e-9 (pairs: 820).
    assert max(same_person) <= 4 and max(different) <= 4
    assert len(set(sealed)) == len(sealed)
    # The nonces are fresh too, and the ciphertexts differ in every aligned 6-byte window.
    nonces = {item[3:15] for item in sealed}
    assert len(nonces) == len(sealed)
    for a, b in itertools.combinations(sealed, 2):
        assert all(a[i : i + 6] != b[i : i + 6] for i in range(15, len(a) - 5))


def test_whole_codes_of_one_person_differ_beyond_the_shared_claims(kit: Any, issuer: Any) -> None:
    """Apart from what every such code shows (issuer, colour, name), the encodings differ."""
    texts = [issuer.mint(kit.claims_for("resident-000001")) for _ in range(20)]
    decoded = [decode_text(text, ["ZK1:"]) for text in texts]
    assert not any(isinstance(item, DecodeFailure) for item in decoded)
    subjects = [item.claims[CLAIM_ZHIKONG][7] for item in decoded]  # type: ignore[union-attr]
    signatures = [item.cose.signature for item in decoded]  # type: ignore[union-attr]
    assert len(set(subjects)) == len(set(signatures)) == len(texts) == len(set(texts))


def test_build_claims_rounds_to_seconds(kit: Any) -> None:
    claims = kit.claims_for(now=kit.T0 + timedelta(microseconds=999_999))
    assert claims.issued_at == kit.T0
    with pytest.raises(ClaimsError, match="timezone-aware"):
        replace(claims, expires_at=claims.expires_at.replace(tzinfo=None))
    with pytest.raises(ValueError, match="'blue' is not a valid Colour"):
        build_claims(
            issuer="330106",
            colour="blue",
            masked_name="李*",
            profile_id="minimal",
            profile_version="1",
            kind="screen",
            subject_reference="1",
            subject_key=kit.SUBJECT_KEY,
            subject_key_version=1,
            now=kit.T0,
        )
