"""Issuer signing keys (ES256, ECDSA P-256) per region, their life cycle, and minting.

Each issuer region has numbered key versions. A key is ``active`` (signs new credentials),
``retired`` (never signs again; codes it signed keep verifying until the key's own validity
ends) or ``revoked`` (every code it signed is refused). ``kid`` is the first 8 bytes of the
SHA-256 of the key's SubjectPublicKeyInfo (DER), or of its X.509 certificate when it has one.

:class:`SigningKeyStore` is the interface a KMS or HSM could implement; :class:`FileSigningKeyStore`
keeps PKCS#8 PEM private keys (mode 600) and a metadata file in a directory only its owner
can open (mode 700), in the style of :mod:`zhikong.keys`.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from zhikong.credential.claims import ZHIKONG_PREFIX, CodeClaims
from zhikong.credential.codec import (
    ALG_ES256,
    HEADER_ALG,
    HEADER_KID,
    encode_cose_sign1,
    encode_cwt,
    encode_protected_header,
    encode_text,
    sig_structure,
)
from zhikong.keys import exposed_directory

__all__ = [
    "USES",
    "FileSigningKeyStore",
    "KeyState",
    "LocalSigner",
    "MintError",
    "Signer",
    "SignerKeyInfo",
    "SigningKeyError",
    "SigningKeyStore",
    "kid_of",
    "mint",
    "region_covers",
]

USES: Final = ("screen", "paper", "venue")
"""What an issuer key may sign: on-screen codes, paper codes, venue codes."""
METADATA_FILE: Final = "signers.json"
_README: Final = """zhikong credential signing keys — 健康码签名密钥

