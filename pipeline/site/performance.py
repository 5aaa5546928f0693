"""View models of "how it really goes": item panels, department scorecards, the ranking and the
overview dashboard, from the release data's ``outcomes.json``. Charts are SVG made at build time
(pipeline.site.charts) with the numbers as a table beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from pipeline.contract.models import Item, LimitUnit
from pipeline.site.charts import (
    bar_ranking_svg,
    data_table_html,
    distribution_svg,
    monthly_trend_svg,
)

CHART_WIDTH = 480
SATISFACTION_LABELS = ("非常不满意", "不满意", "基本满意", "满意", "非常满意")


@dataclass
class Performance:
    """outcomes.json indexed for the templates."""

    k: int
    months: list[str]
    summary: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    monthly: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    satisfaction: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    compression: dict[str, float | None] = field(default_factory=dict)
    anonymisation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_release(cls, data: dict[str, Any]) -> Performance:
        perf = cls(
            k=data["k"],
            months=data["months"],
            compression=data["compression"],
            anonymisation=data.get("anonymisation", {}),
        )
        for row in data["last_12_months"]:
            perf.summary[_key(row)] = row
        for row in data["monthly"]:
            perf.monthly.setdefault(_key(row), []).append(row)
        for row in data["satisfaction"]:
            perf.satisfaction[_key(row)] = row
        return perf

    def of_item(self, code: str) -> tuple[dict | None, list[dict], dict | None]:
        key = ("item", code)
        return self.summary.get(key), self.monthly.get(key, []), self.satisfaction.get(key)

    def of_department(self, code: str) -> tuple[dict | None, list[dict], dict | None]:
        key = ("department", code)
        return self.summary.get(key), self.monthly.get(key, []), self.satisfaction.get(key)

    def overall(self) -> tuple[dict | None, list[dict], dict | None]:
        key = ("overall", "")
        return self.summary.get(key), self.monthly.get(key, []), self.satisfaction.get(key)


def _key(row: dict[str, Any]) -> tuple[str, str]:
    code = row["impl_code"] if row["level"] == "item" else row["department_code"]
    return row["level"], code


def _series(
    months: list[str], rows: list[dict], measure: str, scale: float = 1.0
) -> list[float | None]:
    by_month = {r["month"]: r for r in rows}
    values = []
    for month in months:
        value = by_month.get(month, {}).get(measure)
        values.append(None if value is None else value * scale)
    return values


def suppressed_text(k: int) -> str:
    return f"—（不足 {k} 件，不公布）"


def item_trend(perf: Performance, item: Item, rows: list[dict]) -> dict[str, Markup]:
    references = {}
    if item.promised_limit.unit is LimitUnit.working_days and item.promised_limit.value > 0:
        references["承诺时限"] = float(item.promised_limit.value)
    if item.statutory_limit.unit is LimitUnit.working_days and item.statutory_limit.value > 0:
        references["法定时限"] = float(item.statutory_limit.value)
    chart_id = f"trend-{item.impl_code.lower()}"
    svg = monthly_trend_svg(
        perf.months,
        {
            "中位办理天数": _series(perf.months, rows, "median_days"),
            "90%办件在此天数内办结": _series(perf.months, rows, "p90_days"),
        },
        title=f"{item.name}：近 {len(perf.months)} 个月办理用时（工作日）",
        description="按申请月份统计已办结办件的办理工作日数中位数与 90 分位数；与承诺时限、法定时限比较。",
        y_label="办理天数（工作日）",
        reference_lines=references,
        width=CHART_WIDTH,
        chart_id=chart_id,
        value_unit="天",
        decimals=0,
    )
    by_month = {r["month"]: r for r in rows}
    table_rows = []
    for month in reversed(perf.months):
        row = by_month.get(month)
        if row is None:
            table_rows.append([month, 0, None, None, None])
            continue
        on_time = None if row["on_time_rate"] is None else row["on_time_rate"] * 100
        table_rows.append([month, row["received"], row["median_days"], row["p90_days"], on_time])
    table = data_table_html(
        "逐月数据（按申请月份）",
        ["月份", "申请件数", "中位天数", "90分位天数", "按时办结率"],
        table_rows,
        none_text=suppressed_text(perf.k),
        percent_columns=(4,),
        decimals=0,
        chart_id=chart_id,
    )
    return {"svg": Markup(svg), "table": Markup(table)}


def satisfaction_chart(
    perf: Performance, row: dict | None, chart_id: str, title: str
) -> Markup | None:
    if not row or row.get("suppressed"):
        return None
    counts = [row[f"level_{n}"] for n in range(1, 6)]
    return Markup(
        distribution_svg(
            list(SATISFACTION_LABELS),
            counts,
            title=title,
            description="近 12 个月“好差评”各等级的评价次数与占比。",
            chart_id=chart_id,
            width=CHART_WIDTH,
        )
    )


def _on_time(row: dict[str, Any]) -> float | None:
    summary = row["summary"]
    return None if not summary else summary["on_time_rate"]


def mean_compression(perf: Performance, items: list[Item]) -> float | None:
    """承诺时限压缩率 of a department: the mean over its items whose limits are comparable."""
    values = [value for i in items if (value := perf.compression.get(i.impl_code)) is not None]
    return round(sum(values) / len(values), 4) if values else None


def department_ranking(
    perf: Performance,
    departments: list,
    completeness: dict[str, dict],
    items_by_department: dict[str, list[Item]],
) -> list[dict[str, Any]]:
    """One row per department, best on-time rate first; departments without enough data last
    (ties keep the pinyin order of ``departments``)."""
    rows = []
    for department in departments:
        summary, _, satisfaction = perf.of_department(department.code)
        rows.append(
            {
                "department": department,
                "summary": summary,
                "satisfaction": satisfaction,
                "completeness": (completeness.get(department.code) or {}).get("score"),
                "compression": mean_compression(perf, items_by_department.get(department.code, [])),
            }
        )
    return sorted(rows, key=lambda r: (_on_time(r) is None, -(_on_time(r) or 0.0)))


def ranking_chart(rows: list[dict[str, Any]]) -> Markup:
    labels = [r["department"].name for r in rows]
    values = [
        None
        if not r["summary"] or r["summary"]["on_time_rate"] is None
        else r["summary"]["on_time_rate"] * 100
        for r in rows
    ]
    return Markup(
        bar_ranking_svg(
            labels,
            values,
            title="各部门按时办结率（近 12 个月）",
            description="已办结办件中在承诺时限内办结的比例，按部门排列。",
            unit="%",
            max_value=100,
            chart_id="ranking-on-time",
            width=CHART_WIDTH,
        )
    )


def volume_trend(perf: Performance, rows: list[dict], chart_id: str, title: str) -> Markup:
    return Markup(
        monthly_trend_svg(
            perf.months,
            {"按时办结率（%）": _series(perf.months, rows, "on_time_rate", 100.0)},
            title=title,
            description="按申请月份统计的按时办结率。",
            y_label="按时办结率（%）",
            width=CHART_WIDTH,
            chart_id=chart_id,
            value_unit="%",
            decimals=1,
        )
    )
