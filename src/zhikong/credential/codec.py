"""The layers of a signed code: prefix ↔ Base45 ↔ zlib ↔ COSE_Sign1 ↔ CBOR Web Token.

Everything here is pure. Decoding is total: any input, however malformed, truncated, oversized
or hostile, yields either a decoded value or a :class:`DecodeFailure` naming the stage that
refused it, with a one-line reason. Work is bounded before it is done: the text length is
checked before Base45, the zlib output is capped while inflating (a zlib bomb stops at the
cap), CBOR nesting depth is limited and the semantic CBOR tags that could allocate or recurse
(value sharing, string references, big floats, ...) are kept as plain tags.

Known deviations found in the field (EU DCC) are accepted: untagged COSE_Sign1, the CWT tag
61 wrapping the COSE_Sign1 tag 18, ``alg``/``kid`` in the unprotected header only, and a
payload that was not compressed (no zlib header).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import cbor2
import numpy as np

__all__ = [
    "ALG_ES256",
    "ALG_ES384",
    "ALG_ES512",
    "ALG_PS256",
    "BASE45_ALPHABET",
    "CWT_EXP",
    "CWT_IAT",
    "CWT_ISS",
    "CWT_NBF",
    "HEADER_ALG",
    "HEADER_KID",
    "MAX_COMPRESSED_BYTES",
    "MAX_DECOMPRESSED_BYTES",
    "MAX_TEXT_CHARS",
    "TAG_COSE_SIGN1",
    "TAG_CWT",
    "CoseSign1",
    "DecodeFailure",
    "DecodedText",
    "Stage",
    "base45_decode",
    "base45_encode",
    "compress",
    "decode_cbor",
    "decode_cose",
    "decode_cwt",
    "decode_text",
    "decompress",
    "encode_cose_sign1",
    "encode_cwt",
    "encode_protected_header",
    "encode_text",
    "sig_structure",
    "split_prefix",
]

# -- limits -------------------------------------------------------------------------------------

MAX_TEXT_CHARS: Final = 4_400
"""Longest text accepted: a version-40 QR code holds at most 4,296 alphanumeric characters."""
MAX_COMPRESSED_BYTES: Final = MAX_TEXT_CHARS * 2 // 3
"""The most bytes Base45 text of :data:`MAX_TEXT_CHARS` can carry."""
MAX_DECOMPRESSED_BYTES: Final = 64 * 1024
"""Inflating stops here: a larger payload is refused (zlib bomb)."""
MAX_CBOR_DEPTH: Final = 24
"""Deepest nesting of CBOR arrays/maps accepted (a DCC needs 6)."""

# -- registered numbers -------------------------------------------------------------------------

TAG_COSE_SIGN1: Final = 18
TAG_CWT: Final = 61
HEADER_ALG: Final = 1
HEADER_KID: Final = 4
ALG_ES256: Final = -7
ALG_ES384: Final = -35
ALG_ES512: Final = -36
ALG_PS256: Final = -37
CWT_ISS: Final = 1
CWT_EXP: Final = 4
CWT_NBF: Final = 5
CWT_IAT: Final = 6

BASE45_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


class Stage(StrEnum):
    """A layer of the encoding, named in decoding failures."""

    PREFIX = "prefix"
    BASE45 = "base45"
    ZLIB = "zlib"
    COSE = "cose"
    CWT = "cwt"


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """Decoding stopped at a stage, for a one-line reason."""

    stage: Stage
    reason: str
    compressed: bool | None = None
    """Whether a zlib stream was found, when decoding got past the zlib stage."""

    def __str__(self) -> str:
        return f"{self.stage.value}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A decoded COSE_Sign1 message (RFC 9052 §4.2)."""

    protected: bytes
    """The protected header exactly as received (a CBOR map in a byte string, or empty)."""
    protected_header: Mapping[Any, Any]
    unprotected_header: Mapping[Any, Any]
    payload: bytes
    signature: bytes
    tags: tuple[int, ...]
    """CBOR tags that wrapped the message, outermost first (``(61, 18)``, ``(18,)`` or ``()``)."""

    @property
    def alg(self) -> Any:
        """The ``alg`` header: the protected one, else the unprotected one (or None)."""
        if HEADER_ALG in self.protected_header:
            return self.protected_header[HEADER_ALG]
        return self.unprotected_header.get(HEADER_ALG)

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` header: the protected one, else the unprotected one (None if absent)."""
        value = self.protected_header.get(HEADER_KID)
        if value is None:
            value = self.unprotected_header.get(HEADER_KID)
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode("utf-8")
        return None

    def to_be_signed(self) -> bytes:
        """The bytes the signature covers (the ``Signature1`` Sig_structure)."""
        return sig_structure(self.protected, self.payload)


@dataclass(frozen=True, slots=True)
class DecodedText:
    """A code text decoded down to its CWT claims (signature not yet checked)."""

    prefix: str
    compressed: bool
    """Whether the Base45 payload was a zlib stream (False: a bare COSE_Sign1)."""
    cose_bytes: bytes
    cose: CoseSign1
    claims: Mapping[Any, Any]


# -- CBOR -------------------------------------------------------------------------------------


def _keep_tag(tag: int) -> Any:
    def keep(value: Any, immutable: bool) -> cbor2.CBORTag:
        return cbor2.CBORTag(tag, value)

    return keep


# Tags that cbor2 would interpret: kept as plain CBORTag values instead, so that decoding never
# builds shared/cyclic structures, expands string references, computes big floats, compiles
# regular expressions or parses MIME documents on behalf of an attacker.
_INTERPRETED_TAGS: Final = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 38, 52, 54, 100)
_INTERPRETED_TAGS_MORE: Final = (256, 258, 260, 261, 1004, 55799)
_PLAIN_TAGS: Final = {tag: _keep_tag(tag) for tag in _INTERPRETED_TAGS + _INTERPRETED_TAGS_MORE}


def decode_cbor(data: bytes, *, max_depth: int = MAX_CBOR_DEPTH) -> Any:
    """Decode exactly one CBOR item filling ``data`` (ValueError on anything else)."""
    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(stream, semantic_decoders=_PLAIN_TAGS, max_depth=max_depth)
        value = decoder.decode()
    except Exception as exc:  # cbor2 raises many types on hostile input
        raise ValueError(_one_line(exc) or type(exc).__name__) from None
    if stream.tell() != len(data):
        raise ValueError(f"{len(data) - stream.tell()} trailing byte(s) after the CBOR item")
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


# -- prefix -----------------------------------------------------------------------------------


def split_prefix(text: str, prefixes: Iterable[str]) -> tuple[str, str] | DecodeFailure:
    """Split a code text into its context prefix (e.g. ``HC1:``) and its Base45 body."""
    if not isinstance(text, str):
        return DecodeFailure(Stage.PREFIX, f"expected text, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS + 16:
        return DecodeFailure(
            Stage.PREFIX, f"input of {len(text)} characters exceeds {MAX_TEXT_CHARS}"
        )
    stripped = text.strip()
    for prefix in prefixes:
        if stripped.startswith(prefix):
            return prefix, stripped[len(prefix) :]
    head = stripped[:4]
    if not stripped:
        return DecodeFailure(Stage.PREFIX, "empty input")
    if len(stripped) > 3 and stripped[3] == ":" and stripped[:3].isalnum():
        return DecodeFailure(Stage.PREFIX, f"unsupported context identifier {head!r}")
    return DecodeFailure(Stage.PREFIX, "missing context identifier (e.g. 'HC1:')")


# -- Base45 (RFC 9285) ------------------------------------------------------------------------

_B45_INVALID: Final = 255
_B45_TABLE: Final = bytes(
    BASE45_ALPHABET.index(chr(code)) if chr(code) in BASE45_ALPHABET else _B45_INVALID
    for code in range(256)
)
_B45_WEIGHTS: Final = np.array([1, 45, 2025], dtype=np.uint32)
_B45_CHARS: Final = np.frombuffer(BASE45_ALPHABET.encode("ascii"), dtype=np.uint8)


def base45_encode(data: bytes) -> str:
    """Encode bytes as Base45 text (RFC 9285)."""
    even = len(data) - len(data) % 2
    pairs = np.frombuffer(data[:even], dtype=">u2").astype(np.uint32)
    c = pairs % 45
    rest = pairs // 45
    d = rest % 45
    e = rest // 45
    digits = np.stack([c, d, e], axis=1).reshape(-1)
    text = _B45_CHARS[digits].tobytes().decode("ascii")
    if even != len(data):
        last = data[-1]
        text += BASE45_ALPHABET[last % 45] + BASE45_ALPHABET[last // 45]
    return text


def base45_decode(text: str) -> bytes | DecodeFailure:
    """Decode Base45 text (RFC 9285), refusing bad characters, lengths and group values."""
    if len(text) > MAX_TEXT_CHARS:
        return DecodeFailure(
            Stage.BASE45, f"text of {len(text)} characters exceeds {MAX_TEXT_CHARS}"
        )
    try:
        values = text.encode("ascii").translate(_B45_TABLE)
    except UnicodeEncodeError as exc:
        return DecodeFailure(Stage.BASE45, f"non-ASCII character at position {exc.start}")
    if b"\xff" in values:
        position = values.index(b"\xff")
        return DecodeFailure(
            Stage.BASE45, f"invalid character {text[position]!r} at position {position}"
        )
    size = len(values)
    if size % 3 == 1:
        return DecodeFailure(Stage.BASE45, f"invalid length {size} (a group of one character)")
    full = size - size % 3
    groups = np.frombuffer(values, np.uint8, full).reshape(-1, 3).astype(np.uint32) @ _B45_WEIGHTS
    if full and int(groups.max()) > 0xFFFF:
        index = int(np.flatnonzero(groups > 0xFFFF)[0])
        return DecodeFailure(Stage.BASE45, f"group at position {index * 3} exceeds 65535")
    out: bytes = groups.astype(">u2").tobytes()
    if full != size:
        tail = values[full] + 45 * values[full + 1]
        if tail > 0xFF:
            return DecodeFailure(Stage.BASE45, f"final group at position {full} exceeds 255")
        out += bytes((tail,))
    return out


# -- zlib ------------------------------------------------------------------------------------


def _has_zlib_header(data: bytes) -> bool:
    if len(data) < 2:
        return False
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and ((cmf << 8) | flg) % 31 == 0


def compress(data: bytes) -> bytes:
    """Compress with zlib (RFC 1950, deflate, best compression)."""
    return zlib.compress(data, 9)


def decompress(
    data: bytes, *, max_size: int = MAX_DECOMPRESSED_BYTES
) -> tuple[bytes, bool] | DecodeFailure:
    """Inflate a zlib stream, capped at ``max_size``; data without a zlib header is passed on.

    Returns the bytes and whether they were compressed.
    """
    if len(data) > MAX_COMPRESSED_BYTES:
        return DecodeFailure(
            Stage.ZLIB, f"{len(data)} bytes exceed the limit of {MAX_COMPRESSED_BYTES}"
        )
    if not _has_zlib_header(data):
        return data, False
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, max_size + 1)
    except zlib.error as exc:
        return DecodeFailure(Stage.ZLIB, f"corrupt stream: {_one_line(exc)}")
    if len(out) > max_size or (inflater.unconsumed_tail and not inflater.eof):
        return DecodeFailure(Stage.ZLIB, f"decompressed size exceeds {max_size} bytes")
    if not inflater.eof:
        return DecodeFailure(Stage.ZLIB, "truncated stream")
    return out, True


# -- COSE_Sign1 -------------------------------------------------------------------------------


def _bstr_head(length: int) -> bytes:
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


_SIG1_HEAD: Final = b"\x84\x6aSignature1"


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The ``Signature1`` Sig_structure of RFC 9052 §4.4, CBOR-encoded."""
    return b"".join(
        (
            _SIG1_HEAD,
            _bstr_head(len(protected)),
            protected,
            _bstr_head(len(external_aad)),
            external_aad,
            _bstr_head(len(payload)),
            payload,
        )
    )


def encode_protected_header(header: Mapping[int, Any]) -> bytes:
    """Serialise a protected header map (deterministic CBOR)."""
    return cbor2.dumps(dict(header), canonical=True)


def encode_cose_sign1(
    protected: bytes,
    unprotected: Mapping[int, Any],
    payload: bytes,
    signature: bytes,
    *,
    tagged: bool = True,
) -> bytes:
    """Serialise a COSE_Sign1 message (tag 18 unless ``tagged`` is false)."""
    message: Any = [protected, dict(unprotected), payload, signature]
    if tagged:
        message = cbor2.CBORTag(TAG_COSE_SIGN1, message)
    return cbor2.dumps(message, canonical=True)


# Protected headers repeat across the codes of one key: decoded ones are kept (read-only).
_PROTECTED_CACHE: dict[bytes, Mapping[Any, Any]] = {}


def decode_cose(data: bytes) -> CoseSign1 | DecodeFailure:
    """Decode a COSE_Sign1 message: tagged 18, untagged, or tag 61 wrapping tag 18."""
    try:
        item = decode_cbor(data)
    except ValueError as exc:
        return DecodeFailure(Stage.COSE, f"not CBOR: {exc}")
    tags: list[int] = []
    while isinstance(item, cbor2.CBORTag):
        if item.tag not in (TAG_CWT, TAG_COSE_SIGN1) or item.tag in tags or len(tags) >= 2:
            return DecodeFailure(Stage.COSE, f"unexpected CBOR tag {item.tag}")
        tags.append(item.tag)
        item = item.value
    if tags and tags[-1] != TAG_COSE_SIGN1:
        return DecodeFailure(Stage.COSE, "tag 61 does not wrap a COSE_Sign1 (tag 18)")
    if not isinstance(item, list | tuple) or len(item) != 4:
        shape = f"array of {len(item)}" if isinstance(item, list | tuple) else type(item).__name__
        return DecodeFailure(Stage.COSE, f"expected a COSE_Sign1 array of 4, got {shape}")
    protected, unprotected, payload, signature = item
    if not isinstance(protected, bytes):
        return DecodeFailure(Stage.COSE, "protected header is not a byte string")
    protected_header: Any = _PROTECTED_CACHE.get(protected) if protected else {}
    if protected_header is None:
        try:
            protected_header = decode_cbor(protected)
        except ValueError as exc:
            return DecodeFailure(Stage.COSE, f"protected header is not CBOR: {exc}")
        if not isinstance(protected_header, Mapping):
            return DecodeFailure(Stage.COSE, "protected header is not a map")
        if len(protected) <= 64:
            if len(_PROTECTED_CACHE) >= 256:
                _PROTECTED_CACHE.clear()
            _PROTECTED_CACHE[protected] = MappingProxyType(dict(protected_header))
    if type(unprotected) is not dict and not isinstance(unprotected, Mapping):
        return DecodeFailure(Stage.COSE, "unprotected header is not a map")
    if not isinstance(payload, bytes):
        detached = payload is None
        return DecodeFailure(
            Stage.COSE, "detached payload" if detached else "payload is not a byte string"
        )
    if not isinstance(signature, bytes):
        return DecodeFailure(Stage.COSE, "signature is not a byte string")
    return CoseSign1(
        protected=protected,
        protected_header=protected_header,
        unprotected_header=unprotected,
        payload=payload,
        signature=signature,
        tags=tuple(tags),
    )


# -- CWT ---------------------------------------------------------------------------------------


def encode_cwt(claims: Mapping[int, Any]) -> bytes:
    """Serialise CWT claims (deterministic CBOR, integer keys)."""
    return cbor2.dumps(dict(claims), canonical=True)


def decode_cwt(payload: bytes) -> Mapping[Any, Any] | DecodeFailure:
    """Decode a CWT claims set (a CBOR map)."""
    try:
        claims = decode_cbor(payload)
    except ValueError as exc:
        return DecodeFailure(Stage.CWT, f"payload is not CBOR: {exc}")
    if type(claims) is not dict and not isinstance(claims, Mapping):
        return DecodeFailure(Stage.CWT, f"claims are a {type(claims).__name__}, not a map")
    return claims


# -- the whole text --------------------------------------------------------------------------


def encode_text(prefix: str, cose: bytes, *, compressed: bool = True) -> str:
    """The QR text of a COSE_Sign1 message: prefix + Base45(zlib(message))."""
    return prefix + base45_encode(compress(cose) if compressed else cose)


def decode_text(text: str, prefixes: Iterable[str]) -> DecodedText | DecodeFailure:
    """Decode a code text through every layer down to the CWT claims; never raises."""
    try:
        return _decode_text(text, tuple(prefixes))
    except Exception as exc:  # defence in depth: a bug here must not crash a verifier
        return DecodeFailure(Stage.PREFIX, f"internal error: {type(exc).__name__}")


def _decode_text(text: str, prefixes: tuple[str, ...]) -> DecodedText | DecodeFailure:
    split = split_prefix(text, prefixes)
    if isinstance(split, DecodeFailure):
        return split
    prefix, body = split
    raw = base45_decode(body)
    if isinstance(raw, DecodeFailure):
        return raw
    inflated = decompress(raw)
    if isinstance(inflated, DecodeFailure):
        return inflated
    cose_bytes, compressed = inflated
    cose = decode_cose(cose_bytes)
    if isinstance(cose, DecodeFailure):
        return replace(cose, compressed=compressed)
    claims = decode_cwt(cose.payload)
    if isinstance(claims, DecodeFailure):
        return replace(claims, compressed=compressed)
    return DecodedText(prefix, compressed, cose_bytes, cose, claims)
