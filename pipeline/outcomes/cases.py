"""Cases in: mapped from the upstream's names and codes and bulk-validated with SQL, accumulated
across nightly runs (upsert by ``case_id`` on ``updated_at``), personal fields dropped at the door.

A nightly export may carry only the cases that changed; the accumulated store is kept with each
release (``releases/<id>/state/cases.parquet``, never served), so a rollback rolls the store back
too and the next run starts from what is live.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.errors import ConfigurationError, ExportBroken
from pipeline.extract import ExportSource
from pipeline.extract.folder import MAX_LINE_BYTES, first_bad_line
from pipeline.validate.mapping import PLAIN_NAME, ColumnMapping, MappingProfile
from pipeline.validate.problems import Problem, Report, excerpt

ENUMS = {
    "applicant_type": (
        "natural_person",
        "enterprise",
        "public_institution",
        "social_organisation",
        "government",
        "other_org",
    ),
    "channel": ("window", "online_pc", "mobile", "post", "other"),
    "status": (
        "submitted",
        "accepted",
        "in_progress",
        "completed",
        "not_accepted",
        "withdrawn",
        "transferred",
    ),
    "result": ("granted", "denied", "not_accepted", "withdrawn"),
}
EVALUATION_CHANNELS = ENUMS["channel"] + ("phone", "sms", "kiosk")
CONTRACT = MappingProfile("contract", None, {})
"""The identity profile: the fields of ``Case`` and ``Evaluation`` read under their own names."""
PERSONAL_FIELDS = ("applicant_name", "applicant_id_number", "applicant_phone", "applicant_address")
PERSONAL_MAX_CHARS = {
    "applicant_name": 200,
    "applicant_id_number": 64,
    "applicant_phone": 64,
    "applicant_address": 200,
}
"""The longest personal value a case may carry (the contract sets none): a longer one is no name,
number or address but an editor's slip or an attack (700,000 characters crashed the privacy
gate's automaton), and the case is refused."""
TZ = "Asia/Shanghai"

# result_reason is free text with names and numbers in it: only its category is ever kept.
REASON_CATEGORIES = (
    ("材料不齐全或不符合法定形式", "材料|补正|不齐|缺少|形式"),
    ("不符合许可条件或标准", "不符合|未达到|不具备|条件|标准"),
    ("不属于受理范围", "不属于|范围|管辖|转至|移送"),
    ("申请人主动撤回", "撤回|放弃|主动"),
    ("逾期未补正", "逾期|超过.*期限"),
)
OTHER_REASON = "其他原因"


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _ts(column: str) -> str:
    """SQL: ``column`` is an ISO 8601 date-time with an offset. LIKE on the offset and a cast
    instead of a regular expression: four of these run on every one of millions of rows."""
    offset = f"({column} LIKE '%+__:__' OR {column} LIKE '%-__:__' OR {column} LIKE '%Z')"
    return f"({column} LIKE '____-__-__T%' AND {offset} AND try_cast({column} AS TIMESTAMPTZ) IS NOT NULL)"


def _optional_ts(column: str) -> str:
    return f"({column} IS NULL OR {_ts(column)})"


def _too_long(column: str) -> tuple[str, str, str, str]:
    """The check of a personal field's length. The value shown is masked as the privacy gate
    masks (its first character), with its length: a personal value is never printed."""
    limit = PERSONAL_MAX_CHARS[column]
    return (
        column,
        f"超过 {limit} 字符，不是有效的个人信息，整条办件不予接收",
        f"length({column}) > {limit}",
        f"left({column}, 1) || '***（共 ' || length({column}) || ' 字符）'",
    )


