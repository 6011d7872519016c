"""EU Digital COVID Certificate specifics: the hcert claim, signer certificates, JSON schemas.

Document Signer Certificates (DSCs) are loaded robustly: PEM, DER or bare base64; when the
``cryptography`` X.509 parser refuses a certificate (some DSCs carry extensions that recent
versions reject), the SubjectPublicKeyInfo, validity and extended key usages are read from the
TBSCertificate with a minimal DER walk. RSA keys published under the RSASSA-PSS algorithm
identifier are accepted as RSA keys. The JSON schemas are not bundled (they are Apache-2.0
material of the eHealth Network): :class:`DccSchemas` reads them from a directory laid out as
``<version>/<file>.json``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key

from zhikong.credential.keys import kid_of

__all__ = [
    "CLAIM_HCERT",
    "DCC_PREFIX",
    "KEY_USAGE_OIDS",
    "CertificateError",
    "DccSchemas",
    "SignerCertificate",
    "certificate_type",
    "hcert_payload",
    "key_usage_allows",
    "load_certificate",
    "plain_json",
]

DCC_PREFIX: Final = "HC1:"
CLAIM_HCERT: Final = -260
HCERT_EU_DCC_V1: Final = 1
KEY_USAGE_OIDS: Final = {
    "t": frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"}),
    "v": frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"}),
    "r": frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"}),
}
"""Extended key usages that limit a DSC to test, vaccination or recovery certificates."""
_DCC_USAGES: Final = frozenset().union(*KEY_USAGE_OIDS.values())
_OID_EKU: Final = "2.5.29.37"
_OID_COUNTRY: Final = "2.5.4.6"
_OID_RSA: Final = "1.2.840.113549.1.1.1"
_OID_RSA_PSS: Final = "1.2.840.113549.1.1.10"


class CertificateError(ValueError):
    """A signer certificate that cannot be read."""


def hcert_payload(claims: Mapping[Any, Any]) -> Mapping[str, Any] | str:
    """The EU DCC payload (claim -260, key 1) of CWT claims, or a reason it is not there."""
    hcert = claims.get(CLAIM_HCERT)
    if not isinstance(hcert, Mapping):
        return "hcert claim (-260) is missing or not a map"
    payload = hcert.get(HCERT_EU_DCC_V1)
    if not isinstance(payload, Mapping):
        return "hcert claim (-260) has no EU DCC v1 map under key 1"
    return payload


def certificate_type(payload: Mapping[str, Any]) -> str | None:
    """Which kind of DCC this is: ``v``, ``t`` or ``r`` (None unless exactly one is present)."""
    present = [key for key in ("v", "t", "r") if key in payload]
    return present[0] if len(present) == 1 else None


# -- minimal DER ------------------------------------------------------------------------------


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """Tag, start of content and end of content of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise CertificateError("truncated DER")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise CertificateError("multi-byte DER tags are not supported")
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise CertificateError("bad DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise CertificateError("truncated DER")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements inside a constructed element: (tag, element start, content start, end)."""
    items = []
    offset = start
    while offset < end:
        tag, content, stop = _tlv(data, offset)
        items.append((tag, offset, content, stop))
        offset = stop
    if offset != end:
        raise CertificateError("DER element overruns its parent")
    return items


def _oid(raw: bytes) -> str:
    if not raw:
        raise CertificateError("empty OID")
    arcs: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def _encode_oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return bytes((0x06, len(body))) + bytes(body)


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii")
    match = re.fullmatch(r"(\d{12}|\d{14})(?:\.\d+)?Z", text)
    if not match:
        raise CertificateError(f"unsupported certificate time {text!r}")
    digits = match.group(1)
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ, 1950–2049
        year = int(digits[:2])
        digits = str(year + (1900 if year >= 50 else 2000)) + digits[2:]
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _CertificateParts:
    spki: bytes
    not_before: datetime
    not_after: datetime
    key_usages: frozenset[str] | None
    country: str | None


def _walk_certificate(der: bytes) -> _CertificateParts:
    """Read what a verifier needs from a certificate with a minimal DER walk."""
    tag, start, end = _tlv(der, 0)
    if tag != 0x30:
        raise CertificateError("not a DER certificate")
    outer = _children(der, start, end)
    if not outer or outer[0][0] != 0x30:
        raise CertificateError("no TBSCertificate")
    _, _, tbs_start, tbs_end = outer[0]
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    if len(fields) < 6:
        raise CertificateError("TBSCertificate has too few fields")
    validity = _children(der, fields[3][2], fields[3][3])
    if len(validity) != 2:
        raise CertificateError("bad validity")
    not_before = _time(validity[0][0], der[validity[0][2] : validity[0][3]])
    not_after = _time(validity[1][0], der[validity[1][2] : validity[1][3]])
    spki = der[fields[5][1] : fields[5][3]]
    country = _subject_country(der, fields[4][2], fields[4][3])
    usages: frozenset[str] | None = None
    for tag, _, content, stop in fields[6:]:
        if tag != 0xA3:
            continue
        (_, _, ext_start, ext_end) = _children(der, content, stop)[0]
        for _, _, item_start, item_end in _children(der, ext_start, ext_end):
            parts = _children(der, item_start, item_end)
            if _oid(der[parts[0][2] : parts[0][3]]) != _OID_EKU:
                continue
            value = parts[-1]
            _, seq_start, seq_end = _tlv(der, value[2])
            usages = frozenset(
                _oid(der[item[2] : item[3]]) for item in _children(der, seq_start, seq_end)
            )
    return _CertificateParts(spki, not_before, not_after, usages, country)


def _subject_country(der: bytes, start: int, end: int) -> str | None:
    for _, _, set_start, set_end in _children(der, start, end):
        for _, _, attr_start, attr_end in _children(der, set_start, set_end):
            parts = _children(der, attr_start, attr_end)
            if len(parts) == 2 and _oid(der[parts[0][2] : parts[0][3]]) == _OID_COUNTRY:
                return der[parts[1][2] : parts[1][3]].decode("ascii", "replace")
    return None


def _load_spki(spki: bytes) -> PublicKeyTypes:
    """Load a SubjectPublicKeyInfo, accepting RSA keys labelled RSASSA-PSS."""
    try:
        return load_der_public_key(spki)
    except (ValueError, TypeError) as first:
        _, start, end = _tlv(spki, 0)
        parts = _children(spki, start, end)
        if len(parts) != 2:
            raise CertificateError(f"unreadable public key: {first}") from None
        algorithm = _children(spki, parts[0][2], parts[0][3])
        if _oid(spki[algorithm[0][2] : algorithm[0][3]]) != _OID_RSA_PSS:
            raise CertificateError(f"unsupported public key: {first}") from None
        identifier = _encode_oid(_OID_RSA) + b"\x05\x00"
        body = b"\x30" + _der_length(len(identifier)) + identifier + spki[parts[1][1] : parts[1][3]]
        try:
            return load_der_public_key(b"\x30" + _der_length(len(body)) + body)
        except (ValueError, TypeError) as exc:
            raise CertificateError(f"unreadable RSA-PSS public key: {exc}") from None


@dataclass(frozen=True, slots=True)
class SignerCertificate:
    """What a verifier keeps of a Document Signer Certificate."""

    der: bytes
    kid: bytes
    public_key: PublicKeyTypes
    not_before: datetime
    not_after: datetime
    key_usages: frozenset[str] | None
    """Extended key usage OIDs (None when the certificate has no such extension)."""
    country: str | None


def _certificate_bytes(data: bytes | str) -> bytes:
    if isinstance(data, bytes):
        if data.startswith(b"\x30"):
            return data
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise CertificateError("neither DER, PEM nor base64") from None
    else:
        text = data
    if "-----BEGIN" in text:
        match = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
        if not match:
            raise CertificateError("PEM without a CERTIFICATE block")
        text = match.group(1)
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError("bad base64 in certificate") from None


def load_certificate(data: bytes | str) -> SignerCertificate:
    """Read a DSC from DER, PEM or base64 (CertificateError when it cannot be used)."""
    der = _certificate_bytes(data)
    if len(der) > 64 * 1024:
        raise CertificateError("certificate larger than 64 KiB")
    parts: _CertificateParts | None
    try:
        parts = _walk_certificate(der)
    except (CertificateError, UnicodeDecodeError, ValueError, IndexError):
        parts = None
    try:
        cert = x509.load_der_x509_certificate(der)
        public_key = cert.public_key()
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
    except Exception as exc:  # unsupported extensions, key types, encodings
        if parts is None:
            raise CertificateError(f"unreadable certificate: {exc}") from None
        return SignerCertificate(
            der=der,
            kid=kid_of(der),
            public_key=_load_spki(parts.spki),
            not_before=parts.not_before,
            not_after=parts.not_after,
            key_usages=parts.key_usages,
            country=parts.country,
        )
    usages: frozenset[str] | None
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = frozenset(oid.dotted_string for oid in eku)
    except x509.ExtensionNotFound:
        usages = None
    except Exception:
        usages = parts.key_usages if parts else None
    return SignerCertificate(
        der=der,
        kid=kid_of(der),
        public_key=public_key,
        not_before=not_before,
        not_after=not_after,
        key_usages=usages,
        country=parts.country if parts else None,
    )


def key_usage_allows(usages: frozenset[str] | None, payload: Mapping[str, Any]) -> bool:
    """Whether a DSC's extended key usages allow signing this kind of DCC.

    A DSC without DCC-specific usages may sign any kind; one with them only the kinds named.
    """
    kind = certificate_type(payload)
    if kind is None:
        return False
    if not usages or not usages & _DCC_USAGES:
        return True
    return bool(usages & KEY_USAGE_OIDS[kind])


# -- JSON schemas --------------------------------------------------------------------------


def _version_key(name: str) -> tuple[int, ...] | None:
    if not re.fullmatch(r"\d+\.\d+\.\d+", name):
        return None
    return tuple(int(part) for part in name.split("."))


class DccSchemas:
    """The EU DCC JSON schemas of a directory laid out as ``<version>/<name>.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        versions: dict[tuple[int, ...], Path] = {}
        if not directory.is_dir():
            raise FileNotFoundError(f"no schema directory {directory}")
        for child in directory.iterdir():
            key = _version_key(child.name)
            files = sorted(child.glob("*.json")) if child.is_dir() else []
            if key is not None and files:
                versions[key] = files[0]
        if not versions:
            raise FileNotFoundError(f"no DCC schema versions in {directory}")
        self._versions = dict(sorted(versions.items()))

    @property
    def versions(self) -> list[str]:
        """The schema versions available, oldest first."""
        return [".".join(map(str, key)) for key in self._versions]

    def schema_for(self, version: str) -> tuple[str, Path]:
        """The schema to check a payload of this ``ver`` against (exact, else nearest older)."""
        wanted = _version_key(version)
        if wanted is None:
            raise KeyError(f"ver {version!r} is not a version number")
        if wanted in self._versions:
            return version, self._versions[wanted]
        older = [key for key in self._versions if key[:2] == wanted[:2] and key < wanted]
        if not older:
            older = [key for key in self._versions if key[0] == wanted[0] and key < wanted]
        if not older:
            raise KeyError(f"no schema for ver {version}")
        chosen = older[-1]
        return ".".join(map(str, chosen)), self._versions[chosen]

    def validate(self, payload: Any) -> str | None:
        """None when the payload conforms to the schema of its ``ver``, else a one-line reason."""
        if not isinstance(payload, Mapping):
            return "payload is not an object"
        version = payload.get("ver")
        if not isinstance(version, str):
            return "ver is missing or not text"
        try:
            _, path = self.schema_for(version)
        except KeyError as exc:
            return str(exc.args[0])
        validator = _validator(path)
        plain = plain_json(payload)
        errors = sorted(validator.iter_errors(plain), key=lambda error: list(error.path))
        if errors:
            error = errors[0]
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            return f"{where}: {' '.join(str(error.message).split())[:160]}"
        if certificate_type(payload) is None:
            return "a DCC must hold exactly one of v, t or r"
        return None


@lru_cache(maxsize=32)
def _validator(path: Path) -> Any:
    import jsonschema

    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def plain_json(value: Any, depth: int = 0) -> Any:
    """CBOR-decoded data as JSON values (dates in tags 0, 1, 100, 1004 become text)."""
    if depth > 64:
        return None
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): plain_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item, depth + 1) for item in value]
    if isinstance(value, cbor2.CBORTag):
        inner = value.value
        if value.tag in (0, 1004) and isinstance(inner, str):
            return inner
        if value.tag == 1 and isinstance(inner, int | float) and not isinstance(inner, bool):
            try:
                instant = datetime.fromtimestamp(inner, UTC)
            except (OverflowError, OSError, ValueError):
                pass
            else:
                return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
        if value.tag == 100 and isinstance(inner, int) and abs(inner) < 3_000_000:
            return (date(1970, 1, 1) + timedelta(days=inner)).isoformat()
        return {"tag": value.tag, "value": plain_json(inner, depth + 1)}
    return str(value)
