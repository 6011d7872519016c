"""Signed health-code credentials: CWT/COSE claims, keys, trust lists, QR, offline verifier.

The format is specified in ``docs/credential.md``. The main entry points::

    claims = build_claims(issuer="330106", colour="green", ..., now=now)
    text = mint(claims, store.signer("330000"), now)            # "ZK1:..."
    result = verify(text, Trust.of([trust_list]), at)           # zhikong.credential.verify

Names are loaded on first use, so that importing the ``zhikong`` command stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zhikong.credential.claims import (
        CLAIM_ZHIKONG,
        ZHIKONG_PREFIX,
        ClaimsError,
        CodeClaims,
        Colour,
        Kind,
        build_claims,
        open_subject,
        seal_subject,
    )
    from zhikong.credential.codec import DecodedText, DecodeFailure, Stage, decode_text
    from zhikong.credential.dcc import DccSchemas, load_certificate
    from zhikong.credential.keys import (
        FileSigningKeyStore,
        KeyState,
        LocalSigner,
        MintError,
        Signer,
        SignerKeyInfo,
        SigningKeyError,
        SigningKeyStore,
        kid_of,
        mint,
    )
    from zhikong.credential.qr import decode_qr_image, render_png, render_svg
    from zhikong.credential.trust import (
        Trust,
        TrustedKey,
        TrustEntry,
        TrustList,
        TrustListCache,
        TrustListError,
        sign_trust_list,
        verify_trust_list,
    )
    from zhikong.credential.verify import Verification, parse_instant

_EXPORTS = {
    "claims": (
        "CLAIM_ZHIKONG",
        "ZHIKONG_PREFIX",
        "ClaimsError",
        "CodeClaims",
        "Colour",
        "Kind",
        "build_claims",
        "open_subject",
        "seal_subject",
    ),
    "codec": ("DecodeFailure", "DecodedText", "Stage", "decode_text"),
    "dcc": ("DccSchemas", "load_certificate"),
    "keys": (
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
    ),
    "qr": ("decode_qr_image", "render_png", "render_svg"),
    "trust": (
        "Trust",
        "TrustEntry",
        "TrustList",
        "TrustListCache",
        "TrustListError",
        "TrustedKey",
        "sign_trust_list",
        "verify_trust_list",
    ),
    "verify": ("Verification", "parse_instant"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CLAIM_ZHIKONG",
    "ZHIKONG_PREFIX",
    "ClaimsError",
    "CodeClaims",
    "Colour",
    "DccSchemas",
    "DecodeFailure",
    "DecodedText",
    "FileSigningKeyStore",
    "KeyState",
    "Kind",
    "LocalSigner",
    "MintError",
    "Signer",
    "SignerKeyInfo",
    "SigningKeyError",
    "SigningKeyStore",
    "Stage",
    "Trust",
    "TrustEntry",
    "TrustList",
    "TrustListCache",
    "TrustListError",
    "TrustedKey",
    "Verification",
    "build_claims",
    "decode_qr_image",
    "decode_text",
    "kid_of",
    "load_certificate",
    "mint",
    "open_subject",
    "parse_instant",
    "render_png",
    "render_svg",
    "seal_subject",
    "sign_trust_list",
    "verify_trust_list",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'zhikong.credential' has no attribute {name!r}")
    value = getattr(import_module(f"zhikong.credential.{module}"), name)
    globals()[name] = value
    return value
