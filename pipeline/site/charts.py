"""Charts drawn at build time as static, accessible SVG (and the table that goes with each).

Every function here is pure: the same arguments give byte-identical markup, so a rebuild of
the site does not churn its pages. Nothing runs in the reader's browser.

Why hand-written SVG rather than matplotlib (or a JavaScript library):

* matplotlib is a large native dependency for four simple chart shapes; its SVG output turns
  text into paths or embeds font subsets unless carefully configured, writes
  ``<dc:date>`` metadata and random clip-path ids (so output differs run to run unless
  ``svg.hashsalt`` and the metadata are pinned), and gives no hook for ``role``,
  ``aria-labelledby``, per-bar ``<title>`` or a CJK font stack chosen by the reader's browser.
* A JavaScript chart library would need scripts on every page, which the site does not ship.

Here the markup is a few small functions: text stays real ``<text>`` (selectable, searchable,
rendered in the reader's own Chinese font), every piece of caller text is XML-escaped, numbers
are written with a fixed number of decimals, and ids are derived from a caller-given
``chart_id`` so several charts can sit on one page.

Accessibility rules every chart follows:

* ``role="img"`` with ``aria-labelledby`` naming its ``<title>`` and ``<desc>``; the data
  themselves go in a real table (:func:`data_table_html`) next to the chart.
* ``viewBox`` and ``width="100%"`` so the chart scales down on a phone.
* Series differ by colour *and* by dash pattern *and* by marker shape; colours are darkened
  Okabe–Ito hues, each at least 4.5:1 against white (so they also serve as text colours);
  text is at least 4.5:1.
* Missing values (cells suppressed because too few cases) are drawn as gaps / "数据不足",
  never as zero.
* No scripts, no event attributes, no external references (no ``href`` at all).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

__all__ = [
    "FONT_FAMILY",
    "SERIES_STYLES",
    "bar_ranking_svg",
    "data_table_html",
    "distribution_svg",
    "format_number",
    "month_label",
    "monthly_trend_svg",
    "nice_ticks",
    "sanitise_chart_id",
    "suppressed_text",
    "text_width",
]

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

GAP_NOTE = "线段断开处：当月办件过少，数据已隐藏"
NO_DATA = "暂无数据"
INSUFFICIENT = "数据不足"

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ---------------------------------------------------------------- small helpers


def _clean(text: object) -> str:
    """Caller text as a string XML can carry: control characters and lone surrogates dropped."""
    return _SURROGATE.sub("", _CONTROL.sub("", str(text)))


def _esc(text: object) -> str:
    """Escape text for an XML/HTML text node or a double-quoted attribute."""
    return escape(_clean(text), {'"': "&quot;"})


def _f(value: float) -> str:
    """A coordinate with one fixed decimal, so output is identical run to run."""
    out = f"{value:.1f}"
    return "0.0" if out == "-0.0" else out


def _finite(value: float | None) -> float | None:
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


def _truncate(text: str, max_width: float, size: float) -> str:
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


def format_number(value: float | int, decimals: int = 0) -> str:
    """Thousands separators and a fixed number of decimals: ``12345.67 -> '12,345.7'``."""
    if isinstance(value, int) and not isinstance(value, bool) and decimals == 0:
        return f"{value:,}"
    out = f"{float(value):,.{decimals}f}"
    return out[1:] if out.startswith("-") and float(out[1:].replace(",", "")) == 0 else out


def _format_ref(value: float) -> str:
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


def _tick_decimals(ticks: Sequence[float]) -> int:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for d in range(4):
        if abs(round(step, d) - step) < 1e-9:
            return d
    return 3


def _text(
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
    attrs = [f'x="{_f(x)}"', f'y="{_f(y)}"', f'font-size="{size}"', f'fill="{fill}"']
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if halo:
        attrs.append(
            f'stroke="{BACKGROUND}" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
        )
    return f"<text {' '.join(attrs)}>{_esc(content)}</text>"


def _line(
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
        f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
        f'stroke="{stroke}" stroke-width="{width}"{dash_attr}/>'
    )


def _marker(kind: str, x: float, y: float, colour: str, r: float = 4.0) -> str:
    edge = f'fill="{colour}" stroke="{BACKGROUND}" stroke-width="1.5"'
    if kind == "square":
        s = r * 0.9
        return f'<rect x="{_f(x - s)}" y="{_f(y - s)}" width="{_f(2 * s)}" height="{_f(2 * s)}" {edge}/>'
    if kind == "triangle":
        t = r * 1.25
        pts = f"{_f(x)},{_f(y - t)} {_f(x + t)},{_f(y + t * 0.8)} {_f(x - t)},{_f(y + t * 0.8)}"
        return f'<polygon points="{pts}" {edge}/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" {edge}/>'


def _svg(cid: str, width: int, height: int, title: str, description: str, body: list[str]) -> str:
    """The outer ``<svg>`` with its accessible name and description."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" '
        f'font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}">'
    )
    parts = [
        head,
        f'<title id="{cid}-title">{_esc(title)}</title>',
        f'<desc id="{cid}-desc">{_esc(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{BACKGROUND}"/>',
        *body,
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _title_rows(title: str, show_title: bool, width: int, pad: float) -> tuple[list[str], float]:
    """The visible title (optional) and the y where the rest of the chart starts."""
    if not show_title:
        return [], pad
    shown = _truncate(_clean(title), width - 2 * pad, TITLE_SIZE)
    return [
        _text(pad, pad + TITLE_SIZE, shown, size=TITLE_SIZE, weight="bold")
    ], pad + TITLE_SIZE + 10


# ---------------------------------------------------------------- monthly trend


def monthly_trend_svg(
    months: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    description: str,
    y_label: str,
    reference_lines: Mapping[str, float] | None = None,
    width: int = 640,
    height: int = 260,
    chart_id: str | None = None,
    value_unit: str = "",
    decimals: int = 1,
    show_title: bool = False,
    gap_note: str = GAP_NOTE,
) -> str:
    """A line chart of up to about 24 months and up to 3 series.

    ``months`` are ``"YYYY-MM"`` strings (shown as ``25年1月``; every 1st, 2nd, 3rd, 4th, 6th
    or 12th month is labelled, whichever is the first that does not overlap, counted back from
    the latest month so that it is always labelled). Each series has one value per month; ``None`` (or a
    non-finite value) is a suppressed cell and is drawn as a gap, with ``gap_note`` printed
    under the chart. ``reference_lines`` maps a Chinese label (``承诺时限``, ``法定时限``) to
    a value drawn as a grey dash-dot line labelled on the chart. The y axis starts at 0 and
    uses round ticks that cover both the data and the reference lines. ``value_unit`` is
    appended to values in tooltips (e.g. ``"天"``).
    """
    months = [_clean(m) for m in months]
    refs = {
        _clean(k): float(v) for k, v in (reference_lines or {}).items() if _finite(v) is not None
    }
    if len(series) > len(SERIES_STYLES):
        raise ValueError(f"最多 {len(SERIES_STYLES)} 个数据系列，收到 {len(series)} 个")
    data: list[tuple[str, list[float | None]]] = []
    for name, values in series.items():
        values = [_finite(v) for v in values]
        if len(values) != len(months):
            raise ValueError(f"数据系列「{name}」有 {len(values)} 个值，但月份有 {len(months)} 个")
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"数据系列「{name}」含负值；纵轴从 0 开始")
        data.append((_clean(name), values))
    if any(v < 0 for v in refs.values()):
        raise ValueError("参考线不能为负值")

    cid = sanitise_chart_id(chart_id, title, description)
    pad = 12.0
    body, top = _title_rows(title, show_title, width, pad)

    # Legend: swatches (line + marker) flowing left to right, wrapping when needed.
    legend_y = top + 8
    x = pad
    for i, (name, _values) in enumerate(data):
        colour, dash, marker = SERIES_STYLES[i]
        item_w = 30 + 6 + text_width(name, FONT_SIZE) + 20
        if x > pad and x + item_w > width - pad:
            x = pad
            legend_y += 20
        body.append(_line(x, legend_y, x + 30, legend_y, colour, 2.5, dash))
        body.append(_marker(marker, x + 15, legend_y, colour))
        body.append(_text(x + 36, legend_y + 4.5, name))
        x += item_w
    if data:
        top = legend_y + 14

    # y-axis label sits above the axis, horizontally (rotated Chinese reads badly).
    body.append(_text(pad, top + 12, _clean(y_label), size=SMALL, fill=MUTED))
    top += 24

    has_gap = any(v is None for _n, vals in data for v in vals) and bool(months)
    bottom = height - pad - (SMALL + 8 if has_gap else 0) - (SMALL + 8)
    all_values = [v for _n, vals in data for v in vals if v is not None] + list(refs.values())
    ticks = nice_ticks(max(all_values, default=0.0))
    tick_dec = _tick_decimals(ticks)
    tick_labels = [format_number(t, tick_dec) for t in ticks]
    left = pad + max(text_width(t, SMALL) for t in tick_labels) + 8
    right = width - pad
    y_max = ticks[-1]

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / y_max

    # Gridlines and y ticks.
    for t, label in zip(ticks, tick_labels, strict=True):
        y = y_of(t)
        body.append(_line(left, y, right, y, AXIS if t == 0 else GRID, 1))
        body.append(_text(left - 6, y + 4, label, size=SMALL, fill=MUTED, anchor="end"))

    n = len(months)
    if n == 0 or not any(v is not None for _n, vals in data for v in vals):
        body.append(
            _text((left + right) / 2, (top + bottom) / 2 + 5, NO_DATA, fill=MUTED, anchor="middle")
        )
    band = (right - left) / n if n else 0.0

    def x_of(i: int) -> float:
        return left + band * (i + 0.5)

    # x labels: every k-th month counted back from the latest, so the latest is always labelled.
    if n:
        labels = [month_label(m) for m in months]
        widest = max(text_width(lbl, SMALL) for lbl in labels) + 10
        needed = max(1, math.ceil(widest / band)) if band else 1
        every = next((k for k in (1, 2, 3, 4, 6, 12) if k >= needed), 12 * math.ceil(needed / 12))
        for i in range(n):
            if (n - 1 - i) % every:
                continue
            x = x_of(i)
            half = text_width(labels[i], SMALL) / 2
            text_x = min(max(x, half + 2), width - half - 2)  # keep edge labels inside the chart
            body.append(_line(x, bottom, x, bottom + 4, AXIS, 1))
            body.append(
                _text(
                    text_x, bottom + 6 + SMALL, labels[i], size=SMALL, fill=MUTED, anchor="middle"
                )
            )

    # Reference lines, labelled at the right end; labels nudged apart when lines are close.
    placed: list[float] = []
    for j, (name, value) in enumerate(sorted(refs.items(), key=lambda kv: -kv[1])):
        y = y_of(value)
        body.append(
            _line(left, y, right, y, MUTED, 1.5, REFERENCE_DASHES[j % len(REFERENCE_DASHES)])
        )
        label_y = y - 5
        while any(abs(label_y - p) < SMALL + 2 for p in placed):
            label_y += SMALL + 2
        label_y = max(label_y, top + SMALL)
        placed.append(label_y)
        body.append(
            _text(
                right - 2,
                label_y,
                f"{name} {_format_ref(value)}{value_unit}",
                size=SMALL,
                fill=MUTED,
                anchor="end",
                halo=True,
            )
        )

    # Series: one path per unbroken run; markers on every point, with a tooltip.
    for i, (name, values) in enumerate(data):
        colour, dash, marker = SERIES_STYLES[i]
        runs: list[list[tuple[float, float]]] = [[]]
        for k, v in enumerate(values):
            if v is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((x_of(k), y_of(v)))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        group = [f'<g class="series series-{i + 1}">']
        for run in runs:
            if len(run) > 1:
                d = "M" + " L".join(f"{_f(px)} {_f(py)}" for px, py in run)
                group.append(
                    f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2.5" '
                    f'stroke-linejoin="round"{dash_attr}/>'
                )
        for k, v in enumerate(values):
            if v is None:
                continue
            tip = f"{month_label(months[k], short=False)} {name}：{format_number(v, decimals)}{value_unit}"
            group.append(
                f"<g><title>{_esc(tip)}</title>{_marker(marker, x_of(k), y_of(v), colour)}</g>"
            )
        group.append("</g>")
        body.extend(group)

    if has_gap:
        body.append(_text(pad, height - pad, _clean(gap_note), size=SMALL, fill=MUTED))
    return _svg(cid, width, height, title, description, body)


