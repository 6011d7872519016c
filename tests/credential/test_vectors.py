"""Our own test vectors (docs/credential-test-vectors): reproducible, and verified as stated."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from zhikong.credential.codec import DecodeFailure, base45_decode, split_prefix
from zhikong.credential.qr import decode_qr_image
from zhikong.credential.trust import Trust, load_anchor_public_key, verify_trust_list
from zhikong.credential.verify import parse_instant, verify

REPO = Path(__file__).resolve().parents[2]
VECTOR_DIR = REPO / "docs" / "credential-test-vectors"
SCRIPT = REPO / "scripts" / "make_credential_vectors.py"
NAMES = sorted(
    path.name
    for path in VECTOR_DIR.glob("*.json")
    if "EXPECTEDRESULTS" in path.read_text(encoding="utf-8")
)


def test_vectors_are_there_and_reproducible(tmp_path: Path) -> None:
    assert len(NAMES) == 13
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    produced = sorted(path.name for path in tmp_path.iterdir())
    assert produced == sorted(path.name for path in VECTOR_DIR.iterdir())
    for name in produced:
        fresh, kept = (tmp_path / name).read_bytes(), (VECTOR_DIR / name).read_bytes()
        if fresh == kept or not name.endswith(".json"):
            assert fresh == kept, name
            continue
        # Another zlib build (e.g. zlib-ng) may deflate differently: then everything but
        # the zlib-dependent fields must still match, and both streams inflate alike.
        new, old = json.loads(fresh), json.loads(kept)
        for document in (new, old):
            compressed = bytes.fromhex(document["COMPRESSED"])
            assert zlib.decompress(compressed) == bytes.fromhex(document.get("COSE", "")) or (
                "COSE" not in document
            )
        zlib_fields = ("COMPRESSED", "BASE45", "PREFIX", "2DCODE")
        assert {k: v for k, v in new.items() if k not in zlib_fields} == {
            k: v for k, v in old.items() if k not in zlib_fields
        }, name


def _results(vector: dict[str, Any]) -> dict[str, bool | None]:
    context = vector["TESTCTX"]
    anchor = load_anchor_public_key(base64.b64decode(context["ANCHOR"]))
    trust_list = verify_trust_list(json.dumps(context["TRUSTLIST"]).encode(), anchor)
    result = verify(
        vector["PREFIX"], Trust.of([trust_list]), parse_instant(context["VALIDATIONCLOCK"])
    )
    split = split_prefix(vector["PREFIX"], ["ZK1:"])
    unprefixed = not isinstance(split, DecodeFailure)
    pictures = decode_qr_image(base64.b64decode(vector["2DCODE"]))
    if result.decoded:
        assert result.payload == vector["JSON"]
    return {
        "EXPECTEDUNPREFIX": unprefixed,
        "EXPECTEDB45DECODE": unprefixed and not isinstance(base45_decode(split[1]), DecodeFailure),  # type: ignore[index]
        "EXPECTEDCOMPRESSION": result.compressed is True,
        "EXPECTEDDECODE": result.decoded,
        "EXPECTEDVERIFY": result.signature_valid is True,
        "EXPECTEDEXPIRATIONCHECK": result.time_valid is True,
        "EXPECTEDKEYUSAGE": result.key_usage_valid,
        "EXPECTEDPICTUREDECODE": pictures == [vector["PREFIX"]],
    }


@pytest.mark.parametrize("name", NAMES or ["(no vectors)"])
def test_vector_gives_the_stated_result(name: str) -> None:
    assert name in NAMES, f"no test vectors in {VECTOR_DIR}"
    vector = json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))
    ours = _results(vector)
    expected = vector["EXPECTEDRESULTS"]
    assert set(expected) <= set(ours)
    for flag, value in expected.items():
        assert ours[flag] is value, f"{name}: {flag} should be {value}, is {ours[flag]}"


def test_the_cli_agrees_with_the_vectors() -> None:
    """`zhikong verify` with the published trust list and anchor: one verdict per vector."""
    texts = []
    for name in NAMES:
        vector = json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))
        if vector["TESTCTX"]["VALIDATIONCLOCK"] == "2020-02-20T02:01:00Z":
            texts.append((name, vector["PREFIX"], vector["EXPECTEDRESULTS"]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhikong",
            "verify",
            "-",
            "--trust-list",
            str(VECTOR_DIR / "trust-list.json"),
            "--anchor",
            str(VECTOR_DIR / "anchor.pub.pem"),
            "--at",
            "2020-02-20T10:01:00+08:00",
        ],
        input="".join(text + "\n" for _, text, _ in texts),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(texts) >= 8
    for (name, _, expected), line in zip(texts, lines, strict=True):
        assert line["decoded"] is expected["EXPECTEDDECODE"], name
        if "EXPECTEDVERIFY" in expected:
            assert line["signature_valid"] is expected["EXPECTEDVERIFY"], name
