"""Server-side SVG charts for the pages: no script, no inline style, no third-party asset.

The Content-Security-Policy forbids `style` attributes and inline scripts, so every chart is
plain SVG markup built here, coloured by presentation attributes (`fill`, `stroke`) and by
classes that `site.css` may refine. Each chart is an image with a name and a description
(`role="img"`, `<title>`, `<desc>`, `aria-labelledby`); the pages put the same numbers in a
table next to it, because a picture of data is not the data.

Series are told apart by colour *and* by dash pattern and marker shape, and highlighted bars
by a hatch pattern and a word, so nothing depends on seeing colour (WCAG 1.4.1). The output is
deterministic (same input, same bytes) so pages can be cached and tests can compare markup.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

Formatter = Callable[[float], str] | str

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and each at least
# 3:1 against white (the contrast non-text graphics need), yellow left out for that reason.
PALETTE = ("#0072b2", "#d55e00", "#007a5a", "#b2457f", "#8a6100", "#1a1a1a")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2")
MARKERS = ("circle", "square", "triangle", "diamond", "circle-open", "square-open")
TEXT = "#1a1a1a"
GRID = "#d0d0d0"
AXIS = "#595959"
HIGHLIGHT = "#d55e00"
BAR = "#0072b2"

WIDTH = 640
FONT = 13
# A label longer than this is cut in the figure (with an ellipsis); the table beside the
# chart always carries it whole.
MAX_LABEL = 48


def _format(value: float, formatter: Formatter) -> str:
    return formatter(value) if callable(formatter) else formatter.format(value)


def _num(value: float) -> str:
    """Coordinates with one decimal and no "-0.0": stable bytes whatever the float noise."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _chart_id(kind: str, title: str, chart_id: str | None) -> str:
    """A stable element id: the caller's, or one derived from the title, so two renders of the
    same page give the same markup and two charts with different titles never collide."""
    if chart_id:
        cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
        return cleaned if cleaned[:1].isalpha() else f"chart-{cleaned}"
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:32] or kind
    digest = hashlib.sha256(f"{kind}\n{title}".encode()).hexdigest()[:6]
    return f"chart-{slug}-{digest}"


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _axis(value: float) -> tuple[float, int]:
    """A round top for the y axis and its number of intervals: the step is 1, 2 or 5 times a
    power of ten, so every tick label is a number people write (0, 10%, 20%...)."""
    if value <= 0:
        return 1.0, 4
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if raw <= m * power * (1 + 1e-9))
    intervals = max(1, math.ceil(value / step - 1e-9))
    return step * intervals, intervals


