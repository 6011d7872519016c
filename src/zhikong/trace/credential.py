"""Venue credentials (signed 场所码) and resolving a scanned health code to a resident.

A venue code reuses the credential pipeline of docs/credential.md (CWT → COSE_Sign1 ES256 →
zlib → Base45 → ``ZK1:``) with ``kind = "venue"`` in the zhikong claims map and venue claims
under keys 10–15 (docs/tracing.md §2). Health-code verifiers refuse it (unknown kind), and
venue verifiers refuse health codes. Keys sign venue codes only if their ``uses`` include
``venue``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zhikong.credential.claims import CLAIM_ZHIKONG, ZHIKONG_PREFIX, ClaimsError, open_subject
from zhikong.credential.codec import (
    ALG_ES256,
    CWT_EXP,
    CWT_IAT,
    CWT_ISS,
    HEADER_ALG,
    HEADER_KID,
    DecodeFailure,
    decode_text,
    encode_cose_sign1,
    encode_cwt,
    encode_protected_header,
    encode_text,
    sig_structure,
)
from zhikong.credential.keys import (
    FileSigningKeyStore,
    KeyState,
    MintError,
    Signer,
    SigningKeyError,
    region_covers,
)
from zhikong.credential.trust import Trust, TrustedKey, TrustEntry
from zhikong.credential.verify import verify, verify_signature
from zhikong.keys import PII_AEAD, FileKeyStore, KeyDirectoryError, KeyStore

VENUE_KIND: Final = "venue"
KEY_VENUE_ID: Final = 10
KEY_VENUE_NAME: Final = 11
KEY_VENUE_TYPE: Final = 12
KEY_VENUE_REGION: Final = 13
KEY_VENUE_LON: Final = 14
KEY_VENUE_LAT: Final = 15
VENUE_VALIDITY: Final = timedelta(days=366)
SIGNERS_DIR: Final = "issuers"  # shared with zhikong.credential.issuer
CREDENTIAL_SUBJECT: Final = "credential-subject"
_SUBJECT_INFO: Final = b"zhikong-credential-subject-v1"


class ScanCodeError(ValueError):
    """A scanned code that cannot be used (unverifiable, wrong kind, unknown person)."""


@dataclass(frozen=True)
class VenueClaims:
    """What a venue code says."""

    issuer: str
    issued_at: datetime
    expires_at: datetime
    venue_id: int
    name: str
    venue_type: str
    region_code: str
    lon: float
    lat: float

    def to_cwt(self) -> dict[int, Any]:
        """The CWT claims map, as signed."""
        return {
            CWT_ISS: self.issuer,
            CWT_IAT: int(self.issued_at.timestamp()),
            CWT_EXP: int(self.expires_at.timestamp()),
            CLAIM_ZHIKONG: {
                1: 1,
                6: VENUE_KIND,
                KEY_VENUE_ID: self.venue_id,
                KEY_VENUE_NAME: self.name,
                KEY_VENUE_TYPE: self.venue_type,
                KEY_VENUE_REGION: self.region_code,
                KEY_VENUE_LON: round(self.lon * 1_000_000),
                KEY_VENUE_LAT: round(self.lat * 1_000_000),
            },
        }

    @classmethod
    def from_cwt(cls, claims: Mapping[Any, Any]) -> VenueClaims:
        """Read a decoded claims map (ClaimsError when it is not a venue code)."""
        zk = claims.get(CLAIM_ZHIKONG)
        if not isinstance(zk, Mapping) or zk.get(1) != 1 or zk.get(6) != VENUE_KIND:
            raise ClaimsError("not a venue code")
        try:
            return cls(
                issuer=str(claims[CWT_ISS]),
                issued_at=datetime.fromtimestamp(int(claims[CWT_IAT]), UTC),
                expires_at=datetime.fromtimestamp(int(claims[CWT_EXP]), UTC),
                venue_id=int(zk[KEY_VENUE_ID]),
                name=str(zk[KEY_VENUE_NAME]),
                venue_type=str(zk[KEY_VENUE_TYPE]),
                region_code=str(zk[KEY_VENUE_REGION]),
                lon=int(zk[KEY_VENUE_LON]) / 1_000_000,
                lat=int(zk[KEY_VENUE_LAT]) / 1_000_000,
            )
        except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise ClaimsError(f"venue claims are malformed: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "iss": self.issuer,
            "iat": self.issued_at.isoformat(),
            "exp": self.expires_at.isoformat(),
            "venue_id": self.venue_id,
            "name": self.name,
            "venue_type": self.venue_type,
            "region_code": self.region_code,
            "lon": self.lon,
            "lat": self.lat,
        }


def mint_venue(claims: VenueClaims, signer: Signer, now: datetime) -> str:
    """Sign venue claims into a ``ZK1:`` text, checking the key may sign venue codes."""
    info = signer.info
    if info.state is not KeyState.ACTIVE:
        raise MintError(f"key {info.region} v{info.version} is {info.state.value}; it never signs")
    if not info.not_before <= now <= info.not_after:
        raise MintError(f"key {info.region} v{info.version} is not valid at {now.isoformat()}")
    if VENUE_KIND not in info.uses:
        raise MintError(f"key {info.region} v{info.version} may not sign venue codes")
    if not region_covers(info.region, claims.issuer):
        raise MintError(f"key of region {info.region} may not sign for {claims.issuer}")
    protected = encode_protected_header({HEADER_ALG: ALG_ES256, HEADER_KID: info.kid})
    payload = encode_cwt(claims.to_cwt())
    signature = signer.sign(sig_structure(protected, payload))
    return encode_text(ZHIKONG_PREFIX, encode_cose_sign1(protected, {}, payload, signature))


def verify_venue(text: str, trust: Trust, at: datetime) -> VenueClaims:
    """The claims of a venue code that verifies at `at` (ScanCodeError otherwise)."""
    decoded = decode_text(text, (ZHIKONG_PREFIX,))
    if isinstance(decoded, DecodeFailure):
        raise ScanCodeError(f"无法解码的场所码 · undecodable venue code: {decoded}")
    try:
        claims = VenueClaims.from_cwt(decoded.claims)
    except ClaimsError as exc:
        raise ScanCodeError(f"不是场所码 · not a venue code: {exc}") from None
    cose = decoded.cose
    matched: TrustedKey | None = None
    for candidate in trust.candidates(cose.kid):
        if verify_signature(cose.alg, candidate.public_key, cose.to_be_signed(), cose.signature):
            matched = candidate
            break
    if matched is None or matched.revoked:
        raise ScanCodeError("场所码签名无效 · venue code signature does not verify")
    if matched.uses is not None and VENUE_KIND not in matched.uses:
        raise ScanCodeError("该密钥不能签发场所码 · key may not sign venue codes")
    if matched.issuer is not None and not region_covers(matched.issuer, claims.issuer):
        raise ScanCodeError("场所码签发地区不符 · key may not sign for this region")
    if not claims.issued_at <= at <= claims.expires_at:
        raise ScanCodeError("场所码不在有效期内 · venue code not valid at the scan time")
    return claims


@dataclass(frozen=True)
class TraceCredentials:
    """What tracing needs from the credential layer: trust, subject keys, a venue signer."""

    trust: Trust
    subject_keys: Mapping[int, bytes]
    signers: FileSigningKeyStore | None = None

    def resident_of(self, code_text: str, at: datetime) -> tuple[int, str]:
        """The resident id and colour of a scanned health code valid at `at` (issuer side)."""
        result = verify(code_text, self.trust, at)
        if not result.valid or result.kind != "zhikong" or result.payload is None:
            raise ScanCodeError(f"无法验证的健康码 · unverifiable code: {result.error}")
        subject = base64.urlsafe_b64decode(str(result.payload["subject"]) + "==")
        try:
            reference = open_subject(
                subject, self.subject_keys, issuer=str(result.payload["iss"])
            ).decode("utf-8", "replace")
        except ClaimsError as exc:
            raise ScanCodeError(f"健康码主体无法识别 · subject not ours: {exc}") from None
        number = reference.removeprefix("resident:")
        if not number.isdigit():
            raise ScanCodeError("健康码主体无法识别 · subject is not a resident reference")
        return int(number), str(result.payload["colour"])

    def venue_signer(self, region: str) -> Signer:
        """An active key that may sign venue codes for a region (MintError when none)."""
        if self.signers is None:
            raise MintError("no credential signing keys; run the demo or create them")
        for info in reversed(self.signers.keys()):
            if (
                info.state is KeyState.ACTIVE
                and VENUE_KIND in info.uses
                and region_covers(info.region, region)
            ):
                return self.signers.signer(info.region, info.version)
        raise MintError(f"no active key may sign venue codes for {region}")


def subject_keys(keys: KeyStore) -> dict[int, bytes]:
    """The issuer's subject-sealing keys (the key directory's ``credential-subject`` versions).

    A key directory without that purpose (older installations) falls back to keys derived
    with HKDF-SHA256 from each personal-data key version.
    """
    try:
        current = keys.current_version(CREDENTIAL_SUBJECT)
        return {v: keys.secret(CREDENTIAL_SUBJECT, v) for v in range(1, current + 1)}
    except (KeyDirectoryError, KeyError, ValueError):
        pass
    result: dict[int, bytes] = {}
    for version in range(1, keys.current_version(PII_AEAD) + 1):
        secret = keys.secret(PII_AEAD, version)
        result[version] = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=_SUBJECT_INFO
        ).derive(secret)
    return result


def signers_path(keys: KeyStore) -> Path | None:
    """Where the issuer's credential signing keys live (beside the key directory)."""
    if isinstance(keys, FileKeyStore):
        return keys.path / SIGNERS_DIR
    return None


def ensure_signers(keys: KeyStore, region: str, now: datetime) -> FileSigningKeyStore | None:
    """The issuer key store, with an active key for `region` that may sign venue codes."""
    path = signers_path(keys)
    if path is None:
        return None
    try:
        store = FileSigningKeyStore.load(path)
    except SigningKeyError:
        store = FileSigningKeyStore.init(path)
    if not any(k.state is KeyState.ACTIVE and VENUE_KIND in k.uses for k in store.keys(region)):
        store.create(
            region,
            at=now - timedelta(days=60),
            not_after=now + timedelta(days=3 * 366),
            uses=("screen", "paper", "venue"),
        )
    return store


def credentials_for(keys: KeyStore | None) -> TraceCredentials | None:
    """Tracing credentials of an installation (None without a key directory)."""
    if keys is None:
        return None
    store: FileSigningKeyStore | None = None
    path = signers_path(keys)
    if path is not None:
        try:
            store = FileSigningKeyStore.load(path)
        except SigningKeyError:
            store = None
    trust = Trust()
    if store is not None:
        for info in store.keys(None):
            trust.add(TrustedKey.from_entry(TrustEntry.from_signer(info)))
    return TraceCredentials(trust=trust, subject_keys=subject_keys(keys), signers=store)