# Checks in order: a row is rejected for the first one it fails. (field, message, SQL that is TRUE
# for a bad row, SQL of the value shown — never a personal field unmasked).
CASE_CHECKS = (
    ("case_id", "缺少办件编号", "nullif(trim(case_id), '') IS NULL", "NULL"),
    ("case_id", "办件编号超过 64 字符", "length(case_id) > 64", "left(case_id, 40)"),
    (
        "impl_code",
        "事项不在本次导出的事项清单中",
        "impl_code IS NULL OR impl_code NOT IN (SELECT impl_code FROM items)",
        "impl_code",
    ),
    (
        "item_version",
        "应为非负整数",
        "try_cast(item_version AS INTEGER) IS NULL OR try_cast(item_version AS INTEGER) < 0",
        "item_version",
    ),
    (
        "department_code",
        "不是有效的统一社会信用代码格式",
        "NOT coalesce(regexp_matches(department_code, '^[0-9A-HJ-NPQRTUWXY]{18}$'), false)",
        "department_code",
    ),
    (
        "applicant_type",
        "不是允许的代码值",
        f"applicant_type IS NULL OR applicant_type NOT IN ({_list(ENUMS['applicant_type'])})",
        "applicant_type",
    ),
    *(_too_long(column) for column in PERSONAL_FIELDS),
    (
        "street_code",
        "不是有效的街道代码（只允许字母、数字和 _ . -，至多 64 个）",
        "nullif(trim(street_code), '') IS NOT NULL"
        " AND NOT regexp_full_match(trim(street_code), '[0-9A-Za-z_.-]{1,64}')",
        "left(street_code, 40)",
    ),
    (
        "channel",
        "不是允许的代码值",
        f"channel IS NULL OR channel NOT IN ({_list(ENUMS['channel'])})",
        "channel",
    ),
    (
        "status",
        "不是允许的代码值",
        f"status IS NULL OR status NOT IN ({_list(ENUMS['status'])})",
        "status",
    ),
    (
        "result",
        "不是允许的代码值",
        f"result IS NOT NULL AND result NOT IN ({_list(ENUMS['result'])})",
        "result",
    ),
    (
        "submitted_at",
        "缺少或不是带时区的 ISO 8601 日期时间",
        f"submitted_at IS NULL OR NOT {_ts('submitted_at')}",
        "submitted_at",
    ),
    (
        "accepted_at",
        "不是带时区的 ISO 8601 日期时间",
        f"NOT {_optional_ts('accepted_at')}",
        "accepted_at",
    ),
    (
        "completed_at",
        "不是带时区的 ISO 8601 日期时间",
        f"NOT {_optional_ts('completed_at')}",
        "completed_at",
    ),
    (
        "promised_due_at",
        "不是带时区的 ISO 8601 日期时间",
        f"NOT {_optional_ts('promised_due_at')}",
        "promised_due_at",
    ),
    (
        "updated_at",
        "缺少或不是带时区的 ISO 8601 日期时间",
        f"updated_at IS NULL OR NOT {_ts('updated_at')}",
        "updated_at",
    ),
    (
        "completed_at",
        "办结时间早于申请时间",
        "completed_at IS NOT NULL AND CAST(completed_at AS TIMESTAMPTZ) < CAST(submitted_at AS TIMESTAMPTZ)",
        "completed_at",
    ),
    (
        "special_procedure_days",
        "应为非负整数",
        "special_procedure_days IS NOT NULL AND coalesce(try_cast(special_procedure_days AS INTEGER) < 0, true)",
        "special_procedure_days",
    ),
)


@dataclass
class CaseIntake:
    """What one export's cases added: counts and the personal values the PII gate must find."""

    read: int = 0
    accepted: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    evaluations_read: int = 0
    personal_values: dict[str, str] = field(default_factory=dict)
    """Each personal value → where it came from (the case and field), for the gate's message."""


MEMORY_LIMIT = re.compile(r"[0-9]+(?:\.[0-9]+)?\s*(?:[KMGT]i?B|B)", re.IGNORECASE)


def connect(threads: int = 2, memory_limit: str = "1500MB") -> duckdb.DuckDBPyConnection:
    if not MEMORY_LIMIT.fullmatch(memory_limit):
        raise ConfigurationError(f"DuckDB 内存上限格式不对：{memory_limit!r}（应如 1500MB、2GB）")
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET TimeZone = '{TZ}'")
    return con


def spool_records(source: ExportSource, entity: str, folder: Path) -> list[Path]:
    """The JSONL files holding ``entity``: the export's own files for a folder source, else the
    records streamed once into a temporary JSONL file (HTTP pages)."""
    own = getattr(source, "jsonl_paths", None)
    if own is not None:
        return own(entity)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entity}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for record in source.iter_records(entity):
            handle.write(json.dumps(record.data, ensure_ascii=False) + "\n")
    return [path] if path.stat().st_size else []


def _column(name: str) -> str:
    """``name`` as a quoted SQL identifier, once it is known to be a plain one (a profile's names
    are checked when it is loaded; this is the last line, where they become SQL)."""
    if not PLAIN_NAME.fullmatch(name):
        raise ConfigurationError(f"映射配置中的字段名 {name!r:.80} 不是简单标识符，不能用作列名")
    return f'"{name}"'


def _first_present(keys: tuple[str, ...]) -> str:
    if not keys:
        return "NULL::VARCHAR"
    return _column(keys[0]) if len(keys) == 1 else f"coalesce({', '.join(map(_column, keys))})"