def _open(kind: str, ident: str, title: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="system-ui, sans-serif" '
        f'font-size="{FONT}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def _empty(kind: str, ident: str, title: str, message: str) -> Markup:
    height = 120.0
    parts = _open(kind, ident, title, message, height)
    parts.append(
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{_num(height - 1)}" fill="#fafafa" '
        f'stroke="{GRID}"/>'
    )
    parts.append(
        f'<text x="{WIDTH // 2}" y="{_num(height / 2 + 5)}" text-anchor="middle" '
        f'fill="{TEXT}" font-size="{FONT + 2}">{escape(message)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and label above went through escape()


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    open_shape = shape.endswith("-open")
    fill = "#fff" if open_shape else colour
    base = shape.removesuffix("-open")
    common = f'fill="{fill}" stroke="{colour}" stroke-width="2"'
    if base == "square":
        return f'<rect x="{_num(x - 4)}" y="{_num(y - 4)}" width="8" height="8" {common}/>'
    if base == "triangle":
        points = f"{_num(x)},{_num(y - 5)} {_num(x + 5)},{_num(y + 4)} {_num(x - 5)},{_num(y + 4)}"
        return f'<polygon points="{points}" {common}/>'
    if base == "diamond":
        points = f"{_num(x)},{_num(y - 5)} {_num(x + 5)},{_num(y)} {_num(x)},{_num(y + 5)} " + (
            f"{_num(x - 5)},{_num(y)}"
        )
        return f'<polygon points="{points}" {common}/>'
    return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" {common}/>'


def line_chart(
    series: Sequence[tuple[str, Sequence[float]]],
    x_labels: Sequence[str],
    *,
    title: str,
    y_format: Formatter = "{:g}",
    description: str = "",
    chart_id: str | None = None,
    empty_message: str = "No data yet",
) -> Markup:
    """Lines over shared x positions (months, say), the y axis from zero to a round maximum.

    A value that is not a finite number is a gap in its line. A single x position draws each
    series as a lone marker at the centre.
    """
    ident = _chart_id("line", title, chart_id)
    n = len(x_labels)
    shown = [(name, list(values)[:n]) for name, values in series][: len(PALETTE)]
    points = [v for _, values in shown for v in values if _finite(v)]
    if n == 0 or not points:
        return _empty("line", ident, title, empty_message)
    top, ticks = _axis(max(*points, 0.0))
    legend_rows = math.ceil(len(shown) / 2)
    left, right, top_pad = 64.0, 16.0, 16.0
    plot_h = 220.0
    axis_y = top_pad + plot_h
    legend_y = axis_y + 44
    height = legend_y + legend_rows * 22 + 8
    plot_w = WIDTH - left - right

    def x_at(i: int) -> float:
        return left + plot_w / 2 if n == 1 else left + plot_w * i / (n - 1)

    def y_at(value: float) -> float:
        return axis_y - plot_h * (value / top)

    summary = (
        f"Line chart of {len(shown)} series over {n} period{'s' if n != 1 else ''}"
        + (f", {x_labels[0]} to {x_labels[-1]}" if n > 1 else f", {x_labels[0]}")
        + f"; the axis runs from {_format(0.0, y_format)} to {_format(top, y_format)}. "
        + "The table below the chart has the numbers."
    )
    parts = _open("line", ident, title, f"{description} {summary}".strip(), height)
    for k in range(ticks + 1):
        value = top * k / ticks
        y = y_at(value)
        parts.append(
            f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(WIDTH - right)}" y2="{_num(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + 4)}" text-anchor="end" fill="{TEXT}">'
            f"{escape(_format(value, y_format))}</text>"
        )
    parts.append(
        f'<line x1="{_num(left)}" y1="{_num(axis_y)}" x2="{_num(WIDTH - right)}" '
        f'y2="{_num(axis_y)}" stroke="{AXIS}" stroke-width="1"/>'
    )
    # At most about seven labels fit across a phone-width figure; the rest are in the table.
    every = max(1, math.ceil(n / 7))
    for i, label in enumerate(x_labels):
        if i % every and i != n - 1:
            continue
        parts.append(
            f'<text x="{_num(x_at(i))}" y="{_num(axis_y + 18)}" text-anchor="middle" '
            f'fill="{TEXT}">{escape(_short(str(label)))}</text>'
        )
    for s, (_, values) in enumerate(shown):
        colour, dash, shape = PALETTE[s], DASHES[s], MARKERS[s]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(values):
            if _finite(value):
                runs[-1].append((x_at(i), y_at(float(value))))
            elif runs[-1]:
                runs.append([])
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for run in runs:
            if len(run) > 1:
                path = " ".join(
                    f"{'M' if j == 0 else 'L'}{_num(x)} {_num(y)}" for j, (x, y) in enumerate(run)
                )
                parts.append(
                    f'<path class="series series-{s}" d="{path}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5"{dash_attr}/>'
                )
            for x, y in run:
                parts.append(_marker(shape, x, y, colour))
    for s, (name, _) in enumerate(shown):
        colour, dash, shape = PALETTE[s], DASHES[s], MARKERS[s]
        col, row = s % 2, s // 2
        lx = left + col * (plot_w / 2)
        ly = legend_y + row * 22
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{_num(lx)}" y1="{_num(ly)}" x2="{_num(lx + 28)}" y2="{_num(ly)}" '
            f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
        )
        parts.append(_marker(shape, lx + 14, ly, colour))
        parts.append(
            f'<text x="{_num(lx + 36)}" y="{_num(ly + 4)}" fill="{TEXT}">'
            f"{escape(_short(str(name)))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and label above went through escape()


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    value_format: Formatter = "{:g}",
    highlight: set[str] | None = None,
    highlight_label: str = "highlighted",
    description: str = "",
    chart_id: str | None = None,
    empty_message: str = "No data yet",
) -> Markup:
    """Horizontal bars, each label above its bar so long skill names fit a phone screen.

    Bars whose label is in `highlight` are hatched and their label ends with
    `highlight_label` in brackets, so the distinction survives greyscale and screen magnifiers.
    """
    ident = _chart_id("bar", title, chart_id)
    rows = [(str(label), float(value)) for label, value in items if _finite(value)]
    if not rows:
        return _empty("bar", ident, title, empty_message)
    marked = highlight or set()
    top = max(*(value for _, value in rows), 0.0) or 1.0
    left, right = 8.0, 96.0
    row_h, bar_h = 40.0, 16.0
    legend_h = 28.0 if any(label in marked for label, _ in rows) else 0.0
    height = 8 + legend_h + row_h * len(rows) + 4
    plot_w = WIDTH - left - right
    count = sum(1 for label, _ in rows if label in marked)
    summary = f"Bar chart of {len(rows)} item{'s' if len(rows) != 1 else ''}" + (
        f"; {count} marked {highlight_label}" if marked else ""
    )
    summary += ". The table below the chart has the numbers."
    parts = _open("bar", ident, title, f"{description} {summary}".strip(), height)
    hatch = f"{ident}-hatch"
    if legend_h:
        parts.append(
            f'<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HIGHLIGHT}" stroke-width="3"/>'
            f"</pattern></defs>"
        )
        parts.append(
            f'<rect x="{_num(left)}" y="8" width="24" height="14" fill="url(#{hatch})" '
            f'stroke="{HIGHLIGHT}"/>'
        )
        parts.append(
            f'<text x="{_num(left + 32)}" y="19.0" fill="{TEXT}">'
            f"Hatched: {escape(highlight_label)}</text>"
        )
    y = 8 + legend_h
    for label, value in rows:
        is_marked = label in marked
        shown = _short(label) + (f" ({highlight_label})" if is_marked else "")
        parts.append(
            f'<text x="{_num(left)}" y="{_num(y + 13)}" fill="{TEXT}">{escape(shown)}</text>'
        )
        width = max(plot_w * max(value, 0.0) / top, 1.0)
        if is_marked:
            fill = f'fill="url(#{hatch})" stroke="{HIGHLIGHT}" stroke-width="1.5"'
            css = "bar bar-highlight"
        else:
            fill = f'fill="{BAR}"'
            css = "bar"
        parts.append(
            f'<rect class="{css}" x="{_num(left)}" y="{_num(y + 18)}" width="{_num(width)}" '
            f'height="{_num(bar_h)}" {fill}/>'
        )
        parts.append(
            f'<text x="{_num(left + width + 6)}" y="{_num(y + 31)}" fill="{TEXT}">'
            f"{escape(_format(value, value_format))}</text>"
        )
        y += row_h
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and label above went through escape()


