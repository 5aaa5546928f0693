"""Open datasets: every format reads back with its Chinese and its types intact, the metadata
validates (Frictionless, DCAT-AP as JSON-LD, SHA256SUMS), Datasette opens the database and finds
a Chinese term, the same export gives byte-identical files, and dated releases stay downloadable."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import sqlite3
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build
from pipeline.outcomes.run import OutcomeSettings
from tests.fixtures import case, department, item, tree_bytes, write_export

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEPTS = [department(1, "上海市宝山区市场监督管理局"), department(2, "上海市宝山区卫生健康委员会")]
A, B = DEPTS[0]["code"], DEPTS[1]["code"]
FOOD = item(
    1,
    A,
    "食品经营许可（新办）",
    is_charged=True,
    effective_from="2026-01-01",
    fees=[{"name": "工本费", "standard": "每证 12.5 元", "amount_cny": 12.5, "reducible": True}],
    legal_bases=[
        {
            "title": "《中华人民共和国食品安全法》",
            "article": "第三十五条",
            "role": "setting",
            "effective_date": "2015-10-01",
        }
    ],
    conditions="<p>申请人应当取得<strong>营业执照</strong>，并具有与经营的食品品种相适应的场所。</p>",
)
CLINIC = item(2, B, "医疗机构执业登记", promised_limit={"value": 7.5, "unit": "working_days"})
ITEMS = [
    FOOD,
    CLINIC,
    item(
        3,
        A,
        "小餐饮登记",
        materials=[{"name": "身份证明", "necessity": "required", "blank_form_file_id": "MISSING"}],
    ),
]
CASES = [
    case(
        f"C{n}",
        FOOD["impl_code"],
        A,
        f"2025-09-{n + 1:02d}T10:00",
        accepted_at=f"2025-09-{n + 1:02d}T11:00",
        completed_at=f"2025-09-{n + 3:02d}T15:00",
    )
    for n in range(12)
]
TABLES = (
    "departments",
    "files",
    "items",
    "item_legal_bases",
    "item_materials",
    "item_fees",
    "item_steps",
    "life_events",
    "life_event_steps",
    "anonymised_cases",
    "monthly_item_statistics",
    "monthly_department_statistics",
    "satisfaction",
)


def export(root: Path, **options) -> Path:
    return write_export(root, DEPTS, ITEMS, cases=CASES, **options)


def build(export_dir: Path, site: Path) -> Path:
    run_build(BuildOptions(export=str(export_dir), site_dir=site, outcomes=OutcomeSettings(k=2)))
    return site / "current"


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    return build(export(root / "export"), root / "site")


@pytest.fixture(scope="module")
def latest(release) -> Path:
    return release / "site" / "data" / "latest"


def rows(path: Path, encoding: str = "utf-8") -> list[dict]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------ layout and tables


def test_every_table_in_every_format(latest):
    package = json.loads((latest / "datapackage.json").read_text("utf-8"))
    assert [r["name"] for r in package["resources"]] == list(TABLES)
    for table in TABLES:
        for path in (
            f"csv/{table}.csv",
            f"excel-csv/{table}.csv",
            f"xlsx/{table}.xlsx",
            f"parquet/{table}.parquet",
            f"ndjson/{table}.ndjson",
        ):
            assert (latest / path).is_file(), path
    for name in (
        "open-approvals.sqlite",
        "open-approvals.zip",
        "items.nested.json",
        "catalog.jsonld",
        "SHA256SUMS",
        "changes.json",
        "contract/openapi.json",
        "contract/export-contract.schema.json",
        "anonymised_cases.metadata.json",
    ):
        assert (latest / name).is_file(), name


def test_latest_is_the_dated_release_and_releases_json_lists_it(release, latest):
    assert (
        latest.is_symlink()
        and latest.resolve() == (release / "site/data/releases/2026-11-25").resolve()
    )
    index = json.loads((release / "site/data/releases.json").read_text("utf-8"))
    assert index["latest"] == "2026-11-25"
    assert (
        index["releases"][0]["tables"]["items"] == 3
        and index["releases"][0]["path"] == "/data/releases/2026-11-25/"
    )


def test_tables_have_stable_columns_sorted_rows_and_plain_text(latest):
    items = rows(latest / "csv/items.csv")
    assert [r["impl_code"] for r in items] == sorted(i["impl_code"] for i in ITEMS)
    food = next(r for r in items if r["name"] == "食品经营许可（新办）")
    assert food["conditions"] == "申请人应当取得营业执照，并具有与经营的食品品种相适应的场所。"
    assert food["audiences"] == "enterprise；natural_person" and food["is_charged"] == "true"
    assert (
        food["updated_at"] == "2026-10-01T09:00:00+08:00" and food["effective_from"] == "2026-01-01"
    )
    assert rows(latest / "csv/item_fees.csv") == [
        {
            "impl_code": FOOD["impl_code"],
            "position": "1",
            "name": "工本费",
            "standard": "每证 12.5 元",
            "amount_cny": "12.5",
            "basis": "",
            "reducible": "true",
        }
    ]
    materials = {r["name"]: r for r in rows(latest / "csv/item_materials.csv")}
    assert materials["身份证明"]["blank_form_file_id"] == ""  # not published: no dangling reference
    assert materials["食品经营许可申请书"]["blank_form_file_id"] == "F0001"
    assert not (latest / "csv/items.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_excel_csv_has_a_bom_and_reads_back_with_chinese(latest):
    raw = (latest / "excel-csv/items.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw[3:] == (latest / "csv/items.csv").read_bytes()
    back = rows(latest / "excel-csv/items.csv", "utf-8-sig")
    assert list(back[0])[0] == "impl_code"
    assert {r["name"] for r in back} == {"食品经营许可（新办）", "医疗机构执业登记", "小餐饮登记"}


def test_xlsx_has_chinese_labels_real_dates_and_a_dictionary_sheet(latest):
    from openpyxl import load_workbook

    book = load_workbook(latest / "xlsx/items.xlsx")
    assert book.sheetnames == ["数据", "字段说明"]
    sheet = book["数据"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["实施编码", "基本编码", "业务办理项编码", "版本号", "状态", "事项名称"]
    food = next(
        r for r in sheet.iter_rows(min_row=2, values_only=True) if r[5] == "食品经营许可（新办）"
    )
    record = dict(zip(header, food, strict=True))
    assert record["实施日期"] == datetime(2026, 1, 1) and record["更新时间"] == datetime(
        2026, 10, 1, 9, 0
    )
    assert record["是否收费"] is True and record["承诺办结时限"] == 10
    dictionary = list(book["字段说明"].iter_rows(values_only=True))
    assert dictionary[0] == ("字段名", "中文名", "类型", "单位", "允许值", "说明")
    assert ("status", "状态", "文本") == dictionary[5][:3] and "abolished（已取消）" in dictionary[
        5
    ][4]
    fees = load_workbook(latest / "xlsx/item_fees.xlsx")["数据"]
    assert [c.value for c in fees[2]][4] == 12.5


def test_parquet_keeps_dates_decimals_and_time_zones(latest):
    import duckdb

    con = duckdb.connect()
    types = dict(
        con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [str(latest / "parquet/items.parquet")],
        ).fetchall()
    )
    assert types["effective_from"] == "DATE" and types["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["promised_limit_value"] == "DECIMAL(9,2)" and types["is_charged"] == "BOOLEAN"
    amount = con.execute(
        "SELECT amount_cny FROM read_parquet(?)", [str(latest / "parquet/item_fees.parquet")]
    ).fetchone()[0]
    assert amount == Decimal("12.50")
    limit = con.execute(
        "SELECT promised_limit_value FROM read_parquet(?) WHERE name = '医疗机构执业登记'",
        [str(latest / "parquet/items.parquet")],
    ).fetchone()[0]
    assert limit == Decimal("7.50")
    cases = con.execute(
        "SELECT count(*) FROM read_parquet(?)", [str(latest / "parquet/anonymised_cases.parquet")]
    ).fetchone()[0]
    assert cases == len(rows(latest / "csv/anonymised_cases.csv")) > 0


def test_ndjson_is_one_typed_object_per_line(latest):
    lines = (latest / "ndjson/item_fees.ndjson").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "impl_code": FOOD["impl_code"],
            "position": 1,
            "name": "工本费",
            "standard": "每证 12.5 元",
            "amount_cny": 12.5,
            "basis": None,
            "reducible": True,
        }
    ]


def test_nested_json_is_the_release_data_items(release, latest):
    assert (latest / "items.nested.json").read_bytes() == (release / "data/items.json").read_bytes()


# ------------------------------------------------------------------ SQLite and Datasette


def test_sqlite_has_keys_and_finds_chinese_words_with_fts(latest):
    con = sqlite3.connect(latest / "open-approvals.sqlite")
    assert [r[2] for r in con.execute("PRAGMA foreign_key_list(items)")] == ["departments"]
    assert {r[2] for r in con.execute("PRAGMA foreign_key_list(item_materials)")} == {
        "items",
        "files",
    }
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    found = con.execute(
        "SELECT i.name FROM items_fts JOIN items i ON i.rowid = items_fts.rowid "
        "WHERE items_fts MATCH ?",
        ['"营业执照"'],
    ).fetchall()
    assert found == [("食品经营许可（新办）",)]
    assert (
        con.execute(
            "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", ['"执业"']
        ).fetchone()[0]
        == 1
    )
    assert (
        con.execute(
            "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", ['"食品" "场所"']
        ).fetchone()[0]
        == 3
    )
    # the index holds words, never three-character windows that would cut names out of words
    con.execute("CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, items_fts, row)")
    vocabulary = {term for (term,) in con.execute("SELECT term FROM temp.vocabulary")}
    assert {"营业执照", "营业", "执照"} <= vocabulary and "业执照" not in vocabulary
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 3


def test_datasette_inspects_the_database_and_searches_it(latest):
    inspect = subprocess.run(
        [str(BIN / "datasette"), "inspect", str(latest / "open-approvals.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert inspect.returncode == 0, inspect.stderr
    tables = json.loads(inspect.stdout)["open-approvals"]["tables"]
    assert tables["items"]["count"] == 3 and tables["items_fts"]["count"] == 3

    from datasette.app import Datasette

    async def search(term: str) -> dict:
        datasette = Datasette([str(latest / "open-approvals.sqlite")])
        await datasette.invoke_startup()
        response = await datasette.client.get(
            f"/open-approvals/items.json?_search={term}&_shape=objects"
        )
        assert response.status_code == 200
        return response.json()

    def run(term: str) -> dict:
        # In a thread of its own: after a browser test, Playwright's event loop is running in
        # this one (session fixture), and asyncio.run refuses to start a second loop here.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, search(term)).result()

    result = run("营业执照")
    assert [r["name"] for r in result["rows"]] == ["食品经营许可（新办）"]
    assert run("不存在的词")["rows"] == []


# ------------------------------------------------------------------ metadata


def test_frictionless_validate_passes(latest):
    done = subprocess.run(
        [str(BIN / "frictionless"), "validate", "--json", "datapackage.json"],
        cwd=latest,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["valid"], done.stdout[:2000]
    assert len(report["tasks"]) == len(TABLES)


def test_datapackage_declares_types_keys_licence_and_checksums(latest):
    package = json.loads((latest / "datapackage.json").read_text("utf-8"))
    assert package["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert (
        package["licenses"][0]["name"] == "CC-BY-4.0"
        and package["sources"][0]["title"] == "测试审批系统"
    )
    items = next(r for r in package["resources"] if r["name"] == "items")
    fields = {f["name"]: f for f in items["schema"]["fields"]}
    assert fields["status"]["constraints"]["enum"] == ["in_force", "suspended", "abolished"]
    assert fields["name"]["title"] == "事项名称" and fields["updated_at"]["type"] == "datetime"
    assert items["schema"]["primaryKey"] == ["impl_code"]
    assert items["schema"]["foreignKeys"] == [
        {
            "fields": ["department_code"],
            "reference": {"resource": "departments", "fields": ["code"]},
        }
    ]
    data = (latest / items["path"]).read_bytes()
    assert items["hash"] == "sha256:" + hashlib.sha256(data).hexdigest() and items["bytes"] == len(
        data
    )


def test_sha256sums_checks_with_sha256sum(latest):
    done = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=latest, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {
        line.split("  ", 1)[1] for line in (latest / "SHA256SUMS").read_text("utf-8").splitlines()
    }
    assert listed == {
        p.relative_to(latest).as_posix() for p in latest.rglob("*") if p.is_file()
    } - {"SHA256SUMS"}


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_dcat_catalogue_parses_as_json_ld_with_typed_iris(latest):
    import rdflib
    from rdflib.namespace import DCTERMS, RDF

    DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")  # rdflib's DCAT lacks DCAT 3 terms

    graph = rdflib.Graph().parse(latest / "catalog.jsonld", format="json-ld")
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == len(TABLES) + 1
    for dataset in datasets:
        assert graph.value(dataset, DCAT.version) == rdflib.Literal("2026-11-25")
        assert (graph.value(dataset, DCAT.inSeries), RDF.type, DCAT.DatasetSeries) in graph
        assert graph.value(dataset, DCTERMS.temporal) is not None and graph.value(
            dataset, DCTERMS.publisher
        )
    spdx = rdflib.Namespace("http://spdx.org/rdf/terms#")
    base = "https://approvals.example.gov.cn/data/releases/2026-11-25/"
    distributions = set(graph.subjects(RDF.type, DCAT.Distribution))
    assert len(distributions) == len(TABLES) * 5 + 1 + 2
    for dist in distributions:
        url = str(graph.value(dist, DCAT.downloadURL))
        value = graph.value(graph.value(dist, spdx.checksum), spdx.checksumValue)
        assert (
            str(value) == hashlib.sha256((latest / url.removeprefix(base)).read_bytes()).hexdigest()
        )
    untyped = {
        o
        for s, p, o in graph
        if isinstance(o, rdflib.URIRef) and p != RDF.type and (o, RDF.type, None) not in graph
    }
    assert untyped == set()


def test_zip_holds_every_file_with_fixed_timestamps(latest):
    with zipfile.ZipFile(latest / "open-approvals.zip") as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        assert {i.date_time for i in archive.infolist()} == {(2026, 11, 25, 23, 30, 0)}
    assert "open-approvals-2026-11-25/csv/items.csv" in names
    assert "open-approvals-2026-11-25/open-approvals.sqlite" in names
    assert not any(n.endswith(("SHA256SUMS", "catalog.jsonld", ".zip")) for n in names)


# ------------------------------------------------------------------ pages


def test_datasets_page_shows_tables_sizes_dictionary_and_how_to_open(release):
    html = (release / "site/datasets.html").read_text("utf-8")
    for text in (
        "事项的收费",
        "item_fees",
        "数据字典",
        "CC BY 4.0",
        "pandas",
        "Datasette",
        "readr::read_csv",
        "/data/latest/xlsx/items.xlsx",
        "sha256sum -c SHA256SUMS",
        "2026-11-26",
        "methodology.html#outcomes",
        "abolished（已取消）",
    ):
        assert text in html, text
    dashboard = (release / "site/performance/index.html").read_text("utf-8")
    assert "/data/latest/csv/anonymised_cases.csv" in dashboard and "/data/cases/" not in dashboard


def test_cors_headers_file_is_shipped_and_documented():
    headers = (ROOT / "deploy/_headers").read_text("utf-8")
    assert "/data/*" in headers and "Access-Control-Allow-Origin: *" in headers
    assert 'add_header Access-Control-Allow-Origin "*"' in (
        ROOT / "deploy/nginx-data.conf"
    ).read_text("utf-8")


# ------------------------------------------------------------------ determinism and releases


def test_same_export_gives_byte_identical_data_files(release, tmp_path):
    again = build(export(tmp_path / "export"), tmp_path / "site")
    first, second = (
        tree_bytes(release / "site/data/releases"),
        tree_bytes(again / "site/data/releases"),
    )
    assert first.keys() == second.keys() and len(first) > 60
    assert [name for name in first if first[name] != second[name]] == []


def test_a_new_day_keeps_the_old_release_downloadable(tmp_path):
    site = tmp_path / "site"
    build(export(tmp_path / "day1"), site)
    day2 = build(
        export(tmp_path / "day2", export_id="day-2", exported_at="2026-11-26T23:30:00+08:00"), site
    )
    dated = day2 / "site/data/releases"
    assert sorted(p.name for p in dated.iterdir()) == ["2026-11-25", "2026-11-26"]
    index = json.loads((day2 / "site/data/releases.json").read_text("utf-8"))
    assert [r["version"] for r in index["releases"]] == ["2026-11-26", "2026-11-25"]
    old = dated / "2026-11-25"
    assert (
        subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=old, capture_output=True).returncode
        == 0
    )
    assert (old / "csv/items.csv").stat().st_nlink >= 2  # a hard link, not a copy


def test_frictionless_validate_passes_on_the_built_demo(tmp_path):
    """The bundled demo district (204 items, 21 departments, 44 forms) through the real CLI."""
    site = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "build",
            "--export",
            str(ROOT / "examples/demo-export"),
            "--site",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    latest = site / "current/site/data/latest"
    check = subprocess.run(
        [str(BIN / "frictionless"), "validate", "--json", "datapackage.json"],
        cwd=latest,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(check.stdout)
    assert check.returncode == 0 and report["valid"], check.stdout[:2000]
    assert {t["name"]: t["stats"]["rows"] for t in report["tasks"]}["items"] == 204
    assert (
        subprocess.run(
            ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=latest, capture_output=True
        ).returncode
        == 0
    )


def test_the_gate_refuses_a_tampered_or_invalid_dataset(latest, tmp_path):
    import shutil

    from pipeline.errors import DatasetInvalid
    from pipeline.gates.datasets import check_datasets

    copy = tmp_path / "site/data/latest"
    shutil.copytree(latest.resolve(), copy)
    check_datasets(tmp_path / "site")  # the untouched copy passes
    items = copy / "csv/items.csv"
    items.write_text(items.read_text("utf-8").replace(",in_force,", ",gone,", 1), encoding="utf-8")
    (copy / "extra.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DatasetInvalid) as refused:
        check_datasets(tmp_path / "site")
    message = str(refused.value)
    assert (
        "csv/items.csv：与 SHA256SUMS 不符" in message and "extra.txt：未列入 SHA256SUMS" in message
    )
    assert 'constraint "enum"' in message
