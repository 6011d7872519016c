"""Trust lists: signed, versioned lists of issuer keys, and the verifier's index of trusted keys.

A trust list is a JSON document (see ``docs/credential.md`` §7)::

    {"trust_list": {"type": "zhikong-trust-list", "format": 1, "version": 7,
                    "issued_at": "2020-02-20T02:00:00Z", "publisher": "330000",
                    "keys": [{"region": "330000", "kid": "<base64>", "spki": "<base64 DER>",
                              "not_before": "...Z", "not_after": "...Z",
                              "uses": ["paper", "screen"], "revoked": false}]},
     "signature": {"alg": "Ed25519", "anchor": "<hex>", "value": "<base64>"}}

The signature is Ed25519 (RFC 8032) by the trust anchor over the bytes
``b"zhikong-trust-list/1\\x00"`` followed by the canonical encoding of the ``trust_list``
object: RFC 8785 (JCS) — keys sorted, no insignificant whitespace, UTF-8, no floats. For the
ASCII keys, integers, booleans and strings a trust list holds, that is exactly
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``. Verifiers pin
the anchor's public key, refuse a list whose signature fails or whose version is older than the
one they hold, and honour each key's revocation flag, validity window and allowed uses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from zhikong.credential.dcc import CertificateError, SignerCertificate, load_certificate
from zhikong.credential.keys import USES, KeyState, SignerKeyInfo, kid_of

__all__ = [
    "SIGNATURE_CONTEXT",
    "TRUST_LIST_TYPE",
    "Trust",
    "TrustEntry",
    "TrustList",
    "TrustListCache",
    "TrustListError",
    "TrustedKey",
    "anchor_id",
    "canonical_json",
    "load_anchor_private_key",
    "load_anchor_public_key",
    "parse_trust_list",
    "sign_trust_list",
    "verify_trust_list",
]

TRUST_LIST_TYPE: Final = "zhikong-trust-list"
TRUST_LIST_FORMAT: Final = 1
SIGNATURE_CONTEXT: Final = b"zhikong-trust-list/1\x00"
MAX_TRUST_LIST_BYTES: Final = 16 * 1024 * 1024
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class TrustListError(ValueError):
    """A trust list that is malformed, wrongly signed, or older than the one held."""


def canonical_json(value: Any) -> bytes:
    """The canonical encoding (RFC 8785 for float-free ASCII-keyed JSON) of a value."""
    _reject_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TrustListError("trust lists carry no floating-point numbers")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TrustListError("object keys must be strings")
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)


def _time_text(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise TrustListError("times must be timezone-aware")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_value(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise TrustListError(f"{name} must be a UTC time like 2020-02-20T02:00:00Z")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise TrustListError(f"{name} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TrustListError(f"{name} is not valid base64") from None


def anchor_id(public_key: Ed25519PublicKey) -> str:
    """Hex of the first 8 bytes of SHA-256 of the anchor's SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8].hex()


