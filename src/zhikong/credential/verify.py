"""The offline verifier: zhikong credentials (``ZK1:``) and EU DCCs (``HC1:``).

``verify(text, trust, at)`` never raises for any text and reports each check separately:

1. decode — prefix, Base45, zlib, COSE_Sign1 and the CWT claims (for a zhikong credential the
   claims must follow the format; for an EU DCC the hcert claim -260/1 must be a map);
2. signature — the ``kid`` (protected header, else unprotected) selects trusted keys; the
   signature must verify under one of them (ES256/ES384/ES512, PS256), the key must not be
   revoked and, for zhikong keys, must cover the issuer region;
3. key usage — a zhikong key must allow the credential's kind; a DSC's extended key usages
   must allow the DCC's type;
4. time — ``iat ≤ at ≤ exp``; with a matched key also ``not_before ≤ iat``, ``exp ≤ not_after``
   and, for a retired key, ``iat ≤ retired_at``;
5. schema — for an EU DCC, when schemas are given, the payload against the schema of its ``ver``.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from zhikong.credential.claims import ZHIKONG_PREFIX, ClaimsError, CodeClaims
from zhikong.credential.codec import (
    ALG_ES256,
    ALG_ES384,
    ALG_ES512,
    ALG_PS256,
    CWT_EXP,
    CWT_IAT,
    CWT_ISS,
    DecodeFailure,
    Stage,
    decode_text,
)
from zhikong.credential.dcc import (
    DCC_PREFIX,
    DccSchemas,
    hcert_payload,
    key_usage_allows,
    plain_json,
)
from zhikong.credential.keys import region_covers
from zhikong.credential.trust import Trust, TrustedKey

__all__ = [
    "KIND_EU_DCC",
    "KIND_ZHIKONG",
    "PREFIXES",
    "Verification",
    "parse_instant",
    "verify",
    "verify_signature",
]

KIND_ZHIKONG: Final = "zhikong"
KIND_EU_DCC: Final = "eu-dcc"
PREFIXES: Final = (ZHIKONG_PREFIX, DCC_PREFIX)
_KINDS: Final = {ZHIKONG_PREFIX: KIND_ZHIKONG, DCC_PREFIX: KIND_EU_DCC}
ALG_EDDSA: Final = -8
ALG_RS256: Final = -257
_ECDSA: Final = {
    ALG_ES256: ec.ECDSA(hashes.SHA256()),
    ALG_ES384: ec.ECDSA(hashes.SHA384()),
    ALG_ES512: ec.ECDSA(hashes.SHA512()),
}
_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


@dataclass(slots=True)
class Verification:
    """The verdict on one credential text; each check is None when it was not reached."""

    kind: str | None
    """``zhikong``, ``eu-dcc``, or None when the prefix is unknown."""
    decoded: bool
    signature_valid: bool | None
    time_valid: bool | None
    issuer: str | None = None
    kid: str | None = None
    """The key identifier, base64."""
    payload: dict[str, Any] | None = None
    error: str | None = None
    """The first failed check, one line (``stage: reason``), or None."""
    key_usage_valid: bool | None = None
    schema_valid: bool | None = None
    compressed: bool | None = None

    @property
    def valid(self) -> bool:
        """Whether every check that ran passed (the credential may be accepted)."""
        return bool(
            self.decoded
            and self.signature_valid
            and self.time_valid
            and self.key_usage_valid is not False
            and self.schema_valid is not False
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON object with every field."""
        return {
            "valid": self.valid,
            "kind": self.kind,
            "decoded": self.decoded,
            "signature_valid": self.signature_valid,
            "time_valid": self.time_valid,
            "key_usage_valid": self.key_usage_valid,
            "schema_valid": self.schema_valid,
            "issuer": self.issuer,
            "kid": self.kid,
            "compressed": self.compressed,
            "payload": self.payload,
            "error": self.error,
        }


# -- clocks ------------------------------------------------------------------------------------

_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant in any common spelling (no offset means UTC); ValueError otherwise."""
    match = _INSTANT.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an ISO-8601 time: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    zone: timezone = UTC
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if delta >= timedelta(hours=24):
            raise ValueError(f"offset out of range: {offset}")
        zone = timezone(sign * delta)
    instant = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=zone,
    )
    return instant.astimezone(UTC)


# -- signatures --------------------------------------------------------------------------------


def verify_signature(alg: Any, key: PublicKeyTypes, data: bytes, signature: bytes) -> bool:
    """Whether a COSE signature (``alg`` label) over ``data`` verifies under ``key``."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            scheme = _ECDSA.get(alg)
            half = len(signature) // 2
            # r ‖ s, each as long as the curve's order (64 bytes for P-256, 96 for P-384).
            if scheme is None or not half or len(signature) != 2 * half:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            )
            key.verify(der, data, scheme)
            return True
        if isinstance(key, rsa.RSAPublicKey):
            if alg == ALG_PS256:
                key.verify(signature, data, _PSS, hashes.SHA256())
                return True
            if alg == ALG_RS256:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
                return True
            return False
        if isinstance(key, Ed25519PublicKey) and alg == ALG_EDDSA:
            key.verify(signature, data)
            return True
    except (InvalidSignature, ValueError, TypeError):
        return False
    return False


# -- the verifier --------------------------------------------------------------------------


