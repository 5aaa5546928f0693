"""The datasets stage of a build: release data → one dated folder of files → ``latest`` →
``releases.json``, and ``data/datasets.json`` (sizes, rows, dictionary) for the pages."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.canonical_json import write_json
from pipeline.datasets import formats
from pipeline.datasets.metadata import (
    ARCHIVE,
    CATALOG,
    CHANGES,
    DATAPACKAGE,
    FORMATS,
    NESTED,
    SQLITE,
    SUMS,
    ReleaseInfo,
    catalogue,
    datapackage,
    sha256sums,
)
from pipeline.datasets.releases import (
    carry_earlier_releases,
    link_latest,
    release_entry,
    releases_index,
    write_releases_index,
)
from pipeline.datasets.schema import Table
from pipeline.datasets.tables import DatasetSource, tables_in
from pipeline.errors import ConfigurationError
from pipeline.release.data import ReleaseData, load_release_data, version_of
from pipeline.workers import configured_workers, process_count, run_parallel

logger = logging.getLogger(__name__)

DEFAULT_PUBLIC_URL = "https://approvals.example.gov.cn"
CONTRACT_DOCS = ("export-contract.schema.json", "openapi.json")
CASES_METADATA = "anonymised_cases.metadata.json"


@dataclass(frozen=True)
class DatasetSettings:
    base_url: str = DEFAULT_PUBLIC_URL
    site_name: str = "公开审批"
    contract_docs: Path | None = None


def dataset_settings(settings_file: Path) -> DatasetSettings:
    """From the Pelican settings: ``SITEURL`` (or ``APPROVALS_PUBLIC_URL``) makes the absolute
    IRIs of the catalogue and the feeds; a local build without one uses the demo domain."""
    from pelican.settings import read_settings

    if not settings_file.is_file():
        raise ConfigurationError(f"找不到 Pelican 配置文件 {settings_file}")
    settings = read_settings(str(settings_file))
    base = settings.get("APPROVALS_PUBLIC_URL") or settings.get("SITEURL") or ""
    if not base.startswith(("http://", "https://")):
        base = DEFAULT_PUBLIC_URL
    docs = settings.get("APPROVALS_CONTRACT_DOCS")
    return DatasetSettings(
        base.rstrip("/"), settings.get("SITENAME", "公开审批"), Path(docs) if docs else None
    )


def release_info(release: ReleaseData, settings: DatasetSettings) -> ReleaseInfo:
    manifest = release.manifest
    system = manifest.get("system", {})
    return ReleaseInfo(
        version_of(manifest),
        datetime.fromisoformat(manifest["exported_at"]),
        manifest["export_id"],
        system.get("name", ""),
        system.get("version") or "",
        tuple((release.outcomes or {}).get("months", [])),
        settings.site_name,
        settings.base_url,
    )


# ---------------------------------------------------------------- one table


def write_table(folder: Path, table: Table, rows: list[tuple], con: sqlite3.Connection) -> None:
    """CSV, Excel CSV, Parquet and the table in the SQLite database."""
    canonical = folder / FORMATS[0].path(table.name)
    formats.write_csv(canonical, table, rows)
    formats.write_excel_csv(canonical, folder / FORMATS[1].path(table.name))
    formats.write_parquet(canonical, folder / FORMATS[3].path(table.name), table)
    formats.add_sqlite_table(con, table, rows)


def write_side_formats(
    folder: Path, tables: tuple[Table, ...], source: DatasetSource, when: datetime
) -> None:
    """XLSX and NDJSON of every table (written beside the other formats, in another process)."""
    for table in tables:
        rows = list(table.rows(source))
        if len(rows) <= formats.XLSX_MAX_ROWS:
            formats.write_xlsx(folder / FORMATS[2].path(table.name), table, rows, when)
        formats.write_ndjson(folder / FORMATS[4].path(table.name), table, rows)


def write_main_formats(
    folder: Path, tables: tuple[Table, ...], source: DatasetSource
) -> dict[str, int]:
    counts: dict[str, int] = {}
    con = formats.open_sqlite(folder / SQLITE.suffix)
    try:
        with formats.disk_errors(folder / SQLITE.suffix):
            for table in tables:
                rows = list(table.rows(source))
                write_table(folder, table, rows, con)
                counts[table.name] = len(rows)
            formats.finish_sqlite(con)
    finally:
        con.close()
    return counts


def write_tables(
    folder: Path, tables: tuple[Table, ...], source: DatasetSource, when: datetime
) -> dict[str, int]:
    """Every table in every format. Two halves of about equal work run at once when the build
    may use two processes (:mod:`pipeline.workers`; each half makes the rows of a table again:
    cheaper than holding all tables' rows); the files do not depend on which process wrote them."""
    main = partial(write_main_formats, folder, tables, source)
    side = partial(write_side_formats, folder, tables, source, when)
    if process_count(configured_workers()) < 2:
        side()
        return main()
    return run_parallel([main, side], name="datasets")[0]


# ---------------------------------------------------------------- the folder


def copy_beside(release: ReleaseData, folder: Path, settings: DatasetSettings) -> None:
    """The nested items, this release's changes, the case records' anonymisation report and the
    export contract, beside the tables."""
    shutil.copyfile(release.root / "items.json", folder / NESTED.suffix)
    changes = release.root / "history" / "changes.json"
    if changes.is_file():
        shutil.copyfile(changes, folder / CHANGES)
    metadata = release.root / "cases" / CASES_METADATA
    if metadata.is_file():
        shutil.copyfile(metadata, folder / CASES_METADATA)
    if settings.contract_docs is None:
        return
    for name in CONTRACT_DOCS:
        if (settings.contract_docs / name).is_file():
            (folder / "contract").mkdir(exist_ok=True)
            shutil.copyfile(settings.contract_docs / name, folder / "contract" / name)


def archive_members(folder: Path, info: ReleaseInfo) -> list[tuple[str, Path]]:
    top = f"open-approvals-{info.version}"
    return [
        (f"{top}/{p.relative_to(folder).as_posix()}", p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def changes_of(release: ReleaseData) -> dict[str, Any] | None:
    path = release.root / "history" / "changes.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def write_folder(
    release: ReleaseData, folder: Path, settings: DatasetSettings
) -> tuple[ReleaseInfo, tuple[Table, ...], dict[str, int]]:
    info = release_info(release, settings)
    tables = tables_in(release.root)
    rows = write_tables(folder, tables, DatasetSource(release, settings.base_url), info.exported_at)
    copy_beside(release, folder, settings)
    write_json(folder / DATAPACKAGE, datapackage(info, tables, folder, rows))
    formats.write_zip(folder / ARCHIVE.suffix, archive_members(folder, info), info.exported_at)
    changes = changes_of(release)
    previous = (changes.get("previous") or {}).get("version") if changes else None
    notes = changes["text"] if changes else ""
    write_json(
        folder / CATALOG,
        catalogue(info, tables, folder, notes, previous if previous != info.version else None),
    )
    (folder / SUMS).write_text(sha256sums(folder), encoding="utf-8")
    return info, tables, rows


def publish_datasets(
    data: Path,
    site: Path,
    live: Path | None,
    settings: DatasetSettings,
    release: ReleaseData | None = None,
) -> dict[str, Any]:
    """Write this release's dataset folder, ``latest``, earlier releases and ``releases.json``
    into ``site/data/``; the summary for the pages into ``data/datasets.json``. ``release`` is
    the release data of ``data`` when the caller has it in memory already."""
    release = release if release is not None else load_release_data(data)
    version = version_of(release.manifest)
    folder = site / "data" / "releases" / version
    info, tables, rows = write_folder(release, folder, settings)
    link_latest(site, version)
    live_site = live / "site" if live else None
    carried = carry_earlier_releases(live_site, site, version)
    index = releases_index(
        live_site, release_entry(info, rows, changes_of(release)), {version, *carried}
    )
    write_releases_index(site, index)
    summary = dataset_summary(info, tables, rows, folder, index)
    write_json(data / "datasets.json", summary)
    return summary


# ---------------------------------------------------------------- what the pages show


def sizes(folder: Path, table: Table) -> dict[str, dict[str, Any]]:
    return {
        f.key: {
            "label": f.label,
            "path": f.path(table.name),
            "bytes": (folder / f.path(table.name)).stat().st_size,
        }
        for f in FORMATS
        if (folder / f.path(table.name)).is_file()
    }


def table_summary(info: ReleaseInfo, table: Table, rows: int, folder: Path) -> dict[str, Any]:
    start, end = info.coverage(table)
    return {
        "name": table.name,
        "title": table.title,
        "description": table.description,
        "rows": rows,
        "coverage": [start.isoformat(), end.isoformat()],
        "coverage_kind": table.coverage,
        "files": sizes(folder, table),
        "primary_key": list(table.primary_key),
        "foreign_keys": [
            {"columns": list(fk.columns), "table": fk.table} for fk in table.foreign_keys
        ],
        "dictionary": [
            dict(zip(("name", "title", "type", "unit", "allowed", "description"), r, strict=True))
            for r in formats.dictionary_rows(table)
        ],
    }


def whole_files(folder: Path) -> list[dict[str, Any]]:
    named = [
        (SQLITE.label, SQLITE.suffix),
        (ARCHIVE.label, ARCHIVE.suffix),
        (NESTED.label, NESTED.suffix),
        ("Frictionless 数据包描述", DATAPACKAGE),
        ("DCAT-AP 数据目录（JSON-LD）", CATALOG),
        ("SHA-256 校验值", SUMS),
        ("本版变更（JSON）", CHANGES),
        ("匿名化说明（JSON）", CASES_METADATA),
    ]
    return [
        {"label": label, "path": path, "bytes": (folder / path).stat().st_size}
        for label, path in named
        if (folder / path).is_file()
    ]


def dataset_summary(
    info: ReleaseInfo,
    tables: tuple[Table, ...],
    rows: dict[str, int],
    folder: Path,
    index: dict[str, Any],
) -> dict[str, Any]:
    built = date.fromisoformat(info.version)
    return {
        "version": info.version,
        "exported_at": info.exported_at.isoformat(),
        "next_build": (built + timedelta(days=1)).isoformat(),
        "base_url": info.base_url,
        "tables": [table_summary(info, t, rows[t.name], folder) for t in tables],
        "files": whole_files(folder),
        "releases": index["releases"],
    }


def load_summary(data: Path) -> dict[str, Any] | None:
    path = data / "datasets.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None
