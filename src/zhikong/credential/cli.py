"""`zhikong verify` (offline credential verifier), `zhikong trust` (sign, show, verify lists) and
`zhikong keys issuer` (the regions' signing keys).

Heavy modules (cryptography, numpy, cbor2, Pillow) are imported inside the commands so that
the `zhikong` command starts fast.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from zhikong.console import CliError, console, keystore_from_context, settings_from_context

if TYPE_CHECKING:
    from zhikong.credential.keys import FileSigningKeyStore
    from zhikong.credential.trust import Trust

__all__ = ["issuer_app", "trust_app", "verify_command"]

trust_app = typer.Typer(
    help="Trust lists of issuer keys: sign, show, verify.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_MAX_IMAGE_BYTES = 32 * 1024 * 1024


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _load_trust(trust_list: Path | None, anchor: Path | None, dsc: list[Path]) -> Trust:
    from zhikong.credential.dcc import CertificateError
    from zhikong.credential.trust import (
        Trust,
        TrustListError,
        load_anchor_public_key,
        verify_trust_list,
    )

    trust = Trust()
    if trust_list is not None:
        if anchor is None:
            raise CliError("--trust-list needs --anchor FILE (the pinned anchor public key)")
        try:
            pinned = load_anchor_public_key(_read(anchor, "anchor key"))
            trust.add_trust_list(verify_trust_list(_read(trust_list, "trust list"), pinned))
        except TrustListError as exc:
            raise CliError(f"trust list {trust_list}: {exc}") from None
    elif anchor is not None:
        raise CliError("--anchor is only used with --trust-list")
    for path in dsc:
        try:
            trust.add_certificate(_read(path, "certificate"))
        except CertificateError as exc:
            raise CliError(f"certificate {path}: {exc}") from None
    return trust


def _inputs(values: list[str]) -> Iterator[tuple[str, str | None, str | None]]:
    """(source, text, error) for each credential to verify, in order."""
    from zhikong.credential.qr import decode_qr_image
    from zhikong.credential.verify import PREFIXES

    for index, value in enumerate(values, start=1):
        if value == "-":
            for number, line in enumerate(sys.stdin, start=1):
                if line.strip():
                    yield f"stdin:{number}", line.strip(), None
            continue
        path = Path(value)
        looks_like_text = value.startswith(PREFIXES)
        if not looks_like_text and (path.suffix.lower() in _IMAGE_SUFFIXES or path.is_file()):
            try:
                if path.stat().st_size > _MAX_IMAGE_BYTES:
                    raise OSError("larger than 32 MiB")
                texts = decode_qr_image(path.read_bytes())
            except Exception as exc:  # unreadable or not an image: reported, not fatal
                reason = " ".join(str(exc).split())[:160] or type(exc).__name__
                yield value, None, f"image: cannot read {path.name}: {reason}"
                continue
            if not texts:
                yield value, None, f"image: no QR code found in {path.name}"
            for number, text in enumerate(texts, start=1):
                yield (value if len(texts) == 1 else f"{value}#{number}"), text, None
            continue
        yield f"argument:{index}", value, None


def verify_command(
    inputs: Annotated[
        list[str],
        typer.Argument(help="QR texts (HC1:…, ZK1:…), image files (PNG/JPEG), or - for stdin."),
    ],
    trust_list: Annotated[
        Path | None, typer.Option("--trust-list", help="Signed zhikong trust list (JSON).")
    ] = None,
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Pinned trust-anchor public key (PEM).")
    ] = None,
    dsc: Annotated[
        list[Path] | None,
        typer.Option("--dsc", help="EU DCC signer certificate (DER, PEM or base64); repeatable."),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Validation time, ISO 8601 (default: now).")
    ] = None,
    schemas: Annotated[
        Path | None, typer.Option("--schemas", help="EU DCC JSON schema directory.")
    ] = None,
) -> None:
    """Verify credentials offline; print one JSON object per input."""
    from zhikong.credential.dcc import DccSchemas
    from zhikong.credential.verify import Verification, parse_instant, verify

    if at is None:
        from zhikong.clock import SystemClock

        instant = SystemClock().now()
    else:
        try:
            instant = parse_instant(at)
        except ValueError as exc:
            raise CliError(f"--at: {exc}") from None
    dcc_schemas: DccSchemas | None = None
    if schemas is not None:
        try:
            dcc_schemas = DccSchemas(schemas)
        except (FileNotFoundError, OSError) as exc:
            raise CliError(f"--schemas: {exc}") from None
    trust = _load_trust(trust_list, anchor, dsc or [])
    for source, text, error in _inputs(inputs):
        if text is None:
            result = Verification(None, False, None, None, error=error)
        else:
            result = verify(text, trust, instant, schemas=dcc_schemas)
        record: dict[str, Any] = {"input": source, **result.to_json()}
        _say(json.dumps(record, ensure_ascii=False, sort_keys=False))


# -- zhikong trust ---------------------------------------------------------------------------


@trust_app.command("sign")
def trust_sign(
    document: Annotated[Path, typer.Argument(help="Unsigned trust list: the trust_list object.")],
    anchor_key: Annotated[
        Path, typer.Option("--anchor-key", help="Anchor private key (Ed25519, PKCS#8 PEM).")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write (default: stdout).")
    ] = None,
) -> None:
    """Sign a trust list with the anchor key."""
    from zhikong.credential.trust import (
        TrustList,
        TrustListError,
        load_anchor_private_key,
        sign_trust_list,
    )

    raw = _read(document, "trust list")
    try:
        data = json.loads(raw.decode("utf-8"))
        if isinstance(data, dict) and "trust_list" in data:
            data = data["trust_list"]
        trust_list = TrustList.from_json(data)
        signed = sign_trust_list(trust_list, load_anchor_private_key(_read(anchor_key, "key")))
    except (UnicodeDecodeError, ValueError, TrustListError) as exc:
        raise CliError(f"{document}: {' '.join(str(exc).split())}") from None
    if output is None:
        sys.stdout.write(signed.decode("utf-8"))
    else:
        output.write_bytes(signed)
        _say(f"trust list version {trust_list.version} ({len(trust_list.entries)} keys) → {output}")


def _summary(document: Path, anchor: Path | None, minimum_version: int | None) -> dict[str, Any]:
    from zhikong.credential.trust import (
        TrustListError,
        anchor_id,
        load_anchor_public_key,
        parse_trust_list,
        verify_trust_list,
    )

    raw = _read(document, "trust list")
    try:
        if anchor is None:
            trust_list, signed = parse_trust_list(raw)
            checked: str | None = None
        else:
            pinned = load_anchor_public_key(_read(anchor, "anchor key"))
            trust_list = verify_trust_list(raw, pinned, minimum_version=minimum_version)
            signed = json.loads(raw)
            checked = anchor_id(pinned)
    except TrustListError as exc:
        raise CliError(f"{document}: {exc}") from None
    return {
        "version": trust_list.version,
        "issued_at": trust_list.to_json()["issued_at"],
        "publisher": trust_list.publisher,
        "signed_by_anchor": signed["signature"].get("anchor"),
        "signature_verified_with": checked,
        "keys": trust_list.to_json()["keys"],
    }


@trust_app.command("show")
def trust_show(
    document: Annotated[Path, typer.Argument(help="Signed trust list (JSON).")],
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Check the signature with this anchor.")
    ] = None,
) -> None:
    """Show a trust list's version and keys (its signature is checked only with --anchor)."""
    summary = _summary(document, anchor, None)
    _say(json.dumps(summary, ensure_ascii=False, indent=2))


