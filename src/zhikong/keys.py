"""The key directory: versioned secrets kept outside the repository and the database.

`zhikong keys init` creates it; `zhikong keys rotate PURPOSE` adds a version. Every key has a
purpose and integer versions; the newest is current, older ones stay for decryption and
signature checks. `KeyStore` is the interface a KMS or HSM could implement instead.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PII_HMAC = "pii-hmac"  # keyed hash of identity numbers (lookup key)
PII_AEAD = "pii-aead"  # AES-256-GCM for names and phone numbers at rest
TOKEN_SIGNING = "token-signing"  # Ed25519 for access tokens
AUDIT_ANCHOR = "audit-anchor"  # Ed25519 for signed audit-log anchors
CREDENTIAL_SUBJECT = "credential-subject"  # AES-256-GCM for the issuer-only subject reference
TRUST_ANCHOR = "trust-anchor"  # Ed25519 that signs this region's published trust list

SYMMETRIC = (PII_HMAC, PII_AEAD, CREDENTIAL_SUBJECT)
SIGNING = (TOKEN_SIGNING, AUDIT_ANCHOR, TRUST_ANCHOR)
PURPOSES = SYMMETRIC + SIGNING
KEYRING_FILE = "keyring.json"
README = """zhikong key directory — 密钥目录

Secrets of this installation. Never commit it, never copy it into the database, back it up
separately (encrypted) from the database. Rotate with `zhikong keys rotate PURPOSE`.
See docs/security.md.
"""


def exposed_directory(path: Path) -> str | None:
    """Why a directory of secrets is unsafe (others may open it), or None when it is private."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"key directory {path} is accessible to others (mode {mode:o}); chmod 700 it"
    return None


class KeyDirectoryError(Exception):
    """The key directory is missing, malformed or readable by others."""


class KeyStore(Protocol):
    """Where keys come from: the file key directory, or a KMS/HSM implementing the same calls."""

    def current_version(self, purpose: str) -> int:
        """The version new data is protected with."""
        ...

    def secret(self, purpose: str, version: int | None = None) -> bytes:
        """A symmetric key (current version when none is given)."""
        ...

    def signing_key(self, purpose: str, version: int | None = None) -> Ed25519PrivateKey:
        """An Ed25519 private key (current version when none is given)."""
        ...

    def public_keys(self, purpose: str) -> dict[int, Ed25519PublicKey]:
        """Every version's public key of a signing purpose."""
        ...


@dataclass(frozen=True)
class KeyVersion:
    """One version of a key."""

    version: int
    file: str
    created_at: str


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise KeyDirectoryError(f"unknown key purpose {purpose!r}; known: {', '.join(PURPOSES)}")


