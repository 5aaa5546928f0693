"""Statistics of how items really go, with the contract's definitions (stated on the
methodology page):

- Cases are grouped by the **month of submission** (a cohort): of the applications received in
  month M, how many were accepted, completed (办结: a decision, granted or denied), granted,
  denied, not accepted, withdrawn, and how long the completed ones took.
- 办结率 = completed ÷ accepted; 按时办结率 = completed within the promised limit ÷ completed.
- Processing time is counted in **working days** from acceptance (or submission when there is no
  acceptance time) to completion, the start day not counted, minus the working days spent in
  special procedures (听证、专家评审、检验检测), by the statutory-holiday calendar with 调休.
- Overdue = completed late, or still open at the export's instant past the promised limit.
- Median and 90th percentile are the discrete quantiles (an actual case's value).
- 承诺时限压缩率 = 1 − promised ÷ statutory (limits in the same unit, statutory > 0).
- Only **closed months** are published: a month appears once it has ended and ``lag_days`` more
  have passed at the export's instant; the window is the last ``months`` closed months.
- **Suppression**: the result breakdown (granted, denied, not accepted, withdrawn) hides any cell
  with 1…k−1 cases, and then the next smallest cell too when only one was hidden (so it cannot be
  recovered by subtraction); a row with fewer than k applications hides everything; medians,
  percentiles and rates need at least k cases behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from pipeline.outcomes.workdays import WorkdayCalendar

BREAKDOWN = ("granted", "denied", "not_accepted", "withdrawn")
MEASURES = (
    "received",
    "accepted",
    "completed",
    "granted",
    "denied",
    "not_accepted",
    "withdrawn",
    "open",
    "on_time",
    "overdue",
    "within_statutory",
)


@dataclass(frozen=True)
class StatisticsSettings:
    k: int = 5
    months: int = 24
    lag_days: int = 0


def closed_months(exported_at: datetime, settings: StatisticsSettings) -> list[date]:
    """The last ``settings.months`` months that ended at least ``lag_days`` before the export."""
    cutoff = exported_at.date() - timedelta(days=settings.lag_days)
    month = date(cutoff.year, cutoff.month, 1)  # the month containing the cutoff is not closed
    months: list[date] = []
    while len(months) < settings.months:
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    return sorted(months)


def load_calendar(
    con: duckdb.DuckDBPyConnection, calendar: WorkdayCalendar, first: date, last: date
) -> None:
    calendar.require_years(first, last)
    con.execute("CREATE OR REPLACE TABLE cal (day DATE, is_workday BOOLEAN, idx INTEGER)")
    con.executemany("INSERT INTO cal VALUES (?, ?, ?)", calendar.workday_table(first, last))


def load_item_limits(con: duckdb.DuckDBPyConnection, items: dict) -> None:
    rows = [
        (
            i.impl_code,
            i.department_code,
            i.case_type.value,
            float(i.promised_limit.value),
            i.promised_limit.unit.value,
            float(i.statutory_limit.value),
            i.statutory_limit.unit.value,
        )
        for i in items.values()
    ]
    con.execute("""CREATE OR REPLACE TABLE item_limits (impl_code VARCHAR, department_code VARCHAR,
        case_type VARCHAR, promised DOUBLE, promised_unit VARCHAR, statutory DOUBLE, statutory_unit VARCHAR)""")
    if rows:
        con.executemany("INSERT INTO item_limits VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _within(limit: str, unit: str) -> str:
    """SQL: the case (start_day, end_day, wd) is within ``limit`` of ``unit``."""
    return f"""CASE {unit}
        WHEN 'working_days' THEN wd <= {limit}
        WHEN 'calendar_days' THEN (end_day - start_day) - special_procedure_days <= {limit}
        ELSE end_day <= CAST(start_day + to_months(CAST({limit} AS INTEGER)) AS DATE) END"""


def build_case_facts(con: duckdb.DuckDBPyConnection, exported_at: datetime) -> None:
    """One row per accumulated case with its local days, working days and limit checks."""
    export_day = exported_at.date().isoformat()
    con.execute(f"""CREATE OR REPLACE TABLE case_facts AS
        WITH base AS (
          SELECT c.*, l.promised, l.promised_unit, l.statutory, l.statutory_unit,
                 CAST(c.submitted_at AS DATE) AS submitted_day,
                 CAST(coalesce(c.accepted_at, c.submitted_at) AS DATE) AS start_day,
                 CASE WHEN c.status IN ('submitted', 'accepted', 'in_progress')
                      THEN DATE '{export_day}' ELSE CAST(c.completed_at AS DATE) END AS end_day
          FROM cases c JOIN item_limits l USING (impl_code))
        SELECT b.*, date_trunc('month', b.submitted_day)::DATE AS month,
               greatest(e.idx - s.idx - b.special_procedure_days, 0) AS wd
        FROM base b JOIN cal s ON s.day = b.start_day LEFT JOIN cal e ON e.day = b.end_day""")
    con.execute(f"""CREATE OR REPLACE TABLE case_facts AS SELECT *,
        status = 'completed' AND ({_within("promised", "promised_unit")}) AS on_time,
        status = 'completed' AND ({_within("statutory", "statutory_unit")}) AS in_statutory,
        status IN ('submitted', 'accepted', 'in_progress') AS is_open
        FROM case_facts""")


AGGREGATES = """
    count(*) AS received,
    count(accepted_at) AS accepted,
    count(*) FILTER (status = 'completed') AS completed,
    count(*) FILTER (status = 'completed' AND result = 'granted') AS granted,
    count(*) FILTER (status = 'completed' AND result = 'denied') AS denied,
    count(*) FILTER (status = 'not_accepted' OR result = 'not_accepted') AS not_accepted,
    count(*) FILTER (status = 'withdrawn' OR result = 'withdrawn') AS withdrawn,
    count(*) FILTER (is_open) AS open,
    count(*) FILTER (on_time) AS on_time,
    count(*) FILTER ((status = 'completed' AND NOT on_time) OR (is_open AND NOT ({open_within}))) AS overdue,
    count(*) FILTER (in_statutory) AS within_statutory,
    quantile_disc(wd, 0.5) FILTER (status = 'completed') AS median_days,
    quantile_disc(wd, 0.9) FILTER (status = 'completed') AS p90_days
