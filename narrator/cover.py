"""Cover art: check the user's image, or draw one with Pillow (the title on a plain background).

Apple Podcasts asks for a square JPEG or PNG of 1400 to 3000 pixels a side.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from .errors import SettingsError

#: The drawn cover's side: the least Apple accepts. Flat colour and type lose nothing at this
#: size, and the cover is embedded in every episode: 117 KB against 318 KB at 3000 pixels,
#: drawn in 0.02 s against 0.07 s.
SIZE = 1400
MIN_SIDE, MAX_SIDE = 1400, 3000
#: Calm background colours with white text readable on each (contrast above 4.5:1).
PALETTE = ("#1f3a5f", "#4a235a", "#0b5345", "#7b241c", "#1b2631", "#6e2c00", "#154360", "#512e5f")


def check_cover(path: Path) -> str:
    """Check a user's cover image; returns its MIME type or raises SettingsError naming the problem."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
    except FileNotFoundError:
        raise SettingsError("cover image not found", path) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise SettingsError(f"cover image cannot be read ({exc})", path) from None
    if kind not in ("JPEG", "PNG"):
        raise SettingsError(f"cover image must be JPEG or PNG, not {kind}", path)
    if width != height:
        raise SettingsError(f"cover image must be square, not {width}x{height}", path)
    if not MIN_SIDE <= width <= MAX_SIDE:
        raise SettingsError(f"cover image must be {MIN_SIDE} to {MAX_SIDE} pixels a side, not {width}", path)
    return "image/jpeg" if kind == "JPEG" else "image/png"


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "Arial Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _wrap(draw, text: str, font, width: int) -> list[str]:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def draw_cover(title: str, size: int = SIZE) -> bytes:
    """A square JPEG: ``title`` in large white type, centred on a colour chosen from the title."""
    from PIL import Image, ImageDraw

    colour = PALETTE[hashlib.sha256(title.encode()).digest()[0] % len(PALETTE)]
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    margin = size // 10
    font_size = size // 8
    while True:  # shrink until the wrapped title fits
        font = _font(font_size)
        lines = _wrap(draw, title, font, size - 2 * margin)
        widest = max((draw.textlength(line, font=font) for line in lines), default=0)
        height = len(lines) * font_size * 1.2
        if (widest <= size - 2 * margin and height <= size - 2 * margin) or font_size <= size // 40:
            break
        font_size = int(font_size * 0.9)
    y = (size - height) / 2
    for line in lines:
        draw.text((size / 2, y), line, font=font, fill="white", anchor="ma")
        y += font_size * 1.2
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)  # optimize=True: 45 % smaller, but 0.08 s slower
    return out.getvalue()