# ---------------------------------------------------------------- ranking bars


def bar_ranking_svg(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    description: str,
    unit: str = "%",
    max_value: float | None = None,
    chart_id: str | None = None,
    width: int = 640,
    decimals: int = 1,
    show_title: bool = False,
    insufficient_text: str = INSUFFICIENT,
) -> str:
    """Horizontal bars in the order given (the caller ranks), one row per department.

    Long names are cut with "…" to fit the label column; the full name stays in the row's
    ``<title>`` (shown as a tooltip). ``None`` is shown as ``insufficient_text`` instead of a
    bar. The scale runs from 0 to ``max_value``; by default 100 for ``unit="%"`` (unless a value
    exceeds it) and otherwise the next round number above the largest value. The height
    follows from the number of rows.
    """
    labels = [_clean(lbl) for lbl in labels]
    vals = [_finite(v) for v in values]
    if len(labels) != len(vals):
        raise ValueError(f"标签有 {len(labels)} 个，但数值有 {len(vals)} 个")
    if any(v is not None and v < 0 for v in vals):
        raise ValueError("排名条形图不支持负值")
    cid = sanitise_chart_id(chart_id, title, description)
    pad = 12.0
    body, top = _title_rows(title, show_title, width, pad)

    largest = max((v for v in vals if v is not None), default=0.0)
    if max_value is not None and _finite(max_value) and max_value > 0:
        ticks = nice_ticks(float(max_value))
        scale_max = float(max_value)
        ticks = [t for t in ticks if t <= scale_max + 1e-9]
    elif unit == "%" and largest <= 100:
        scale_max, ticks = 100.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    else:
        ticks = nice_ticks(largest)
        scale_max = ticks[-1]
    tick_dec = _tick_decimals(ticks)

    row_h, bar_h = 28.0, 16.0
    label_w = round(width * 0.36)
    value_w = text_width(format_number(max(largest, scale_max), decimals) + unit, FONT_SIZE) + 10
    left = pad + label_w + 8
    right = width - pad - value_w
    plot_top = top + 6
    plot_bottom = plot_top + row_h * max(len(labels), 1)
    height = round(plot_bottom + 8 + SMALL + pad)

    def x_of(v: float) -> float:
        return left + (right - left) * min(v, scale_max) / scale_max

    for t in ticks:
        x = x_of(t)
        body.append(_line(x, plot_top, x, plot_bottom, AXIS if t == 0 else GRID, 1))
        body.append(
            _text(
                x,
                plot_bottom + 6 + SMALL,
                format_number(t, tick_dec) + unit,
                size=SMALL,
                fill=MUTED,
                anchor="middle",
            )
        )
    if not labels:
        body.append(
            _text(
                (left + right) / 2, plot_top + row_h / 2 + 5, NO_DATA, fill=MUTED, anchor="middle"
            )
        )

    for i, (name, v) in enumerate(zip(labels, vals, strict=True)):
        cy = plot_top + row_h * i + row_h / 2
        shown = _truncate(name, label_w, FONT_SIZE)
        value_text = insufficient_text if v is None else format_number(v, decimals) + unit
        row = [
            f'<g class="bar-row"><title>{_esc(f"{name}：{value_text}")}</title>',
            _text(pad + label_w, cy + 4.5, shown, anchor="end"),
        ]
        if v is None:
            row.append(_text(left + 6, cy + 4.5, insufficient_text, fill=MUTED))
        else:
            x_end = x_of(v)
            row.append(
                f'<rect x="{_f(left)}" y="{_f(cy - bar_h / 2)}" width="{_f(x_end - left)}" '
                f'height="{_f(bar_h)}" fill="{BAR}"/>'
            )
            row.append(_text(x_end + 6, cy + 4.5, value_text, weight="bold"))
        row.append("</g>")
        body.append("".join(row))
    return _svg(cid, width, height, title, description, body)


