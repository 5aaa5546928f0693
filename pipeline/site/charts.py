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

Here the markup is a few small functions: the three charts in this module, drawn with the
elements, colours and text measures of :mod:`pipeline.site.svg` (text stays real ``<text>``,
selectable, searchable, rendered in the reader's own Chinese font; every piece of caller text is
XML-escaped; numbers are written with a fixed number of decimals; ids are derived from a
caller-given ``chart_id`` so several charts can sit on one page), and the table beside each in
:mod:`pipeline.site.chart_tables`.

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

import math
from collections.abc import Mapping, Sequence

from pipeline.site.chart_tables import data_table_html, suppressed_text
from pipeline.site.svg import (
    AXIS,
    BAR,
    FONT_FAMILY,
    FONT_SIZE,
    GRID,
    MUTED,
    REFERENCE_DASHES,
    SERIES_STYLES,
    SMALL,
    clean,
    coord,
    esc,
    finite,
    format_number,
    format_reference,
    line_element,
    marker_element,
    month_label,
    nice_ticks,
    sanitise_chart_id,
    svg_element,
    text_element,
    text_width,
    tick_decimals,
    title_rows,
    truncate,
)

# The charts, and what their callers use beside them (from svg and chart_tables).
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

GAP_NOTE = "线段断开处：当月办件过少，数据已隐藏"
NO_DATA = "暂无数据"
INSUFFICIENT = "数据不足"


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
    months = [clean(m) for m in months]
    refs = {clean(k): float(v) for k, v in (reference_lines or {}).items() if finite(v) is not None}
    if len(series) > len(SERIES_STYLES):
        raise ValueError(f"最多 {len(SERIES_STYLES)} 个数据系列，收到 {len(series)} 个")
    data: list[tuple[str, list[float | None]]] = []
    for name, values in series.items():
        values = [finite(v) for v in values]
        if len(values) != len(months):
            raise ValueError(f"数据系列「{name}」有 {len(values)} 个值，但月份有 {len(months)} 个")
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"数据系列「{name}」含负值；纵轴从 0 开始")
        data.append((clean(name), values))
    if any(v < 0 for v in refs.values()):
        raise ValueError("参考线不能为负值")

    cid = sanitise_chart_id(chart_id, title, description)
    pad = 12.0
    body, top = title_rows(title, show_title, width, pad)

    # Legend: swatches (line + marker) flowing left to right, wrapping when needed.
    legend_y = top + 8
    x = pad
    for i, (name, _values) in enumerate(data):
        colour, dash, marker = SERIES_STYLES[i]
        item_w = 30 + 6 + text_width(name, FONT_SIZE) + 20
        if x > pad and x + item_w > width - pad:
            x = pad
            legend_y += 20
        body.append(line_element(x, legend_y, x + 30, legend_y, colour, 2.5, dash))
        body.append(marker_element(marker, x + 15, legend_y, colour))
        body.append(text_element(x + 36, legend_y + 4.5, name))
        x += item_w
    if data:
        top = legend_y + 14

    # y-axis label sits above the axis, horizontally (rotated Chinese reads badly).
    body.append(text_element(pad, top + 12, clean(y_label), size=SMALL, fill=MUTED))
    top += 24

    has_gap = any(v is None for _n, vals in data for v in vals) and bool(months)
    bottom = height - pad - (SMALL + 8 if has_gap else 0) - (SMALL + 8)
    all_values = [v for _n, vals in data for v in vals if v is not None] + list(refs.values())
    ticks = nice_ticks(max(all_values, default=0.0))
    tick_dec = tick_decimals(ticks)
    tick_labels = [format_number(t, tick_dec) for t in ticks]
    left = pad + max(text_width(t, SMALL) for t in tick_labels) + 8
    right = width - pad
    y_max = ticks[-1]

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / y_max

    # Gridlines and y ticks.
    for t, label in zip(ticks, tick_labels, strict=True):
        y = y_of(t)
        body.append(line_element(left, y, right, y, AXIS if t == 0 else GRID, 1))
        body.append(text_element(left - 6, y + 4, label, size=SMALL, fill=MUTED, anchor="end"))

    n = len(months)
    if n == 0 or not any(v is not None for _n, vals in data for v in vals):
        body.append(
            text_element(
                (left + right) / 2, (top + bottom) / 2 + 5, NO_DATA, fill=MUTED, anchor="middle"
            )
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
            body.append(line_element(x, bottom, x, bottom + 4, AXIS, 1))
            body.append(
                text_element(
                    text_x, bottom + 6 + SMALL, labels[i], size=SMALL, fill=MUTED, anchor="middle"
                )
            )

    # Reference lines, labelled at the right end; labels nudged apart when lines are close.
    placed: list[float] = []
    for j, (name, value) in enumerate(sorted(refs.items(), key=lambda kv: -kv[1])):
        y = y_of(value)
        body.append(
            line_element(left, y, right, y, MUTED, 1.5, REFERENCE_DASHES[j % len(REFERENCE_DASHES)])
        )
        label_y = y - 5
        while any(abs(label_y - p) < SMALL + 2 for p in placed):
            label_y += SMALL + 2
        label_y = max(label_y, top + SMALL)
        placed.append(label_y)
        body.append(
            text_element(
                right - 2,
                label_y,
                f"{name} {format_reference(value)}{value_unit}",
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
                d = "M" + " L".join(f"{coord(px)} {coord(py)}" for px, py in run)
                group.append(
                    f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2.5" '
                    f'stroke-linejoin="round"{dash_attr}/>'
                )
        for k, v in enumerate(values):
            if v is None:
                continue
            tip = f"{month_label(months[k], short=False)} {name}：{format_number(v, decimals)}{value_unit}"
            group.append(
                f"<g><title>{esc(tip)}</title>{marker_element(marker, x_of(k), y_of(v), colour)}</g>"
            )
        group.append("</g>")
        body.extend(group)

    if has_gap:
        body.append(text_element(pad, height - pad, clean(gap_note), size=SMALL, fill=MUTED))
    return svg_element(cid, width, height, title, description, body)


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
    labels = [clean(lbl) for lbl in labels]
    vals = [finite(v) for v in values]
    if len(labels) != len(vals):
        raise ValueError(f"标签有 {len(labels)} 个，但数值有 {len(vals)} 个")
    if any(v is not None and v < 0 for v in vals):
        raise ValueError("排名条形图不支持负值")
    cid = sanitise_chart_id(chart_id, title, description)
    pad = 12.0
    body, top = title_rows(title, show_title, width, pad)

    largest = max((v for v in vals if v is not None), default=0.0)
    if max_value is not None and finite(max_value) and max_value > 0:
        ticks = nice_ticks(float(max_value))
        scale_max = float(max_value)
        ticks = [t for t in ticks if t <= scale_max + 1e-9]
    elif unit == "%" and largest <= 100:
        scale_max, ticks = 100.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    else:
        ticks = nice_ticks(largest)
        scale_max = ticks[-1]
    tick_dec = tick_decimals(ticks)

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
        body.append(line_element(x, plot_top, x, plot_bottom, AXIS if t == 0 else GRID, 1))
        body.append(
            text_element(
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
            text_element(
                (left + right) / 2, plot_top + row_h / 2 + 5, NO_DATA, fill=MUTED, anchor="middle"
            )
        )

    for i, (name, v) in enumerate(zip(labels, vals, strict=True)):
        cy = plot_top + row_h * i + row_h / 2
        shown = truncate(name, label_w, FONT_SIZE)
        value_text = insufficient_text if v is None else format_number(v, decimals) + unit
        row = [
            f'<g class="bar-row"><title>{esc(f"{name}：{value_text}")}</title>',
            text_element(pad + label_w, cy + 4.5, shown, anchor="end"),
        ]
        if v is None:
            row.append(text_element(left + 6, cy + 4.5, insufficient_text, fill=MUTED))
        else:
            x_end = x_of(v)
            row.append(
                f'<rect x="{coord(left)}" y="{coord(cy - bar_h / 2)}" width="{coord(x_end - left)}" '
                f'height="{coord(bar_h)}" fill="{BAR}"/>'
            )
            row.append(text_element(x_end + 6, cy + 4.5, value_text, weight="bold"))
        row.append("</g>")
        body.append("".join(row))
    return svg_element(cid, width, height, title, description, body)


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
    labels = [clean(lbl) for lbl in labels]
    vals = [None if c is None else finite(c) for c in counts]
    if len(labels) != len(vals):
        raise ValueError(f"标签有 {len(labels)} 个，但计数有 {len(vals)} 个")
    if any(v is not None and v < 0 for v in vals):
        raise ValueError("计数不能为负")
    cid = sanitise_chart_id(chart_id, title, description)
    pad = 12.0
    body, top = title_rows(title, show_title, width, pad)

    total = sum(v for v in vals if v is not None)
    largest = max((v for v in vals if v is not None), default=0.0)
    plot_top = top + 2 * SMALL + 16
    baseline = height - pad - SMALL - 10
    n = len(labels)
    band = (width - 2 * pad) / n if n else 0.0
    col_w = min(band * 0.6, 72.0)
    body.append(line_element(pad, baseline, width - pad, baseline, AXIS, 1))
    if n == 0 or total <= 0:
        body.append(
            text_element(width / 2, (plot_top + baseline) / 2, NO_DATA, fill=MUTED, anchor="middle")
        )

    for i, (name, v) in enumerate(zip(labels, vals, strict=True)):
        cx = pad + band * (i + 0.5)
        shown = truncate(name, band - 6, FONT_SIZE)
        if v is None:
            tip = f"{name}：{insufficient_text}"
        else:
            share = 100 * v / total if total else 0.0
            tip = (
                f"{name}：{format_number(int(round(v)))}{count_unit}（{format_number(share, 1)}%）"
            )
        row = [
            f'<g class="column"><title>{esc(tip)}</title>',
            text_element(cx, baseline + 6 + FONT_SIZE, shown, anchor="middle"),
        ]
        if v is None:
            row.append(
                text_element(cx, baseline - 8, insufficient_text, fill=MUTED, anchor="middle")
            )
        elif total > 0:
            h = (baseline - plot_top) * (v / largest if largest else 0.0)
            y = baseline - h
            share = 100 * v / total
            if h > 0:
                row.append(
                    f'<rect x="{coord(cx - col_w / 2)}" y="{coord(y)}" width="{coord(col_w)}" '
                    f'height="{coord(h)}" fill="{BAR}"/>'
                )
            row.append(
                text_element(
                    cx,
                    y - 8 - SMALL - 2,
                    f"{format_number(share, 1)}%",
                    anchor="middle",
                    weight="bold",
                )
            )
            row.append(
                text_element(
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
    return svg_element(cid, width, height, title, description, body)
