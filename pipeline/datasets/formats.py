"""Writers, one per format. Every writer is deterministic: rows come sorted, columns in their
declared order, ZIP containers (XLSX, the archive) get fixed member times, Parquet is written by
DuckDB on one thread."""

from __future__ import annotations

import csv
import errno
import functools
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.datasets.schema import KIND_LABELS, Column, Table

BOM = "\ufeff".encode()
CHINA = timezone(timedelta(hours=8))
XLSX_MAX_ROWS = 1_048_575
XLSX_MAX_CELL = 32_767
FTS_TABLE = "items_fts"
FTS_COLUMNS = ("name", "aliases", "conditions")


# ---------------------------------------------------------------- errors


@contextmanager
def disk_errors(path: Path) -> Iterator[None]:
    """DuckDB and SQLite report a full disk in their own exceptions: make it the ``OSError``
    (ENOSPC) that the command line turns into its disk-full exit code."""
    import duckdb

    try:
        yield
    except (duckdb.IOException, sqlite3.OperationalError) as error:
        if "No space left" in str(error) or "disk is full" in str(error):
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from error
        raise


# ---------------------------------------------------------------- values


def decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cell_text(value: Any) -> str:
    """A value as the canonical CSV spells it (Table Schema's default formats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def xlsx_value(value: Any) -> Any:
    """Excel has no time zones: date-times are shown in Beijing time."""
    if isinstance(value, datetime):
        return value.astimezone(CHINA).replace(tzinfo=None)
    if isinstance(value, str) and len(value) > XLSX_MAX_CELL:
        return value[: XLSX_MAX_CELL - 1] + "…"
    return value


# ---------------------------------------------------------------- text formats


def write_csv(path: Path, table: Table, rows: Sequence[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.names)
        writer.writerows([cell_text(v) for v in row] for row in rows)


def write_excel_csv(canonical: Path, path: Path) -> None:
    """The canonical CSV with a UTF-8 BOM: Excel then reads it as UTF-8, not as GBK."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with canonical.open("rb") as source, path.open("wb") as target:
        target.write(BOM)
        shutil.copyfileobj(source, target)


