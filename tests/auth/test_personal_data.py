"""Personal data: keyed ID hashes, sealed fields, masks, audited reads; machine keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from zhikong.audit.models import AuditEntry
from zhikong.auth.pii import (
    SealError,
    id_lookup,
    mask_name,
    mask_phone,
    rehash_lookup,
    seal,
    unseal,
)
from zhikong.keys import PII_AEAD, PII_HMAC, FileKeyStore
from zhikong.residents.identity import (
    InvalidIdentityError,
    resident_id_check_digit,
    validate_identity,
)

from .conftest import Installation

PERSON = {
    "id_type": "cn-resident",
    "id_number": "330102199003070027",
    "name": "欧阳娜娜",
    "phone": "13912345678",
    "county_code": "330102",
    "sex": "F",
    "birth_date": "1990-03-07",
}


def test_registration_stores_no_clear_personal_data(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    created = client.post("/api/v1/residents", headers=as_user("shangcheng.officer"), json=PERSON)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "欧***" and body["phone"] == "139****5678"
    with installation.engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM resident WHERE id = :id"), {"id": body["id"]}
        ).one()
        audit = " ".join(
            str(v) for v in connection.execute(text("SELECT * FROM audit_entry")).all()
        )
    stored = " ".join(str(value) for value in row)
    for secret in ("欧阳娜娜", "13912345678", "330102199003070027", "199003070027"):
        assert secret not in stored and secret not in audit


def test_reveal_is_for_the_county_officer_and_is_audited(
    installation: Installation, as_user
) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    officer = as_user("shangcheng.officer")
    resident = client.post("/api/v1/residents", headers=officer, json=PERSON).json()["id"]
    revealed = client.get(f"/api/v1/residents/{resident}/personal-data", headers=officer)
    assert revealed.json() == {
        "id": resident,
        "name": "欧阳娜娜",
        "phone": "13912345678",
        "id_type": "cn-resident",
    }
    with installation.engine.connect() as connection:
        reads = connection.execute(
            select(AuditEntry.actor).where(
                AuditEntry.action == "resident.pii.read",
                AuditEntry.subject == f"resident:{resident}",
            )
        ).all()
    assert len(reads) == 1 and reads[0][0].startswith("user:")
    # Commanders see masked data only.
    masked = client.get(f"/api/v1/residents/{resident}", headers=as_user("hz.commander")).json()
    assert masked["name"] == "欧***"


def test_lookup_by_identity_document(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    officer = as_user("shangcheng.officer")
    client.post("/api/v1/residents", headers=officer, json=PERSON)
    found = client.post(
        "/api/v1/residents/lookup",
        headers=officer,
        json={"id_type": "cn-resident", "id_number": "3301 0219 9003 0700 27"},
    )
    assert [r["name"] for r in found.json()] == ["欧***"]
    duplicate = client.post("/api/v1/residents", headers=officer, json=PERSON)
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_number", "330102199003070028"),
        ("id_number", "33010219901307002X"),
        ("birth_date", "1990-03-08"),
        ("county_code", "330100"),
        ("phone", "call me"),
    ],
)
def test_bad_registrations_are_422_naming_the_field(
    installation: Installation, as_user, field: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    response = installation.client.post(
        "/api/v1/residents", headers=as_user("shangcheng.officer"), json={**PERSON, field: value}
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_machine_keys_rotate_and_revoke(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    commander = as_user("hz.commander")
    issued = client.post(
        "/api/v1/api-keys",
        headers=commander,
        json={"name": "西湖 gate", "role": "checkpoint", "region_code": "330106"},
    ).json()
    secret = issued["secret"]
    assert (
        client.get("/api/v1/auth/me", headers={"X-API-Key": secret}).status_code == 403
    )  # no account
    listed = client.get("/api/v1/api-keys", headers=commander).json()
    assert "secret" not in listed[0]
    rotated = client.post(f"/api/v1/api-keys/{issued['id']}/rotate", headers=commander).json()
    assert rotated["replaces_id"] == issued["id"]
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": secret}).status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers={"X-API-Key": rotated["secret"]}).status_code == 403
    )
    client.post(f"/api/v1/api-keys/{rotated['id']}/revoke", headers=commander)
    assert (
        client.get("/api/v1/auth/me", headers={"X-API-Key": rotated["secret"]}).status_code == 401
    )
    tampered = rotated["secret"][:-2] + ("AA" if not rotated["secret"].endswith("AA") else "BB")
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": tampered}).status_code == 401


def test_deactivation_revokes_tokens(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = installation.client
    officer = as_user("xihu.officer")
    assert client.get("/api/v1/auth/me", headers=officer).status_code == 200
    users = client.get("/api/v1/users", headers=as_user("hz.commander")).json()
    xihu = next(u for u in users if u["username"] == "xihu.officer")
    assert (
        client.post(
            f"/api/v1/users/{xihu['id']}/deactivate", headers=as_user("hz.commander")
        ).status_code
        == 200
    )
    assert client.get("/api/v1/auth/me", headers=officer).status_code == 401


# -- pure ---------------------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=40), st.sampled_from(["resident.name", "resident.phone"]))
def test_seal_round_trips_and_binds_the_field(
    keys_module: FileKeyStore, value: str, field: str
) -> None:
    sealed = seal(keys_module, value, field)
    assert unseal(keys_module, sealed, field) == value
    other = "resident.phone" if field == "resident.name" else "resident.name"
    with pytest.raises(SealError):
        unseal(keys_module, sealed, other)


def test_sealed_values_survive_key_rotation(keys: FileKeyStore, clock) -> None:  # type: ignore[no-untyped-def]
    old = seal(keys, "张三", "resident.name")
    keys.rotate(PII_AEAD, clock.now())
    assert unseal(keys, old, "resident.name") == "张三"
    assert seal(keys, "张三", "resident.name").startswith("v2:")


def test_lookup_hashes_chain_across_rotation(keys: FileKeyStore, clock) -> None:  # type: ignore[no-untyped-def]
    before = id_lookup(keys, "cn-resident", "330102199003070027")
    keys.rotate(PII_HMAC, clock.now())
    after = id_lookup(keys, "cn-resident", "330102199003070027")
    assert after != before and rehash_lookup(keys, before, 2) == after


@given(st.from_regex(r"\d{17}", fullmatch=True))
def test_resident_id_check_digit(first17: str) -> None:
    number = first17 + resident_id_check_digit(first17)
    wrong = first17 + ("0" if number[-1] != "0" else "1")
    from datetime import date

    try:
        validate_identity("cn-resident", number, date(2030, 1, 1))
    except InvalidIdentityError as exc:
        assert "birth date" in str(exc)  # only the embedded date may be impossible
    with pytest.raises(InvalidIdentityError):
        validate_identity("cn-resident", wrong, date(2030, 1, 1))


def test_masks() -> None:
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13812341234") == "138****1234"
    assert (
        validate_identity(
            "cn-resident", "11010519491231002x", __import__("datetime").date(2020, 1, 1)
        )
        == "11010519491231002X"
    )


@pytest.fixture(scope="module")
def keys_module(tmp_path_factory: pytest.TempPathFactory) -> FileKeyStore:
    """A key directory shared by the pure tests of this module."""
    from datetime import UTC, datetime

    return FileKeyStore.init(
        tmp_path_factory.mktemp("keys") / "k", datetime(2020, 1, 1, tzinfo=UTC)
    )