# ---------------------------------------------------------------- distribution


def distribution_svg(
    labels: Sequence[str],
    counts: Sequence[int | None],
    *,
    title: str,
    description: str,
    chart_id: str | None = None,
    width: int = 640,
    height: int = 240,
    show_title: bool = False,
    count_unit: str = "件",
    insufficient_text: str = INSUFFICIENT,
) -> str:
    """Columns for a small distribution, e.g. satisfaction levels 1–5 (非常不满意 … 非常满意).

    Each column is labelled with its share of the total and its count; ``None`` (a suppressed
    count) is shown as ``insufficient_text`` and left out of the total.
    """
    labels = [_clean(lbl) for lbl in labels]
    vals = [None if c is None else _finite(c) for c in counts]
    if len(labels) != len(vals):
        raise ValueError(f"标签有 {len(labels)} 个，但计数有 {len(vals)} 个")
    if any(v is not None and v < 0 for v in vals):
        raise ValueError("计数不能为负")
    cid = sanitise_chart_id(chart_id, title, description)
    pad = 12.0
    body, top = _title_rows(title, show_title, width, pad)

    total = sum(v for v in vals if v is not None)
    largest = max((v for v in vals if v is not None), default=0.0)
    plot_top = top + 2 * SMALL + 16
    baseline = height - pad - SMALL - 10
    n = len(labels)
    band = (width - 2 * pad) / n if n else 0.0
    col_w = min(band * 0.6, 72.0)
    body.append(_line(pad, baseline, width - pad, baseline, AXIS, 1))
    if n == 0 or total <= 0:
        body.append(
            _text(width / 2, (plot_top + baseline) / 2, NO_DATA, fill=MUTED, anchor="middle")
        )

    for i, (name, v) in enumerate(zip(labels, vals, strict=True)):
        cx = pad + band * (i + 0.5)
        shown = _truncate(name, band - 6, FONT_SIZE)
        if v is None:
            tip = f"{name}：{insufficient_text}"
        else:
            share = 100 * v / total if total else 0.0
            tip = (
                f"{name}：{format_number(int(round(v)))}{count_unit}（{format_number(share, 1)}%）"
            )
        row = [
            f'<g class="column"><title>{_esc(tip)}</title>',
            _text(cx, baseline + 6 + FONT_SIZE, shown, anchor="middle"),
        ]
        if v is None:
            row.append(_text(cx, baseline - 8, insufficient_text, fill=MUTED, anchor="middle"))
        elif total > 0:
            h = (baseline - plot_top) * (v / largest if largest else 0.0)
            y = baseline - h
            share = 100 * v / total
            if h > 0:
                row.append(
                    f'<rect x="{_f(cx - col_w / 2)}" y="{_f(y)}" width="{_f(col_w)}" '
                    f'height="{_f(h)}" fill="{BAR}"/>'
                )
            row.append(
                _text(
                    cx,
                    y - 8 - SMALL - 2,
                    f"{format_number(share, 1)}%",
                    anchor="middle",
                    weight="bold",
                )
            )
            row.append(
                _text(
                    cx,
                    y - 6,
                    f"{format_number(int(round(v)))}{count_unit}",
                    size=SMALL,
                    fill=MUTED,
                    anchor="middle",
                )
            )
        row.append("</g>")
        body.append("".join(row))
    return _svg(cid, width, height, title, description, body)


