"""Anonymised case records: no direct identifiers, quasi-identifiers generalised then suppressed
until every published combination is shared by at least k records and no combination's records
all share an adverse result (denied, not accepted, withdrawn) — knowing that someone applied must
never reveal that they were refused.

Only cases **closed in a closed month** are published, and the month a case closed is part of
every combination, so a month's records are decided by that month's cases alone: once a month is
published it never changes, and differencing two releases recovers nothing but the newly closed
month.

Generalisation runs in fixed levels. A combination (without result) is published at the first
level where all its result classes have at least k records and not all are adverse; otherwise the
whole combination moves up a level, so that adverse records travel with granted ones and can be
published, diverse, further up. At the last level what still fails is suppressed:

====  =====================================================================
L0    item, department, applicant type, channel, street, submitted month, closed month, result
L1    submitted month → ``*``
L2    street → ``*``
L3    channel → 网上/线下, applicant type → 个人/单位
L4    item → ``*`` (the department stays)
====  =====================================================================

Direct identifiers (case number, names, ID numbers, phones, addresses) never leave the intake;
``result_reason`` is published only as a category; the row id is random per release (a keyed
hash, so the same export still gives the same file).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import duckdb

ADVERSE = ("denied", "not_accepted", "withdrawn")
QUASI_IDENTIFIERS = (
    "impl_code",
    "department_code",
    "applicant_type",
    "channel",
    "street_code",
    "submitted_month",
    "closed_month",
)
LEVELS: tuple[dict[str, str], ...] = (
    {},
    {"submitted_month": "'*'"},
    {"submitted_month": "'*'", "street_code": "'*'"},
    {
        "submitted_month": "'*'",
        "street_code": "'*'",
        "channel": "CASE WHEN channel IN ('online_pc', 'mobile') THEN 'online' ELSE 'offline' END",
        "applicant_type": "CASE WHEN applicant_type = 'natural_person' THEN 'person' ELSE 'organisation' END",
    },
    {
        "submitted_month": "'*'",
        "street_code": "'*'",
        "channel": "CASE WHEN channel IN ('online_pc', 'mobile') THEN 'online' ELSE 'offline' END",
        "applicant_type": "CASE WHEN applicant_type = 'natural_person' THEN 'person' ELSE 'organisation' END",
        "impl_code": "'*'",
    },
)
PUBLISHED_COLUMNS = (
    "row_id",
    "closed_month",
    "submitted_month",
    "department_code",
    "impl_code",
    "applicant_type",
    "channel",
    "street_code",
    "result",
    "working_days",
    "on_time",
    "reason_category",
    "generalisation_level",
)
ROW_ID_SECRET_ENV = "APPROVALS_ROW_ID_SECRET"


@dataclass(frozen=True)
class AnonymisationResult:
    k: int
    eligible: int
    published: int
    generalised: int
    suppressed: int
    by_level: tuple[int, ...]

    def metadata(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "rule_k_anonymity": f"每个公开的准标识符组合至少由 {self.k} 条记录共享",
            "rule_adverse_result": "任何准标识符组合（不含结果）中的记录不会全部为不利结果（不予许可、不予受理、撤回）",
            "quasi_identifiers": list(QUASI_IDENTIFIERS) + ["result"],
            "eligible_records": self.eligible,
            "published_records": self.published,
            "generalised_records": self.generalised,
            "suppressed_records": self.suppressed,
            "published_by_level": list(self.by_level),
        }


def row_id_key(export_id: str, manifest_checksums: dict[str, str]) -> bytes:
    """The key of the row ids: an admin secret if set, else derived from the export's own
    (unpublished) checksums — deterministic for one export, unlinkable across releases."""
    secret = os.environ.get(ROW_ID_SECRET_ENV, "")
    material = (
        secret + "|" + export_id + "|" + "".join(v for _, v in sorted(manifest_checksums.items()))
    )
    return hashlib.sha256(material.encode("utf-8")).digest()


def _eligible(con: duckdb.DuckDBPyConnection, first_month: str, last_month: str) -> None:
    con.execute(f"""CREATE OR REPLACE TABLE anon_pool AS SELECT case_id, row_number() OVER () AS rid,
        impl_code, department_code, applicant_type, channel, coalesce(street_code, '*') AS street_code,
        strftime(month, '%Y-%m') AS submitted_month,
        strftime(CAST(completed_at AS DATE), '%Y-%m') AS closed_month,
        CASE WHEN status = 'not_accepted' OR result = 'not_accepted' THEN 'not_accepted'
             WHEN status = 'withdrawn' OR result = 'withdrawn' THEN 'withdrawn' ELSE result END AS result,
        wd AS working_days, on_time, reason_category
        FROM case_facts
        WHERE status IN ('completed', 'not_accepted', 'withdrawn') AND completed_at IS NOT NULL
          AND strftime(CAST(completed_at AS DATE), '%Y-%m') BETWEEN '{first_month}' AND '{last_month}'""")
    con.execute(
        "CREATE OR REPLACE TABLE anon_out AS SELECT *, 0 AS generalisation_level FROM anon_pool LIMIT 0"
    )


def _publish_level(con: duckdb.DuckDBPyConnection, level: int, k: int, last: bool) -> int:
    """Publish, at ``level``, every combination (without result) whose result classes all have
    at least k records and are not all adverse; the other combinations move up a level whole —
    their granted records with them, so that the adverse ones can still be published diverse
    further up. At the last level, what passes is published class by class and the rest is
    suppressed. (Hash aggregates and semi-joins, not window functions: 10 million rows.)"""
    changes = LEVELS[level]
    select = ", ".join(f"{changes.get(c, c)} AS {c}" for c in QUASI_IDENTIFIERS)
    key = ", ".join(QUASI_IDENTIFIERS)
    adverse = ", ".join(f"'{a}'" for a in ADVERSE)
    source = "anon_pool"
    if changes:  # level 0 publishes the pool as it is: no copy
        con.execute(f"""CREATE OR REPLACE TABLE anon_gen AS
            SELECT case_id, rid, {select}, result, working_days, on_time, reason_category FROM anon_pool""")
        source = "anon_gen"
    con.execute(
        f"CREATE OR REPLACE TABLE anon_classes AS SELECT {key}, result, count(*) AS n FROM {source} GROUP BY ALL"
    )
    if last:
        con.execute(f"""CREATE OR REPLACE TABLE anon_passing AS SELECT c.* EXCLUDE (n) FROM anon_classes c
            SEMI JOIN (SELECT {key} FROM anon_classes WHERE n >= {int(k)} GROUP BY ALL
                       HAVING NOT bool_and(result IN ({adverse}))) g USING ({key})
            WHERE c.n >= {int(k)}""")
        using = f"{key}, result"
    else:
        con.execute(f"""CREATE OR REPLACE TABLE anon_passing AS SELECT {key} FROM anon_classes GROUP BY ALL
            HAVING min(n) >= {int(k)} AND NOT bool_and(result IN ({adverse}))""")
        using = key
    columns = f"case_id, rid, {key}, result, working_days, on_time, reason_category"
    con.execute(f"""CREATE OR REPLACE TABLE anon_level AS SELECT {columns}, {level} AS generalisation_level
        FROM {source} g SEMI JOIN anon_passing p USING ({using})""")
    published = con.execute("SELECT count(*) FROM anon_level").fetchall()[0][0]
    con.execute("INSERT INTO anon_out SELECT * FROM anon_level")
    con.execute(
        "CREATE OR REPLACE TABLE anon_pool AS SELECT p.* FROM anon_pool p ANTI JOIN anon_level l USING (rid)"
    )
    return published


def anonymise_cases(
    con: duckdb.DuckDBPyConnection, months: list[str], k: int, key: bytes
) -> AnonymisationResult:
    """case_facts → table ``anonymised_cases`` (PUBLISHED_COLUMNS, sorted by row_id)."""
    _eligible(con, months[0], months[-1])
    eligible = con.execute("SELECT count(*) FROM anon_pool").fetchall()[0][0]
    by_level = tuple(
        _publish_level(con, level, k, level == len(LEVELS) - 1) for level in range(len(LEVELS))
    )
    columns = ", ".join(c for c in PUBLISHED_COLUMNS if c != "row_id")
    con.execute(f"""CREATE OR REPLACE TABLE anonymised_cases AS
        SELECT 'r' || substr(md5('{key.hex()}' || case_id), 1, 16) AS row_id, {columns}
        FROM anon_out ORDER BY row_id""")
    for table in (
        "anon_pool",
        "anon_out",
        "anon_level",
        "anon_gen",
        "anon_classes",
        "anon_passing",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    published = sum(by_level)
    return AnonymisationResult(
        k, eligible, published, published - by_level[0], eligible - published, by_level
    )
