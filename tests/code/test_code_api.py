"""The health code over HTTP: declarations, check-ins, officers' events, region risk changes,
overrides, appeals, dependants, 'why this colour', notifications."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from zhikong.audit.models import AuditEntry
from zhikong.code.events import load_events
from zhikong.code.models import CodeEvent, Declaration, HealthCode
from zhikong.code.policy import ColourPolicy
from zhikong.store.engine import make_sessionmaker

from ..conftest import Installation

PERSON: dict[str, Any] = {
    "client_request_id": "decl-test-0001",
    "relation": "self",
    "name": "欧阳娜娜",
    "sex": "F",
    "nationality": "CHN",
    "id_type": "cn-resident",
    "id_number": "330102199003070027",
    "birth_date": "1990-03-07",
    "household_region": "330102",
    "address_region": "330102",
    "phone": "13912345678",
    "temperature": 36.6,
    "symptoms": [],
    "trips": [],
    "contact_history": {"confirmed_or_suspected": False},
    "pledge": True,
}


def resident_headers(installation: Installation, phone: str) -> dict[str, str]:
    """Sign in as a resident by SMS code."""
    client = installation.client
    assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 202
    code = re.search(r"(\d{6})", installation.sms.sent[-1][1])
    assert code
    pair = client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code.group(1)})
    assert pair.status_code == 200, pair.text
    return {"Authorization": f"Bearer {pair.json()['access_token']}"}


def declare(installation: Installation, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = installation.client.post(
        "/api/v1/code/declarations", headers=headers, json={**PERSON, **changes}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_declaration_gives_a_green_code_and_is_idempotent(installation: Installation) -> None:
    me = resident_headers(installation, "13912345678")
    first = declare(installation, me)
    assert first["code"]["colour"] == "green" and first["replayed"] is False
    assert first["code"]["masked_name"] == "欧***"
    assert first["code"]["profile"] == "code-colour.zhejiang-2020"
    again = declare(installation, me)
    assert again["replayed"] is True and again["declaration_id"] == first["declaration_id"]
    with installation.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Declaration)) == 1
        sealed = connection.scalar(select(Declaration.submission_sealed))
    assert "欧阳娜娜" not in sealed and "330102199003070027" not in sealed
    mine = installation.client.get("/api/v1/code/mine", headers=me).json()
    assert [(m["relation"], m["code"]["colour"]) for m in mine] == [("self", "green")]


def test_fever_is_yellow_until_seven_normal_checkins(installation: Installation) -> None:
    me = resident_headers(installation, "13912345678")
    resident = declare(installation, me, temperature=38.1, symptoms=["fever", "cough"])
    rid = resident["resident_id"]
    assert resident["code"]["colour"] == "yellow"
    why = installation.client.get(f"/api/v1/code/residents/{rid}/why", headers=me).json()
    assert why["colour"] == "yellow" and why["rule_id"] == "code-colour.zhejiang-2020"
    assert "黄码" in why["summary"]["zh"] and why["reasons"][0]["kind"] == "declaration"
    assert "7" in why["next_step"]["zh"]
    for day in range(1, 8):
        installation.clock.set(installation.clock.now() + timedelta(days=1))
        me = resident_headers(installation, "13912345678")  # tokens last 15 minutes
        response = installation.client.post(
            f"/api/v1/code/residents/{rid}/checkins",
            headers=me,
            json={"client_request_id": f"checkin-day-{day:03d}", "temperature": 36.5},
        )
        assert response.status_code == 201, response.text
        colour = response.json()["code"]["colour"]
        assert colour == ("green" if day == 7 else "yellow"), day
    assert installation.notifier.sent[-1].new_colour == "green"


def test_bad_declarations_are_422_naming_the_field_and_change_nothing(
    installation: Installation,
) -> None:
    me = resident_headers(installation, "13912345678")
    cases = [
        ({"id_number": "330102199003070028"}, "id_number"),
        ({"birth_date": "1990-03-08"}, "birth_date"),
        ({"address_region": "339999"}, "address_region"),
        ({"address_region": "330100"}, "address_region"),
        ({"temperature": 46.0}, "temperature"),
        ({"temperature": 29.5}, "temperature"),
        ({"symptoms": ["sneezing"]}, "symptoms"),
        ({"pledge": False}, "pledge"),
        (
            {
                "trips": [
                    {"region_code": "330106", "arrived_on": "2030-01-01", "left_on": "2030-01-02"}
                ]
            },
            "trips[0].left_on",
        ),
        (
            {
                "trips": [
                    {"region_code": "339999", "arrived_on": "2020-02-01", "left_on": "2020-02-02"}
                ]
            },
            "trips[0].region_code",
        ),
        ({"relation": "dependant"}, "consent"),
    ]
    for change, field in cases:
        response = installation.client.post(
            "/api/v1/code/declarations", headers=me, json={**PERSON, **change}
        )
        assert response.status_code == 422, (change, response.text)
        assert field in response.json()["detail"], (field, response.json()["detail"])
    with installation.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Declaration)) == 0


def test_officer_events_recolour_through_the_rules_and_are_audited(
    installation: Installation, as_user
) -> None:  # type: ignore[no-untyped-def]
    me = resident_headers(installation, "13912345678")
    rid = declare(installation, me)["resident_id"]
    officer = as_user("shangcheng.officer")
    response = installation.client.post(
        f"/api/v1/code/residents/{rid}/events",
        headers=officer,
        json={"client_request_id": "trace-0001", "kind": "close_contact"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["code"]["colour"] == "red"
    replay = installation.client.post(
        f"/api/v1/code/residents/{rid}/events",
        headers=officer,
        json={"client_request_id": "trace-0001", "kind": "close_contact"},
    )
    assert replay.json()["replayed"] is True
    with installation.engine.connect() as connection:
        entries = connection.execute(
            select(AuditEntry.rule_id, AuditEntry.rule_version, AuditEntry.after).where(
                AuditEntry.action == "code.colour", AuditEntry.subject == f"resident:{rid}"
            )
        ).all()
    assert entries[-1].rule_id == "code-colour.zhejiang-2020"
    assert entries[-1].after["colour"] == "red"
    assert installation.client.get("/api/v1/audit/verify", headers=as_user("admin")).json()["ok"]
    # A false declaration established is red too; a case report needs its status.
    bad = installation.client.post(
        f"/api/v1/code/residents/{rid}/events",
        headers=officer,
        json={"client_request_id": "case-0001", "kind": "case_report"},
    )
    assert bad.status_code == 422 and "case_status" in bad.json()["detail"]


def test_region_turned_high_risk_recolours_its_visitors(
    installation: Installation, as_user
) -> None:  # type: ignore[no-untyped-def]
    me = resident_headers(installation, "13912345678")
    today = installation.clock.now().date()
    trip = {
        "region_code": "330382",
        "arrived_on": str(today - timedelta(days=4)),
        "left_on": str(today - timedelta(days=3)),
    }
    rid = declare(installation, me, trips=[trip])["resident_id"]
    with installation.engine.connect() as connection:
        before = dict(connection.execute(select(HealthCode.resident_id, HealthCode.colour)).all())
    assert before[rid] == "red"  # the demo had already designated 乐清市 high-risk
    response = installation.client.post(
        "/api/v1/code/region-risk",
        headers=as_user("zj.commander"),
        json={"region_code": "330327", "level": "medium", "basis": "测试：苍南县列为中风险"},
    )
    assert response.status_code == 201, response.text
    # The batch result equals a full replay of every resident's events.
    policy = ColourPolicy.named()
    with make_sessionmaker(installation.engine)() as session:
        for code in session.scalars(select(HealthCode)):
            decision = policy.decide(
                load_events(session, code.resident_id), installation.clock.now()
            )
            assert decision.colour == code.colour, code.resident_id


def test_override_needs_basis_jurisdiction_and_expires(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    me = resident_headers(installation, "13912345678")
    rid = declare(installation, me)["resident_id"]
    until = (installation.clock.now() + timedelta(days=2)).isoformat()
    body = {
        "client_request_id": "override-0001",
        "colour": "red",
        "until": until,
        "legal_basis": "《传染病防治法》第三十九条",
    }
    neighbour = installation.client.post(
        f"/api/v1/code/residents/{rid}/overrides", headers=as_user("xihu.officer"), json=body
    )
    assert neighbour.status_code == 404
    short = installation.client.post(
        f"/api/v1/code/residents/{rid}/overrides",
        headers=as_user("shangcheng.officer"),
        json={**body, "legal_basis": "because"},
    )
    assert short.status_code == 422 and "legal_basis" in short.json()["detail"]
    too_long = installation.client.post(
        f"/api/v1/code/residents/{rid}/overrides",
        headers=as_user("shangcheng.officer"),
        json={**body, "until": (installation.clock.now() + timedelta(days=40)).isoformat()},
    )
    assert too_long.status_code == 422 and "until" in too_long.json()["detail"]
    done = installation.client.post(
        f"/api/v1/code/residents/{rid}/overrides", headers=as_user("shangcheng.officer"), json=body
    )
    assert done.json()["code"]["colour"] == "red"
    why = installation.client.get(f"/api/v1/code/residents/{rid}/why", headers=me).json()
    assert why["override"]["legal_basis"] == "《传染病防治法》第三十九条"
    installation.clock.set(installation.clock.now() + timedelta(days=3))
    from zhikong.code.recolour import tick
    from zhikong.store.engine import transaction

    with transaction(make_sessionmaker(installation.engine)) as session:
        tick(session, installation.clock, ColourPolicy.named())
    with transaction(make_sessionmaker(installation.engine)) as session:
        _, changed, _ = tick(session, installation.clock, ColourPolicy.named())
    assert changed == 0  # idempotent
    me = resident_headers(installation, "13912345678")
    status = installation.client.get(f"/api/v1/code/residents/{rid}", headers=me).json()
    assert status["colour"] == "green" and status["override_until"] is None


def test_appeal_is_routed_decided_and_upheld(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    me = resident_headers(installation, "13912345678")
    rid = declare(installation, me)["resident_id"]
    event = installation.client.post(
        f"/api/v1/code/residents/{rid}/events",
        headers=as_user("shangcheng.officer"),
        json={"client_request_id": "trace-0002", "kind": "close_contact"},
    ).json()["event_id"]
    appeal = installation.client.post(
        f"/api/v1/code/residents/{rid}/appeals",
        headers=me,
        json={
            "client_request_id": "appeal-0001",
            "kind": "colour",
            "text": "我当天不在该场所，有出差记录。",
            "event_ids": [event],
        },
    )
    assert appeal.status_code == 201, appeal.text
    appeal_id = appeal.json()["id"]
    assert appeal.json()["deadline_at"] > appeal.json()["submitted_at"]
    assert (
        installation.client.get("/api/v1/code/appeals", headers=as_user("xihu.officer")).json()
        == []
    )
    queue = installation.client.get(
        "/api/v1/code/appeals", headers=as_user("shangcheng.officer")
    ).json()
    assert [a["id"] for a in queue] == [appeal_id] and queue[0]["overdue"] is False
    installation.clock.set(installation.clock.now() + timedelta(days=4))
    officer = as_user("shangcheng.officer")
    queue = installation.client.get(
        "/api/v1/code/appeals", headers=installation.sign_in("shangcheng.officer")
    ).json()
    assert queue[0]["overdue"] is True
    decided = installation.client.post(
        f"/api/v1/code/appeals/{appeal_id}/decision",
        headers=installation.sign_in("shangcheng.officer"),
        json={
            "upheld": True,
            "decision": "出差记录属实，撤销密接判定。",
            "void_event_ids": [event],
        },
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld"
    me = resident_headers(installation, "13912345678")
    assert (
        installation.client.get(f"/api/v1/code/residents/{rid}", headers=me).json()["colour"]
        == "green"
    )
    again = installation.client.post(
        f"/api/v1/code/appeals/{appeal_id}/decision",
        headers=installation.sign_in("shangcheng.officer"),
        json={"upheld": False, "decision": "second decision"},
    )
    assert again.status_code == 409
    del officer


def test_dependants_are_held_with_consent(installation: Installation) -> None:
    me = resident_headers(installation, "13912345678")
    declare(installation, me)
    grandmother = {
        **PERSON,
        "client_request_id": "decl-gran-0001",
        "relation": "dependant",
        "consent": "本人口头同意，由孙女代办",
        "name": "王秀英",
        "id_number": "330102194501010028",
        "birth_date": "1945-01-01",
        "phone": "057187000000",
    }
    from zhikong.residents.identity import resident_id_check_digit

    grandmother["id_number"] = "33010219450101002" + resident_id_check_digit("33010219450101002")
    response = installation.client.post("/api/v1/code/declarations", headers=me, json=grandmother)
    assert response.status_code == 201, response.text
    mine = installation.client.get("/api/v1/code/mine", headers=me).json()
    assert sorted(m["relation"] for m in mine) == ["dependant", "self"]
    stranger = resident_headers(installation, "13700000000")
    other = installation.client.get(
        f"/api/v1/code/residents/{response.json()['resident_id']}", headers=stranger
    )
    assert other.status_code == 404


def test_events_are_never_edited_only_added(installation: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    me = resident_headers(installation, "13912345678")
    rid = declare(installation, me)["resident_id"]
    with installation.engine.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(CodeEvent).where(CodeEvent.resident_id == rid)
        )
    installation.client.post(
        f"/api/v1/code/residents/{rid}/checkins",
        headers=me,
        json={"client_request_id": "checkin-x-0001", "temperature": 36.4},
    )
    with installation.engine.connect() as connection:
        assert (
            connection.scalar(
                select(func.count()).select_from(CodeEvent).where(CodeEvent.resident_id == rid)
            )
            == count + 1
        )
