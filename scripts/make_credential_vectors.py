"""Generate the zhikong credential test vectors in docs/credential-test-vectors/.

Every key, nonce and time is fixed and ECDSA nonces are deterministic (RFC 6979), so running
the script twice gives byte-identical files; the test suite regenerates them and compares.
The layout follows the EU DCC test data (github.com/eu-digital-green-certificates/
dgc-testdata): ``JSON``, ``CBOR``, ``COSE``, ``COMPRESSED``, ``BASE45``, ``PREFIX``,
``2DCODE``, ``TESTCTX`` and ``EXPECTEDRESULTS``. Instead of a DSC, ``TESTCTX`` carries the
signed trust list (``TRUSTLIST``) and the anchor public key to pin (``ANCHOR``, base64 SPKI).

Usage: python scripts/make_credential_vectors.py [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zhikong.credential.claims import ZHIKONG_PREFIX, CodeClaims, Colour, Kind, build_claims
from zhikong.credential.codec import (
    ALG_ES256,
    HEADER_ALG,
    HEADER_KID,
    base45_encode,
    encode_cose_sign1,
    encode_cwt,
    encode_protected_header,
    sig_structure,
)
from zhikong.credential.keys import KeyState, LocalSigner, SignerKeyInfo
from zhikong.credential.qr import make_qr
from zhikong.credential.trust import TrustEntry, TrustList, sign_trust_list

OUT = Path(__file__).resolve().parents[1] / "docs" / "credential-test-vectors"
T0 = datetime(2020, 2, 20, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou
YEAR_START = datetime(2020, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2021, 1, 1, tzinfo=UTC)
SUBJECT_KEY = hashlib.sha256(b"zhikong test vectors: subject key").digest()
PROFILE = ("health-code-colour.zhejiang-2020", "1.0.0")


def _p256(label: str) -> ec.EllipticCurvePrivateKey:
    seed = int.from_bytes(hashlib.sha256(f"zhikong test vectors: {label}".encode()).digest())
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(seed % (order - 1) + 1, ec.SECP256R1())


ANCHOR = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"zhikong test vectors: trust anchor").digest()
)
KEY_ACTIVE = _p256("330000 v3 active")
KEY_RETIRED = _p256("330000 v2 retired")
KEY_REVOKED = _p256("330000 v1 revoked")
KEY_CITY = _p256("330100 v1 screen only")
KEY_UNLISTED = _p256("not on the trust list")

INFO_ACTIVE = SignerKeyInfo.of_public_key(
    KEY_ACTIVE.public_key(), region="330000", version=3, not_before=YEAR_START, not_after=YEAR_END
)
INFO_RETIRED = SignerKeyInfo.of_public_key(
    KEY_RETIRED.public_key(),
    region="330000",
    version=2,
    not_before=YEAR_START,
    not_after=YEAR_END,
    state=KeyState.RETIRED,
    retired_at=datetime(2020, 2, 15, tzinfo=UTC),
)
INFO_REVOKED = SignerKeyInfo.of_public_key(
    KEY_REVOKED.public_key(),
    region="330000",
    version=1,
    not_before=YEAR_START,
    not_after=YEAR_END,
    state=KeyState.REVOKED,
    revoked_at=datetime(2020, 2, 18, tzinfo=UTC),
)
INFO_CITY = SignerKeyInfo.of_public_key(
    KEY_CITY.public_key(),
    region="330100",
    version=1,
    not_before=YEAR_START,
    not_after=YEAR_END,
    uses=("screen",),
)
TRUST_LIST = TrustList(
    version=12,
    issued_at=datetime(2020, 2, 19, tzinfo=UTC),
    publisher="330000",
    entries=tuple(
        TrustEntry.from_signer(info)
        for info in (INFO_ACTIVE, INFO_RETIRED, INFO_REVOKED, INFO_CITY)
    ),
)


def _claims(
    number: int,
    *,
    issuer: str = "330106",
    colour: Colour = Colour.GREEN,
    kind: Kind = Kind.SCREEN,
    now: datetime = T0,
    validity: timedelta | None = None,
) -> CodeClaims:
    return build_claims(
        issuer=issuer,
        colour=colour,
        masked_name="张*",
        profile_id=PROFILE[0],
        profile_version=PROFILE[1],
        kind=kind,
        subject_reference=f"resident-{number:06d}",
        subject_key=SUBJECT_KEY,
        subject_key_version=1,
        now=now,
        validity=validity,
        nonce=hashlib.sha256(f"nonce {number}".encode()).digest()[:12],
    )


@dataclass(frozen=True)
class Vector:
    """One test vector before serialisation."""

    name: str
    description: str
    claims: CodeClaims
    clock: datetime
    expected: dict[str, bool]
    key: ec.EllipticCurvePrivateKey = KEY_ACTIVE
    kid_of: SignerKeyInfo = INFO_ACTIVE
    tamper: Callable[[dict[int, Any]], dict[int, Any]] | None = None
    compress: bool = True
    bomb: bool = False


def _sign(vector: Vector) -> tuple[bytes, bytes, bytes]:
    """(CWT bytes as carried, COSE bytes, zlib/raw bytes under Base45)."""
    protected = encode_protected_header({HEADER_ALG: ALG_ES256, HEADER_KID: vector.kid_of.kid})
    signed_claims = vector.claims.to_cwt()
    payload = encode_cwt(signed_claims)
    signer = LocalSigner(vector.kid_of, vector.key, deterministic=True)
    signature = signer.sign(sig_structure(protected, payload))
    if vector.tamper is not None:
        payload = encode_cwt(vector.tamper(signed_claims))
    cose = encode_cose_sign1(protected, {}, payload, signature)
    return payload, cose, zlib.compress(cose, 9) if vector.compress else cose


def _as_red_to_green(claims: dict[int, Any]) -> dict[int, Any]:
    inner = dict(claims[-65537])
    inner[2] = "green"
    return {**claims, -65537: inner}


ALL_OK = {
    "EXPECTEDUNPREFIX": True,
    "EXPECTEDB45DECODE": True,
    "EXPECTEDCOMPRESSION": True,
    "EXPECTEDDECODE": True,
    "EXPECTEDVERIFY": True,
    "EXPECTEDEXPIRATIONCHECK": True,
    "EXPECTEDKEYUSAGE": True,
    "EXPECTEDPICTUREDECODE": True,
}

# No trusted key matched the signature, so key usage is not reached (and not stated).
NOT_MATCHED = {flag: value for flag, value in ALL_OK.items() if flag != "EXPECTEDKEYUSAGE"}


def _vectors() -> list[Vector]:
    paper_day = T0 + timedelta(days=3)
    return [
        Vector(
            "valid-screen",
            "VALID: on-screen green code, checked one minute after issue",
            _claims(1),
            T0 + timedelta(minutes=1),
            ALL_OK,
        ),
        Vector(
            "valid-paper",
            "VALID: paper code valid 7 days, checked on day 3",
            _claims(2, kind=Kind.PAPER, colour=Colour.YELLOW),
            paper_day,
            ALL_OK,
        ),
        Vector(
            "uncompressed",
            "VALID: COSE_Sign1 carried without zlib (accepted; compression flag false)",
            _claims(3),
            T0 + timedelta(minutes=1),
            {**ALL_OK, "EXPECTEDCOMPRESSION": False},
            compress=False,
        ),
        Vector(
            "expired",
            "INVALID: on-screen code checked 10 minutes after issue (valid 5)",
            _claims(4),
            T0 + timedelta(minutes=10),
            {**ALL_OK, "EXPECTEDEXPIRATIONCHECK": False},
        ),
        Vector(
            "not-yet-valid",
            "INVALID: validation clock one minute before issued-at",
            _claims(5),
            T0 - timedelta(minutes=1),
            {**ALL_OK, "EXPECTEDEXPIRATIONCHECK": False},
        ),
        Vector(
            "tampered",
            "INVALID: red code whose colour was changed to green after signing",
            _claims(6, colour=Colour.RED),
            T0 + timedelta(minutes=1),
            {**NOT_MATCHED, "EXPECTEDVERIFY": False},
            tamper=_as_red_to_green,
        ),
        Vector(
            "wrong-key",
            "INVALID: signed by a key not on the trust list, under a listed key's kid",
            _claims(7),
            T0 + timedelta(minutes=1),
            {**NOT_MATCHED, "EXPECTEDVERIFY": False},
            key=KEY_UNLISTED,
        ),
        Vector(
            "revoked-key",
            "INVALID: signed by a key the trust list marks revoked",
            _claims(8, now=T0 - timedelta(hours=1), kind=Kind.PAPER),
            T0,
            {**ALL_OK, "EXPECTEDVERIFY": False},
            key=KEY_REVOKED,
            kid_of=INFO_REVOKED,
        ),
        Vector(
            "retired-key",
            "VALID: paper code signed on 14 Feb by a key retired on 15 Feb, checked on 20 Feb",
            _claims(9, now=datetime(2020, 2, 14, tzinfo=UTC), kind=Kind.PAPER),
            T0,
            ALL_OK,
            key=KEY_RETIRED,
            kid_of=INFO_RETIRED,
        ),
        Vector(
            "issued-after-retirement",
            "INVALID: issued-at after its key was retired (a retired key never signs)",
            _claims(10),
            T0 + timedelta(minutes=1),
            {**ALL_OK, "EXPECTEDEXPIRATIONCHECK": False},
            key=KEY_RETIRED,
            kid_of=INFO_RETIRED,
        ),
        Vector(
            "wrong-use",
            "INVALID: paper code signed by a key allowed for screen codes only",
            _claims(11, issuer="330105", kind=Kind.PAPER),
            T0 + timedelta(minutes=1),
            {**ALL_OK, "EXPECTEDKEYUSAGE": False},
            key=KEY_CITY,
            kid_of=INFO_CITY,
        ),
        Vector(
            "wrong-region",
            "INVALID: key of Hangzhou (330100) signing for Wenzhou (330302)",
            _claims(12, issuer="330302"),
            T0 + timedelta(minutes=1),
            {**ALL_OK, "EXPECTEDVERIFY": False},
            key=KEY_CITY,
            kid_of=INFO_CITY,
        ),
        Vector(
            "zlib-bomb",
            "INVALID: zlib stream inflating to 1 MiB (refused at the 64 KiB cap)",
            _claims(13),
            T0 + timedelta(minutes=1),
            {
                "EXPECTEDUNPREFIX": True,
                "EXPECTEDB45DECODE": True,
                "EXPECTEDCOMPRESSION": False,
                "EXPECTEDDECODE": False,
                "EXPECTEDPICTUREDECODE": True,
            },
            bomb=True,
        ),
    ]


def _png(text: str) -> str:
    buffer = io.BytesIO()
    make_qr(text).save(buffer, kind="png", scale=4, border=4)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _serialise(vector: Vector, trust_list: dict[str, Any], anchor: str) -> dict[str, Any]:
    if vector.bomb:
        payload = b""
        cose = b""
        carried = zlib.compress(bytes(1024 * 1024), 9)
    else:
        payload, cose, carried = _sign(vector)
    text = ZHIKONG_PREFIX + base45_encode(carried)
    claims = vector.claims
    if vector.tamper is not None:
        claims = replace(claims, colour=Colour.GREEN)
    document: dict[str, Any] = {}
    if not vector.bomb:
        document["JSON"] = claims.to_json()
        document["CBOR"] = payload.hex()
        document["COSE"] = cose.hex()
    document["COMPRESSED"] = carried.hex()
    document["BASE45"] = text[len(ZHIKONG_PREFIX) :]
    document["PREFIX"] = text
    document["2DCODE"] = _png(text)
    document["TESTCTX"] = {
        "VERSION": 1,
        "SCHEMA": "zhikong-credential-1",
        "VALIDATIONCLOCK": vector.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "DESCRIPTION": vector.description,
        "TRUSTLIST": trust_list,
        "ANCHOR": anchor,
    }
    document["EXPECTEDRESULTS"] = vector.expected
    return document


def main(argv: list[str] | None = None) -> None:
    """Write every vector, the signed trust list and the anchor public key to a directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    signed = sign_trust_list(TRUST_LIST, ANCHOR)
    anchor_pem = ANCHOR.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    anchor = base64.b64encode(
        ANCHOR.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode("ascii")
    (out / "trust-list.json").write_bytes(signed)
    (out / "anchor.pub.pem").write_bytes(anchor_pem)
    trust_list = json.loads(signed)
    for vector in _vectors():
        document = _serialise(vector, trust_list, anchor)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        (out / f"{vector.name}.json").write_text(text, encoding="utf-8")
    print(f"{len(_vectors())} vectors → {out}")


if __name__ == "__main__":
    main()
