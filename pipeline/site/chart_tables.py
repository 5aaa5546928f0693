"""The table beside a chart: its data as an HTML table, for screen readers and for anyone who
wants the numbers (:func:`data_table_html`), and the text of a suppressed cell."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.site.svg import esc, format_number, sanitise_chart_id


def suppressed_text(k: int) -> str:
    """The text for a suppressed cell: ``—（不足 10 条，已隐藏）``."""
    return f"—（不足 {k} 条，已隐藏）"


def _cell(value: object, *, percent: bool, decimals: int, none_text: str) -> tuple[str, bool]:
    """(escaped cell text, is it a number)."""
    if value is None:
        return esc(none_text), False
    if isinstance(value, bool):
        return ("是" if value else "否"), False
    if isinstance(value, int | float):
        if not math.isfinite(float(value)):
            return esc(none_text), False
        if percent:
            return format_number(value, 1) + "%", True
        if isinstance(value, int):
            return format_number(value), True
        return format_number(value, decimals), True
    return esc(value), False


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
        f"<caption>{esc(caption)}</caption>",
        "<thead>",
        "<tr>",
    ]
    out.extend(f'<th scope="col">{esc(h)}</th>' for h in headers)
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
