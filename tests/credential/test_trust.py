"""Trust lists: Ed25519 signature by a pinned anchor, versions, revocation, rotation."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from zhikong.credential.claims import Kind
from zhikong.credential.keys import KeyState
from zhikong.credential.trust import (
    SIGNATURE_CONTEXT,
    Trust,
    TrustEntry,
    TrustListCache,
    TrustListError,
    canonical_json,
    sign_trust_list,
    verify_trust_list,
)
from zhikong.credential.verify import verify


def test_sign_and_verify(kit: Any, issuer: Any) -> None:
    anchor = kit.anchor_key()
    signed = sign_trust_list(kit.trust_list_of(issuer.info, version=3), anchor)
    trust_list = verify_trust_list(signed, anchor.public_key())
    assert trust_list.version == 3 and trust_list.publisher == "330000"
    assert trust_list.entries == (TrustEntry.from_signer(issuer.info),)
    document = json.loads(signed)
    assert document["signature"]["alg"] == "Ed25519"
    # The signature covers the context string and the canonical (RFC 8785) payload.
    message = SIGNATURE_CONTEXT + canonical_json(document["trust_list"])
    anchor.public_key().verify(base64.b64decode(document["signature"]["value"]), message)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": [1, True, None], "a": "张"}) == '{"a":"张","b":[1,true,null]}'.encode()
    )
    with pytest.raises(TrustListError, match="floating-point"):
        canonical_json({"a": 1.5})


def test_refuses_wrong_anchor_tampering_and_reformatting_is_fine(kit: Any, issuer: Any) -> None:
    anchor = kit.anchor_key()
    signed = sign_trust_list(kit.trust_list_of(issuer.info), anchor)
    with pytest.raises(TrustListError, match="does not verify under the pinned anchor"):
        verify_trust_list(signed, kit.anchor_key("someone else").public_key())
    document = json.loads(signed)
    document["trust_list"]["keys"][0]["not_after"] = "2030-01-01T00:00:00Z"
    with pytest.raises(TrustListError, match="does not verify"):
        verify_trust_list(json.dumps(document).encode(), anchor.public_key())
    # Whitespace and key order outside the canonical form do not matter.
    compact = json.dumps(json.loads(signed), separators=(",", ":")).encode()
    assert verify_trust_list(compact, anchor.public_key()).version == 1
    # Several pinned anchors (anchor rotation): any one may sign.
    pinned = [kit.anchor_key("next").public_key(), anchor.public_key()]
    assert verify_trust_list(signed, pinned).version == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update({"extra": 1}), "exactly trust_list and signature"),
        (lambda d: d["trust_list"].update({"version": 0}), "positive integer"),
        (lambda d: d["trust_list"].update({"type": "x"}), "type must be"),
        (lambda d: d["trust_list"].update({"next": 1}), "unknown trust_list field(s): next"),
        (lambda d: d["trust_list"]["keys"][0].update({"kid": "AAAAAAAAAAA="}), "does not match"),
        (lambda d: d["trust_list"]["keys"][0].update({"uses": ["everything"]}), "uses must be"),
        (lambda d: d["trust_list"]["keys"][0].update({"not_after": "2020-13-01"}), "UTC time"),
        (lambda d: d["trust_list"]["keys"][0].update({"colour": "red"}), "unknown key entry"),
        (lambda d: d["signature"].update({"alg": "ES256"}), "is not Ed25519"),
    ],
)
def test_malformed_lists(kit: Any, issuer: Any, change: Any, reason: str) -> None:
    anchor = kit.anchor_key()
    document = json.loads(sign_trust_list(kit.trust_list_of(issuer.info), anchor))
    change(document)
    with pytest.raises(TrustListError) as caught:
        verify_trust_list(json.dumps(document).encode(), anchor.public_key())
    assert reason in str(caught.value)
    with pytest.raises(TrustListError, match="not JSON"):
        verify_trust_list(b"\xff\xfe", anchor.public_key())


def test_cache_refuses_older_and_conflicting_versions(tmp_path: Path, kit: Any) -> None:
    anchor = kit.anchor_key()
    first = kit.make_issuer("a")
    second = kit.make_issuer("b", version=2)
    cache = TrustListCache(tmp_path / "cache" / "trust-list.json")
    assert cache.current(anchor.public_key()) is None
    v2 = sign_trust_list(kit.trust_list_of(first.info, second.info, version=2), anchor)
    v1 = sign_trust_list(kit.trust_list_of(first.info, version=1), anchor)
    assert cache.update(v2, anchor.public_key()).version == 2
    with pytest.raises(TrustListError, match="version 1 is older than the held version 2"):
        cache.update(v1, anchor.public_key())
    other_v2 = sign_trust_list(kit.trust_list_of(first.info, version=2), anchor)
    with pytest.raises(TrustListError, match="differs from the held one"):
        cache.update(other_v2, anchor.public_key())
    assert cache.update(v2, anchor.public_key()).version == 2  # the same list again: fine
    forged = sign_trust_list(kit.trust_list_of(first.info, version=9), kit.anchor_key("evil"))
    with pytest.raises(TrustListError, match="does not verify"):
        cache.update(forged, anchor.public_key())
    current = cache.current(anchor.public_key())
    assert current is not None and current.version == 2


def test_revocation_rejects_every_code_of_the_key(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    trusted = kit.trust_of(issuer.info)
    assert verify(text, trusted, kit.T0).valid
    revoked = kit.trust_of(replace(issuer.info, state=KeyState.REVOKED))
    result = verify(text, revoked, kit.T0)
    assert result.signature_valid is False and not result.valid
    assert result.error == f"signature: key {result.kid} is revoked"


def test_rotation_keeps_codes_of_a_retired_key_valid(kit: Any) -> None:
    old = kit.make_issuer("old", version=1)
    paper = old.mint(kit.claims_for(kind=Kind.PAPER, now=kit.T0 - timedelta(days=2)))
    retired_at = kit.T0 - timedelta(days=1)
    old_retired = replace(old.info, state=KeyState.RETIRED, retired_at=retired_at)
    new = kit.make_issuer("new", version=2)
    trust = kit.trust_of(old_retired, new.info, version=2)
    # The paper code signed before retirement still verifies, until it expires.
    assert verify(paper, trust, kit.T0).valid
    assert not verify(paper, trust, kit.T0 + timedelta(days=6)).time_valid
    # The new key's codes verify; a code claiming to be issued by the old key later does not.
    assert verify(new.mint(kit.claims_for()), trust, kit.T0).valid
    late = old.mint(kit.claims_for())
    result = verify(late, trust, kit.T0)
    assert result.signature_valid and result.time_valid is False
    assert "issued after its key was retired" in (result.error or "")


def test_key_validity_window(kit: Any, issuer: Any) -> None:
    trust = kit.trust_of(issuer.info)
    text = issuer.mint(kit.claims_for(kind=Kind.PAPER, now=kit.YEAR_END - timedelta(days=8)))
    assert verify(text, trust, kit.YEAR_END - timedelta(days=7)).valid
    narrowed = replace(issuer.info, not_after=kit.YEAR_END - timedelta(days=5))
    result = verify(text, kit.trust_of(narrowed), kit.YEAR_END - timedelta(days=7))
    assert result.time_valid is False and "expires after its key's validity" in (result.error or "")


def test_trust_index_keeps_keys_with_the_same_kid(kit: Any, issuer: Any) -> None:
    trust = Trust()
    first = kit.trust_of(issuer.info).candidates(issuer.info.kid)[0]
    trust.add(first)
    trust.add(first)
    assert len(trust) == 2 and len(trust.candidates(issuer.info.kid)) == 2
    assert trust.candidates(None) == () and trust.candidates(b"unknown!") == ()
