"""The issuing side of this installation: mint codes for residents, publish and import
trust lists, and verify codes online for checkpoints.

Files (never in the database): issuer signing keys in `<key_dir>/issuers/` (mode 700/600),
the trust anchor and subject-sealing keys in the key directory, imported partner trust lists
and their pinned anchors in `<var_dir>/trust/`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from zhikong.credential.claims import CodeClaims, Kind, build_claims, open_subject
from zhikong.credential.keys import (
    METADATA_FILE,
    FileSigningKeyStore,
    KeyState,
    SigningKeyError,
    mint,
)
from zhikong.credential.trust import (
    Trust,
    TrustEntry,
    TrustList,
    TrustListCache,
    TrustListError,
    anchor_id,
    load_anchor_public_key,
    sign_trust_list,
)
from zhikong.credential.verify import Verification, verify
from zhikong.keys import CREDENTIAL_SUBJECT, TRUST_ANCHOR, KeyStore


class IssuerError(Exception):
    """Issuing is not set up (no signing key for the region) or was refused."""


@dataclass(frozen=True)
class Minted:
    """A freshly minted credential."""

    text: str
    claims: CodeClaims


def issuer_keys_path(key_dir: Path) -> Path:
    """Where the issuer signing keys live."""
    return key_dir / "issuers"


def open_issuer_keys(key_dir: Path) -> FileSigningKeyStore | None:
    """The issuer key store, if one was created."""
    path = issuer_keys_path(key_dir)
    if not (path / METADATA_FILE).is_file():
        return None
    try:
        return FileSigningKeyStore.load(path)
    except SigningKeyError:
        return None


def ensure_issuer_key(key_dir: Path, region: str, at: datetime) -> FileSigningKeyStore:
    """The issuer key store with an active key for a region (created when missing)."""
    store = open_issuer_keys(key_dir) or FileSigningKeyStore.init(issuer_keys_path(key_dir))
    if not any(k.region == region and k.state == KeyState.ACTIVE for k in store.keys(region)):
        store.create(region, at=at, not_after=at + timedelta(days=730))
    return store


def mint_for(
    issuers: FileSigningKeyStore,
    keys: KeyStore,
    *,
    issuer_region: str,
    resident_id: int,
    colour: str,
    masked_name: str,
    profile_id: str,
    profile_version: str,
    kind: Kind,
    now: datetime,
    validity: timedelta | None = None,
) -> Minted:
    """Sign a resident's current colour as a credential (screen or paper)."""
    version = keys.current_version(CREDENTIAL_SUBJECT)
    claims = build_claims(
        issuer=issuer_region,
        colour=colour,
        masked_name=masked_name or "*",
        profile_id=profile_id,
        profile_version=profile_version,
        kind=kind,
        subject_reference=f"resident:{resident_id}",
        subject_key=keys.secret(CREDENTIAL_SUBJECT, version),
        subject_key_version=version,
        now=now,
        validity=validity,
    )
    try:
        signer = issuers.signer(issuer_region)
    except SigningKeyError as exc:
        raise IssuerError(f"no active signing key for issuer {issuer_region}: {exc}") from exc
    return Minted(mint(claims, signer, now), claims)


def resolve_subject(keys: KeyStore, claims: CodeClaims, issuer_region: str) -> int | None:
    """The resident a credential of ours names (only the issuer can do this), or None."""
    current = keys.current_version(CREDENTIAL_SUBJECT)
    versions = {v: keys.secret(CREDENTIAL_SUBJECT, v) for v in range(1, current + 1)}
    try:
        reference = open_subject(claims.subject, versions, issuer=issuer_region).decode()
    except (ValueError, KeyError):
        return None
    kind, _, number = reference.partition(":")
    return int(number) if kind == "resident" and number.isdigit() else None


def own_trust_list(issuers: FileSigningKeyStore, now: datetime, publisher: str) -> TrustList:
    """This installation's trust list: every issuer key, with its state."""
    infos = issuers.keys()
    entries = tuple(TrustEntry.from_signer(info) for info in infos)
    # The version moves whenever a key is created, retired or revoked (seconds since 1970).
    changed = [
        moment
        for info in infos
        for moment in (info.created_at, info.retired_at, info.revoked_at)
        if moment is not None
    ]
    version = int(max(changed).timestamp()) if changed else 0
    return TrustList(
        version=version, issued_at=now.replace(microsecond=0), entries=entries, publisher=publisher
    )


def signed_own_trust_list(
    issuers: FileSigningKeyStore, keys: KeyStore, now: datetime, publisher: str
) -> bytes:
    """This installation's trust list, signed by its trust anchor."""
    return sign_trust_list(own_trust_list(issuers, now, publisher), keys.signing_key(TRUST_ANCHOR))


def anchor_public(keys: KeyStore) -> Ed25519PublicKey:
    """This installation's trust-anchor public key."""
    return keys.signing_key(TRUST_ANCHOR).public_key()


def anchor_document(keys: KeyStore) -> dict[str, str]:
    """The anchor's public key as partners pin it."""
    public = anchor_public(keys)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"public_key": base64.b64encode(raw).decode(), "anchor_id": anchor_id(public)}


# -- partners ---------------------------------------------------------------------------------


def trust_dir(var_dir: Path) -> Path:
    """Where imported partner trust lists and their pinned anchors live."""
    return var_dir / "trust"


def import_partner(var_dir: Path, name: str, data: bytes, anchor: bytes | None) -> TrustList:
    """Accept a partner's signed trust list; the anchor is pinned on first import.

    Refuses a bad signature, a list older than the one held, or a different anchor later.
    """
    folder = trust_dir(var_dir) / name
    pinned = folder / "anchor.json"
    if pinned.is_file():
        held = json.loads(pinned.read_text())["public_key"]
        if anchor is not None and base64.b64encode(_raw_anchor(anchor)).decode() != held:
            raise TrustListError(f"partner {name} is pinned to another anchor")
        key = load_anchor_public_key(base64.b64decode(held))
    else:
        if anchor is None:
            raise TrustListError(f"first import of {name}: give the partner's anchor to pin")
        key = load_anchor_public_key(anchor)
    result = TrustListCache(folder / "trust-list.json").update(data, key)
    if not pinned.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pinned.write_text(json.dumps({"public_key": base64.b64encode(raw).decode()}))
    return result


def _raw_anchor(data: bytes) -> bytes:
    key = load_anchor_public_key(data)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def partner_lists(var_dir: Path) -> list[TrustList]:
    """Every partner trust list held, re-verified against its pinned anchor."""
    lists: list[TrustList] = []
    folder = trust_dir(var_dir)
    if not folder.is_dir():
        return lists
    for partner in sorted(p for p in folder.iterdir() if p.is_dir()):
        pinned = partner / "anchor.json"
        if not pinned.is_file():
            continue
        key = load_anchor_public_key(base64.b64decode(json.loads(pinned.read_text())["public_key"]))
        held = TrustListCache(partner / "trust-list.json").current(key)
        if held is not None:
            lists.append(held)
    return lists


def verifier_trust(issuers: FileSigningKeyStore | None, var_dir: Path, now: datetime) -> Trust:
    """Everything this installation trusts: its own issuer keys and its partners' lists."""
    lists = partner_lists(var_dir)
    if issuers is not None and issuers.keys():
        lists.append(own_trust_list(issuers, now, "self"))
    return Trust.of(lists)


def verify_online(text: str, trust: Trust, at: datetime) -> Verification:
    """Verify a scanned code as a checkpoint would, with this installation's trust."""
    return verify(text, trust, at)