def _write_private(path: Path, data: bytes) -> None:
    """Create a file readable by its owner only, refusing to overwrite."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def _new_material(purpose: str) -> tuple[str, bytes]:
    """A file suffix and the bytes of a fresh key for a purpose."""
    if purpose in SYMMETRIC:
        return "key", base64.b64encode(secrets.token_bytes(32)) + b"\n"
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return "pem", pem


class FileKeyStore:
    """Keys as files in a directory only its owner can read."""

    def __init__(self, path: Path, ring: dict[str, Any]) -> None:
        self.path = path
        self._ring = ring
        self._cache: dict[tuple[str, int], Any] = {}

    # -- creation and loading -------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, at: datetime) -> FileKeyStore:
        """Create a new key directory with a first version of every key."""
        if path.exists() and any(path.iterdir()):
            raise KeyDirectoryError(f"key directory {path} already exists and is not empty")
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
        ring: dict[str, Any] = {"format": 1, "created_at": at.isoformat(), "keys": {}}
        store = cls(path, ring)
        for purpose in PURPOSES:
            store._add_version(purpose, at)
        (path / "README.txt").write_text(README, encoding="utf-8")
        store._save()
        return store

    @classmethod
    def load(cls, path: Path) -> FileKeyStore:
        """Open an existing key directory, refusing one that others can read."""
        ring_path = path / KEYRING_FILE
        if not ring_path.is_file():
            raise KeyDirectoryError(f"no key directory at {path}; run: zhikong keys init")
        exposed = exposed_directory(path)
        if exposed is not None:
            raise KeyDirectoryError(exposed)
        try:
            ring = json.loads(ring_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyDirectoryError(f"{ring_path} is unreadable: {exc}") from exc
        if not isinstance(ring.get("keys"), dict):
            raise KeyDirectoryError(f"{ring_path} has no keys")
        store = cls(path, ring)
        missing = [p for p in PURPOSES if p not in ring["keys"]]
        if missing:
            # A directory made by an older zhikong: add the purposes it lacks.
            created = datetime.fromisoformat(str(ring.get("created_at")))
            for purpose in missing:
                store._add_version(purpose, created)
            store._save()
        return store

    def _save(self) -> None:
        temporary = self.path / (KEYRING_FILE + ".tmp")
        temporary.unlink(missing_ok=True)
        _write_private(temporary, json.dumps(self._ring, indent=2, sort_keys=True).encode())
        temporary.replace(self.path / KEYRING_FILE)

    def _add_version(self, purpose: str, at: datetime) -> int:
        entry = self._ring["keys"].setdefault(purpose, {"current": 0, "versions": {}})
        version = max((int(v) for v in entry["versions"]), default=0) + 1
        suffix, material = _new_material(purpose)
        name = f"{purpose}.v{version}.{suffix}"
        _write_private(self.path / name, material)
        entry["versions"][str(version)] = {"file": name, "created_at": at.isoformat()}
        entry["current"] = version
        return version

    # -- rotation and listing -------------------------------------------------------------

    def rotate(self, purpose: str, at: datetime) -> int:
        """Add a new current version of a key; older versions stay for reading."""
        _check_purpose(purpose)
        version = self._add_version(purpose, at)
        self._save()
        return version

    def versions(self, purpose: str) -> list[KeyVersion]:
        """Every version of a key, oldest first."""
        _check_purpose(purpose)
        entry = self._ring["keys"][purpose]
        return [
            KeyVersion(int(v), meta["file"], meta["created_at"])
            for v, meta in sorted(entry["versions"].items(), key=lambda item: int(item[0]))
        ]

    # -- KeyStore -------------------------------------------------------------------------

    def current_version(self, purpose: str) -> int:
        """The version new data is protected with."""
        _check_purpose(purpose)
        return int(self._ring["keys"][purpose]["current"])

    def _read(self, purpose: str, version: int | None) -> tuple[int, bytes]:
        _check_purpose(purpose)
        number = self.current_version(purpose) if version is None else version
        meta = self._ring["keys"][purpose]["versions"].get(str(number))
        if meta is None:
            raise KeyDirectoryError(f"no version {number} of key {purpose}")
        return number, (self.path / meta["file"]).read_bytes()

    def secret(self, purpose: str, version: int | None = None) -> bytes:
        """A symmetric key (current version when none is given)."""
        if purpose not in SYMMETRIC:
            raise KeyDirectoryError(f"{purpose} is not a symmetric key")
        number, raw = self._read(purpose, version)
        key = (purpose, number)
        if key not in self._cache:
            self._cache[key] = base64.b64decode(raw.strip())
        value: bytes = self._cache[key]
        return value

    def signing_key(self, purpose: str, version: int | None = None) -> Ed25519PrivateKey:
        """An Ed25519 private key (current version when none is given)."""
        if purpose not in SIGNING:
            raise KeyDirectoryError(f"{purpose} is not a signing key")
        number, raw = self._read(purpose, version)
        key = (purpose, number)
        if key not in self._cache:
            loaded = serialization.load_pem_private_key(raw, password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise KeyDirectoryError(f"{purpose} v{number} is not an Ed25519 key")
            self._cache[key] = loaded
        value: Ed25519PrivateKey = self._cache[key]
        return value

    def public_keys(self, purpose: str) -> dict[int, Ed25519PublicKey]:
        """Every version's public key of a signing purpose."""
        return {
            item.version: self.signing_key(purpose, item.version).public_key()
            for item in self.versions(purpose)
        }