# ---------------------------------------------------------------- the table beside a chart


def suppressed_text(k: int) -> str:
    """The text for a suppressed cell: ``—（不足 10 条，已隐藏）``."""
    return f"—（不足 {k} 条，已隐藏）"


def _cell(value: object, *, percent: bool, decimals: int, none_text: str) -> tuple[str, bool]:
    """(escaped cell text, is it a number)."""
    if value is None:
        return _esc(none_text), False
    if isinstance(value, bool):
        return ("是" if value else "否"), False
    if isinstance(value, int | float):
        if not math.isfinite(float(value)):
            return _esc(none_text), False
        if percent:
            return format_number(value, 1) + "%", True
        if isinstance(value, int):
            return format_number(value), True
        return format_number(value, decimals), True
    return _esc(value), False


def data_table_html(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    none_text: str = "—（数据不足，已隐藏）",
    percent_columns: Sequence[int] = (),
    decimals: int = 1,
    chart_id: str | None = None,
) -> str:
    """The chart's data as an HTML table, for screen readers and for anyone who wants numbers.

    The first column is the row header (``<th scope="row">``). Integers get thousands
    separators; other numbers ``decimals`` decimals; columns listed in ``percent_columns``
    (indexes into ``headers``; values already in percent, e.g. ``87.5``) one decimal and a
    ``%`` sign. ``None`` becomes ``none_text`` (see :func:`suppressed_text`). Numeric cells get
    ``class="num"`` so a stylesheet can right-align them. All text is HTML-escaped. Given the
    ``chart_id`` of the chart it accompanies, the table gets the id ``<chart_id>-table``.
    """
    percent = set(percent_columns)
    id_attr = f' id="{sanitise_chart_id(chart_id)}-table"' if chart_id else ""
    out = [
        f'<table class="data-table"{id_attr}>',
        f"<caption>{_esc(caption)}</caption>",
        "<thead>",
        "<tr>",
    ]
    out.extend(f'<th scope="col">{_esc(h)}</th>' for h in headers)
    out += ["</tr>", "</thead>", "<tbody>"]
    for row in rows:
        out.append("<tr>")
        for j, value in enumerate(row):
            text, numeric = _cell(
                value, percent=j in percent, decimals=decimals, none_text=none_text
            )
            if j == 0:
                out.append(f'<th scope="row">{text}</th>')
            else:
                out.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        out.append("</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out) + "\n"