ES256 private keys of this issuer, one file per region and version. Never commit them, never
copy them into the database; back them up encrypted and separately. Publish only public keys,
through a signed trust list (zhikong trust sign). See docs/credential.md.
"""


class SigningKeyError(Exception):
    """A signing key or key directory that is missing, malformed, unsafe or misused."""


class MintError(ValueError):
    """Claims that this signer may not sign now."""


class KeyState(StrEnum):
    """Life-cycle state of an issuer key."""

    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"


def kid_of(der: bytes) -> bytes:
    """The key identifier: the first 8 bytes of SHA-256 of a certificate or SPKI (DER)."""
    return hashlib.sha256(der).digest()[:8]


def region_covers(key_region: str, issuer: str) -> bool:
    """Whether a key of one GB/T 2260 region may sign for an issuer region.

    A key covers its own region and, for a province (``xx0000``) or a city (``xxxx00``), the
    regions below it.
    """
    if key_region == issuer:
        return True
    if len(key_region) != 6 or len(issuer) != 6:
        return False
    if key_region.endswith("0000"):
        return issuer.startswith(key_region[:2])
    if key_region.endswith("00"):
        return issuer.startswith(key_region[:4])
    return False


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).isoformat()


def _parse(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class SignerKeyInfo:
    """Public facts about one issuer key version (never the private key)."""

    region: str
    version: int
    kid: bytes
    state: KeyState
    public_key_der: bytes
    """SubjectPublicKeyInfo, DER."""
    created_at: datetime
    not_before: datetime
    not_after: datetime
    uses: tuple[str, ...]
    retired_at: datetime | None = None
    revoked_at: datetime | None = None
    certificate_der: bytes | None = None

    @classmethod
    def of_public_key(
        cls,
        public_key: ec.EllipticCurvePublicKey,
        *,
        region: str,
        version: int,
        not_before: datetime,
        not_after: datetime,
        uses: Sequence[str] = ("screen", "paper"),
        state: KeyState = KeyState.ACTIVE,
        retired_at: datetime | None = None,
        revoked_at: datetime | None = None,
    ) -> SignerKeyInfo:
        """Facts about a key held elsewhere (a KMS/HSM, or tests); kid from its SPKI."""
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(
            region=region,
            version=version,
            kid=kid_of(spki),
            state=state,
            public_key_der=spki,
            created_at=not_before,
            not_before=not_before,
            not_after=not_after,
            uses=_check_uses(uses),
            retired_at=retired_at,
            revoked_at=revoked_at,
        )

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public key."""
        key = serialization.load_der_public_key(self.public_key_der)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise SigningKeyError(f"{self.region} v{self.version} is not an EC key")
        return key

    def to_json(self) -> dict[str, Any]:
        """Metadata as stored in the key directory."""
        import base64

        return {
            "region": self.region,
            "version": self.version,
            "kid": self.kid.hex(),
            "state": self.state.value,
            "spki": base64.b64encode(self.public_key_der).decode("ascii"),
            "certificate": (
                None
                if self.certificate_der is None
                else base64.b64encode(self.certificate_der).decode("ascii")
            ),
            "created_at": _iso(self.created_at),
            "not_before": _iso(self.not_before),
            "not_after": _iso(self.not_after),
            "uses": list(self.uses),
            "retired_at": _iso(self.retired_at),
            "revoked_at": _iso(self.revoked_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignerKeyInfo:
        """Read stored metadata."""
        import base64

        certificate = data.get("certificate")
        created = _parse(data["created_at"])
        not_before = _parse(data["not_before"])
        not_after = _parse(data["not_after"])
        if created is None or not_before is None or not_after is None:
            raise SigningKeyError("key metadata lacks a time")
        return cls(
            region=str(data["region"]),
            version=int(data["version"]),
            kid=bytes.fromhex(data["kid"]),
            state=KeyState(data["state"]),
            public_key_der=base64.b64decode(data["spki"]),
            certificate_der=None if certificate is None else base64.b64decode(certificate),
            created_at=created,
            not_before=not_before,
            not_after=not_after,
            uses=tuple(data["uses"]),
            retired_at=_parse(data.get("retired_at")),
            revoked_at=_parse(data.get("revoked_at")),
        )


class Signer(Protocol):
    """Something that signs with one issuer key: a local key, or a KMS/HSM handle."""

    @property
    def info(self) -> SignerKeyInfo:
        """The key's public facts."""
        ...

    def sign(self, data: bytes) -> bytes:
        """An ES256 signature of ``data``: r ‖ s, 32 bytes each (COSE form, not DER)."""
        ...


class LocalSigner:
    """A signer holding its private key in memory (RFC 6979 nonces when ``deterministic``)."""

    def __init__(
        self,
        info: SignerKeyInfo,
        private_key: ec.EllipticCurvePrivateKey,
        *,
        deterministic: bool = False,
    ) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise SigningKeyError("ES256 needs a P-256 key")
        self._info = info
        self._key = private_key
        self._algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)

    @property
    def info(self) -> SignerKeyInfo:
        """The key's public facts."""
        return self._info

    def sign(self, data: bytes) -> bytes:
        """An ES256 signature of ``data``: r ‖ s, 32 bytes each."""
        r, s = decode_dss_signature(self._key.sign(data, self._algorithm))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class SigningKeyStore(Protocol):
    """Where issuer keys live: the file directory, or a KMS/HSM implementing the same calls."""

    def create(
        self,
        region: str,
        *,
        at: datetime,
        not_after: datetime,
        uses: Sequence[str] = ("screen", "paper"),
    ) -> SignerKeyInfo:
        """Generate a new active key version for a region."""
        ...

    def keys(self, region: str | None = None) -> list[SignerKeyInfo]:
        """Every key version (of one region, or all), oldest first."""
        ...

    def signer(self, region: str, version: int | None = None) -> Signer:
        """A signer for a region's active key (the newest active one when no version is given)."""
        ...

    def retire(self, region: str, version: int, *, at: datetime) -> SignerKeyInfo:
        """Stop a key from signing; its codes keep verifying until its validity ends."""
        ...

    def revoke(self, region: str, version: int, *, at: datetime) -> SignerKeyInfo:
        """Revoke a key: every code it signed is to be refused."""
        ...


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def _check_uses(uses: Iterable[str]) -> tuple[str, ...]:
    result = tuple(dict.fromkeys(uses))
    unknown = [use for use in result if use not in USES]
    if unknown or not result:
        raise SigningKeyError(f"uses must be some of {', '.join(USES)}; got {list(result)}")
    return result


class FileSigningKeyStore:
    """Issuer keys as PEM files in a directory only its owner can open."""

    def __init__(self, path: Path, entries: list[SignerKeyInfo], files: dict[str, str]) -> None:
        self.path = path
        self._entries = entries
        self._files = files
        self._cache: dict[tuple[str, int], ec.EllipticCurvePrivateKey] = {}

    @classmethod
    def init(cls, path: Path) -> FileSigningKeyStore:
        """Create an empty key directory (mode 700)."""
        if path.exists() and any(path.iterdir()):
            raise SigningKeyError(f"key directory {path} already exists and is not empty")
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
        (path / "README.txt").write_text(_README, encoding="utf-8")
        store = cls(path, [], {})
        store._save()
        return store

    @classmethod
    def load(cls, path: Path) -> FileSigningKeyStore:
        """Open an existing key directory, refusing one that others can open."""
        meta = path / METADATA_FILE
        if not meta.is_file():
            raise SigningKeyError(f"no signing-key directory at {path}")
        exposed = exposed_directory(path)
        if exposed is not None:
            raise SigningKeyError(exposed)
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            entries = [SignerKeyInfo.from_json(item) for item in data["keys"]]
            files = {f"{item['region']}.v{item['version']}": item["file"] for item in data["keys"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"{meta} is unreadable: {exc}") from exc
        return cls(path, entries, files)

    def _save(self) -> None:
        records = []
        for info in self._entries:
            record = info.to_json()
            record["file"] = self._files[f"{info.region}.v{info.version}"]
            records.append(record)
        payload = json.dumps({"format": 1, "keys": records}, indent=2, sort_keys=True).encode()
        temporary = self.path / (METADATA_FILE + ".tmp")
        temporary.unlink(missing_ok=True)
        _write_private(temporary, payload)
        temporary.replace(self.path / METADATA_FILE)

    def _find(self, region: str, version: int) -> int:
        for index, info in enumerate(self._entries):
            if info.region == region and info.version == version:
                return index
        raise SigningKeyError(f"no key version {version} for region {region}")

    def create(
        self,
        region: str,
        *,
        at: datetime,
        not_after: datetime,
        uses: Sequence[str] = ("screen", "paper"),
        private_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> SignerKeyInfo:
        """Generate (or import) a new active key version for a region."""
        if len(region) != 6 or not region.isdigit():
            raise SigningKeyError(f"region {region!r} is not a GB/T 2260 code")
        if at.tzinfo is None or not_after.tzinfo is None or not_after <= at:
            raise SigningKeyError("the key needs timezone-aware times, not_after after now")
        key = private_key or ec.generate_private_key(ec.SECP256R1())
        if not isinstance(key.curve, ec.SECP256R1):
            raise SigningKeyError("ES256 needs a P-256 key")
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        version = max((e.version for e in self._entries if e.region == region), default=0) + 1
        name = f"{region}.v{version}.pem"
        _write_private(
            self.path / name,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        info = SignerKeyInfo(
            region=region,
            version=version,
            kid=kid_of(spki),
            state=KeyState.ACTIVE,
            public_key_der=spki,
            created_at=at,
            not_before=at,
            not_after=not_after,
            uses=_check_uses(uses),
        )
        self._entries.append(info)
        self._files[f"{region}.v{version}"] = name
        self._save()
        return info

    def keys(self, region: str | None = None) -> list[SignerKeyInfo]:
        """Every key version (of one region, or all), oldest first."""
        chosen = [e for e in self._entries if region is None or e.region == region]
        return sorted(chosen, key=lambda e: (e.region, e.version))

    def _private(self, info: SignerKeyInfo) -> ec.EllipticCurvePrivateKey:
        cache_key = (info.region, info.version)
        if cache_key not in self._cache:
            path = self.path / self._files[f"{info.region}.v{info.version}"]
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise SigningKeyError(f"{path} is readable by others (mode {mode:o})")
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise SigningKeyError(f"{path} is not an EC private key")
            self._cache[cache_key] = loaded
        return self._cache[cache_key]

    def signer(self, region: str, version: int | None = None) -> LocalSigner:
        """A signer for a region's active key (the newest active one when no version is given)."""
        if version is None:
            active = [e for e in self.keys(region) if e.state is KeyState.ACTIVE]
            if not active:
                raise SigningKeyError(f"region {region} has no active signing key")
            info = active[-1]
        else:
            info = self._entries[self._find(region, version)]
            if info.state is not KeyState.ACTIVE:
                raise SigningKeyError(f"{region} v{version} is {info.state.value}; it never signs")
        return LocalSigner(info, self._private(info))

    def _change(self, region: str, version: int, **changes: Any) -> SignerKeyInfo:
        index = self._find(region, version)
        updated = replace(self._entries[index], **changes)
        self._entries[index] = updated
        self._save()
        return updated

    def retire(self, region: str, version: int, *, at: datetime) -> SignerKeyInfo:
        """Stop a key from signing; its codes keep verifying until its validity ends."""
        info = self._entries[self._find(region, version)]
        if info.state is not KeyState.ACTIVE:
            raise SigningKeyError(f"{region} v{version} is already {info.state.value}")
        return self._change(region, version, state=KeyState.RETIRED, retired_at=at)

    def revoke(self, region: str, version: int, *, at: datetime) -> SignerKeyInfo:
        """Revoke a key: every code it signed is to be refused."""
        info = self._entries[self._find(region, version)]
        if info.state is KeyState.REVOKED:
            raise SigningKeyError(f"{region} v{version} is already revoked")
        return self._change(region, version, state=KeyState.REVOKED, revoked_at=at)


def mint(claims: CodeClaims, signer: Signer, now: datetime) -> str:
    """Sign claims into a credential text (``ZK1:`` + Base45), checking the key may sign them."""
    info = signer.info
    if info.state is not KeyState.ACTIVE:
        raise MintError(f"key {info.region} v{info.version} is {info.state.value}; it never signs")
    if not info.not_before <= now <= info.not_after:
        raise MintError(f"key {info.region} v{info.version} is not valid at {now.isoformat()}")
    if claims.kind.value not in info.uses:
        raise MintError(f"key {info.region} v{info.version} may not sign {claims.kind.value} codes")
    if not region_covers(info.region, claims.issuer):
        raise MintError(f"key of region {info.region} may not sign for {claims.issuer}")
    if claims.issued_at < info.not_before or claims.expires_at > info.not_after:
        raise MintError("the credential's validity must lie within the key's validity")
    protected = encode_protected_header({HEADER_ALG: ALG_ES256, HEADER_KID: info.kid})
    payload = encode_cwt(claims.to_cwt())
    signature = signer.sign(sig_structure(protected, payload))
    return encode_text(ZHIKONG_PREFIX, encode_cose_sign1(protected, {}, payload, signature))
