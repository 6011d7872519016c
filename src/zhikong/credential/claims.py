"""The claims of a zhikong health-code credential and the sealed subject reference (pure).

A zhikong credential is a CBOR Web Token (RFC 8392) with the registered claims ``iss`` (1, the
issuer's GB/T 2260 region code), ``exp`` (4) and ``iat`` (6), and one private-use claim,
:data:`CLAIM_ZHIKONG` (-65537), holding a map with integer keys:

====  ==================  ======  =====================================================
key   name                type    meaning
====  ==================  ======  =====================================================
1     format              uint    1 (this version)
2     colour              tstr    ``green``, ``yellow``, ``orange`` or ``red``
3     masked_name         tstr    the holder's masked name, e.g. ``张*``
4     profile_id          tstr    colour profile (rule document) id
5     profile_version     tstr    its version
6     kind                tstr    ``screen`` (short-lived, on a phone) or ``paper`` (printed)
7     subject             bstr    the sealed subject reference (see below)
====  ==================  ======  =====================================================

CWT claim keys below -65536 are reserved for private use (RFC 8392 §9.1); zhikong uses
-65537 and keeps -65537 … -65599 for itself. Unknown keys inside the map are ignored, so that
later minor versions can add claims.

The subject reference lets only the issuer find the person again: it is the issuer's internal
resident reference, padded to 48 bytes and encrypted with AES-256-GCM under an issuer-held
key with a fresh random 96-bit nonce per code, so that two codes of one person share no bytes a
checkpoint could link. Layout: ``0x01 ‖ key version (uint16, big-endian) ‖ nonce (12) ‖
ciphertext (48) ‖ tag (16)`` = 79 bytes; the associated data is ``"zhikong-subject-v1:" ‖
iss``. Nothing here reads the clock or a key store: times and keys are parameters.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhikong.credential.codec import CWT_EXP, CWT_IAT, CWT_ISS

__all__ = [
    "CLAIMS_FORMAT",
    "CLAIM_ZHIKONG",
    "MAX_VALIDITY",
    "SUBJECT_KEY_BYTES",
    "SUBJECT_REFERENCE_MAX_BYTES",
    "SUBJECT_SEALED_BYTES",
    "ZHIKONG_PREFIX",
    "ClaimsError",
    "CodeClaims",
    "Colour",
    "Kind",
    "build_claims",
    "default_validity",
    "open_subject",
    "seal_subject",
]

ZHIKONG_PREFIX: Final = "ZK1:"
"""Context identifier of zhikong credential texts (QR alphanumeric characters only)."""
CLAIM_ZHIKONG: Final = -65537
"""The private-use CWT claim that carries the zhikong claims map."""
CLAIMS_FORMAT: Final = 1

KEY_FORMAT: Final = 1
KEY_COLOUR: Final = 2
KEY_MASKED_NAME: Final = 3
KEY_PROFILE_ID: Final = 4
KEY_PROFILE_VERSION: Final = 5
KEY_KIND: Final = 6
KEY_SUBJECT: Final = 7

SUBJECT_KEY_BYTES: Final = 32
SUBJECT_PLAINTEXT_BYTES: Final = 48
SUBJECT_REFERENCE_MAX_BYTES: Final = SUBJECT_PLAINTEXT_BYTES - 1
SUBJECT_SEALED_BYTES: Final = 1 + 2 + 12 + SUBJECT_PLAINTEXT_BYTES + 16
_SUBJECT_FORMAT: Final = 1
_SUBJECT_AAD: Final = b"zhikong-subject-v1:"

_REGION = re.compile(r"\d{6}")
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_TEXT = 64


class Colour(StrEnum):
    """The colour of a health code."""

    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class Kind(StrEnum):
    """What a credential is for: shown on a phone, or printed for someone without one."""

    SCREEN = "screen"
    PAPER = "paper"


_COLOURS: Final = frozenset(colour.value for colour in Colour)
_KINDS: Final = frozenset(kind.value for kind in Kind)
MAX_VALIDITY: Final = {Kind.SCREEN: timedelta(hours=1), Kind.PAPER: timedelta(days=31)}
"""Longest validity a credential of each kind may have."""
_DEFAULT_VALIDITY: Final = {Kind.SCREEN: timedelta(minutes=5), Kind.PAPER: timedelta(days=7)}


def default_validity(kind: Kind) -> timedelta:
    """The validity given to a credential of this kind when none is asked for."""
    return _DEFAULT_VALIDITY[kind]


class ClaimsError(ValueError):
    """Claims that do not follow the zhikong credential format."""


def _seconds(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ClaimsError("times must be timezone-aware")
    return int(instant.timestamp())


def _instant(value: Any, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimsError(f"{name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError):
        raise ClaimsError(f"{name} is out of range") from None


def _utc_text(instant: datetime) -> str:
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    return instant.isoformat()[:19] + "Z"


def _text(value: Any, name: str) -> str:
    if type(value) is not str or not value or len(value) > _MAX_TEXT:
        raise ClaimsError(f"{name} must be text of 1 to {_MAX_TEXT} characters")
    return value


@dataclass(frozen=True, slots=True)
class CodeClaims:
    """What a zhikong credential says (times are whole seconds, UTC)."""

    issuer: str
    issued_at: datetime
    expires_at: datetime
    colour: Colour
    masked_name: str
    profile_id: str
    profile_version: str
    kind: Kind
    subject: bytes

    def __post_init__(self) -> None:
        if not _REGION.fullmatch(self.issuer) or self.issuer == "000000":
            raise ClaimsError(f"issuer {self.issuer!r} is not a GB/T 2260 region code")
        if self.issued_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ClaimsError("times must be timezone-aware")
        if self.expires_at <= self.issued_at:
            raise ClaimsError("expiry must be after issued-at")
        _text(self.masked_name, "masked_name")
        if not _PROFILE.fullmatch(self.profile_id):
            raise ClaimsError(f"profile id {self.profile_id!r} is not a rule id")
        _text(self.profile_version, "profile_version")
        if type(self.subject) is not bytes or len(self.subject) != SUBJECT_SEALED_BYTES:
            raise ClaimsError(f"subject must be a sealed reference of {SUBJECT_SEALED_BYTES} bytes")
        if self.subject[0] != _SUBJECT_FORMAT:
            raise ClaimsError(f"subject format {self.subject[0]} is not supported")

    @property
    def validity(self) -> timedelta:
        """How long the credential is valid."""
        return self.expires_at - self.issued_at

    def to_cwt(self) -> dict[int, Any]:
        """The CWT claims map (integer keys, as signed)."""
        return {
            CWT_ISS: self.issuer,
            CWT_IAT: _seconds(self.issued_at),
            CWT_EXP: _seconds(self.expires_at),
            CLAIM_ZHIKONG: {
                KEY_FORMAT: CLAIMS_FORMAT,
                KEY_COLOUR: self.colour.value,
                KEY_MASKED_NAME: self.masked_name,
                KEY_PROFILE_ID: self.profile_id,
                KEY_PROFILE_VERSION: self.profile_version,
                KEY_KIND: self.kind.value,
                KEY_SUBJECT: self.subject,
            },
        }

    @classmethod
    def from_cwt(cls, claims: Mapping[Any, Any]) -> CodeClaims:
        """Read and check a decoded CWT claims map (ClaimsError when it does not conform)."""
        zk = claims.get(CLAIM_ZHIKONG)
        if type(zk) is not dict and not isinstance(zk, Mapping):
            raise ClaimsError(f"claim {CLAIM_ZHIKONG} (zhikong) is missing or not a map")
        version = zk.get(KEY_FORMAT)
        if type(version) is not int or version != CLAIMS_FORMAT:
            raise ClaimsError(f"zhikong claims format {version!r} is not supported")
        issuer = claims.get(CWT_ISS)
        if not isinstance(issuer, str):
            raise ClaimsError("iss (1) is missing or not text")
        colour_value, kind_value = zk.get(KEY_COLOUR), zk.get(KEY_KIND)
        if colour_value not in _COLOURS:
            raise ClaimsError(f"colour {colour_value!r} is unknown")
        if kind_value not in _KINDS:
            raise ClaimsError(f"kind {kind_value!r} is unknown")
        colour, kind = Colour(colour_value), Kind(kind_value)
        subject = zk.get(KEY_SUBJECT)
        if not isinstance(subject, bytes):
            raise ClaimsError("subject (7) is missing or not a byte string")
        return cls(
            issuer=issuer,
            issued_at=_instant(claims.get(CWT_IAT), "iat (6)"),
            expires_at=_instant(claims.get(CWT_EXP), "exp (4)"),
            colour=colour,
            masked_name=_text(zk.get(KEY_MASKED_NAME), "masked_name (3)"),
            profile_id=_text(zk.get(KEY_PROFILE_ID), "profile_id (4)"),
            profile_version=_text(zk.get(KEY_PROFILE_VERSION), "profile_version (5)"),
            kind=kind,
            subject=subject,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (what a verifier shows; the subject stays sealed)."""
        return {
            "iss": self.issuer,
            "iat": _utc_text(self.issued_at),
            "exp": _utc_text(self.expires_at),
            "colour": self.colour.value,
            "masked_name": self.masked_name,
            "profile": {"id": self.profile_id, "version": self.profile_version},
            "kind": self.kind.value,
            "subject": base64.urlsafe_b64encode(self.subject).rstrip(b"=").decode("ascii"),
        }