def write_ndjson(path: Path, table: Table, rows: Sequence[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = table.names
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            record = {n: json_value(v) for n, v in zip(names, row, strict=True)}
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


# ---------------------------------------------------------------- Parquet (DuckDB)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_parquet(canonical: Path, path: Path, table: Table) -> None:
    """Typed from the canonical CSV by DuckDB: DATE, DECIMAL(p,s), TIMESTAMPTZ, BOOLEAN."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    columns = "{" + ", ".join(f"'{c.name}': '{c.duckdb_type}'" for c in table.columns) + "}"
    con = duckdb.connect()
    try:
        with disk_errors(path):
            con.execute("SET threads = 1")
            con.execute("SET TimeZone = 'Asia/Shanghai'")
            con.execute(
                f"""COPY (SELECT * FROM read_csv(?, header = true, auto_detect = false,
                delim = ',', quote = '"', escape = '"', columns = {columns}, parallel = false))
                TO ? (FORMAT parquet, COMPRESSION zstd)""",
                [str(canonical), str(path)],
            )
    finally:
        con.close()


# ---------------------------------------------------------------- XLSX


def dictionary_rows(table: Table) -> list[tuple]:
    """The 字段说明 sheet (and the datasets page): one row per column."""
    return [
        (c.name, c.title, KIND_LABELS[c.kind], c.unit, allowed_text(c), c.description)
        for c in table.columns
    ]


def allowed_text(column: Column) -> str:
    return "；".join(f"{code}（{label}）" if label else code for code, label in column.allowed())


DICTIONARY_HEADER = ("字段名", "中文名", "类型", "单位", "允许值", "说明")


def write_xlsx(path: Path, table: Table, rows: Sequence[tuple], when: datetime) -> None:
    """Sheet 数据: Chinese labels in the header row, dates as Excel dates; sheet 字段说明: the
    field names (as in the CSV), types, units, allowed values."""
    from pipeline.datasets.xlsx import write_workbook

    data = ([xlsx_value(v) for v in row] for row in rows)
    write_workbook(
        path,
        [
            ("数据", [c.title for c in table.columns], data),
            ("字段说明", DICTIONARY_HEADER, dictionary_rows(table)),
        ],
        when.astimezone(UTC),
        lambda name: zip_info(name, when),
    )


def zip_info(name: str, when: datetime) -> zipfile.ZipInfo:
    local = when.astimezone(CHINA)
    info = zipfile.ZipInfo(
        name,
        date_time=(
            max(local.year, 1980),
            local.month,
            local.day,
            local.hour,
            local.minute,
            local.second,
        ),
    )
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    return info


def write_zip(path: Path, members: Iterable[tuple[str, Path]], when: datetime) -> None:
    """An archive of files, in the given order, with fixed timestamps and permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, source in members:
            with source.open("rb") as reader, archive.open(zip_info(name, when), "w") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)


# ---------------------------------------------------------------- SQLite


def create_table_sql(table: Table) -> str:
    columns = [
        f"{_quoted(c.name)} {c.sqlite_type}{' NOT NULL' if c.required else ''}"
        for c in table.columns
    ]
    if table.primary_key:
        columns.append(f"PRIMARY KEY ({', '.join(map(_quoted, table.primary_key))})")
    for fk in table.foreign_keys:
        columns.append(
            f"FOREIGN KEY ({', '.join(map(_quoted, fk.columns))}) REFERENCES "
            f"{_quoted(fk.table)} ({', '.join(map(_quoted, fk.references))})"
        )
    return f"CREATE TABLE {_quoted(table.name)} (\n  " + ",\n  ".join(columns) + "\n)"


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A new database with foreign keys enforced while the tables are filled (in dependency order).

    Text is stored as UTF-16: SQLite packs a row's values back to back, so in UTF-8 a row id
    ending in digits, a month and a code would read, byte by byte, as one long number — and the
    privacy gate's raw-page pass (which finds deleted rows) would see phone or card numbers that
    no value holds. Every value is still read and checked column by column. Chinese text is also
    a third smaller in UTF-16."""
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA encoding = 'UTF-16le'")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def finish_sqlite(con: sqlite3.Connection) -> None:
    add_fts(con)
    con.commit()
    con.execute("VACUUM")


def add_sqlite_table(con: sqlite3.Connection, table: Table, rows: Sequence[tuple]) -> None:
    con.execute(create_table_sql(table))
    marks = ", ".join("?" for _ in table.columns)
    con.executemany(
        f"INSERT INTO {_quoted(table.name)} VALUES ({marks})",
        ([sqlite_value(v) for v in row] for row in rows),
    )


def add_fts(con: sqlite3.Connection) -> None:
    """Full-text search on item names, aliases and conditions, found by Datasette (content=items).

    FTS5's tokenizers do not segment Chinese: ``unicode61`` takes a whole run of characters as one
    token (营业执照 inside a sentence is never found). ``trigram`` finds any term of three or more
    characters, but its vocabulary — every three-character window — puts each two-character
    substring at the edge of a term, where the privacy gate rightly reads a two-character personal
    name (程建 in 工程建设). So the index holds words: each text is segmented by jieba's search mode
    (营业执照 → 营业 执照 营业执照) with its own tokenizer instance (no shared state), and FTS5's
    ``unicode61`` indexes those words. The table reads its columns from ``items``; only the index
    is built from the segmented text. A search is one or more words separated by spaces.
    """
    columns = ", ".join(FTS_COLUMNS)
    con.execute(
        f'CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({columns}, content="items", '
        'content_rowid="rowid", tokenize="unicode61")'
    )
    rows = con.execute(f"SELECT rowid, {columns} FROM items ORDER BY rowid").fetchall()
    segment = segmenter()
    con.executemany(
        f"INSERT INTO {FTS_TABLE} (rowid, {columns}) VALUES (?, ?, ?, ?)",
        [(rowid, *(segment(v) for v in values)) for rowid, *values in rows],
    )


def segmenter():
    """Text → its jieba search-mode words joined by spaces (deterministic for one jieba version)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()

    # Guides repeat their texts (the same conditions for an item each street office carries out).
    @functools.lru_cache(maxsize=16384)
    def segment(text: str | None) -> str | None:
        return (
            None
            if text is None
            else " ".join(w for w in tokenizer.cut_for_search(text) if w.strip())
        )

    return segment
