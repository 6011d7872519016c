"""Issuing signed codes from the platform, verifying them online, and two regions that
exchange trust lists and verify each other's codes offline (跨域互认)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from zhikong.credential.qr import decode_qr_image
from zhikong.credential.trust import Trust, load_anchor_public_key, verify_trust_list
from zhikong.credential.verify import verify

from ..conftest import Installation


def _zk(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        check=False,
    )


@pytest.fixture
def issuing(installation: Installation, tmp_path: Path) -> Installation:
    """The demo installation with an issuer key for 330000 in its key directory."""
    from zhikong.credential.issuer import ensure_issuer_key

    ensure_issuer_key(installation.keys.path, "330000", installation.clock.now())
    app = installation.client.app
    app.state.platform.settings.key_dir = installation.keys.path  # type: ignore[attr-defined]
    app.state.platform.settings.var_dir = tmp_path / "var"  # type: ignore[attr-defined]
    return installation


def _resident_with_code(installation: Installation) -> tuple[int, dict[str, str]]:
    from ..code.test_code_api import declare, resident_headers

    headers = resident_headers(installation, "13912345678")
    return declare(installation, headers)["resident_id"], headers


def test_mint_verify_online_and_privacy(issuing: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    client = issuing.client
    rid, me = _resident_with_code(issuing)
    first = client.post(f"/api/v1/code/residents/{rid}/credential", headers=me)
    assert first.status_code == 200, first.text
    code = first.json()
    assert code["text"].startswith("ZK1:") and code["colour"] == "green"
    assert code["masked_name"] == "欧***" and "<svg" in code["svg"]
    second = client.post(f"/api/v1/code/residents/{rid}/credential", headers=me).json()
    assert second["text"] != code["text"]
    checkpoint = client.post(
        "/api/v1/api-keys",
        headers=as_user("hz.commander"),
        json={"name": "西湖 gate", "role": "checkpoint", "region_code": "330106"},
    ).json()["secret"]
    verdict = client.post(
        "/api/v1/credential/verify", headers={"X-API-Key": checkpoint}, json={"text": code["text"]}
    ).json()
    assert verdict["valid"] is True and verdict["colour"] == "green"
    assert verdict["masked_name"] == "欧***" and verdict["issuer"] == "330000"
    assert set(verdict) == {
        "valid",
        "decoded",
        "signature_valid",
        "time_valid",
        "kind",
        "issuer",
        "colour",
        "masked_name",
        "expires_at",
        "error",
    }  # checkpoints learn nothing that identifies the person
    tampered = code["text"][:-3] + ("AAA" if not code["text"].endswith("AAA") else "BBB")
    bad = client.post(
        "/api/v1/credential/verify", headers={"X-API-Key": checkpoint}, json={"text": tampered}
    ).json()
    assert bad["valid"] is False and bad["error"]
    issuing.clock.set(issuing.clock.now() + timedelta(minutes=6))
    expired = client.post(
        "/api/v1/credential/verify", headers={"X-API-Key": checkpoint}, json={"text": code["text"]}
    ).json()
    assert expired["valid"] is False and expired["time_valid"] is False
    # Residents cannot verify, and the endpoint needs a credential.
    assert client.post("/api/v1/credential/verify", json={"text": code["text"]}).status_code == 401


def test_the_issuer_alone_resolves_the_subject(issuing: Installation) -> None:
    from zhikong.credential.claims import ZHIKONG_PREFIX, CodeClaims
    from zhikong.credential.codec import DecodedText, decode_text
    from zhikong.credential.issuer import resolve_subject

    rid, me = _resident_with_code(issuing)
    text = issuing.client.post(f"/api/v1/code/residents/{rid}/credential", headers=me).json()[
        "text"
    ]
    decoded = decode_text(text, [ZHIKONG_PREFIX])
    assert isinstance(decoded, DecodedText)
    claims = CodeClaims.from_cwt(decoded.claims)
    assert resolve_subject(issuing.keys, claims, "330000") == rid


def test_paper_code_is_a_png_that_decodes_and_is_audited(issuing: Installation, as_user) -> None:  # type: ignore[no-untyped-def]
    rid, me = _resident_with_code(issuing)
    response = issuing.client.get(f"/api/v1/code/residents/{rid}/paper.png", headers=me)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    [text] = decode_qr_image(response.content)
    trust_doc = issuing.client.get("/api/v1/credential/trust-list").content
    anchor = issuing.client.get("/api/v1/credential/anchor").json()
    import base64

    trust_list = verify_trust_list(
        trust_doc, load_anchor_public_key(base64.b64decode(anchor["public_key"]))
    )
    result = verify(text, Trust.of([trust_list]), issuing.clock.now() + timedelta(days=6))
    assert result.valid and result.payload["kind"] == "paper"  # type: ignore[index]
    entries = issuing.client.get(
        "/api/v1/audit/entries", params={"subject": f"resident:{rid}"}, headers=as_user("admin")
    ).json()
    assert "code.credential.paper" in [e["action"] for e in entries]


def test_two_regions_exchange_trust_lists_and_revoke(tmp_path: Path) -> None:
    """Zhejiang and a partner region, each with its own keys and database, verify offline."""
    regions = {}
    for name, region in (("zhejiang", "330000"), ("partner", "310000")):
        env = {
            "ZHIKONG_VAR_DIR": str(tmp_path / name),
            "ZHIKONG_ISSUER_REGION": region,
        }
        assert _zk(["keys", "init"], env).returncode == 0
        created = _zk(["keys", "issuer", "create", region], env)
        assert created.returncode == 0, created.stderr
        regions[name] = env
    exported = _zk(
        [
            "trust",
            "export",
            "--out",
            str(tmp_path / "zj.json"),
            "--anchor-out",
            str(tmp_path / "zj.pem"),
        ],
        regions["zhejiang"],
    )
    assert exported.returncode == 0, exported.stderr
    # The partner pins Zhejiang's anchor and imports its list.
    imported = _zk(
        [
            "trust",
            "import",
            "zhejiang",
            str(tmp_path / "zj.json"),
            "--anchor",
            str(tmp_path / "zj.pem"),
        ],
        regions["partner"],
    )
    assert imported.returncode == 0, imported.stderr
    # Zhejiang mints a code (library call on its own key directory).
    from zhikong.clock import SystemClock
    from zhikong.credential.claims import Kind
    from zhikong.credential.issuer import mint_for, open_issuer_keys, partner_lists
    from zhikong.keys import FileKeyStore

    zj_keys = FileKeyStore.load(tmp_path / "zhejiang" / "keys")
    zj_issuers = open_issuer_keys(tmp_path / "zhejiang" / "keys")
    assert zj_issuers is not None
    now = SystemClock().now()
    minted = mint_for(
        zj_issuers,
        zj_keys,
        issuer_region="330000",
        resident_id=7,
        colour="yellow",
        masked_name="张*",
        profile_id="code-colour.zhejiang-2020",
        profile_version="1.0.0",
        kind=Kind.SCREEN,
        now=now,
    )
    # The partner verifies it offline, from its own trust store only.
    trust = Trust.of(partner_lists(tmp_path / "partner"))
    assert verify(minted.text, trust, now).valid
    cli = _zk(
        [
            "verify",
            minted.text,
            "--trust-list",
            str(tmp_path / "zj.json"),
            "--anchor",
            str(tmp_path / "zj.pem"),
        ],
        regions["partner"],
    )
    assert json.loads(cli.stdout.splitlines()[0])["signature_valid"] is True
    # Zhejiang revokes the key and re-exports; the partner stops accepting the code.
    assert _zk(["keys", "issuer", "revoke", "330000", "1"], regions["zhejiang"]).returncode == 0
    import time

    time.sleep(1.1)  # trust-list versions are whole seconds
    assert (
        _zk(
            ["trust", "export", "--out", str(tmp_path / "zj2.json")], regions["zhejiang"]
        ).returncode
        == 0
    )
    again = _zk(["trust", "import", "zhejiang", str(tmp_path / "zj2.json")], regions["partner"])
    assert again.returncode == 0, again.stderr
    trust = Trust.of(partner_lists(tmp_path / "partner"))
    assert not verify(minted.text, trust, now).valid
    # An older list is refused, and so is a list signed by another anchor.
    older = _zk(["trust", "import", "zhejiang", str(tmp_path / "zj.json")], regions["partner"])
    assert older.returncode == 2 and "refused" in older.stderr
