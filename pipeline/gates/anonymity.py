"""The anonymity gate: the published case records meet both rules — every combination of
quasi-identifiers shared by at least k records, and no combination whose records are all adverse
results — checked again by SQL independent of the code that enforced them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.errors import GateRefused


def anonymity_gate(staging: Path, k: int) -> None:
    """The published case records meet both rules, or nothing is published."""
    table = staging / "data" / "cases" / "anonymised_cases.parquet"
    if not table.is_file():
        return
    quasi = "impl_code, department_code, applicant_type, channel, street_code, submitted_month, closed_month"
    con = duckdb.connect()
    small = con.execute(
        f"""SELECT count(*) FROM (SELECT count(*) AS n FROM read_parquet(?)
        GROUP BY {quasi}, result) WHERE n < ?""",
        [str(table), int(k)],
    ).fetchall()[0][0]
    adverse = con.execute(
        f"""SELECT count(*) FROM (SELECT bool_and(result IN ('denied', 'not_accepted', 'withdrawn')) AS a
        FROM read_parquet(?) GROUP BY {quasi}) WHERE a""",
        [str(table)],
    ).fetchall()[0][0]
    if small or adverse:
        raise GateRefused(
            f"匿名化办件记录未通过检查：{small} 个组合少于 k={k} 条，{adverse} 个组合全部为不利结果；拒绝发布"
        )