def _mapped_columns(mapping: ColumnMapping) -> tuple[str, list[str]]:
    """The SQL select list of the contract's fields from the upstream's keys, and its
    parameters: each field is the first of its keys present, its code mapped (a code the map
    does not list stays as it is). Codes are bound parameters, never SQL text; the identity
    mapping is ``SELECT "case_id" AS "case_id", …``, which costs nothing."""
    columns, parameters = [], []
    for name, keys in mapping.sources.items():
        value = _first_present(keys)
        pairs = mapping.codes.get(name, ())
        if pairs:
            value = f"CASE {value} {' '.join('WHEN ? THEN ?' for _ in pairs)} ELSE {value} END"
            parameters += [v for pair in pairs for v in pair]
        columns.append(f"{value} AS {_column(name)}")
    return ", ".join(columns), parameters


def _read_jsonl(
    con: duckdb.DuckDBPyConnection,
    table: str,
    paths: list[Path],
    mapping: ColumnMapping,
    label: Callable[[Path], str] = lambda path: path.name,
) -> int:
    """``paths`` into ``table`` (every field VARCHAR), the upstream's keys read and mapped to the
    contract's fields by ``mapping`` in the same pass. The paths and codes are bound parameters,
    never SQL text: a file named ``x'); COPY … TO '…'`` stays a file name; the key names are
    plain identifiers, quoted. A file DuckDB cannot read raises ExportBroken naming the file and
    line (``label`` names a path as the export does)."""
    if not paths:
        empty = ", ".join(f"NULL::VARCHAR AS {_column(f)}" for f in mapping.sources)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {empty} LIMIT 0")
        return 0
    keys = "{" + ", ".join(f"{_column(k)}: 'VARCHAR'" for k in mapping.keys) + "}"
    select, parameters = _mapped_columns(mapping)
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS SELECT {select} FROM read_json(?,
            format = 'newline_delimited', records = true, columns = {keys},
            maximum_object_size = {MAX_LINE_BYTES})""",
            [*parameters, [str(p) for p in paths]],
        )
    except (duckdb.Error, UnicodeDecodeError) as exc:  # DuckDB's message may cut a character
        raise _unreadable(paths, label, exc) from exc
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _unreadable(paths: list[Path], label: Callable[[Path], str], exc: Exception) -> ExportBroken:
    """What the admin needs when DuckDB refuses a JSONL file: which file, which line, why.
    DuckDB's own line number is not the file's (one too high for a syntax error, blank lines not
    counted), so the file is read again to find the line it means, or the first bad one."""
    said = re.search(r'file "(.*?)".*? in line (\d+)', str(exc))
    named = [p for p in paths if said and said.group(1) == str(p)]
    for path in named + [p for p in paths if p not in named]:  # the file DuckDB named first
        found = first_bad_line(path, int(said.group(2)) if said and path in named else None)
        if found:
            number, why = found
            return ExportBroken(f"{label(path)} 第 {number} 行：{why}——拒绝发布，请修正导出后重试")
    shown = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    names = "、".join(label(p) for p in paths[:5])
    return ExportBroken(f"{names}: 无法读取（{shown}）——拒绝发布")


def _reason_case(checks) -> tuple[str, str]:
    reason = (
        "CASE "
        + " ".join(f"WHEN {bad} THEN {i}" for i, (_, _, bad, _) in enumerate(checks))
        + " END"
    )
    value = (
        "CASE "
        + " ".join(f"WHEN {bad} THEN CAST({shown} AS VARCHAR)" for _, _, bad, shown in checks)
        + " END"
    )
    return reason, value


def _reason_category_sql(column: str) -> str:
    whens = " ".join(
        f"WHEN regexp_matches({column}, '{pattern}') THEN '{name}'"
        for name, pattern in REASON_CATEGORIES
    )
    return f"CASE WHEN {column} IS NULL OR trim({column}) = '' THEN NULL {whens} ELSE '{OTHER_REASON}' END"


def register_items(con: duckdb.DuckDBPyConnection, items: dict) -> None:
    rows = [(code, item.department_code) for code, item in sorted(items.items())]
    con.execute("CREATE OR REPLACE TABLE items (impl_code VARCHAR, department_code VARCHAR)")
    if rows:
        con.executemany("INSERT INTO items VALUES (?, ?)", rows)


def validate_cases(
    con: duckdb.DuckDBPyConnection, report: Report, collect_personal: bool = True
) -> CaseIntake:
    """raw_cases → new_cases (typed, personal fields dropped) + problems counted by reason."""
    intake = CaseIntake(read=con.execute("SELECT count(*) FROM raw_cases").fetchall()[0][0])
    reason, value = _reason_case(CASE_CHECKS)
    con.execute(f"CREATE OR REPLACE TABLE checked AS SELECT *, {reason} AS reason FROM raw_cases")
    first = "ORDER BY shown NULLS LAST, case_id NULLS LAST"  # the same example on every run
    for index, count, example, case_id in con.execute(
        f"""SELECT reason, count(*), first(shown {first}), first(case_id {first}) FROM (
          SELECT reason, case_id, {value} AS shown FROM checked WHERE reason IS NOT NULL)
        GROUP BY reason ORDER BY reason"""
    ).fetchall():
        field_name, message = CASE_CHECKS[index][0], CASE_CHECKS[index][1]
        intake.rejected_by_reason[f"{field_name}: {message}"] = count
        report.add(
            Problem(
                "cases",
                _rejected(count, case_id),
                field_name,
                message,
                excerpt(example or ""),
                "error",
            )
        )
    con.execute(f"""CREATE OR REPLACE TABLE new_cases AS SELECT
        case_id, impl_code, CAST(item_version AS INTEGER) AS item_version, department_code,
        applicant_type, nullif(trim(street_code), '') AS street_code, channel,
        CAST(submitted_at AS TIMESTAMPTZ) AS submitted_at, CAST(accepted_at AS TIMESTAMPTZ) AS accepted_at,
        CAST(completed_at AS TIMESTAMPTZ) AS completed_at, status, result,
        coalesce(CAST(special_procedure_days AS INTEGER), 0) AS special_procedure_days,
        {_reason_category_sql("result_reason")} AS reason_category,
        CAST(updated_at AS TIMESTAMPTZ) AS updated_at
        FROM checked WHERE reason IS NULL""")
    intake.accepted = con.execute("SELECT count(*) FROM new_cases").fetchall()[0][0]
    if collect_personal:
        intake.personal_values = _personal_values(con)
    return intake


def _rejected(count: int, case_id: str | None) -> str:
    """The record of a problem of rejected cases: the case, or how many and the first of them."""
    if not case_id or not case_id.strip():
        return f"{count} 条"
    return excerpt(case_id) if count == 1 else f"{count} 条，如 {excerpt(case_id)}"


def _personal_values(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every identity number and phone of this export's applicants, and the names and addresses
    of natural persons (an organisation's name and registered address are public already, and the
    window of a department may share its street address), each with where it came from — the
    case and field, and how many cases share it — for the privacy gate to name when it refuses
    (the admin can act on "办件 BS2025… 的 applicant_name", not on "王**")."""
    people = "(applicant_type = 'natural_person' OR applicant_type IS NULL)"
    union = " UNION ALL ".join(
        f"SELECT trim({f}) AS v, coalesce(case_id, '') AS c, '{f}' AS f FROM raw_cases"
        f" WHERE length({f}) <= {PERSONAL_MAX_CHARS[f]}"
        + ("" if f in ("applicant_id_number", "applicant_phone") else f" AND {people}")
        for f in PERSONAL_FIELDS
    )
    rows = con.execute(f"""SELECT v, min(c || chr(9) || f), count(DISTINCT c)
        FROM ({union}) WHERE v IS NOT NULL AND length(v) >= 2 GROUP BY v""").fetchall()
    return {value: _source(first, cases) for value, first, cases in rows}