# -- the sealed subject reference ---------------------------------------------------------------


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != SUBJECT_KEY_BYTES:
        raise ClaimsError(f"the subject key must be {SUBJECT_KEY_BYTES} bytes (AES-256)")


def seal_subject(
    reference: str | bytes,
    key: bytes,
    *,
    key_version: int,
    issuer: str,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt an internal resident reference for the subject claim (fresh nonce per call)."""
    _check_key(key)
    if not 0 <= key_version <= 0xFFFF:
        raise ClaimsError("the subject key version must fit in 16 bits")
    data = reference.encode("utf-8") if isinstance(reference, str) else bytes(reference)
    if not data or len(data) > SUBJECT_REFERENCE_MAX_BYTES:
        raise ClaimsError(f"the subject reference must be 1 to {SUBJECT_REFERENCE_MAX_BYTES} bytes")
    if nonce is None:
        nonce = os.urandom(12)
    if len(nonce) != 12:
        raise ClaimsError("the nonce must be 12 bytes")
    plaintext = bytes((len(data),)) + data + bytes(SUBJECT_PLAINTEXT_BYTES - 1 - len(data))
    header = bytes((_SUBJECT_FORMAT,)) + key_version.to_bytes(2, "big")
    sealed = AESGCM(key).encrypt(nonce, plaintext, _SUBJECT_AAD + issuer.encode("utf-8"))
    return header + nonce + sealed


def subject_key_version(sealed: bytes) -> int:
    """Which version of the issuer's subject key sealed this reference."""
    if len(sealed) != SUBJECT_SEALED_BYTES or sealed[0] != _SUBJECT_FORMAT:
        raise ClaimsError("not a sealed subject reference")
    return int.from_bytes(sealed[1:3], "big")


def open_subject(sealed: bytes, keys: Mapping[int, bytes], *, issuer: str) -> bytes:
    """Recover the internal resident reference (issuer side; ClaimsError when it fails)."""
    version = subject_key_version(sealed)
    key = keys.get(version)
    if key is None:
        raise ClaimsError(f"no subject key of version {version}")
    _check_key(key)
    try:
        plaintext = AESGCM(key).decrypt(
            sealed[3:15], sealed[15:], _SUBJECT_AAD + issuer.encode("utf-8")
        )
    except InvalidTag:
        raise ClaimsError("the subject reference does not open with this key") from None
    length = plaintext[0]
    if not 0 < length <= SUBJECT_REFERENCE_MAX_BYTES or any(plaintext[1 + length :]):
        raise ClaimsError("the subject reference is malformed")
    return plaintext[1 : 1 + length]


def build_claims(
    *,
    issuer: str,
    colour: Colour | str,
    masked_name: str,
    profile_id: str,
    profile_version: str,
    kind: Kind | str,
    subject_reference: str | bytes,
    subject_key: bytes,
    subject_key_version: int,
    now: datetime,
    validity: timedelta | None = None,
    nonce: bytes | None = None,
) -> CodeClaims:
    """The claims of a new credential issued at ``now`` (sealing the subject reference)."""
    kind = Kind(kind)
    span = default_validity(kind) if validity is None else validity
    if span <= timedelta(0) or span > MAX_VALIDITY[kind]:
        raise ClaimsError(f"a {kind.value} credential is valid for at most {MAX_VALIDITY[kind]}")
    issued = datetime.fromtimestamp(_seconds(now), UTC)
    return CodeClaims(
        issuer=issuer,
        issued_at=issued,
        expires_at=issued + span,
        colour=Colour(colour),
        masked_name=masked_name,
        profile_id=profile_id,
        profile_version=profile_version,
        kind=kind,
        subject=seal_subject(
            subject_reference,
            subject_key,
            key_version=subject_key_version,
            issuer=issuer,
            nonce=nonce,
        ),
    )
