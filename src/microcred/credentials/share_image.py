"""The Open Graph image shown when a credential's link is shared (LinkedIn, Slack, Mastodon).

`share_image_png` draws a 1200x630 PNG with Pillow: the achievement's default medal on a
navy panel, and beside it the title, the issuer, a subtitle (e.g. "Awarded 12 March 2026")
and a verdict line. 1200x630 is the size the Open Graph consumers crop least (they require
at least 1200x627 for the large card). Nothing is fetched: fonts are DejaVu from the system
when installed, Pillow's built-in font otherwise.

The image is a picture of claims, not proof: the verdict line is whatever the caller says,
and the caller says it only after verifying.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from microcred.credentials import baking

__all__ = ["HEIGHT", "MAX_BYTES", "WIDTH", "share_image_png"]

WIDTH, HEIGHT = 1200, 630
# Some consumers refuse or recompress large images; a flat design stays far below this.
MAX_BYTES = 150 * 1024

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_SANS = "DejaVuSans.ttf"
_SANS_BOLD = "DejaVuSans-Bold.ttf"
_SERIF_BOLD = "DejaVuSerif-Bold.ttf"

_NAVY = (11, 79, 138)
_NAVY_DARK = (8, 44, 79)
_PAPER = (251, 248, 241)
_INK = (16, 42, 67)
_MUTED = (72, 101, 129)
_GOLD = (176, 141, 60)
_WHITE = (255, 255, 255)

_PANEL = 440  # width of the navy panel holding the medal
_BADGE = 300
_TEXT_LEFT = _PANEL + 64
_TEXT_RIGHT = WIDTH - 64

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=32)
def _font(name: str, size: int) -> Font:
    path = FONT_DIR / name
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    # Pillow's own font (scalable since Pillow 10.1) keeps the image legible where DejaVu is
    # not installed; it lacks bold and serif, which only costs looks.
    return ImageFont.load_default(size=size)


def _width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _split_long_word(word: str, font: Font, width: float) -> list[str]:
    """A word wider than the line (a URL, a long compound) broken between characters."""
    pieces, current = [], ""
    for char in word:
        if current and _width(font, current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def _wrap(text: str, font: Font, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; the last kept line ends in an ellipsis if cut."""
    words: list[str] = []
    for word in text.split():
        words.extend(_split_long_word(word, font, width) if _width(font, word) > width else [word])
    lines: list[str] = []
    for word in words:
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and _width(font, candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and _width(font, last + "\u2026") > width:
        last = last[:-1].rstrip()
    kept[-1] = last + "\u2026"
    return kept


def _fit_title(title: str) -> tuple[Font, list[str]]:
    """The largest title size at which the title fits in three lines, else the smallest, cut."""
    width = _TEXT_RIGHT - _TEXT_LEFT
    for size in (64, 56, 48, 42):
        font = _font(_SERIF_BOLD, size)
        lines = _wrap(title, font, width, max_lines=99)
        if len(lines) <= 3:
            return font, lines
    font = _font(_SERIF_BOLD, 42)
    return font, _wrap(title, font, width, max_lines=3)


def _line_height(font: Font) -> int:
    _, top, _, bottom = font.getbbox("Ag\u00c9")
    return int(bottom - top)


def _draw_panel(image: Image.Image, title: str) -> None:
    draw = ImageDraw.Draw(image)
    # A vertical gradient, one line per row: cheap, and each row is one colour, which PNG's
    # filters compress to almost nothing.
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(_NAVY, _NAVY_DARK, strict=True))
        draw.line([(0, y), (_PANEL - 1, y)], fill=colour)
    draw.rectangle([_PANEL, 0, _PANEL + 5, HEIGHT], fill=_GOLD)
    with Image.open(io.BytesIO(baking.default_badge_png(size=_BADGE, label=title))) as png:
        medal = png.convert("RGBA")
    image.paste(medal, ((_PANEL - _BADGE) // 2, (HEIGHT - _BADGE) // 2), medal)


def _draw_mark(draw: ImageDraw.ImageDraw, x: int, y: int, size: int) -> None:
    """A small gold seal with a star before the verdict line.

    Deliberately not a green tick: the image cannot know the verdict, the line is the
    caller's, and a tick beside a line such as "Revoked" would contradict it.
    """
    draw.ellipse([x, y, x + size, y + size], fill=_GOLD)
    centre, outer = (x + size / 2, y + size / 2 + size * 0.03), size * 0.34
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else outer * 0.4
        angle = math.pi * (i / 5 - 0.5)
        points.append((centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)))
    draw.polygon(points, fill=_WHITE)


def _render(title: str, issuer: str, subtitle: str, verdict_line: str) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), _PAPER)
    _draw_panel(image, title)
    draw = ImageDraw.Draw(image)
    width = _TEXT_RIGHT - _TEXT_LEFT

    issuer_font = _font(_SANS_BOLD, 26)
    title_font, title_lines = _fit_title(title)
    subtitle_font = _font(_SANS, 30)
    verdict_font = _font(_SANS_BOLD, 26)

    issuer_lines = _wrap(issuer.upper(), issuer_font, width, max_lines=2)
    subtitle_lines = _wrap(subtitle, subtitle_font, width, max_lines=2)
    issuer_h, title_h = _line_height(issuer_font), _line_height(title_font)
    subtitle_h = _line_height(subtitle_font)
    gap_title, gap_subtitle = round(title_h * 0.14), round(subtitle_h * 0.3)
    block = (
        len(issuer_lines) * (issuer_h + 10)
        + 26
        + len(title_lines) * (title_h + gap_title)
        + 22
        + len(subtitle_lines) * (subtitle_h + gap_subtitle)
    )
    # Centre the text block in the space above the verdict line.
    y = max(56, (HEIGHT - 110 - block) // 2 + 20)

    def lines(texts: list[str], font: Font, height: int, gap: int, fill: tuple[int, ...]) -> None:
        nonlocal y
        for text in texts:
            draw.text((_TEXT_LEFT, y), text, font=font, fill=fill, anchor="lt")
            y += height + gap

    lines(issuer_lines, issuer_font, issuer_h, 10, _NAVY)
    y += 26
    lines(title_lines, title_font, title_h, gap_title, _INK)
    y += 22
    lines(subtitle_lines, subtitle_font, subtitle_h, gap_subtitle, _MUTED)

    rule_y = HEIGHT - 112
    draw.line([(_TEXT_LEFT, rule_y), (_TEXT_RIGHT, rule_y)], fill=_GOLD, width=2)
    mark = 38
    mark_y = HEIGHT - 84
    _draw_mark(draw, _TEXT_LEFT, mark_y, mark)
    verdict = _wrap(verdict_line, verdict_font, width - mark - 18, max_lines=1)
    draw.text(
        (_TEXT_LEFT + mark + 18, mark_y + mark // 2),
        verdict[0] if verdict else "",
        font=verdict_font,
        fill=_NAVY,
        anchor="lm",
    )

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# Keyed by the four strings: a shared link is fetched by every consumer that unfurls it,
# and each image is about 50 ms to draw and a few tens of KiB to keep.
_cached: Callable[[str, str, str, str], bytes] = functools.lru_cache(maxsize=256)(_render)


def share_image_png(*, title: str, issuer: str, subtitle: str, verdict_line: str) -> bytes:
    """A 1200x630 PNG share card: medal, ``title``, ``issuer``, ``subtitle``, ``verdict_line``.

    Long text is wrapped and cut with an ellipsis (title up to three lines, shrinking from
    64 to 42 px first). The same four strings give the same bytes, served from a cache.
    """
    return _cached(title, issuer, subtitle, verdict_line)