@dataclass(frozen=True, slots=True)
class TrustEntry:
    """One issuer key on a trust list."""

    region: str
    kid: bytes
    not_before: datetime
    not_after: datetime
    uses: tuple[str, ...]
    spki: bytes | None = None
    certificate: bytes | None = None
    revoked: bool = False
    retired_at: datetime | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9A-Z]{2,12}", self.region):
            raise TrustListError(f"region {self.region!r} is not a region or country code")
        if (self.spki is None) == (self.certificate is None):
            raise TrustListError(f"key {self.kid.hex()}: give exactly one of spki, certificate")
        material = self.certificate if self.certificate is not None else self.spki
        assert material is not None
        if kid_of(material) != self.kid:
            raise TrustListError(f"kid {self.kid.hex()} does not match its key material")
        if self.not_after <= self.not_before:
            raise TrustListError(f"key {self.kid.hex()}: not_after must follow not_before")
        unknown = [use for use in self.uses if use not in USES]
        if unknown or not self.uses:
            raise TrustListError(f"key {self.kid.hex()}: uses must be some of {', '.join(USES)}")

    @classmethod
    def from_signer(cls, info: SignerKeyInfo) -> TrustEntry:
        """The trust-list entry publishing an issuer key of the key store."""
        return cls(
            region=info.region,
            kid=info.kid,
            spki=None if info.certificate_der else info.public_key_der,
            certificate=info.certificate_der,
            not_before=info.not_before,
            not_after=info.not_after,
            uses=tuple(sorted(info.uses)),
            revoked=info.state == KeyState.REVOKED,
            retired_at=info.retired_at,
        )

    def to_json(self) -> dict[str, Any]:
        """The entry as it appears in the document."""
        data: dict[str, Any] = {
            "region": self.region,
            "kid": base64.b64encode(self.kid).decode("ascii"),
            "not_before": _time_text(self.not_before),
            "not_after": _time_text(self.not_after),
            "uses": sorted(self.uses),
            "revoked": self.revoked,
        }
        if self.spki is not None:
            data["spki"] = base64.b64encode(self.spki).decode("ascii")
        if self.certificate is not None:
            data["certificate"] = base64.b64encode(self.certificate).decode("ascii")
        if self.retired_at is not None:
            data["retired_at"] = _time_text(self.retired_at)
        return data

    @classmethod
    def from_json(cls, data: Any) -> TrustEntry:
        """Read and check an entry of a document."""
        if not isinstance(data, Mapping):
            raise TrustListError("each key entry must be an object")
        known = {"region", "kid", "spki", "certificate", "not_before", "not_after", "uses"}
        known |= {"revoked", "retired_at"}
        extra = sorted(set(data) - known)
        if extra:
            raise TrustListError(f"unknown key entry field(s): {', '.join(extra)}")
        uses = data.get("uses")
        revoked = data.get("revoked", False)
        if not isinstance(uses, list) or not all(isinstance(use, str) for use in uses):
            raise TrustListError("uses must be a list of strings")
        if not isinstance(revoked, bool):
            raise TrustListError("revoked must be true or false")
        region = data.get("region")
        if not isinstance(region, str):
            raise TrustListError("region must be text")
        retired = data.get("retired_at")
        return cls(
            region=region,
            kid=_b64(data.get("kid"), "kid"),
            spki=None if data.get("spki") is None else _b64(data["spki"], "spki"),
            certificate=(
                None
                if data.get("certificate") is None
                else _b64(data["certificate"], "certificate")
            ),
            not_before=_time_value(data.get("not_before"), "not_before"),
            not_after=_time_value(data.get("not_after"), "not_after"),
            uses=tuple(uses),
            revoked=revoked,
            retired_at=None if retired is None else _time_value(retired, "retired_at"),
        )


