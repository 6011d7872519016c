"""`zhikong verify` and `zhikong trust`, run as a user runs them (a real process)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from zhikong.credential.qr import render_png
from zhikong.credential.trust import sign_trust_list


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIKONG_")}
    return subprocess.run(
        [sys.executable, "-m", "zhikong", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zhikong: error: "), done.stderr
    assert fragment in lines[0], lines[0]


def _anchor_files(kit: Any, directory: Path) -> tuple[Path, Path]:
    anchor = kit.anchor_key()
    private = directory / "anchor.pem"
    public = directory / "anchor.pub.pem"
    private.write_bytes(
        anchor.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        anchor.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_verify_eu_dcc_texts_images_and_stdin(tmp_path: Path, kit: Any) -> None:
    vector = json.loads(
        (kit.EXTDATA / "dgc-testdata" / "common" / "2DCode" / "raw" / "CO28.json").read_text()
    )
    certificate = tmp_path / "dsc.b64"
    certificate.write_text(vector["TESTCTX"]["CERTIFICATE"])
    image = tmp_path / "code.png"
    image.write_bytes(base64.b64decode(vector["2DCODE"]))
    done = run(
        "verify",
        vector["PREFIX"],
        str(image),
        "-",
        "--dsc",
        str(certificate),
        "--at",
        vector["TESTCTX"]["VALIDATIONCLOCK"],
        "--schemas",
        str(kit.EXTDATA / "dcc-schema"),
        stdin=vector["PREFIX"] + "\n\nnot a code\n",
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["input"] for line in lines] == ["argument:1", str(image), "stdin:1", "stdin:3"]
    for line in lines[:3]:
        assert line["valid"] is True and line["kind"] == "eu-dcc" and line["schema_valid"]
        assert line["payload"]["nam"]["fnt"] == "LOEVSTROEM"
    assert lines[3]["decoded"] is False and lines[3]["error"].startswith("prefix:")
    expected = {
        "decoded",
        "signature_valid",
        "time_valid",
        "issuer",
        "kid",
        "payload",
        "error",
        "kind",
    }
    assert expected <= set(lines[0])


def test_verify_zhikong_code_with_a_trust_list(tmp_path: Path, kit: Any, issuer: Any) -> None:
    private, public = _anchor_files(kit, tmp_path)
    signed = tmp_path / "trust-list.json"
    signed.write_bytes(sign_trust_list(kit.trust_list_of(issuer.info), kit.anchor_key()))
    claims = kit.claims_for()
    text = issuer.mint(claims)
    image = tmp_path / "code.png"
    image.write_bytes(render_png(text, claims))
    blank = tmp_path / "blank.png"
    blank.write_bytes(b"\x89PNG broken")
    args = ["--trust-list", str(signed), "--anchor", str(public)]
    done = run("verify", text, str(image), str(blank), *args, "--at", "2020-02-20T10:01:00+08:00")
    assert done.returncode == 0, done.stderr
    first, second, third = (json.loads(line) for line in done.stdout.splitlines())
    assert first["valid"] and first["kind"] == "zhikong" and first["payload"]["colour"] == "green"
    assert second["valid"] and second["input"] == str(image)
    assert third["decoded"] is False and third["error"].startswith("image: cannot read")
    late = run("verify", text, *args, "--at", "2020-02-20T03:00:00Z")
    assert json.loads(late.stdout)["time_valid"] is False
    wrong = tmp_path / "other.pub.pem"
    wrong.write_bytes(
        kit.anchor_key("other")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    _one_line_error(
        run("verify", text, "--trust-list", str(signed), "--anchor", str(wrong)),
        "does not verify under the pinned anchor",
    )
    assert private.exists()


def test_verify_misuse_exits_2_with_one_line(tmp_path: Path) -> None:
    _one_line_error(run("verify", "HC1:X", "--at", "yesterday"), "--at: not an ISO-8601 time")
    _one_line_error(
        run("verify", "HC1:X", "--trust-list", str(tmp_path / "missing.json"), "--anchor", "x"),
        "cannot read",
    )
    _one_line_error(
        run("verify", "HC1:X", "--trust-list", str(tmp_path / "missing.json")), "needs --anchor"
    )
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate !")
    _one_line_error(run("verify", "HC1:X", "--dsc", str(bad)), "certificate")
    _one_line_error(run("verify", "HC1:X", "--schemas", str(tmp_path)), "--schemas")
    _one_line_error(run("verify"), "Missing argument")


def test_trust_sign_show_verify(tmp_path: Path, kit: Any, issuer: Any) -> None:
    private, public = _anchor_files(kit, tmp_path)
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(kit.trust_list_of(issuer.info, version=5).to_json()))
    signed = tmp_path / "signed.json"
    done = run("trust", "sign", str(unsigned), "--anchor-key", str(private), "-o", str(signed))
    assert done.returncode == 0, done.stderr
    assert "version 5 (1 keys)" in done.stdout

    shown = run("trust", "show", str(signed))
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["version"] == 5 and summary["signature_verified_with"] is None
    assert summary["keys"][0]["region"] == "330000"

    checked = run("trust", "verify", str(signed), "--anchor", str(public))
    assert checked.returncode == 0, checked.stderr
    assert "version 5" in checked.stdout and "signature OK" in checked.stdout
    _one_line_error(
        run("trust", "verify", str(signed), "--anchor", str(public), "--minimum-version", "6"),
        "older than the held version 6",
    )
    document = json.loads(signed.read_text())
    document["trust_list"]["version"] = 6
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    _one_line_error(run("trust", "verify", str(forged), "--anchor", str(public)), "does not verify")
    _one_line_error(
        run("trust", "sign", str(unsigned), "--anchor-key", str(public)), "unreadable anchor key"
    )
    unsigned.write_text('{"type": "zhikong-trust-list", "format": 1, "version": -1}')
    _one_line_error(
        run("trust", "sign", str(unsigned), "--anchor-key", str(private)), "positive integer"
    )
