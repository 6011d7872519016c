"""The verifier: verdicts on zhikong codes, clocks, signer certificates and their quirks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from zhikong.credential.codec import (
    encode_cose_sign1,
    encode_protected_header,
    encode_text,
    sig_structure,
)
from zhikong.credential.dcc import CertificateError, _walk_certificate, load_certificate
from zhikong.credential.trust import Trust
from zhikong.credential.verify import parse_instant, verify


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-05-31T09:27:09.011Z", datetime(2021, 5, 31, 9, 27, 9, 11000, UTC)),
        ("2021-05-31T09:27:09Z", datetime(2021, 5, 31, 9, 27, 9, tzinfo=UTC)),
        ("2021-05-31T11:27:09+02:00", datetime(2021, 5, 31, 9, 27, 9, tzinfo=UTC)),
        ("2021-05-31T11:27:09+0200", datetime(2021, 5, 31, 9, 27, 9, tzinfo=UTC)),
        ("2021-05-31T11:27:09+02", datetime(2021, 5, 31, 9, 27, 9, tzinfo=UTC)),
        ("2021-05-31T01:27:09.5-08:00", datetime(2021, 5, 31, 9, 27, 9, 500000, UTC)),
        ("2021-05-31T09:27:09.123456789Z", datetime(2021, 5, 31, 9, 27, 9, 123456, UTC)),
        ("2021-05-31T09:27:09.1234567", datetime(2021, 5, 31, 9, 27, 9, 123456, UTC)),
        ("2021-05-31T09:27:09", datetime(2021, 5, 31, 9, 27, 9, tzinfo=UTC)),
        ("2021-05-31 09:27", datetime(2021, 5, 31, 9, 27, tzinfo=UTC)),
        ("2021-05-31", datetime(2021, 5, 31, tzinfo=UTC)),
    ],
)
def test_clock_spellings(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2021-13-01", "2021-05-31T25:00Z", "2021-05-31+25"])
def test_bad_clocks(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_valid_code(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    result = verify(text, kit.trust_of(issuer.info), kit.T0 + timedelta(minutes=1))
    assert result.valid and result.error is None
    assert result.kind == "zhikong" and result.issuer == "330106"
    assert result.kid == base64.b64encode(issuer.info.kid).decode()
    assert result.payload is not None and result.payload["colour"] == "green"
    assert result.payload["masked_name"] == "张*"
    assert json.loads(json.dumps(result.to_json()))["valid"] is True
    # A verifier elsewhere in time: iat ≤ at ≤ exp, both ends included.
    assert verify(text, kit.trust_of(issuer.info), kit.T0).time_valid
    assert verify(text, kit.trust_of(issuer.info), kit.T0 + timedelta(minutes=5)).time_valid
    late = verify(text, kit.trust_of(issuer.info), kit.T0 + timedelta(minutes=5, seconds=1))
    assert late.time_valid is False and late.error == "time: expired at 2020-02-20T02:05:00Z"
    skewed = verify(text, kit.trust_of(issuer.info), kit.T0 - timedelta(seconds=30))
    assert skewed.time_valid is False
    tolerant = verify(
        text, kit.trust_of(issuer.info), kit.T0 - timedelta(seconds=30), leeway=timedelta(minutes=1)
    )
    assert tolerant.time_valid is True


def test_unknown_key_and_missing_kid(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    result = verify(text, Trust(), kit.T0)
    assert result.decoded and result.signature_valid is False and result.key_usage_valid is None
    assert result.error == f"signature: no trusted key with kid {result.kid}"
    claims = cbor2.dumps(kit.claims_for().to_cwt())
    protected = encode_protected_header({1: -7})
    signature = issuer.signer.sign(sig_structure(protected, claims))
    no_kid = encode_text("ZK1:", encode_cose_sign1(protected, {}, claims, signature))
    result = verify(no_kid, kit.trust_of(issuer.info), kit.T0)
    assert (
        result.signature_valid is False and result.error == "signature: no kid in the COSE headers"
    )


def test_alg_mismatch_fails_cleanly(kit: Any, issuer: Any) -> None:
    claims = cbor2.dumps(kit.claims_for().to_cwt())
    protected = encode_protected_header({1: -37, 4: issuer.info.kid})  # says PS256
    signature = issuer.signer.sign(sig_structure(protected, claims))
    text = encode_text("ZK1:", encode_cose_sign1(protected, {}, claims, signature))
    result = verify(text, kit.trust_of(issuer.info), kit.T0)
    assert result.signature_valid is False and "does not verify" in (result.error or "")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "HC1:",
        "ZK1:!!!",
        "ZK1:" + "A" * 9000,
        "ZK1:NCF",
        "\x00\x01",
        "ZK1:6BF" + "Z" * 10,
    ],
)
def test_garbage_gives_one_line_errors(kit: Any, text: str) -> None:
    result = verify(text, Trust(), kit.T0)
    assert result.decoded is False and result.signature_valid is None
    assert result.error is not None and "\n" not in result.error
    assert result.error.split(":")[0] in ("prefix", "base45", "zlib", "cose", "cwt")


def test_malformed_zhikong_claims_are_not_decoded(kit: Any, issuer: Any) -> None:
    cwt = kit.claims_for().to_cwt()
    cwt[-65537][2] = "purple"
    claims = cbor2.dumps(cwt)
    protected = encode_protected_header({1: -7, 4: issuer.info.kid})
    signature = issuer.signer.sign(sig_structure(protected, claims))
    text = encode_text("ZK1:", encode_cose_sign1(protected, {}, claims, signature))
    result = verify(text, kit.trust_of(issuer.info), kit.T0)
    assert result.decoded is False and result.error == "cwt: colour 'purple' is unknown"


# -- signer certificates (EU DCC DSCs) ----------------------------------------------------------


def _certificate(key: Any, *, usages: tuple[str, ...] = ()) -> bytes:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2021, 1, 1, tzinfo=UTC))
    )
    if usages:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid in usages]), critical=False
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _dcc(kit: Any, key: Any, kid: bytes, alg: int, sign: Any) -> str:
    claims = cbor2.dumps(
        {
            1: "CN",
            6: int(kit.T0.timestamp()),
            4: int((kit.T0 + timedelta(days=30)).timestamp()),
            -260: {1: {"ver": "1.3.0", "nam": {"fnt": "ZHANG"}, "dob": "1990", "v": [{}]}},
        }
    )
    protected = encode_protected_header({1: alg, 4: kid})
    signature = sign(sig_structure(protected, claims))
    return encode_text("HC1:", encode_cose_sign1(protected, {}, claims, signature))


def test_dsc_in_every_spelling(kit: Any) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = _certificate(key, usages=("1.3.6.1.4.1.1847.2021.1.2",))
    b64 = base64.b64encode(der).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n"
    for spelling in (der, b64, b64.encode(), pem, pem.encode()):
        certificate = load_certificate(spelling)
        assert certificate.der == der and certificate.country == "CN"
        assert certificate.key_usages == frozenset({"1.3.6.1.4.1.1847.2021.1.2"})
    for bad in (b"\xff\xfe", "not base64 !", "-----BEGIN PUBLIC KEY-----", b"\x30\x03\x02\x01\x00"):
        with pytest.raises(CertificateError):
            load_certificate(bad)


def test_certificate_cryptography_rejects_falls_back_to_der_walk(kit: Any) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = _certificate(key, usages=("1.3.6.1.4.1.1847.2021.1.2",))
    at = der.find(bytes.fromhex("a003020102"))
    broken = der[:at] + bytes.fromhex("a003020105") + der[at + 5 :]  # X.509 "v6"
    with pytest.raises(x509.InvalidVersion):
        x509.load_der_x509_certificate(broken)
    certificate = load_certificate(broken)
    assert isinstance(certificate.public_key, ec.EllipticCurvePublicKey)
    assert certificate.public_key.public_numbers() == key.public_key().public_numbers()
    assert certificate.not_before == datetime(2020, 1, 1, tzinfo=UTC)
    assert certificate.key_usages == frozenset({"1.3.6.1.4.1.1847.2021.1.2"})

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    trust = Trust()
    trust.add_certificate(broken)
    result = verify(_dcc(kit, key, certificate.kid, -7, sign), trust, kit.T0)
    assert result.kind == "eu-dcc" and result.signature_valid and result.key_usage_valid
    assert result.time_valid


def test_rsa_key_labelled_rsassa_pss_and_ps256(kit: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = _certificate(key)
    rsa_oid = bytes.fromhex("06092a864886f70d0101010500")
    at = der.find(rsa_oid)
    pss = der[:at] + bytes.fromhex("06092a864886f70d01010a0500") + der[at + len(rsa_oid) :]
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(pss).public_key()
    trust = Trust()
    certificate = trust.add_certificate(pss)
    assert isinstance(certificate.public_key, rsa.RSAPublicKey)

    def sign(data: bytes) -> bytes:
        scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return key.sign(data, scheme, hashes.SHA256())

    result = verify(_dcc(kit, key, certificate.kid, -37, sign), trust, kit.T0)
    assert result.signature_valid and result.key_usage_valid and result.valid


def test_p384_key_labelled_es256(kit: Any) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    trust = Trust()
    certificate = trust.add_certificate(_certificate(key))

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(48, "big") + s.to_bytes(48, "big")

    result = verify(_dcc(kit, key, certificate.kid, -7, sign), trust, kit.T0)
    assert result.signature_valid is True


def test_der_walk_agrees_with_cryptography_on_every_test_certificate(kit: Any) -> None:
    seen = 0
    for path in sorted((kit.EXTDATA / "dgc-testdata").rglob("*.json")):
        context = json.loads(path.read_text(encoding="utf-8")).get("TESTCTX", {})
        der = base64.b64decode(context.get("CERTIFICATE", ""))
        if not der:
            continue
        parts = _walk_certificate(der)
        reference = x509.load_der_x509_certificate(der)
        spki = reference.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert parts.spki == spki, path
        assert parts.not_before == reference.not_valid_before_utc
        assert parts.not_after == reference.not_valid_after_utc
        assert parts.key_usages == load_certificate(der).key_usages
        seen += 1
    assert seen > 400


def test_verify_never_raises_even_with_a_broken_clock(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    naive = datetime(2020, 2, 20, 10, 0)  # no zone: read as local time by astimezone
    assert verify(text, kit.trust_of(issuer.info), naive).decoded
    far = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12)))
    result = verify(text, kit.trust_of(issuer.info), far)
    assert result.error is not None and "\n" not in result.error
