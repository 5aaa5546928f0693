"""The charts' drawing kit: SVG elements, colours and sizes, escaping, and the measures and formats
of the charts' text (for :mod:`pipeline.site.charts` and :mod:`pipeline.site.chart_tables`).

Every function here is pure and its output fixed: coordinates with one decimal (:func:`coord`),
numbers with a fixed number of decimals (:func:`format_number`), ids derived from a caller-given
``chart_id`` (:func:`sanitise_chart_id`), so the same chart is the same bytes. Text stays real
``<text>`` (selectable, searchable, rendered in the reader's own Chinese font); every piece of
caller text is XML-escaped (:func:`esc`) once control characters and lone surrogates are dropped
(:func:`clean`). No scripts, no event attributes, no external references (no ``href`` at all).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from xml.sax.saxutils import escape

FONT_FAMILY = (
    "'PingFang SC', 'Hiragino Sans GB', 'Noto Sans CJK SC', 'Source Han Sans SC', "
    "'Microsoft YaHei', sans-serif"
)

# Contrast against white is given for each colour (WCAG relative luminance).
TEXT = "#1d1d1f"  # 16.8:1
MUTED = "#4a4f55"  # 8.3:1  — axis labels, notes, reference lines
AXIS = "#4a4f55"
GRID = "#d9dbdd"  # decorative gridlines only; values are always labelled or tabled
BAR = "#0b4f9c"  # 8.0:1  — the site's link blue
BACKGROUND = "#ffffff"

# (colour, stroke-dasharray or None, marker) — darkened Okabe–Ito blue, vermillion, bluish green.
SERIES_STYLES: tuple[tuple[str, str | None, str], ...] = (
    ("#0072b2", None, "circle"),  # 5.2:1, solid line, round markers
    ("#b84e00", "8 4", "square"),  # 5.1:1, dashed line, square markers
    ("#007a5a", "2 3", "triangle"),  # 5.3:1, dotted line, triangle markers
)
REFERENCE_DASHES = ("12 3 3 3", "12 3 3 3 3 3", "4 4")

FONT_SIZE = 13
SMALL = 12
TITLE_SIZE = 15

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ---------------------------------------------------------------- text: cleaned, escaped, measured


def clean(text: object) -> str:
    """Caller text as a string XML can carry: control characters and lone surrogates dropped."""
    return _SURROGATE.sub("", _CONTROL.sub("", str(text)))


def esc(text: object) -> str:
    """Escape text for an XML/HTML text node or a double-quoted attribute."""
    return escape(clean(text), {'"': "&quot;"})


def coord(value: float) -> str:
    """A coordinate with one fixed decimal, so output is identical run to run."""
    out = f"{value:.1f}"
    return "0.0" if out == "-0.0" else out


def finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def sanitise_chart_id(chart_id: str | None, *seed: str) -> str:
    """An id safe for XML and CSS: ``[a-z0-9-]``, starting with a letter.

    Without a usable ``chart_id`` one is derived from ``seed`` (the title and description), so
    the result is still deterministic.
    """
    cid = re.sub(r"[^a-z0-9]+", "-", (chart_id or "").lower()).strip("-")
    if not cid:
        digest = hashlib.sha1("\x1f".join(seed).encode("utf-8")).hexdigest()[:10]
        cid = f"chart-{digest}"
    elif not cid[0].isalpha():
        cid = f"chart-{cid}"
    return cid


def _char_width(ch: str) -> float:
    """Approximate advance of one character, in ems, in a CJK sans font."""
    if unicodedata.east_asian_width(ch) in ("W", "F", "A"):
        return 1.0
    if ch == " ":
        return 0.3
    if ch.isupper():
        return 0.65
    if ch in "il.,:;|!'()[]":
        return 0.3
    return 0.56


def text_width(text: str, size: float) -> float:
    """Estimated rendered width of ``text`` at ``size`` px (generous, to avoid overlap)."""
    return sum(_char_width(ch) for ch in text) * size


def truncate(text: str, max_width: float, size: float) -> str:
    """``text`` cut to fit ``max_width`` with a trailing ellipsis."""
    if text_width(text, size) <= max_width:
        return text
    budget = max_width - text_width("…", size)
    out, used = [], 0.0
    for ch in text:
        w = _char_width(ch) * size
        if used + w > budget:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


# ---------------------------------------------------------------- numbers, months and ticks


def format_number(value: float | int, decimals: int = 0) -> str:
    """Thousands separators and a fixed number of decimals: ``12345.67 -> '12,345.7'``."""
    if isinstance(value, int) and not isinstance(value, bool) and decimals == 0:
        return f"{value:,}"
    out = f"{float(value):,.{decimals}f}"
    return out[1:] if out.startswith("-") and float(out[1:].replace(",", "")) == 0 else out


def format_reference(value: float) -> str:
    """A reference value: whole numbers without decimals, others with one."""
    return (
        format_number(int(round(value)))
        if abs(value - round(value)) < 1e-9
        else format_number(value, 1)
    )


def month_label(month: str, *, short: bool = True) -> str:
    """``'2025-01'`` as ``'25年1月'`` (or ``'2025年1月'``); anything else is returned unchanged."""
    m = _MONTH.match(month)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return month
    year = m.group(1)[2:] if short else m.group(1)
    return f"{year}年{int(m.group(2))}月"


def nice_ticks(maximum: float, target: int = 5) -> list[float]:
    """Round axis ticks from 0 up to at least ``maximum`` (steps of 1, 2, 2.5 or 5 × 10ⁿ)."""
    if not maximum or maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    raw = maximum / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw - 1e-12)
    count = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def tick_decimals(ticks: Sequence[float]) -> int:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for d in range(4):
        if abs(round(step, d) - step) < 1e-9:
            return d
    return 3


# ---------------------------------------------------------------- elements


def text_element(
    x: float,
    y: float,
    content: str,
    *,
    size: int = FONT_SIZE,
    fill: str = TEXT,
    anchor: str = "start",
    weight: str | None = None,
    halo: bool = False,
) -> str:
    attrs = [f'x="{coord(x)}"', f'y="{coord(y)}"', f'font-size="{size}"', f'fill="{fill}"']
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if halo:
        attrs.append(
            f'stroke="{BACKGROUND}" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
        )
    return f"<text {' '.join(attrs)}>{esc(content)}</text>"


def line_element(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    stroke: str,
    width: float = 1,
    dash: str | None = None,
) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{coord(x1)}" y1="{coord(y1)}" x2="{coord(x2)}" y2="{coord(y2)}" '
        f'stroke="{stroke}" stroke-width="{width}"{dash_attr}/>'
    )


def marker_element(kind: str, x: float, y: float, colour: str, r: float = 4.0) -> str:
    edge = f'fill="{colour}" stroke="{BACKGROUND}" stroke-width="1.5"'
    if kind == "square":
        s = r * 0.9
        return f'<rect x="{coord(x - s)}" y="{coord(y - s)}" width="{coord(2 * s)}" height="{coord(2 * s)}" {edge}/>'
    if kind == "triangle":
        t = r * 1.25
        pts = f"{coord(x)},{coord(y - t)} {coord(x + t)},{coord(y + t * 0.8)} {coord(x - t)},{coord(y + t * 0.8)}"
        return f'<polygon points="{pts}" {edge}/>'
    return f'<circle cx="{coord(x)}" cy="{coord(y)}" r="{coord(r)}" {edge}/>'


def svg_element(
    cid: str, width: int, height: int, title: str, description: str, body: list[str]
) -> str:
    """The outer ``<svg>`` with its accessible name and description."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" '
        f'font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}">'
    )
    parts = [
        head,
        f'<title id="{cid}-title">{esc(title)}</title>',
        f'<desc id="{cid}-desc">{esc(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{BACKGROUND}"/>',
        *body,
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def title_rows(title: str, show_title: bool, width: int, pad: float) -> tuple[list[str], float]:
    """The visible title (optional) and the y where the rest of the chart starts."""
    if not show_title:
        return [], pad
    shown = truncate(clean(title), width - 2 * pad, TITLE_SIZE)
    return [
        text_element(pad, pad + TITLE_SIZE, shown, size=TITLE_SIZE, weight="bold")
    ], pad + TITLE_SIZE + 10