@dataclass(frozen=True, slots=True)
class TrustList:
    """A versioned list of issuer keys, as published by a trust anchor."""

    version: int
    issued_at: datetime
    entries: tuple[TrustEntry, ...]
    publisher: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``trust_list`` object of the document."""
        data: dict[str, Any] = {
            "type": TRUST_LIST_TYPE,
            "format": TRUST_LIST_FORMAT,
            "version": self.version,
            "issued_at": _time_text(self.issued_at),
            "keys": [entry.to_json() for entry in self.entries],
        }
        if self.publisher is not None:
            data["publisher"] = self.publisher
        return data

    @classmethod
    def from_json(cls, data: Any) -> TrustList:
        """Read and check a ``trust_list`` object."""
        if not isinstance(data, Mapping):
            raise TrustListError("trust_list must be an object")
        if data.get("type") != TRUST_LIST_TYPE:
            raise TrustListError(f"type must be {TRUST_LIST_TYPE!r}")
        extra = sorted(set(data) - {"type", "format", "version", "issued_at", "publisher", "keys"})
        if extra:
            raise TrustListError(f"unknown trust_list field(s): {', '.join(extra)}")
        if data.get("format") != TRUST_LIST_FORMAT:
            raise TrustListError(f"format {data.get('format')!r} is not supported")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise TrustListError("version must be a positive integer")
        keys = data.get("keys")
        if not isinstance(keys, list):
            raise TrustListError("keys must be a list")
        publisher = data.get("publisher")
        if publisher is not None and not isinstance(publisher, str):
            raise TrustListError("publisher must be text")
        return cls(
            version=version,
            issued_at=_time_value(data.get("issued_at"), "issued_at"),
            entries=tuple(TrustEntry.from_json(item) for item in keys),
            publisher=publisher,
        )


def sign_trust_list(trust_list: TrustList, anchor: Ed25519PrivateKey) -> bytes:
    """The signed trust-list document (JSON, UTF-8)."""
    payload = trust_list.to_json()
    signature = anchor.sign(SIGNATURE_CONTEXT + canonical_json(payload))
    document = {
        "trust_list": payload,
        "signature": {
            "alg": "Ed25519",
            "anchor": anchor_id(anchor.public_key()),
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse_trust_list(data: bytes) -> tuple[TrustList, dict[str, Any]]:
    """Read a signed document without checking its signature (for display only)."""
    if len(data) > MAX_TRUST_LIST_BYTES:
        raise TrustListError(f"trust list larger than {MAX_TRUST_LIST_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TrustListError(f"not JSON: {' '.join(str(exc).split())}") from None
    if not isinstance(document, dict) or set(document) != {"trust_list", "signature"}:
        raise TrustListError("a signed trust list has exactly trust_list and signature")
    signature = document["signature"]
    if not isinstance(signature, dict):
        raise TrustListError("signature must be an object")
    return TrustList.from_json(document["trust_list"]), document


def verify_trust_list(
    data: bytes,
    anchors: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    *,
    minimum_version: int | None = None,
) -> TrustList:
    """Check a signed trust list against pinned anchor keys; the list, or TrustListError."""
    pinned = [anchors] if isinstance(anchors, Ed25519PublicKey) else list(anchors)
    trust_list, document = parse_trust_list(data)
    signature = document["signature"]
    if signature.get("alg") != "Ed25519":
        raise TrustListError(f"signature algorithm {signature.get('alg')!r} is not Ed25519")
    value = _b64(signature.get("value"), "signature value")
    message = SIGNATURE_CONTEXT + canonical_json(document["trust_list"])
    for anchor in pinned:
        try:
            anchor.verify(value, message)
        except InvalidSignature:
            continue
        break
    else:
        raise TrustListError("the trust list's signature does not verify under the pinned anchor")
    if minimum_version is not None and trust_list.version < minimum_version:
        raise TrustListError(
            f"trust list version {trust_list.version} is older than the held version "
            f"{minimum_version}"
        )
    return trust_list


def load_anchor_public_key(data: bytes) -> Ed25519PublicKey:
    """An anchor public key from PEM, DER (SPKI) or 32 raw bytes (TrustListError otherwise)."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key: Any = serialization.load_pem_public_key(data)
        elif len(data) == 32:
            key = Ed25519PublicKey.from_public_bytes(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, TypeError) as exc:
        raise TrustListError(f"unreadable anchor key: {' '.join(str(exc).split())}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise TrustListError("the anchor key is not an Ed25519 public key")
    return key


def load_anchor_private_key(data: bytes) -> Ed25519PrivateKey:
    """An anchor private key from PKCS#8 PEM (TrustListError otherwise)."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise TrustListError(f"unreadable anchor key: {' '.join(str(exc).split())}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TrustListError("the anchor key is not an Ed25519 private key")
    return key


class TrustListCache:
    """The verifier's copy of the newest trust list it accepted (a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def current(self, anchors: Ed25519PublicKey | Sequence[Ed25519PublicKey]) -> TrustList | None:
        """The cached list, re-verified (None when there is none)."""
        if not self.path.is_file():
            return None
        return verify_trust_list(self.path.read_bytes(), anchors)

    def update(
        self, data: bytes, anchors: Ed25519PublicKey | Sequence[Ed25519PublicKey]
    ) -> TrustList:
        """Accept a newer (or the same) list; refuse one older than, or conflicting with, ours."""
        held = self.current(anchors)
        candidate = verify_trust_list(
            data, anchors, minimum_version=None if held is None else held.version
        )
        if held is not None and candidate.version == held.version:
            if canonical_json(candidate.to_json()) != canonical_json(held.to_json()):
                raise TrustListError(
                    f"trust list version {candidate.version} differs from the held one"
                )
            return held
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.path)
        return candidate


