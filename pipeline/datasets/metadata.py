"""Metadata of one release's files: the Frictionless Data Package (v2), the DCAT-AP 3 catalogue
(JSON-LD) and SHA256SUMS. Checksums are of the bytes as served."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.datasets.schema import Table, table_schema

LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_IRI = "http://creativecommons.org/licenses/by/4.0/"
LICENCE_TITLE = "知识共享署名 4.0 国际许可协议（CC BY 4.0）"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/DAILY"
EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/GOVE"
IANA = "http://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    folder: str
    suffix: str
    media_type: str
    file_type: str

    def path(self, table: str) -> str:
        return f"{self.folder}/{table}{self.suffix}"


FORMATS: tuple[Format, ...] = (
    Format("csv", "CSV（UTF-8）", "csv", ".csv", "text/csv", "CSV"),
    Format("excel_csv", "CSV（Excel 用，带 BOM）", "excel-csv", ".csv", "text/csv", "CSV"),
    Format(
        "xlsx",
        "Excel（XLSX）",
        "xlsx",
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "XLSX",
    ),
    Format(
        "parquet", "Parquet", "parquet", ".parquet", "application/vnd.apache.parquet", "PARQUET"
    ),
    Format("ndjson", "NDJSON", "ndjson", ".ndjson", "application/x-ndjson", "JSON"),
)
SQLITE = Format(
    "sqlite",
    "SQLite 数据库（全部表）",
    "",
    "open-approvals.sqlite",
    "application/vnd.sqlite3",
    "SQL",
)
ARCHIVE = Format(
    "zip", "ZIP 压缩包（全部文件）", "", "open-approvals.zip", "application/zip", "ZIP"
)
NESTED = Format(
    "json", "嵌套 JSON（按导出契约）", "", "items.nested.json", "application/json", "JSON"
)
DATAPACKAGE = "datapackage.json"
CATALOG = "catalog.jsonld"
SUMS = "SHA256SUMS"
CHANGES = "changes.json"


@dataclass(frozen=True)
class ReleaseInfo:
    """Who and when: everything here comes from the export, never from the build clock."""

    version: str
    exported_at: datetime
    export_id: str
    system: str
    system_version: str
    months: tuple[str, ...]
    site_name: str
    base_url: str

    @property
    def folder_url(self) -> str:
        return f"{self.base_url}/data/releases/{self.version}/"

    def coverage(self, table: Table) -> tuple[date, date]:
        if table.coverage == "months" and self.months:
            first = date.fromisoformat(self.months[0] + "-01")
            after = date.fromisoformat(self.months[-1] + "-01") + timedelta(days=32)
            return first, after.replace(day=1) - timedelta(days=1)
        day = date.fromisoformat(self.version)
        return day, day


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- Data Package


def datapackage(
    info: ReleaseInfo, tables: tuple[Table, ...], folder: Path, rows: dict[str, int]
) -> dict[str, Any]:
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "open-approvals",
        "id": info.folder_url,
        "title": f"{info.site_name} 开放数据",
        "description": "行政审批事项的办事指南数据（事项、材料、收费、流程、法律依据、一件事、表格文件）"
        "以及办件的匿名化记录和统计。每晚由审批系统的导出生成。",
        "version": info.version,
        "created": info.exported_at.isoformat(),
        "homepage": f"{info.base_url}/datasets.html",
        "keywords": ["行政审批", "办事指南", "政务服务", "开放数据"],
        "licenses": [{"name": "CC-BY-4.0", "path": LICENCE_URL, "title": LICENCE_TITLE}],
        "sources": [
            {
                "title": info.system,
                "version": info.system_version,
                "description": f"导出批次 {info.export_id}，导出时间 {info.exported_at.isoformat()}",
            }
        ],
        "contributors": [
            {"title": info.site_name, "roles": ["publisher"], "path": info.base_url + "/"}
        ],
        "resources": [resource(t, folder, rows[t.name]) for t in tables],
    }


def resource(table: Table, folder: Path, rows: int) -> dict[str, Any]:
    path = FORMATS[0].path(table.name)
    return {
        "$schema": "https://datapackage.org/profiles/2.0/dataresource.json",
        "name": table.name,
        "path": path,
        "type": "table",
        "title": table.title,
        "description": f"{table.description}（{rows} 行）",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": (folder / path).stat().st_size,
        "hash": f"sha256:{sha256_of(folder / path)}",
        "schema": table_schema(table),
    }


# ---------------------------------------------------------------- DCAT-AP 3

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "adms": "http://www.w3.org/ns/adms#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}


def zh(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "zh-CN"}


def typed(value: str, datatype: str) -> dict[str, str]:
    return {"@value": value, "@type": datatype}


def iri(value: str, rdf_type: str) -> dict[str, str]:
    """An IRI with its type stated: DCAT-AP 3's SHACL shapes check the class of each object."""
    return {"@id": value, "@type": rdf_type}


