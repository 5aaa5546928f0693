"""Tables declared once: columns with a type, a Chinese label, constraints and keys. The Table
Schema, the DuckDB/Parquet types, the SQLite DDL, the XLSX headers and the data dictionary of the
datasets page are all generated from these declarations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pipeline.labels import LABELS

LIST_SEPARATOR = "；"
"""Several values in one cell (aliases, audiences …) are joined by a full-width semicolon."""


@dataclass(frozen=True)
class Kind:
    """A column type as each format spells it."""

    table_schema: str
    duckdb: str
    sqlite: str


KINDS: dict[str, Kind] = {
    "string": Kind("string", "VARCHAR", "TEXT"),
    "integer": Kind("integer", "BIGINT", "INTEGER"),
    "decimal": Kind("number", "DECIMAL({p},{s})", "NUMERIC"),
    "boolean": Kind("boolean", "BOOLEAN", "INTEGER"),
    "date": Kind("date", "DATE", "TEXT"),
    "datetime": Kind("datetime", "TIMESTAMPTZ", "TEXT"),
    "yearmonth": Kind("yearmonth", "VARCHAR", "TEXT"),
}
KIND_LABELS = {
    "string": "文本",
    "integer": "整数",
    "decimal": "小数",
    "boolean": "是/否",
    "date": "日期",
    "datetime": "日期时间（北京时间）",
    "yearmonth": "年月",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    title: str
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    labels: str = ""
    """The LABELS kind that names the enum's codes in Chinese."""
    pattern: str = ""
    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""
    precision: tuple[int, int] = (14, 2)

    @property
    def duckdb_type(self) -> str:
        return KINDS[self.kind].duckdb.format(p=self.precision[0], s=self.precision[1])

    @property
    def sqlite_type(self) -> str:
        return KINDS[self.kind].sqlite

    def allowed(self) -> list[tuple[str, str]]:
        """The enum's codes with their Chinese labels."""
        names = LABELS.get(self.labels, {})
        return [(code, names.get(code, "")) for code in self.enum]

    def constraints(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.required:
            out["required"] = True
        if self.enum:
            out["enum"] = list(self.enum)
        if self.pattern:
            out["pattern"] = self.pattern
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    rows: Callable[[Any], Iterable[tuple]] = field(default=lambda source: (), compare=False)
    outcome: bool = False
    """Built from the outcomes (cases and evaluations): only in releases that have cases."""
    coverage: str = "snapshot"
    """``snapshot`` (the state at the export) or ``months`` (the closed months of the statistics)."""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def codes(enum: type[Enum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def col(name: str, kind: str, title: str, description: str = "", **options: Any) -> Column:
    return Column(name, kind, title, description, **options)


def text(name: str, title: str, description: str = "", **options: Any) -> Column:
    return Column(name, "string", title, description, **options)


def coded(
    name: str,
    title: str,
    enum: type[Enum] | tuple[str, ...],
    labels: str = "",
    description: str = "",
    **options: Any,
) -> Column:
    values = enum if isinstance(enum, tuple) else codes(enum)
    return Column(name, "string", title, description, enum=values, labels=labels, **options)


def listed(name: str, title: str, description: str) -> Column:
    return Column(name, "string", title, f"{description}多个值以“{LIST_SEPARATOR}”分隔。")


def field_descriptor(column: Column) -> dict[str, Any]:
    """The Table Schema field (v2) of a column."""
    out: dict[str, Any] = {
        "name": column.name,
        "type": KINDS[column.kind].table_schema,
        "title": column.title,
    }
    description = column.description
    if column.enum and column.labels:
        description += (
            ("" if not description else " ")
            + "取值："
            + "；".join(f"{code}={label}" for code, label in column.allowed() if label)
        )
    if description:
        out["description"] = description
    if column.unit:
        out["unit"] = column.unit
    if column.constraints():
        out["constraints"] = column.constraints()
    return out


def table_schema(table: Table) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
        "fields": [field_descriptor(c) for c in table.columns],
        "missingValues": [""],
    }
    if table.primary_key:
        schema["primaryKey"] = list(table.primary_key)
    if table.foreign_keys:
        schema["foreignKeys"] = [
            {
                "fields": list(fk.columns),
                "reference": {"resource": fk.table, "fields": list(fk.references)},
            }
            for fk in table.foreign_keys
        ]
    return schema


def signature(tables: Iterable[Table]) -> dict[str, list[list[str]]]:
    """Table → [[column, Table Schema type], …]: what a schema change is measured against."""
    return {t.name: [[c.name, KINDS[c.kind].table_schema] for c in t.columns] for t in tables}