def _numeric_date(value: Any) -> float | None:
    """A NumericDate claim as POSIX seconds (None when it is not one)."""
    if type(value) is int:
        return value
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _text_time(seconds: float) -> str:
    try:
        return _iso(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_check(
    claims: Mapping[Any, Any], at: datetime, key: TrustedKey | None, leeway: timedelta
) -> tuple[bool, str | None]:
    issued = _numeric_date(claims.get(CWT_IAT))
    expires = _numeric_date(claims.get(CWT_EXP))
    if issued is None or expires is None:
        missing = "iat (6)" if issued is None else "exp (4)"
        return False, f"time: {missing} missing or not a NumericDate"
    now = at.timestamp()
    slack = leeway.total_seconds()
    if now + slack < issued:
        return False, f"time: not yet valid (issued at {_text_time(issued)})"
    if now - slack > expires:
        return False, f"time: expired at {_text_time(expires)}"
    if key is not None:
        if key.not_before is not None and issued < key.not_before.timestamp():
            return False, f"time: issued before its key's validity ({_iso(key.not_before)})"
        if key.not_after is not None and expires > key.not_after.timestamp():
            return False, f"time: expires after its key's validity ({_iso(key.not_after)})"
        if key.retired_at is not None and issued > key.retired_at.timestamp():
            return False, f"time: issued after its key was retired ({_iso(key.retired_at)})"
    return True, None


def verify(
    text: str,
    trust: Trust,
    at: datetime,
    *,
    schemas: DccSchemas | Path | None = None,
    leeway: timedelta = timedelta(0),
) -> Verification:
    """Verify a credential text offline against trusted keys at an instant.

    Never raises because of the text; a schema directory that cannot be read raises
    FileNotFoundError (pass a :class:`DccSchemas` to read it once for many texts).
    """
    if isinstance(schemas, Path):
        schemas = DccSchemas(schemas)
    try:
        return _verify(text, trust, at, schemas, leeway)
    except Exception as exc:  # defence in depth: a verifier must answer every input
        return Verification(
            kind=None,
            decoded=False,
            signature_valid=None,
            time_valid=None,
            error=f"internal: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}",
        )


def _verify(
    text: str, trust: Trust, at: datetime, schemas: DccSchemas | None, leeway: timedelta
) -> Verification:
    decoded = decode_text(text, PREFIXES)
    if isinstance(decoded, DecodeFailure):
        kind = None
        if decoded.stage is not Stage.PREFIX:
            kind = _KINDS.get(text.strip()[:4])
        return Verification(
            kind, False, None, None, error=str(decoded), compressed=decoded.compressed
        )
    kind = _KINDS[decoded.prefix]
    cose = decoded.cose
    claims = decoded.claims
    kid = cose.kid
    kid_text = base64.b64encode(kid).decode("ascii") if kid is not None else None
    issuer_claim = claims.get(CWT_ISS)
    issuer = issuer_claim if isinstance(issuer_claim, str) else None

    code: CodeClaims | None = None
    payload: Mapping[str, Any]
    if kind == KIND_ZHIKONG:
        try:
            code = CodeClaims.from_cwt(claims)
        except ClaimsError as exc:
            return _undecodable(kind, issuer, kid_text, decoded.compressed, f"cwt: {exc}")
        payload = {}
    else:
        found = hcert_payload(claims)
        if isinstance(found, str):
            return _undecodable(kind, issuer, kid_text, decoded.compressed, f"cwt: {found}")
        payload = found

    # signature
    errors: list[str] = []
    matched: TrustedKey | None = None
    candidates = trust.candidates(kid)
    if kid is None:
        errors.append("signature: no kid in the COSE headers")
    elif not candidates:
        errors.append(f"signature: no trusted key with kid {kid_text}")
    else:
        to_be_signed = cose.to_be_signed()
        for candidate in candidates:
            if verify_signature(cose.alg, candidate.public_key, to_be_signed, cose.signature):
                matched = candidate
                break
        if matched is None:
            errors.append(f"signature: does not verify under the key(s) with kid {kid_text}")
    signature_valid = matched is not None
    if matched is not None and matched.revoked:
        signature_valid = False
        errors.append(f"signature: key {kid_text} is revoked")
    if (
        matched is not None
        and code is not None
        and matched.source == "trust-list"
        and matched.issuer is not None
        and not region_covers(matched.issuer, code.issuer)
    ):
        signature_valid = False
        errors.append(f"signature: key of region {matched.issuer} may not sign for {code.issuer}")

    # key usage
    key_usage_valid: bool | None = None
    if matched is not None:
        if code is not None:
            key_usage_valid = matched.uses is None or code.kind.value in matched.uses
            if not key_usage_valid:
                errors.append(f"key usage: key {kid_text} may not sign {code.kind.value} codes")
        else:
            key_usage_valid = key_usage_allows(matched.key_usages, payload)
            if not key_usage_valid:
                errors.append(f"key usage: the DSC {kid_text} may not sign this type of DCC")

    # time
    time_valid, time_error = _time_check(claims, at, matched, leeway)
    if time_error:
        errors.append(time_error)

    # schema
    schema_valid: bool | None = None
    if schemas is not None and kind == KIND_EU_DCC:
        problem = schemas.validate(payload)
        schema_valid = problem is None
        if problem:
            errors.append(f"schema: {problem}")

    shown: dict[str, Any] = code.to_json() if code is not None else plain_json(payload)
    return Verification(
        kind=kind,
        decoded=True,
        signature_valid=signature_valid,
        time_valid=time_valid,
        issuer=issuer,
        kid=kid_text,
        payload=shown,
        error=errors[0] if errors else None,
        key_usage_valid=key_usage_valid,
        schema_valid=schema_valid,
        compressed=decoded.compressed,
    )


def _undecodable(
    kind: str, issuer: str | None, kid: str | None, compressed: bool, error: str
) -> Verification:
    return Verification(
        kind=kind,
        decoded=False,
        signature_valid=None,
        time_valid=None,
        issuer=issuer,
        kid=kid,
        error=error,
        compressed=compressed,
    )
