"""QR rendering: alphanumeric mode, level Q, coloured; the rendered PNG scans back."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from zhikong.credential.claims import Colour, Kind
from zhikong.credential.qr import COLOUR_HEX, decode_qr_image, make_qr, render_png, render_svg
from zhikong.credential.verify import verify


def test_qr_parameters(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    symbol = make_qr(text)
    assert symbol.mode == "alphanumeric" and symbol.error == "Q"
    assert isinstance(symbol.version, int) and symbol.version <= 20  # about 400 characters


@pytest.mark.parametrize("colour", list(Colour))
def test_rendered_png_decodes_back(kit: Any, issuer: Any, colour: Colour) -> None:
    claims = kit.claims_for(colour=colour)
    text = issuer.mint(claims)
    png = render_png(text, claims)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.height > image.width  # the text is below the code
    assert decode_qr_image(png) == [text]
    assert verify(decode_qr_image(png)[0], kit.trust_of(issuer.info), kit.T0).valid
    # The modules carry the code's colour.
    rgb = image.convert("RGB")
    wanted = tuple(int(COLOUR_HEX[colour][i : i + 2], 16) for i in (1, 3, 5))
    colours = {colour for _, colour in rgb.getcolors(maxcolors=1 << 16) or []}
    assert wanted in colours


def test_paper_code_over_several_days_and_explicit_font(kit: Any, issuer: Any) -> None:
    claims = kit.claims_for(kind=Kind.PAPER)
    text = issuer.mint(claims)
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    png = render_png(text, claims, font=font if font.is_file() else None, scale=5)
    assert decode_qr_image(png) == [text]
    missing = render_png(text, replace(claims, masked_name="王**"), font=Path("/nonexistent.ttf"))
    assert decode_qr_image(missing) == [text]


def test_svg(kit: Any, issuer: Any) -> None:
    text = issuer.mint(kit.claims_for())
    svg = render_svg(text, Colour.RED)
    assert svg.startswith("<svg") and COLOUR_HEX[Colour.RED] in svg
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg


def test_decode_qr_image_without_a_code() -> None:
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    assert decode_qr_image(blank.getvalue()) == []
    with pytest.raises(OSError):
        decode_qr_image(b"not an image")
