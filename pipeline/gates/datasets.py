"""The gate before publishing: the dataset folder is whole and says what it holds — every file
matches SHA256SUMS, every CSV has the columns its Table Schema declares and the rows the
SQLite database has, and the Data Package passes Frictionless validation (types, constraints,
primary and foreign keys)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

from pipeline.datasets.metadata import DATAPACKAGE, SQLITE, SUMS, sha256_of
from pipeline.errors import DatasetInvalid


def check_sums(folder: Path) -> list[str]:
    problems = []
    listed = set()
    for line in (folder / SUMS).read_text("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        path = folder / name
        if not path.is_file() or sha256_of(path) != digest:
            problems.append(f"{name}：与 SHA256SUMS 不符")
    unlisted = (
        {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        - listed
        - {SUMS}
    )
    return problems + [f"{name}：未列入 SHA256SUMS" for name in sorted(unlisted)]


def csv_rows(path: Path) -> tuple[list[str], int]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, sum(1 for _ in reader)


def check_tables(folder: Path, package: dict[str, Any]) -> list[str]:
    problems = []
    con = sqlite3.connect(f"file:{folder / SQLITE.suffix}?mode=ro", uri=True)
    try:
        for resource in package["resources"]:
            header, rows = csv_rows(folder / resource["path"])
            names = [f["name"] for f in resource["schema"]["fields"]]
            in_db = con.execute(f'SELECT count(*) FROM "{resource["name"]}"').fetchall()[0][0]
            if header != names:
                problems.append(f"{resource['path']}：表头 {header} 与 Table Schema {names} 不符")
            if rows != in_db:
                problems.append(f"{resource['name']}：CSV {rows} 行，SQLite {in_db} 行")
    finally:
        con.close()
    return problems


def frictionless_errors(folder: Path) -> list[str]:
    from frictionless import Package

    report = Package(str(folder / DATAPACKAGE)).validate()
    problems = [f"{task.name}：{error.message}" for task in report.tasks for error in task.errors]
    return (problems + [error.message for error in report.errors])[:40]


def check_datasets(site: Path) -> None:
    """Raise :class:`DatasetInvalid` with every problem of ``site/data/latest``."""
    folder = site / "data" / "latest"
    if not (folder / DATAPACKAGE).is_file():
        raise DatasetInvalid(f"开放数据不完整：缺少 {folder / DATAPACKAGE}")
    package = json.loads((folder / DATAPACKAGE).read_text("utf-8"))
    problems = check_sums(folder) + check_tables(folder, package) + frictionless_errors(folder)
    if problems:
        raise DatasetInvalid("开放数据检查未通过，本次不发布：\n" + "\n".join(problems))