def _source(first: str, cases: int) -> str:
    """``first``: the least of the value's "case_id<TAB>field" (the same case named on every
    run)."""
    case_id, field_name = first.rsplit("\t", 1)
    named = f"办件 {excerpt(case_id[:40])}" if case_id.strip() else "无编号的办件"
    return f"{named}{f' 等 {cases} 件' if cases > 1 else ' '}的 {field_name}"


def accumulate(con: duckdb.DuckDBPyConnection, previous: Path | None) -> None:
    """cases = previous store ∪ new_cases, the latest ``updated_at`` per ``case_id`` winning (the
    new export wins a tie)."""
    if previous is None or not previous.is_file():
        _first_store(con)
        return
    con.execute(
        "CREATE OR REPLACE TABLE old_cases AS SELECT * FROM read_parquet(?)", [str(previous)]
    )
    con.execute("""CREATE OR REPLACE TABLE cases AS
        SELECT * EXCLUDE (rank_) FROM (
          SELECT *, row_number() OVER (PARTITION BY case_id ORDER BY updated_at DESC, fresh DESC) AS rank_
          FROM (SELECT *, 1 AS fresh FROM new_cases UNION ALL SELECT *, 0 AS fresh FROM old_cases))
        WHERE rank_ = 1""")
    con.execute("ALTER TABLE cases DROP COLUMN fresh")