"""


def _aggregates() -> str:
    open_within = _within("promised", "promised_unit")
    return AGGREGATES.format(open_within=open_within)


def monthly_rows(con: duckdb.DuckDBPyConnection, months: list[date]) -> list[dict[str, Any]]:
    """Per item, per department and overall, per closed month (GROUPING SETS)."""
    first, last = months[0].isoformat(), months[-1].isoformat()
    rows = con.execute(f"""SELECT
        CASE WHEN grouping(impl_code) = 0 THEN 'item' WHEN grouping(department_code) = 0
             THEN 'department' ELSE 'overall' END AS level,
        coalesce(impl_code, '') AS impl_code, coalesce(department_code, '') AS department_code,
        strftime(month, '%Y-%m') AS month, {_aggregates()}
        FROM case_facts WHERE month BETWEEN DATE '{first}' AND DATE '{last}'
        GROUP BY GROUPING SETS ((month, impl_code, department_code), (month, department_code), (month))
        ORDER BY level, department_code, impl_code, month""").fetchall()
    names = ["level", "impl_code", "department_code", "month", *MEASURES, "median_days", "p90_days"]
    return [dict(zip(names, row, strict=True)) for row in rows]


def summary_rows(con: duckdb.DuckDBPyConnection, months: list[date]) -> list[dict[str, Any]]:
    """The same measures over the last 12 closed months, per item, department and overall."""
    first, last = months[-12:][0].isoformat(), months[-1].isoformat()
    rows = con.execute(f"""SELECT
        CASE WHEN grouping(impl_code) = 0 THEN 'item' WHEN grouping(department_code) = 0
             THEN 'department' ELSE 'overall' END AS level,
        coalesce(impl_code, '') AS impl_code, coalesce(department_code, '') AS department_code,
        {_aggregates()}
        FROM case_facts WHERE month BETWEEN DATE '{first}' AND DATE '{last}'
        GROUP BY GROUPING SETS ((impl_code, department_code), (department_code), ())
        ORDER BY level, department_code, impl_code""").fetchall()
    names = ["level", "impl_code", "department_code", *MEASURES, "median_days", "p90_days"]
    return [dict(zip(names, row, strict=True)) for row in rows]


def satisfaction_rows(con: duckdb.DuckDBPyConnection, months: list[date]) -> list[dict[str, Any]]:
    """Evaluation levels 1–5 per item, department and overall over the last 12 closed months
    (by the month of rating; a case rated twice counts twice, as follow-ups do)."""
    first = months[-12:][0].isoformat()
    end = (months[-1] + timedelta(days=32)).replace(day=1).isoformat()
    rows = con.execute(f"""SELECT
        CASE WHEN grouping(c.impl_code) = 0 THEN 'item' WHEN grouping(c.department_code) = 0
             THEN 'department' ELSE 'overall' END AS level,
        coalesce(c.impl_code, '') AS impl_code, coalesce(c.department_code, '') AS department_code,
        count(*) AS ratings, {", ".join(f"count(*) FILTER (e.level = {n}) AS level_{n}" for n in range(1, 6))}
        FROM evaluations e JOIN cases c USING (case_id)
        WHERE CAST(e.rated_at AS DATE) >= DATE '{first}' AND CAST(e.rated_at AS DATE) < DATE '{end}'
        GROUP BY GROUPING SETS ((c.impl_code, c.department_code), (c.department_code), ())
        ORDER BY level, department_code, impl_code""").fetchall()
    names = [
        "level",
        "impl_code",
        "department_code",
        "ratings",
        *(f"level_{n}" for n in range(1, 6)),
    ]
    return [dict(zip(names, row, strict=True)) for row in rows]


def suppress(row: dict[str, Any], k: int) -> dict[str, Any]:
    """Apply the suppression rules to one row (see the module docstring). Suppressed values
    become None and their names are listed in ``suppressed``."""
    out = dict(row)
    hidden: list[str] = []
    if row["received"] < k:
        hidden = [m for m in (*MEASURES, "median_days", "p90_days") if m in row]
    else:
        small = [m for m in BREAKDOWN if 0 < row[m] < k]
        if len(small) == 1:
            rest = sorted((row[m], m) for m in BREAKDOWN if m not in small and row[m] > 0)
            small += [rest[0][1]] if rest else []
        hidden = small
        if row["completed"] < k:
            hidden += ["median_days", "p90_days", "on_time", "within_statutory"]
    for name in hidden:
        out[name] = None
    out["suppressed"] = sorted(set(hidden))
    out.update(rates(out, k))
    return out


def rates(row: dict[str, Any], k: int) -> dict[str, float | None]:
    def ratio(numerator: str, denominator: str) -> float | None:
        top, bottom = row.get(numerator), row.get(denominator)
        if top is None or bottom is None or bottom < k:
            return None
        return round(top / bottom, 4)

    return {
        "completion_rate": ratio("completed", "accepted"),
        "on_time_rate": ratio("on_time", "completed"),
        "grant_rate": ratio("granted", "completed"),
    }


def suppress_satisfaction(row: dict[str, Any], k: int) -> dict[str, Any]:
    out = dict(row)
    if row["ratings"] < k:
        for n in range(1, 6):
            out[f"level_{n}"] = None
        out["satisfaction_rate"] = None
        out["suppressed"] = True
    else:
        out["satisfaction_rate"] = round((row["level_4"] + row["level_5"]) / row["ratings"], 4)
        out["suppressed"] = False
    return out


def compression_rate(promised: float, statutory: float, same_unit: bool) -> float | None:
    """承诺时限压缩率 = 1 − promised ÷ statutory."""
    if not same_unit or statutory <= 0:
        return None
    return round(1 - promised / statutory, 4)


def compute_statistics(
    con: duckdb.DuckDBPyConnection,
    items: dict,
    calendar: WorkdayCalendar,
    exported_at: datetime,
    settings: StatisticsSettings,
) -> dict[str, Any]:
    """Everything the site and the datasets publish about outcomes, suppressed, deterministic."""
    months = closed_months(exported_at, settings)
    first_case = con.execute(
        "SELECT min(CAST(coalesce(accepted_at, submitted_at) AS DATE)) FROM cases"
    ).fetchall()[0][0]
    load_calendar(con, calendar, min(first_case or months[0], months[0]), exported_at.date())
    load_item_limits(con, items)
    build_case_facts(con, exported_at)
    k = settings.k
    return {
        "k": k,
        "months": [m.strftime("%Y-%m") for m in months],
        "monthly": [suppress(r, k) for r in monthly_rows(con, months)],
        "last_12_months": [suppress(r, k) for r in summary_rows(con, months)],
        "satisfaction": [suppress_satisfaction(r, k) for r in satisfaction_rows(con, months)],
        "compression": {
            code: compression_rate(
                float(i.promised_limit.value),
                float(i.statutory_limit.value),
                i.promised_limit.unit == i.statutory_limit.unit,
            )
            for code, i in sorted(items.items())
        },
    }
