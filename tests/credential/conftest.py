"""Shared helpers for the credential tests: fixed times, keys, claims and a trust list.

The project runs pytest with ``--import-mode=importlib``, so test modules cannot import this
module; they reach the helpers through the ``kit`` fixture.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zhikong.credential.claims import CodeClaims, Colour, Kind, build_claims
from zhikong.credential.keys import KeyState, LocalSigner, SignerKeyInfo, mint
from zhikong.credential.trust import Trust, TrustEntry, TrustList

EXTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "extdata"
REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2020, 2, 20, 2, 0, tzinfo=UTC)
YEAR_START = datetime(2020, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2021, 1, 1, tzinfo=UTC)
SUBJECT_KEY = hashlib.sha256(b"tests: subject key").digest()


def p256(label: str) -> ec.EllipticCurvePrivateKey:
    """A fixed P-256 key derived from a label."""
    seed = int.from_bytes(hashlib.sha256(label.encode()).digest()) % (2**255) + 1
    return ec.derive_private_key(seed, ec.SECP256R1())


def anchor_key(label: str = "anchor") -> Ed25519PrivateKey:
    """A fixed Ed25519 anchor key."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def claims_for(
    reference: str = "resident-000001",
    *,
    issuer: str = "330106",
    colour: Colour = Colour.GREEN,
    kind: Kind = Kind.SCREEN,
    now: datetime = T0,
    validity: timedelta | None = None,
) -> CodeClaims:
    """Claims of a code issued at ``now``."""
    return build_claims(
        issuer=issuer,
        colour=colour,
        masked_name="张*",
        profile_id="health-code-colour.zhejiang-2020",
        profile_version="1.0.0",
        kind=kind,
        subject_reference=reference,
        subject_key=SUBJECT_KEY,
        subject_key_version=1,
        now=now,
        validity=validity,
    )


@dataclass
class Issuer:
    """A signer with its key, and the trust that accepts it."""

    key: ec.EllipticCurvePrivateKey
    info: SignerKeyInfo

    @property
    def signer(self) -> LocalSigner:
        return LocalSigner(self.info, self.key)

    def mint(self, claims: CodeClaims, now: datetime = T0) -> str:
        return mint(claims, self.signer, now)


def make_issuer(
    label: str = "330000 v1",
    *,
    region: str = "330000",
    version: int = 1,
    uses: tuple[str, ...] = ("screen", "paper"),
    state: KeyState = KeyState.ACTIVE,
    retired_at: datetime | None = None,
) -> Issuer:
    """An issuer key valid through 2020."""
    key = p256(label)
    info = SignerKeyInfo.of_public_key(
        key.public_key(),
        region=region,
        version=version,
        not_before=YEAR_START,
        not_after=YEAR_END,
        uses=uses,
        state=state,
        retired_at=retired_at,
    )
    return Issuer(key, info)


def trust_of(*infos: SignerKeyInfo, version: int = 1) -> Trust:
    """Trust built from a (not signed) trust list of these keys."""
    return Trust.of([trust_list_of(*infos, version=version)])


def trust_list_of(*infos: SignerKeyInfo, version: int = 1) -> TrustList:
    """A trust list of these keys."""
    return TrustList(
        version=version,
        issued_at=T0 - timedelta(days=1),
        entries=tuple(TrustEntry.from_signer(info) for info in infos),
        publisher="330000",
    )


class Kit:
    """The helpers, as one object for the ``kit`` fixture."""

    EXTDATA = EXTDATA
    REPO = REPO
    T0 = T0
    YEAR_START = YEAR_START
    YEAR_END = YEAR_END
    SUBJECT_KEY = SUBJECT_KEY
    Issuer = Issuer
    p256 = staticmethod(p256)
    anchor_key = staticmethod(anchor_key)
    claims_for = staticmethod(claims_for)
    make_issuer = staticmethod(make_issuer)
    trust_of = staticmethod(trust_of)
    trust_list_of = staticmethod(trust_list_of)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    """Helpers shared by the credential tests."""
    return Kit


@pytest.fixture
def issuer() -> Issuer:
    """The province's active key."""
    return make_issuer()
