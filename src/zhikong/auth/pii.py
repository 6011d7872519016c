"""Personal data protection: keyed lookups for identity numbers, sealed fields, masks.

Identity numbers are never stored: `id_lookup` gives a keyed HMAC to find a person by.
Names and phone numbers are sealed with AES-256-GCM (`seal` / `unseal`), bound to their
field by associated data so a sealed name cannot be replayed as a phone number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhikong.keys import PII_AEAD, PII_HMAC, KeyStore

_SEALED = re.compile(r"^v(\d+):([A-Za-z0-9_-]+={0,2})$")
_SPACE = re.compile(r"\s+")


class SealError(ValueError):
    """A sealed value that cannot be opened (wrong key, wrong field, or tampered)."""


def normalise_identifier(kind: str, value: str) -> str:
    """The canonical text of an identifier: kind, colon, value without spaces, upper-case."""
    compact = _SPACE.sub("", value).upper()
    return f"{kind.strip().lower()}:{compact}"


def id_lookup(keys: KeyStore, kind: str, value: str) -> str:
    """The keyed lookup hash of an identifier under the current key version.

    Versions chain: v1 = HMAC(k1, id), vN = HMAC(kN, v(N-1)), so stored lookups can be moved to
    a new key with `rehash_lookup` without ever knowing the identifiers again.
    """
    digest = hmac.new(
        keys.secret(PII_HMAC, 1), normalise_identifier(kind, value).encode(), hashlib.sha256
    ).hexdigest()
    for version in range(2, keys.current_version(PII_HMAC) + 1):
        digest = rehash_lookup(keys, digest, version)
    return digest


def rehash_lookup(keys: KeyStore, previous: str, version: int) -> str:
    """Move a lookup hash from key version N-1 to version N."""
    return hmac.new(keys.secret(PII_HMAC, version), previous.encode(), hashlib.sha256).hexdigest()


def seal(keys: KeyStore, plaintext: str, field: str) -> str:
    """Encrypt a field value under the current key: 'v<version>:<base64url(nonce|ciphertext)>'."""
    version = keys.current_version(PII_AEAD)
    nonce = os.urandom(12)
    ciphertext = AESGCM(keys.secret(PII_AEAD, version)).encrypt(
        nonce, plaintext.encode("utf-8"), field.encode()
    )
    return f"v{version}:" + base64.urlsafe_b64encode(nonce + ciphertext).decode()


def unseal(keys: KeyStore, sealed: str, field: str) -> str:
    """Decrypt a value sealed by `seal` for the same field."""
    match = _SEALED.match(sealed)
    if match is None:
        raise SealError("not a sealed value")
    version = int(match.group(1))
    blob = base64.urlsafe_b64decode(match.group(2))
    try:
        plain = AESGCM(keys.secret(PII_AEAD, version)).decrypt(blob[:12], blob[12:], field.encode())
    except (InvalidTag, ValueError) as exc:
        raise SealError(f"cannot open sealed {field}") from exc
    return plain.decode("utf-8")


def sealed_version(sealed: str) -> int:
    """The key version a sealed value was made with."""
    match = _SEALED.match(sealed)
    if match is None:
        raise SealError("not a sealed value")
    return int(match.group(1))


def mask_name(name: str) -> str:
    """A name with all but its first character hidden: 张三 → 张*, 欧阳娜娜 → 欧***."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "".join(" " if ch == " " else "*" for ch in name[1:])


def mask_phone(phone: str) -> str:
    """A phone number with its middle hidden: 13812341234 → 138****1234."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(value: str) -> str:
    """An identity number with all but its first 2 and last 2 characters hidden."""
    value = value.strip()
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]