@trust_app.command("verify")
def trust_verify(
    document: Annotated[Path, typer.Argument(help="Signed trust list (JSON).")],
    anchor: Annotated[Path, typer.Option("--anchor", help="Pinned anchor public key (PEM).")],
    minimum_version: Annotated[
        int | None,
        typer.Option("--minimum-version", min=1, help="Refuse lists older than this version."),
    ] = None,
) -> None:
    """Verify a trust list against the pinned anchor (exit 2 when it does not verify)."""
    summary = _summary(document, anchor, minimum_version)
    revoked = sum(1 for key in summary["keys"] if key.get("revoked"))
    _say(
        f"trust list version {summary['version']} issued {summary['issued_at']}: signature OK "
        f"(anchor {summary['signature_verified_with']}), {len(summary['keys'])} keys, "
        f"{revoked} revoked"
    )


# -- this installation: export our list, import partners' --------------------------------


@trust_app.command("export")
def trust_export(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout).")
    ] = None,
    anchor_out: Annotated[
        Path | None, typer.Option("--anchor-out", help="Also write our anchor (PEM) here.")
    ] = None,
) -> None:
    """Export this installation's issuer keys as a trust list signed by its anchor."""
    from cryptography.hazmat.primitives import serialization

    from zhikong.clock import SystemClock
    from zhikong.credential import issuer

    settings = settings_from_context(ctx)
    keys = keystore_from_context(ctx)
    store = issuer.open_issuer_keys(settings.resolved_key_dir)
    if store is None or not store.keys():
        raise CliError("no issuer signing key; run zhikong keys issuer create REGION")
    data = issuer.signed_own_trust_list(store, keys, SystemClock().now(), settings.issuer_region)
    if out is None:
        sys.stdout.write(data.decode() + "\n")
    else:
        out.write_bytes(data)
        _say(f"trust list written to {out}")
    if anchor_out is not None:
        pem = issuer.anchor_public(keys).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        anchor_out.write_bytes(pem)
        _say(f"anchor written to {anchor_out}")


