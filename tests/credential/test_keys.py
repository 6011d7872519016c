"""Issuer keys: file store (modes 700/600), life cycle, kid, and what mint refuses."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from zhikong.credential.claims import Kind
from zhikong.credential.codec import DecodeFailure, decode_text
from zhikong.credential.keys import (
    FileSigningKeyStore,
    KeyState,
    LocalSigner,
    MintError,
    SigningKeyError,
    kid_of,
    mint,
    region_covers,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_store_modes_and_reload(tmp_path: Path, kit: Any) -> None:
    directory = tmp_path / "signers"
    store = FileSigningKeyStore.init(directory)
    first = store.create("330000", at=kit.YEAR_START, not_after=kit.YEAR_END)
    second = store.create("330000", at=kit.T0, not_after=kit.YEAR_END, uses=["screen"])
    assert (first.version, second.version) == (1, 2)
    assert _mode(directory) == 0o700
    for path in directory.iterdir():
        if path.suffix in (".pem", ".json"):
            assert _mode(path) == 0o600, path
    assert b"PRIVATE KEY" in (directory / "330000.v1.pem").read_bytes()
    assert "PRIVATE" not in (directory / "signers.json").read_text()

    again = FileSigningKeyStore.load(directory)
    assert again.keys("330000") == [first, second]
    assert again.signer("330000").info == second  # newest active
    assert again.signer("330000", 1).info == first


def test_kid_is_sha256_of_the_spki(tmp_path: Path, kit: Any) -> None:
    store = FileSigningKeyStore.init(tmp_path / "signers")
    info = store.create("330000", at=kit.YEAR_START, not_after=kit.YEAR_END)
    spki = info.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert info.kid == hashlib.sha256(spki).digest()[:8] == kid_of(spki)


def test_life_cycle(tmp_path: Path, kit: Any) -> None:
    store = FileSigningKeyStore.init(tmp_path / "signers")
    store.create("330000", at=kit.YEAR_START, not_after=kit.YEAR_END)
    store.create("330000", at=kit.YEAR_START, not_after=kit.YEAR_END)
    retired = store.retire("330000", 2, at=kit.T0)
    assert retired.state is KeyState.RETIRED and retired.retired_at == kit.T0
    assert store.signer("330000").info.version == 1
    with pytest.raises(SigningKeyError, match="retired; it never signs"):
        store.signer("330000", 2)
    with pytest.raises(SigningKeyError, match="already retired"):
        store.retire("330000", 2, at=kit.T0)
    revoked = store.revoke("330000", 1, at=kit.T0)
    assert revoked.state is KeyState.REVOKED
    with pytest.raises(SigningKeyError, match="no active signing key"):
        store.signer("330000")
    with pytest.raises(SigningKeyError, match="no key version 9"):
        store.revoke("330000", 9, at=kit.T0)
    reloaded = FileSigningKeyStore.load(store.path)
    assert [info.state for info in reloaded.keys(region=None)] == [
        KeyState.REVOKED,
        KeyState.RETIRED,
    ]


def test_store_refuses_unsafe_or_bad_input(tmp_path: Path, kit: Any) -> None:
    directory = tmp_path / "signers"
    store = FileSigningKeyStore.init(directory)
    with pytest.raises(SigningKeyError, match="not empty"):
        FileSigningKeyStore.init(directory)
    with pytest.raises(SigningKeyError, match="GB/T 2260"):
        store.create("ZJ", at=kit.YEAR_START, not_after=kit.YEAR_END)
    with pytest.raises(SigningKeyError, match="uses must be"):
        store.create("330000", at=kit.YEAR_START, not_after=kit.YEAR_END, uses=["everything"])
    with pytest.raises(SigningKeyError, match="P-256"):
        store.create(
            "330000",
            at=kit.YEAR_START,
            not_after=kit.YEAR_END,
            private_key=ec.generate_private_key(ec.SECP384R1()),
        )
    directory.chmod(0o755)
    with pytest.raises(SigningKeyError, match="accessible to others"):
        FileSigningKeyStore.load(directory)
    with pytest.raises(SigningKeyError, match="no signing-key directory"):
        FileSigningKeyStore.load(tmp_path / "elsewhere")
    directory.chmod(0o700)
    (directory / "signers.json").write_text(json.dumps({"keys": [{"region": 1}]}))
    with pytest.raises(SigningKeyError, match="unreadable"):
        FileSigningKeyStore.load(directory)


def test_minted_code_carries_es256_and_kid(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    assert text.startswith("ZK1:")
    decoded = decode_text(text, ["ZK1:"])
    assert not isinstance(decoded, DecodeFailure)
    assert decoded.cose.protected_header == {1: -7, 4: issuer.info.kid}
    assert decoded.cose.tags == (18,) and decoded.compressed
    assert len(decoded.cose.signature) == 64


def test_mint_refuses(kit: Any, issuer: Any) -> None:
    retired = kit.make_issuer("old", version=2, state=KeyState.RETIRED, retired_at=kit.T0)
    with pytest.raises(MintError, match="retired; it never signs"):
        retired.mint(kit.claims_for())
    with pytest.raises(MintError, match="not valid at"):
        issuer.mint(kit.claims_for(), now=kit.YEAR_END + timedelta(days=1))
    screen_only = kit.make_issuer("city", region="330100", uses=("screen",))
    with pytest.raises(MintError, match="may not sign paper codes"):
        screen_only.mint(kit.claims_for(kind=Kind.PAPER))
    with pytest.raises(MintError, match="may not sign for 340100"):
        screen_only.mint(kit.claims_for(issuer="340100"))
    late = kit.claims_for(now=kit.YEAR_END - timedelta(days=2), kind=Kind.PAPER)
    with pytest.raises(MintError, match="within the key's validity"):
        mint(late, issuer.signer, kit.YEAR_END - timedelta(days=2))


def test_region_cover() -> None:
    assert region_covers("330000", "330106")  # province → county
    assert region_covers("330100", "330106")  # city → county
    assert region_covers("330106", "330106")
    assert not region_covers("330100", "330302")
    assert not region_covers("330106", "330100")
    assert not region_covers("330000", "340100")


def test_deterministic_signer_is_reproducible(kit: Any) -> None:
    issuer = kit.make_issuer()
    signer = LocalSigner(issuer.info, issuer.key, deterministic=True)
    assert signer.sign(b"data") == signer.sign(b"data")
    assert issuer.signer.sign(b"data") != issuer.signer.sign(b"data")