def checksum(hex_digest: str) -> dict[str, Any]:
    return {
        "@type": "spdx:Checksum",
        "spdx:algorithm": iri("spdx:checksumAlgorithm_sha256", "spdx:ChecksumAlgorithm"),
        "spdx:checksumValue": typed(hex_digest, "xsd:hexBinary"),
    }


def publisher(info: ReleaseInfo) -> dict[str, Any]:
    return {
        "@id": f"{info.base_url}/#publisher",
        "@type": "foaf:Agent",
        "foaf:name": zh(info.site_name),
    }


def contact(info: ReleaseInfo) -> dict[str, Any]:
    return {
        "@id": f"{info.base_url}/pages/about.html#contact",
        "@type": "vcard:Organization",
        "vcard:fn": zh(info.site_name),
        "vcard:hasURL": iri(f"{info.base_url}/pages/about.html", "rdfs:Resource"),
    }


def distribution(
    info: ReleaseInfo, folder: Path, fmt: Format, relative: str, anchor: str
) -> dict[str, Any]:
    url = info.folder_url + relative
    return {
        "@id": f"{info.folder_url}#{anchor}",
        "@type": "dcat:Distribution",
        "dct:title": zh(fmt.label),
        "dcat:accessURL": iri(f"{info.base_url}/datasets.html", "rdfs:Resource"),
        "dcat:downloadURL": iri(url, "rdfs:Resource"),
        "dcat:mediaType": iri(IANA + fmt.media_type, "dct:MediaType"),
        "dct:format": iri(EU_FILE_TYPE + fmt.file_type, "dct:MediaTypeOrExtent"),
        "dcat:byteSize": typed(str((folder / relative).stat().st_size), "xsd:nonNegativeInteger"),
        "spdx:checksum": checksum(sha256_of(folder / relative)),
        "dct:license": iri(LICENCE_IRI, "dct:LicenseDocument"),
        "dct:issued": typed(info.version, "xsd:date"),
    }


def period(start: date, end: date) -> dict[str, Any]:
    return {
        "@type": "dct:PeriodOfTime",
        "dcat:startDate": typed(start.isoformat(), "xsd:date"),
        "dcat:endDate": typed(end.isoformat(), "xsd:date"),
    }


def series(info: ReleaseInfo, name: str, title: str, description: str) -> dict[str, Any]:
    return {
        "@id": f"{info.base_url}/datasets.html#{name}",
        "@type": "dcat:DatasetSeries",
        "dct:title": zh(title),
        "dct:description": zh(description),
        "dct:publisher": publisher(info),
        "dct:accrualPeriodicity": iri(EU_FREQUENCY, "dct:Frequency"),
    }