def percent(value: float) -> str:
    """A share as a whole percentage ("42%"), the y format the demand charts use."""
    return f"{value:.0%}"


def grouped_bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    value_format: Formatter = "{:g}",
    description: str = "",
    chart_id: str | None = None,
    empty_message: str = "No data yet",
) -> Markup:
    """Horizontal bars grouped by category, one bar per series in each group (the shares of
    each persona choosing each option, say).

    `series[s][1][c]` is series s's value for category c; a value that is not a finite number
    draws no bar. Each bar's value label ends with its series name, and the series differ by
    fill pattern as well as colour, so nothing depends on seeing colour.
    """
    ident = _chart_id("grouped", title, chart_id)
    shown = [(str(name), list(values)) for name, values in series][: len(PALETTE)]
    cells = [
        float(values[c])
        for _, values in shown
        for c in range(min(len(values), len(categories)))
        if _finite(values[c])
    ]
    if not categories or not shown or not cells:
        return _empty("grouped", ident, title, empty_message)
    top = max(*cells, 0.0) or 1.0
    left, right = 8.0, 150.0
    label_h, bar_h, gap, group_gap = 18.0, 12.0, 3.0, 12.0
    legend_rows = math.ceil(len(shown) / 3)
    legend_h = legend_rows * 20.0 + 6
    group_h = label_h + len(shown) * (bar_h + gap) + group_gap
    height = 8 + legend_h + group_h * len(categories)
    plot_w = WIDTH - left - right
    summary = (
        f"Grouped bar chart of {len(categories)} categor{'y' if len(categories) == 1 else 'ies'}"
        f", one bar per series ({', '.join(name for name, _ in shown)})."
        " The table below the chart has the numbers."
    )
    parts = _open("grouped", ident, title, f"{description} {summary}".strip(), height)
    # Series 0 solid; the others hatched at different angles, so greyscale still tells them apart.
    defs = []
    for s in range(1, len(shown)):
        angle = (45, -45, 0, 90, 30)[(s - 1) % 5]
        defs.append(
            f'<pattern id="{ident}-p{s}" patternUnits="userSpaceOnUse" width="5" height="5" '
            f'patternTransform="rotate({angle})"><rect width="5" height="5" fill="{PALETTE[s]}"/>'
            f'<line x1="0" y1="0" x2="0" y2="5" stroke="#fff" stroke-width="1.5"/></pattern>'
        )
    if defs:
        parts.append("<defs>" + "".join(defs) + "</defs>")

    def fill(s: int) -> str:
        return f'fill="{PALETTE[s]}"' if s == 0 else f'fill="url(#{ident}-p{s})"'

    for s, (name, _) in enumerate(shown):
        lx = left + (s % 3) * (plot_w + right) / 3
        ly = 8 + (s // 3) * 20.0
        parts.append(
            f'<rect x="{_num(lx)}" y="{_num(ly)}" width="18" height="12" {fill(s)} '
            f'stroke="{PALETTE[s]}"/>'
        )
        parts.append(
            f'<text x="{_num(lx + 24)}" y="{_num(ly + 11)}" fill="{TEXT}">'
            f"{escape(_short(name))}</text>"
        )
    y = 8 + legend_h
    for c, category in enumerate(categories):
        parts.append(
            f'<text x="{_num(left)}" y="{_num(y + 13)}" fill="{TEXT}" font-weight="600">'
            f"{escape(_short(str(category)))}</text>"
        )
        by = y + label_h
        for s, (name, values) in enumerate(shown):
            value = values[c] if c < len(values) else math.nan
            if _finite(value):
                width = max(plot_w * max(float(value), 0.0) / top, 1.0)
                parts.append(
                    f'<rect class="bar series-{s}" x="{_num(left)}" y="{_num(by)}" '
                    f'width="{_num(width)}" height="{_num(bar_h)}" {fill(s)} '
                    f'stroke="{PALETTE[s]}"/>'
                )
                parts.append(
                    f'<text x="{_num(left + width + 6)}" y="{_num(by + 10)}" fill="{TEXT}" '
                    f'font-size="{FONT - 1}">{escape(_format(float(value), value_format))} '
                    f"{escape(_short(name))}</text>"
                )
            by += bar_h + gap
        y += group_h
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and label above went through escape()
