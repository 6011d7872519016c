"""QR rendering of credential texts: SVG, and PNG with the masked name and times printed below.

QR parameters (docs/credential.md §6): ISO/IEC 18004 QR code, alphanumeric mode (the whole
text — prefix and Base45 — is in the QR alphanumeric set), error correction level Q (about
25 %, as HCERT recommends), a quiet zone of 4 modules. Dark modules take the code's colour in
shades dark enough for scanners to binarise against white.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import segno
from PIL import Image, ImageDraw, ImageFont

from zhikong.credential.claims import CodeClaims, Colour

__all__ = [
    "COLOUR_HEX",
    "ERROR_CORRECTION",
    "QUIET_ZONE",
    "decode_qr_image",
    "make_qr",
    "render_png",
    "render_svg",
]

ERROR_CORRECTION: Final = "q"
QUIET_ZONE: Final = 4
COLOUR_HEX: Final = {
    Colour.GREEN: "#00873c",
    Colour.YELLOW: "#b07d00",
    Colour.ORANGE: "#c75000",
    Colour.RED: "#c0262d",
}
"""Dark-module colour per code colour (each has enough contrast against white to scan)."""
COLOUR_LABEL: Final = {
    Colour.GREEN: "绿码 green",
    Colour.YELLOW: "黄码 yellow",
    Colour.ORANGE: "橙码 orange",
    Colour.RED: "红码 red",
}
# Fonts with CJK glyphs, in order of preference; Pillow's own font is the last resort.
_FONT_CANDIDATES: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def make_qr(text: str) -> segno.QRCode:
    """The QR symbol of a credential text (alphanumeric mode, error correction Q)."""
    return segno.make_qr(text, error=ERROR_CORRECTION, mode="alphanumeric", boost_error=False)


def render_svg(text: str, colour: Colour | str = Colour.GREEN, *, scale: int = 4) -> str:
    """An SVG image of the QR code, dark modules in the code's colour."""
    buffer = io.BytesIO()
    make_qr(text).save(
        buffer,
        kind="svg",
        scale=scale,
        border=QUIET_ZONE,
        dark=COLOUR_HEX[Colour(colour)],
        light="#ffffff",
        xmldecl=False,
        svgns=True,
    )
    return buffer.getvalue().decode("utf-8")


def _font_path(font: Path | None) -> tuple[str | None, bool]:
    """The font file to print with, and whether it can be trusted to have CJK glyphs."""
    if font is not None:
        return str(font), True
    for index, candidate in enumerate(_FONT_CANDIDATES):
        if Path(candidate).is_file():
            return candidate, index < len(_FONT_CANDIDATES) - 1
    return None, False


def _fitted(
    draw: ImageDraw.ImageDraw, line: str, path: str | None, size: int, width: int
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The largest font (up to ``size``) that prints ``line`` within ``width`` pixels."""
    while True:
        face: ImageFont.FreeTypeFont | ImageFont.ImageFont
        try:
            face = ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
        except OSError:
            face = ImageFont.load_default(size)
        if size <= 8 or draw.textlength(line, font=face) <= width:
            return face
        size -= 1


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def _validity(claims: CodeClaims, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    start, end = _local(claims.issued_at, zone), _local(claims.expires_at, zone)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def render_png(
    text: str,
    claims: CodeClaims,
    *,
    timezone: str = "Asia/Shanghai",
    scale: int = 8,
    font: Path | None = None,
) -> bytes:
    """A PNG of the coloured QR code with the masked name, colour and validity printed below.

    Names print correctly only with a font that has CJK glyphs: pass ``font``, or install one
    of the usual system fonts (Noto Sans CJK, WenQuanYi).
    """
    buffer = io.BytesIO()
    make_qr(text).save(
        buffer,
        kind="png",
        scale=scale,
        border=QUIET_ZONE,
        dark=COLOUR_HEX[claims.colour],
        light="#ffffff",
    )
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    path, cjk = _font_path(font)
    label = COLOUR_LABEL[claims.colour] if cjk else claims.colour.value
    lines = [
        f"{claims.masked_name}  {label}",
        _validity(claims, timezone),
        f"{claims.kind.value} · {claims.issuer} · {timezone}",
    ]
    size = max(14, code.width // 18)
    line_height = int(size * 1.5)
    canvas = Image.new("RGB", (code.width, code.height + line_height * len(lines) + size), "white")
    canvas.paste(code, (0, 0))
    draw = ImageDraw.Draw(canvas)
    margin = scale * QUIET_ZONE
    for index, line in enumerate(lines):
        face = _fitted(draw, line, path, size if index == 0 else size * 4 // 5, code.width - margin)
        width = draw.textlength(line, font=face)
        position = ((code.width - width) / 2, code.height + index * line_height)
        colour = COLOUR_HEX[claims.colour] if index == 0 else "black"
        draw.text(position, line, fill=colour, font=face)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def decode_qr_image(data: bytes) -> list[str]:
    """The texts of the QR codes found in an image (PNG, JPEG, ...); empty when none is found."""
    import zxingcpp

    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        image = opened if opened.mode in ("L", "RGB") else opened.convert("RGB")
        found = zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    return [barcode.text for barcode in found if barcode.valid]