def dataset(
    info: ReleaseInfo,
    name: str,
    title: str,
    description: str,
    coverage: tuple[date, date],
    distributions: list[dict],
    notes: str,
    previous: str | None,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": f"{info.folder_url}#{name}",
        "@type": "dcat:Dataset",
        "dct:identifier": f"{name}@{info.version}",
        "dct:title": zh(f"{title}（{info.version}）"),
        "dct:description": zh(description),
        "dcat:keyword": [zh("行政审批"), zh("政务服务")],
        "dcat:theme": iri(EU_THEME, "skos:Concept"),
        "dct:publisher": publisher(info),
        "dcat:contactPoint": contact(info),
        "dct:license": iri(LICENCE_IRI, "dct:LicenseDocument"),
        "dct:temporal": period(*coverage),
        "dct:issued": typed(info.version, "xsd:date"),
        "dct:modified": typed(info.exported_at.isoformat(), "xsd:dateTime"),
        "dcat:landingPage": iri(f"{info.base_url}/datasets.html#{name}", "foaf:Document"),
        "dcat:inSeries": iri(f"{info.base_url}/datasets.html#{name}", "dcat:DatasetSeries"),
        "dcat:version": info.version,
        "adms:versionNotes": zh(notes),
        "dcat:distribution": distributions,
    }
    if previous:
        node["dcat:prev"] = iri(f"{info.base_url}/data/releases/{previous}/#{name}", "dcat:Dataset")
    return node


def table_dataset(
    info: ReleaseInfo, table: Table, folder: Path, notes: str, previous: str | None
) -> dict[str, Any]:
    distributions = [
        distribution(info, folder, f, f.path(table.name), f"{table.name}-{f.key}") for f in FORMATS
    ]
    if table.name == "items":
        distributions.append(distribution(info, folder, NESTED, NESTED.suffix, "items-nested-json"))
    return dataset(
        info,
        table.name,
        table.title,
        table.description,
        info.coverage(table),
        distributions,
        notes,
        previous,
    )


ALL_TABLES = "open-approvals"


def catalogue(
    info: ReleaseInfo, tables: tuple[Table, ...], folder: Path, notes: str, previous: str | None
) -> dict[str, Any]:
    whole = [
        distribution(info, folder, f, f.suffix, f"{ALL_TABLES}-{f.key}") for f in (SQLITE, ARCHIVE)
    ]
    starts, ends = zip(*(info.coverage(t) for t in tables), strict=True)
    datasets = [table_dataset(info, t, folder, notes, previous) for t in tables]
    datasets.append(
        dataset(
            info,
            ALL_TABLES,
            f"{info.site_name} 全部数据",
            "全部表的 SQLite 数据库与全部文件的压缩包。",
            (min(starts), max(ends)),
            whole,
            notes,
            previous,
        )
    )
    all_series = [series(info, t.name, t.title, t.description) for t in tables]
    all_series.append(
        series(info, ALL_TABLES, f"{info.site_name} 全部数据", "每日发布的全部数据。")
    )
    return {
        "@context": CONTEXT,
        "@graph": [
            {
                "@id": f"{info.folder_url}{CATALOG}",
                "@type": "dcat:Catalog",
                "dct:title": zh(f"{info.site_name} 开放数据目录"),
                "dct:description": zh(
                    f"{info.site_name} 每日发布的开放数据（{info.version} 版）。"
                ),
                "dct:publisher": publisher(info),
                "dct:license": iri(LICENCE_IRI, "dct:LicenseDocument"),
                "dct:issued": typed(info.version, "xsd:date"),
                "foaf:homepage": iri(f"{info.base_url}/datasets.html", "foaf:Document"),
                "dcat:dataset": datasets,
            },
            *all_series,
        ],
    }


# ---------------------------------------------------------------- SHA256SUMS


def sha256sums(folder: Path) -> str:
    """``sha256sum -c`` format for every file under ``folder`` (paths relative to it)."""
    lines = [
        f"{sha256_of(p)}  {p.relative_to(folder).as_posix()}"
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != SUMS
    ]
    return "\n".join(lines) + "\n"