@trust_app.command("import")
def trust_import(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Partner name, e.g. shanghai.")],
    document: Annotated[Path, typer.Argument(help="The partner's signed trust list (JSON).")],
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Partner anchor to pin (first import).")
    ] = None,
) -> None:
    """Accept a partner region's trust list (signature, version and pinned anchor checked)."""
    from zhikong.credential import issuer
    from zhikong.credential.trust import TrustListError

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", name):
        raise CliError("NAME: lower-case letters, digits and dashes")
    settings = settings_from_context(ctx)
    data = _read(document, "trust list")
    pinned = _read(anchor, "anchor") if anchor is not None else None
    try:
        accepted = issuer.import_partner(settings.var_dir, name, data, pinned)
    except TrustListError as exc:
        raise CliError(f"trust list refused: {exc}") from exc
    _say(f"{name}: trust list version {accepted.version} accepted ({len(accepted.entries)} keys)")


issuer_app = typer.Typer(
    help="Issuer signing keys (ES256) per region, for signed health codes.", no_args_is_help=True
)


def _issuer_store(ctx: typer.Context, *, create: bool = False) -> FileSigningKeyStore:
    from zhikong.credential.issuer import issuer_keys_path, open_issuer_keys
    from zhikong.credential.keys import FileSigningKeyStore

    key_dir = settings_from_context(ctx).resolved_key_dir
    store = open_issuer_keys(key_dir)
    if store is None:
        if not create:
            raise CliError("no issuer keys yet; run: zhikong keys issuer create REGION")
        if not key_dir.exists():
            raise CliError(f"no key directory at {key_dir}; run: zhikong keys init")
        store = FileSigningKeyStore.init(issuer_keys_path(key_dir))
    return store


@issuer_app.command("create")
def issuer_create(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="Issuer region code, e.g. 330000.")],
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Key lifetime.")] = 730,
) -> None:
    """Create a new active signing key for a region (older ones keep verifying)."""
    from datetime import timedelta

    from zhikong.clock import SystemClock
    from zhikong.credential.keys import SigningKeyError

    store = _issuer_store(ctx, create=True)
    now = SystemClock().now()
    try:
        info = store.create(region, at=now, not_after=now + timedelta(days=days))
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{region}: key version {info.version}, kid {info.kid.hex()} (active)")


@issuer_app.command("list")
def issuer_list(ctx: typer.Context) -> None:
    """List issuer keys with their state and validity (never the private keys)."""
    store = _issuer_store(ctx)
    table = Table(title="issuer keys")
    for column in ("region", "version", "kid", "state", "not after", "uses"):
        table.add_column(column)
    infos = store.keys()
    for info in infos:
        table.add_row(
            info.region,
            str(info.version),
            info.kid.hex(),
            str(info.state),
            info.not_after.date().isoformat(),
            ",".join(info.uses),
        )
    console.print(table)


@issuer_app.command("rotate")
def issuer_rotate(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="Issuer region code.")],
    days: Annotated[int, typer.Option("--days", min=1, max=3650)] = 730,
) -> None:
    """New key for a region; the previous active one is retired (still verifies its codes)."""
    from datetime import timedelta

    from zhikong.clock import SystemClock
    from zhikong.credential.keys import KeyState, SigningKeyError

    store = _issuer_store(ctx)
    now = SystemClock().now()
    active = [k for k in store.keys(region) if k.state == KeyState.ACTIVE]
    try:
        info = store.create(region, at=now, not_after=now + timedelta(days=days))
        for old in active:
            store.retire(region, old.version, at=now)
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(
        f"{region}: key version {info.version} active; retired {[k.version for k in active]}"
    )


@issuer_app.command("retire")
def issuer_retire(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument(min=1)],
) -> None:
    """Stop signing with a key; codes it signed stay valid until they expire."""
    from zhikong.clock import SystemClock
    from zhikong.credential.keys import SigningKeyError

    try:
        info = _issuer_store(ctx).retire(region, version, at=SystemClock().now())
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{region} v{info.version}: {info.state}")


@issuer_app.command("revoke")
def issuer_revoke(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument(min=1)],
) -> None:
    """Revoke a compromised key: export the trust list again so verifiers stop accepting it."""
    from zhikong.clock import SystemClock
    from zhikong.credential.keys import SigningKeyError

    try:
        info = _issuer_store(ctx).revoke(region, version, at=SystemClock().now())
    except (SigningKeyError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"{region} v{info.version}: {info.state} — run zhikong trust export")