def _first_store(con: duckdb.DuckDBPyConnection) -> None:
    """No earlier store: the export's cases, the latest version of any case_id it repeats."""
    repeated = con.execute("SELECT count(*) - count(DISTINCT case_id) FROM new_cases").fetchall()[
        0
    ][0]
    if not repeated:
        con.execute("ALTER TABLE new_cases RENAME TO cases")
        return
    con.execute("""CREATE OR REPLACE TABLE cases AS SELECT * FROM new_cases
        QUALIFY row_number() OVER (PARTITION BY case_id ORDER BY updated_at DESC) = 1""")


def save_store(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """The accumulated store for the next run (no personal fields are in it)."""
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(
        "COPY (SELECT * FROM cases ORDER BY case_id) TO ? (FORMAT parquet, COMPRESSION zstd)",
        [str(folder / "cases.parquet")],
    )
    con.execute(
        "COPY (SELECT * FROM evaluations ORDER BY case_id, rated_at, level) TO ? (FORMAT parquet, COMPRESSION zstd)",
        [str(folder / "evaluations.parquet")],
    )


def load_evaluations(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    report: Report,
    previous: Path | None,
    label: Callable[[Path], str] = lambda path: path.name,
    mapping: ColumnMapping | None = None,
) -> int:
    """Evaluations accumulate too: the previous store's and this export's, one row per
    (case, time, level). ``mapping``: the profile's (default: the contract's names and codes)."""
    mapping = mapping or CONTRACT.columns("evaluations")
    read = _read_jsonl(con, "raw_evaluations", paths, mapping, label)
    con.execute(f"""CREATE OR REPLACE TABLE new_evaluations AS SELECT case_id,
        CAST(rated_at AS TIMESTAMPTZ) AS rated_at, CAST(level AS INTEGER) AS level,
        channel FROM raw_evaluations
        WHERE case_id IS NOT NULL AND {_ts("rated_at")} AND try_cast(level AS INTEGER) BETWEEN 1 AND 5
          AND (channel IS NULL OR channel IN ({_list(EVALUATION_CHANNELS)}))""")
    kept = con.execute("SELECT count(*) FROM new_evaluations").fetchall()[0][0]
    if previous and previous.is_file():
        con.execute(
            """CREATE OR REPLACE TABLE evaluations AS SELECT DISTINCT * FROM (
            SELECT * FROM new_evaluations UNION ALL SELECT * FROM read_parquet(?))""",
            [str(previous)],
        )
    else:
        con.execute("CREATE OR REPLACE TABLE evaluations AS SELECT DISTINCT * FROM new_evaluations")
    con.execute("DROP TABLE raw_evaluations")
    if read - kept:
        report.add(
            Problem(
                "evaluations",
                f"{read - kept} 条",
                "level/rated_at/channel",
                "评价记录无效（等级须为 1–5、评价时间须带时区、渠道须为允许值），未计入",
                "",
                "error",
            )
        )
    return read


def ingest_cases(
    con: duckdb.DuckDBPyConnection,
    source: ExportSource,
    items: dict,
    previous_store: Path | None,
    report: Report,
    collect_personal: bool = True,
    profile: MappingProfile | None = None,
) -> CaseIntake:
    """Read, map (``profile``, default the contract's names and codes), validate and accumulate
    one export's cases and evaluations. ``previous_store`` is the live release's ``state/``
    folder (or None on the first run)."""
    profile = profile or CONTRACT
    label = getattr(source, "label", None) or (lambda path: f"{path.stem}（导出接口的数据）")
    with tempfile.TemporaryDirectory(prefix="approvals-cases-") as spool:
        register_items(con, items)
        cases = spool_records(source, "cases", Path(spool))
        _read_jsonl(con, "raw_cases", cases, profile.columns("cases"), label)
        intake = validate_cases(con, report, collect_personal)
        accumulate(con, previous_store / "cases.parquet" if previous_store else None)
        intake.evaluations_read = load_evaluations(
            con,
            spool_records(source, "evaluations", Path(spool)),
            report,
            previous_store / "evaluations.parquet" if previous_store else None,
            label,
            profile.columns("evaluations"),
        )
        con.execute("DROP TABLE raw_cases")
        con.execute("DROP TABLE checked")
    report.read["cases"] += intake.read
    report.kept["cases"] += intake.accepted
    return intake