# -- the verifier's index -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key a verifier accepts, with the limits it comes with."""

    kid: bytes
    public_key: PublicKeyTypes
    source: str
    """``trust-list`` or ``dsc`` (an EU DCC Document Signer Certificate)."""
    issuer: str | None = None
    """Region (trust list) or country (DSC) the key belongs to."""
    not_before: datetime | None = None
    not_after: datetime | None = None
    uses: frozenset[str] | None = None
    """Allowed zhikong uses (trust list); None means not limited."""
    key_usages: frozenset[str] | None = None
    """Extended key usage OIDs of a DSC."""
    revoked: bool = False
    retired_at: datetime | None = None

    @classmethod
    def from_entry(cls, entry: TrustEntry) -> TrustedKey:
        """The trusted key of a trust-list entry."""
        if entry.certificate is not None:
            try:
                public_key: PublicKeyTypes = load_certificate(entry.certificate).public_key
            except CertificateError as exc:
                raise TrustListError(f"key {entry.kid.hex()}: {exc}") from None
        else:
            assert entry.spki is not None
            try:
                public_key = serialization.load_der_public_key(entry.spki)
            except (ValueError, TypeError) as exc:
                raise TrustListError(f"key {entry.kid.hex()}: unreadable spki: {exc}") from None
        return cls(
            kid=entry.kid,
            public_key=public_key,
            source="trust-list",
            issuer=entry.region,
            not_before=entry.not_before,
            not_after=entry.not_after,
            uses=frozenset(entry.uses),
            revoked=entry.revoked,
            retired_at=entry.retired_at,
        )

    @classmethod
    def from_certificate(cls, certificate: SignerCertificate) -> TrustedKey:
        """The trusted key of a DSC."""
        return cls(
            kid=certificate.kid,
            public_key=certificate.public_key,
            source="dsc",
            issuer=certificate.country,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            key_usages=certificate.key_usages,
        )


@dataclass
class Trust:
    """Every key a verifier trusts, indexed by ``kid`` (several keys may share one)."""

    keys: dict[bytes, list[TrustedKey]] = field(default_factory=dict)

    def add(self, key: TrustedKey) -> None:
        """Trust one more key."""
        self.keys.setdefault(key.kid, []).append(key)

    def add_trust_list(self, trust_list: TrustList) -> None:
        """Trust the keys of a verified trust list."""
        for entry in trust_list.entries:
            self.add(TrustedKey.from_entry(entry))

    def add_certificate(self, data: bytes | str) -> TrustedKey:
        """Trust the key of a DSC (DER, PEM or base64; CertificateError when unreadable)."""
        key = TrustedKey.from_certificate(load_certificate(data))
        self.add(key)
        return key

    def candidates(self, kid: bytes | None) -> Sequence[TrustedKey]:
        """The keys with this kid."""
        if kid is None:
            return ()
        return self.keys.get(kid, ())

    def __len__(self) -> int:
        return sum(len(items) for items in self.keys.values())

    @classmethod
    def of(
        cls,
        trust_lists: Iterable[TrustList] = (),
        certificates: Iterable[bytes | str] = (),
    ) -> Trust:
        """Trust built from verified trust lists and DSCs."""
        trust = cls()
        for trust_list in trust_lists:
            trust.add_trust_list(trust_list)
        for certificate in certificates:
            trust.add_certificate(certificate)
        return trust
