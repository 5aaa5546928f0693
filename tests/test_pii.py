"""The privacy gate: each kind of identifier planted in each kind of published file is caught,
named by file and kind, and shown only masked; a clean release passes."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import sqlite3
import tarfile
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from pipeline.contract.credit_code import credit_check_char
from pipeline.gates.privacy import detectors, readers, views
from pipeline.gates.privacy import scanner as pii
from pipeline.gates.privacy import workers as scan_workers
from pipeline.gates.privacy.scanner import (
    PiiFound,
    PiiScanner,
    check_release,
    detect,
    find_bank_cards,
    find_emails,
    find_individual_business_codes,
    find_mobiles,
    find_resident_ids,
    is_valid_resident_id,
    luhn_ok,
    resident_id_check_char,
    scan_release,
)
from pipeline.workers import MAX_AUTOMATIC, available_cpus, workers_in_use
from tests.fixtures import credit_code as government_code

# ---------------------------------------------------------------- identifiers made here


def resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def luhn_number(payload: str) -> str:
    return payload + next(d for d in "0123456789" if luhn_ok(payload + d))


def business_code(first17: str) -> str:
    return first17 + credit_check_char(first17)


RESIDENT_ID = resident_id("31010119900307123")
BANK_CARD = luhn_number("621700123456789012")  # 19 digits
MOBILE = "13812345678"
BUSINESS_CODE = business_code("92310113MA1FL3UK8")
EMAIL = "wangxiaoming1990@163.com"
NAME = "王小明"
ADDRESS = "友谊路100弄5号302室"

PLANTED = {
    "resident_id": (RESIDENT_ID, f"{RESIDENT_ID[:4]}**********{RESIDENT_ID[-4:]}"),
    "mobile": (MOBILE, "138****5678"),
    "individual_business_code": (
        BUSINESS_CODE,
        f"{BUSINESS_CODE[:4]}**********{BUSINESS_CODE[-4:]}",
    ),
    "bank_card": (BANK_CARD, f"{BANK_CARD[:4]}***********{BANK_CARD[-4:]}"),
    "email": (EMAIL, "w***@163.com"),
    "personal_value": (NAME, "王**"),
}

GOVERNMENT_MOBILE = "13916000001"  # a department's published duty phone
ALLOW = ["021-56731234", "12345", GOVERNMENT_MOBILE, "xzfw@bs.sh.gov.cn", government_code(1)]


def test_check_digits_agree_with_published_examples():
    assert resident_id_check_char("11010519491231002") == "X"  # the GB 11643-1999 example
    assert is_valid_resident_id("11010519491231002X")
    assert (
        luhn_ok("79927398713") and luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    )


def test_generated_identifiers_are_valid():
    assert is_valid_resident_id(RESIDENT_ID) and RESIDENT_ID == "310101199003071230"
    assert luhn_ok(BANK_CARD) and len(BANK_CARD) == 19
    assert find_individual_business_codes(f"代码{BUSINESS_CODE}。")


# ---------------------------------------------------------------- writers, one per file kind


def text_around(value: str) -> str:
    """Chinese directly against the value: regex \\b would not part them."""
    return f"申请人{value}已受理"


def cbor_text(value: str) -> bytes:
    data = value.encode()
    header = bytes([0x60 + len(data)]) if len(data) < 24 else bytes([0x78, len(data)])
    return header + data


def write_html(folder: Path, value: str) -> str:
    (folder / "index.html").write_text(
        f"<!doctype html><html lang=zh><body>\n<h1>办件公示</h1>\n<p>{text_around(value)}</p>\n</body></html>\n",
        encoding="utf-8",
    )
    return "index.html"


def write_csv(folder: Path, value: str) -> str:
    (folder / "cases.csv").write_text(
        f"序号,说明\n1,无\n2,{text_around(value)}\n", encoding="utf-8"
    )
    return "cases.csv"


def write_csv_bom(folder: Path, value: str) -> str:
    (folder / "cases-excel.csv").write_bytes(
        f"序号,说明\r\n1,{text_around(value)}\r\n".encode("utf-8-sig")
    )
    return "cases-excel.csv"


def write_json(folder: Path, value: str) -> str:
    (folder / "items.json").write_text(
        json.dumps(
            [{"name": "食品经营许可", "note": text_around(value)}], ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    return "items.json"


def write_json_ascii(folder: Path, value: str) -> str:
    """Every non-ASCII character written as \\uXXXX: the escapes are decoded before searching."""
    (folder / "items.jsonld").write_text(
        json.dumps({"@context": "https://schema.org", "description": text_around(value)}),
        encoding="ascii",
    )
    return "items.jsonld"


def write_ndjson(folder: Path, value: str) -> str:
    lines = [{"n": 1, "note": "无"}, {"n": 2, "note": text_around(value)}]
    (folder / "outcomes.ndjson").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return "outcomes.ndjson"


def write_xml(folder: Path, value: str) -> str:
    (folder / "feed.atom").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<entry><title>公示</title><summary>{text_around(value)}</summary></entry>\n</feed>\n",
        encoding="utf-8",
    )
    return "feed.atom"


def write_markdown(folder: Path, value: str) -> str:
    (folder / "README.md").write_text(f"# 数据说明\n\n- {text_around(value)}\n", encoding="utf-8")
    return "README.md"


def write_xlsx_openpyxl(folder: Path, value: str) -> str:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "说明"])
    sheet.append([1, text_around(value)])
    workbook.save(folder / "cases.xlsx")
    return "cases.xlsx"


def write_xlsx_by_hand(folder: Path, value: str) -> str:
    """A minimal SpreadsheetML package whose shared string splits the value over two rich-text
    runs, as Excel does when part of a cell is formatted."""
    half = len(value) // 2
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="办件" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>2</v></c></row></sheetData></worksheet>'
        ),
        "xl/sharedStrings.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
            f'<si><r><t>申请人{value[:half]}</t></r><r><rPr><b/><sz val="11"/><rFont val="宋体"/></rPr>'
            f"<t>{value[half:]}已受理</t></r></si></sst>"
        ),
    }
    with zipfile.ZipFile(folder / "by-hand.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return "by-hand.xlsx"


def write_parquet(folder: Path, value: str) -> str:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t (n INTEGER, note VARCHAR)")
        connection.execute("INSERT INTO t VALUES (1, '无'), (2, ?)", [text_around(value)])
        target = str(folder / "outcomes.parquet").replace("'", "''")
        connection.execute(f"COPY t TO '{target}' (FORMAT parquet)")
    return "outcomes.parquet"


def write_sqlite_fts5(folder: Path, value: str) -> str:
    with sqlite3.connect(folder / "search.sqlite") as connection:
        connection.execute("CREATE TABLE items (code TEXT, name TEXT)")
        connection.execute(
            "INSERT INTO items VALUES ('11310113MB2F00000X400001201', '食品经营许可')"
        )
        connection.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body)")
        connection.execute("INSERT INTO docs VALUES ('公示', ?)", [text_around(value)])
    connection.close()
    return "search.sqlite"


def write_zip(folder: Path, value: str) -> str:
    with zipfile.ZipFile(folder / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", "数据包说明")
        archive.writestr("data/records.csv", f"序号,说明\n1,{text_around(value)}\n")
    return "bundle.zip"


def write_tar_gz(folder: Path, value: str) -> str:
    data = f"序号,说明\n1,{text_around(value)}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("dump/records.csv")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (folder / "dump.tar.gz").write_bytes(buffer.getvalue())
    return "dump.tar.gz"


def write_pagefind_fragment(folder: Path, value: str) -> str:
    (folder / "pagefind" / "fragment").mkdir(parents=True)
    fragment = {
        "url": "/items/1/",
        "content": f"办事指南。{text_around(value)}。",
        "word_count": 4,
        "meta": {"title": "食品经营许可"},
    }
    payload = b"pagefind_dcd" + json.dumps(fragment, ensure_ascii=False).encode()
    (folder / "pagefind" / "fragment" / "zh_1a2b3c4.pf_fragment").write_bytes(
        gzip.compress(payload)
    )
    return "pagefind/fragment/zh_1a2b3c4.pf_fragment"


def write_pagefind_index(folder: Path, value: str) -> str:
    """Pagefind's word index: gzip'd CBOR, where a length byte ("k" for 11 bytes) sits right
    against each word."""
    (folder / "pagefind" / "index").mkdir(parents=True)
    payload = (
        b"pagefind_dcd"
        + bytes([0x82, 0x83])
        + cbor_text("办事")
        + cbor_text(value)
        + cbor_text("受理")
        + bytes([0x81, 0x18, 0x2A])
    )
    (folder / "pagefind" / "index" / "zh_9f8e7d6.pf_index").write_bytes(gzip.compress(payload))
    return "pagefind/index/zh_9f8e7d6.pf_index"


def write_whoosh_segment(folder: Path, value: str) -> str:
    """Raw bytes of a search-engine segment: length-prefixed UTF-8 terms between binary data."""
    (folder / "index").mkdir()
    data = value.encode()
    (folder / "index" / "MAIN_x1y2z3.seg").write_bytes(
        b"\x00\x01\xff\xfe" + bytes([len(data)]) + data + b"\x00\x00\x8f\xa0\xff" + bytes(range(32))
    )
    return "index/MAIN_x1y2z3.seg"


def write_docx(folder: Path, value: str) -> str:
    """Word splits text into runs wherever formatting or proofing marks change."""
    half = len(value) // 2
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
        f'<w:r><w:t>申请人{value[:half]}</w:t></w:r><w:proofErr w:type="spellStart"/>'
        f'<w:r><w:rPr><w:rFonts w:ascii="宋体"/><w:b/></w:rPr><w:t>{value[half:]}</w:t></w:r>'
        "<w:r><w:t>已受理</w:t></w:r></w:p></w:body></w:document>"
    )
    with zipfile.ZipFile(folder / "form.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        )
        archive.writestr("word/document.xml", body)
    return "form.docx"


def write_pdf(folder: Path, value: str) -> str:
    """The document information dictionary holds UTF-16 text (a title, an author); the page's
    content stream is Flate-compressed."""
    info = "FEFF" + text_around(value).encode("utf-16-be").hex().upper()
    content = zlib.compress(b"BT /F1 12 Tf 72 712 Td (Blank form) Tj ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
        + content
        + b"\nendstream",
        f"<< /Title <{info}> /Producer (test) >>".encode(),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer << /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    (folder / "form.pdf").write_bytes(bytes(out))
    return "form.pdf"


def write_doc_ole(folder: Path, value: str) -> str:
    """Word 97–2003 (an OLE compound file) keeps its text as UTF-16LE."""
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(504)
        + b"\xec\xa5\xc1\x00"
        + bytes(60)
        + text_around(value).encode("utf-16-le")
        + bytes(64)
        + b"\xff\xfe\x00\x01" * 16
    )
    (folder / "form.doc").write_bytes(data)
    return "form.doc"


WRITERS = {
    "html": write_html,
    "csv": write_csv,
    "csv-bom": write_csv_bom,
    "json": write_json,
    "json-ascii-escaped": write_json_ascii,
    "ndjson": write_ndjson,
    "xml-atom": write_xml,
    "markdown": write_markdown,
    "xlsx-openpyxl": write_xlsx_openpyxl,
    "xlsx-by-hand": write_xlsx_by_hand,
    "docx": write_docx,
    "pdf": write_pdf,
    "doc-ole": write_doc_ole,
    "parquet": write_parquet,
    "sqlite-fts5": write_sqlite_fts5,
    "zip": write_zip,
    "tar-gz": write_tar_gz,
    "pagefind-fragment": write_pagefind_fragment,
    "pagefind-index": write_pagefind_index,
    "whoosh-segment": write_whoosh_segment,
}


def assert_caught(hits, file: str, kind: str, masked: str, value: str) -> None:
    assert hits, f"{kind} in {file} not caught"
    assert {(h.file, h.kind) for h in hits} == {(file, kind)}, hits
    # Markup may show a part of the value on its own as well (``1990@163.com`` of an address split
    # over two XLSX runs); the whole value is always among the hits.
    assert masked in {h.masked for h in hits}, hits
    for hit in hits:
        assert value not in repr(hit)
    with pytest.raises(PiiFound) as raised:
        raise PiiFound(hits)
    assert raised.value.exit_code == 3
    assert value not in str(raised.value)


@pytest.mark.parametrize("kind", list(PLANTED))
@pytest.mark.parametrize("file_kind", list(WRITERS))
def test_each_identifier_in_each_kind_of_file_is_caught(tmp_path, file_kind, kind):
    value, masked = PLANTED[kind]
    file = WRITERS[file_kind](tmp_path, value)
    personal = [NAME, "张三丰", "李四光"] if kind == "personal_value" else []
    hits = scan_release(tmp_path, personal, ALLOW)
    assert_caught(hits, file, kind, masked, value)


def test_location_names_the_line_the_member_and_the_column(tmp_path):
    write_ndjson(tmp_path, MOBILE)
    write_zip(tmp_path, MOBILE)
    write_sqlite_fts5(tmp_path, MOBILE)
    write_parquet(tmp_path, MOBILE)
    where = {(h.file, h.location) for h in scan_release(tmp_path, [], ALLOW)}
    assert ("outcomes.ndjson", "第 2 行") in where
    assert ("bundle.zip", "成员 data/records.csv，第 2 行") in where
    assert ("search.sqlite", "表 docs，列 body") in where
    assert ("search.sqlite", "表 docs_content，列 c1") in where
    assert ("outcomes.parquet", "列 note") in where


def test_message_lists_masked_hits_and_the_total(tmp_path):
    lines = [f"{i},联系人电话139{i:08d}" for i in range(25)]
    (tmp_path / "list.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_json(tmp_path, RESIDENT_ID)
    with pytest.raises(PiiFound) as raised:
        check_release(tmp_path, [], ALLOW)
    message = str(raised.value)
    assert len(raised.value.hits) == 26
    assert f"文件 items.json：发现 身份证号 {PLANTED['resident_id'][1]}（第 4 行）" in message
    assert "文件 list.csv：发现 手机号码 139****0000（第 1 行）" in message
    assert "共 26 处" in message and "另有 6 处未列出" in message
    assert len([line for line in message.splitlines() if line.startswith("文件 ")]) == 20
    assert RESIDENT_ID not in message and "13900000000" not in message


# ---------------------------------------------------------------- detectors one by one


def test_chinese_text_right_against_digits_is_caught():
    assert [m.masked for m in find_mobiles("电话13812345678联系")] == ["138****5678"]
    assert [m.masked for m in find_resident_ids(f"身份证{RESIDENT_ID}号")] == [
        PLANTED["resident_id"][1]
    ]
    assert [m.kind for m in detect(f"邮箱{EMAIL}联系")] == ["email"]


@pytest.mark.parametrize(
    "written",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "138-1234-5678",
        "１３８１２３４５６７８",
        "（+86）13812345678",
    ],
)
def test_mobile_forms(written):
    assert [m.masked for m in detect(f"电话{written}。")] == ["138****5678"]


@pytest.mark.parametrize(
    "written",
    [
        "12812345678",  # 12… is not a mobile prefix
        "138123456789",  # twelve digits
        "a13812345678",  # part of a longer token
        "13812345678b",
        "021-56731234",  # landline
        "1381234567",  # ten digits
    ],
)
def test_not_mobiles(written):
    assert detect(f"号码 {written} 结束") == []


def test_resident_id_checks():
    assert is_valid_resident_id(RESIDENT_ID)
    wrong_check = RESIDENT_ID[:17] + ("1" if RESIDENT_ID[17] != "1" else "2")
    assert find_resident_ids(f"证号{wrong_check}") == []
    assert find_resident_ids(resident_id("31010118990307123")) == []  # born 1899
    assert find_resident_ids(resident_id("31010120990307123")) == []  # born 2099, in the future
    assert find_resident_ids(resident_id("31010119900230123")) == []  # 30 February
    assert find_resident_ids(resident_id("91010119900307123")) == []  # area 9…
    legacy = "310101900307123"
    assert [m.masked for m in find_resident_ids(f"旧证{legacy}号")] == ["3101*******7123"]
    assert find_resident_ids("310101901307123") == []  # month 13
    x_id = next(
        i for i in (resident_id(f"31010119850612{n:03d}") for n in range(1000)) if i.endswith("X")
    )
    assert [m.masked for m in find_resident_ids(x_id.lower())] == [
        f"{x_id[:4]}**********{x_id[-4:]}"
    ]


def test_valid_resident_id_that_passes_luhn_is_reported_once_as_resident_id():
    both = next(
        i
        for i in (resident_id(f"41010219880101{n:03d}") for n in range(1000))
        if i.isdigit() and luhn_ok(i)
    )
    assert find_bank_cards(both) == []
    assert [m.kind for m in detect(f"号码{both}。")] == ["resident_id"]


def test_bank_cards():
    card16 = luhn_number("622202123456789")
    assert [m.masked for m in find_bank_cards(f"卡号{card16}")] == [f"6222********{card16[-4:]}"]
    grouped = " ".join(card16[i : i + 4] for i in range(0, 16, 4))
    assert [m.kind for m in detect(f"卡号：{grouped}。")] == ["bank_card"]
    assert [
        m.kind
        for m in detect(
            f"卡号：{BANK_CARD[:4]}-{BANK_CARD[4:8]}-{BANK_CARD[8:12]}-"
            f"{BANK_CARD[12:16]}-{BANK_CARD[16:]}。"
        )
    ] == ["bank_card"]
    broken = card16[:-1] + str((int(card16[-1]) + 1) % 10)
    assert find_bank_cards(broken) == []
    assert find_bank_cards(luhn_number("722202123456789")) == []  # no IIN starts with 7


def test_credit_codes_of_government_and_companies_are_not_personal():
    company = business_code("91310113MA1FL3UK8")
    assert detect(f"{government_code(7)} {company} 代码") == []
    assert [m.kind for m in detect(f"经营者{BUSINESS_CODE}。")] == ["individual_business_code"]
    assert detect(BUSINESS_CODE[:17] + ("0" if BUSINESS_CODE[17] != "0" else "1")) == []


def test_emails():
    assert [m.masked for m in find_emails("联系 Zhang.San+x@QQ.com 或 ")] == ["Z***@qq.com"]
    assert find_emails("icon@2x.png a@example.com git@x.test") == []
    assert [m.kind for m in detect("13812345678@163.com")] == ["email"]
    assert len(find_emails("a1@163.com,b2@126.com")) == 2


def test_allow_list_keeps_the_sites_own_numbers():
    text = f"值班电话{GOVERNMENT_MOBILE}，热线12345，邮箱xzfw@bs.sh.gov.cn，固话021-56731234。"
    assert detect(text, ALLOW) == []
    assert [m.kind for m in detect(text)] == ["mobile", "email"]
    assert detect("值班电话 139-1600-0001", ALLOW) == []


def test_personal_values_verbatim_in_json(tmp_path):
    (tmp_path / "cases.json").write_text(
        json.dumps({"summary": f"申请人{NAME}，地址{ADDRESS}，已办结"}, ensure_ascii=False),
        encoding="utf-8",
    )
    hits = scan_release(tmp_path, [NAME, ADDRESS, "李", "", None, "赵六"], ALLOW)
    assert sorted(h.masked for h in hits) == ["友************", "王**"]
    assert {h.kind for h in hits} == {"personal_value"}


def test_personal_values_ignore_case_width_and_ascii_word_boundaries():
    scanner = PiiScanner(["Li Na", "LN", "张三"], [])
    assert [m.masked for m in scanner.find("申请人：ｌｉ　ｎａ（张三）")] == ["l****", "张*"]
    assert scanner.find("click LNG online") == []  # "LN" inside a longer word is not that value


def test_two_character_names_only_where_they_start_or_end_chinese_text():
    """程建 is a name and also the middle of 工程建设: a short Chinese value counts only where it
    touches something other than Chinese text on one side at least."""
    scanner = PiiScanner(["程建", "于华", "王小明"], [])
    assert scanner.find("工程建设项目，关于华东地区的通知") == []
    found = scanner.find("姓名：程建，申请人于华（联系电话略）。<td>程建</td>程建")
    assert [m.masked for m in found] == ["程*", "于*", "程*", "程*"]
    assert [m.masked for m in scanner.find("例如王小明已办结")] == [
        "王**"
    ]  # longer values anywhere


def test_pdf_content_streams_are_inflated(tmp_path):
    content = zlib.compress(f"BT (Tel {MOBILE}) Tj ET".encode())
    (tmp_path / "a.pdf").write_bytes(
        b"%PDF-1.4\n4 0 obj << /Filter /FlateDecode >>\nstream\n"
        + content
        + b"\nendstream endobj\n%%EOF\n"
    )
    assert [(h.kind, h.location) for h in scan_release(tmp_path, [], ALLOW)] == [
        ("mobile", "PDF 数据流")
    ]


def test_personal_value_also_allowed_is_not_reported():
    assert (
        PiiScanner([GOVERNMENT_MOBILE, "宝山区"], ["宝山区", GOVERNMENT_MOBILE]).find(
            f"宝山区值班{GOVERNMENT_MOBILE}"
        )
        == []
    )


def test_markup_and_escapes_do_not_hide_values(tmp_path):
    (tmp_path / "a.html").write_text(
        "<p>王<b>小明</b></p>\n<p>&#29579;&#23567;&#26126;</p>\n"
        '<a href="/search?q=%E7%8E%8B%E5%B0%8F%E6%98%8E">x</a>\n<p>138<span>1234</span>5678</p>\n',
        encoding="utf-8",
    )
    hits = scan_release(tmp_path, [NAME], ALLOW)
    assert {(h.kind, h.location) for h in hits} == {
        ("personal_value", "第 1 行"),
        ("personal_value", "第 2 行"),
        ("personal_value", "第 3 行"),
        ("mobile", "第 4 行"),
    }


def test_file_and_member_names_are_scanned_and_shown_masked(tmp_path):
    (tmp_path / "files" / "F1").mkdir(parents=True)
    (tmp_path / "files" / "F1" / f"{NAME}身份证.txt").write_text("空白表格", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "forms.zip", "w") as archive:
        archive.writestr(f"{MOBILE}.txt", "空白")
    hits = scan_release(tmp_path, [NAME], ALLOW)
    assert {(h.file, h.kind, h.location) for h in hits} == {
        ("files/F1/王**身份证.txt", "personal_value", "文件名"),
        ("forms.zip", "mobile", "成员 138****5678.txt，成员名"),
    }


def test_gbk_text_and_utf16_text(tmp_path):
    (tmp_path / "old.csv").write_bytes(f"姓名,电话\n{NAME},{MOBILE}\n".encode("gb18030"))
    (tmp_path / "export.txt").write_bytes(f"{NAME} {RESIDENT_ID}".encode("utf-16"))
    hits = {(h.file, h.kind) for h in scan_release(tmp_path, [NAME], ALLOW)}
    assert hits == {
        ("old.csv", "personal_value"),
        ("old.csv", "mobile"),
        ("export.txt", "personal_value"),
        ("export.txt", "resident_id"),
    }


def test_contentless_fts5_index_is_read_through_its_vocabulary(tmp_path):
    with sqlite3.connect(tmp_path / "index.sqlite") as connection:
        connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, content='')")
        connection.execute(
            "INSERT INTO t(rowid, body) VALUES (1, ?)",
            [f"申请人 {NAME} 电话 {MOBILE} 证件 {RESIDENT_ID}"],
        )
    connection.close()
    hits = scan_release(tmp_path, [NAME], ALLOW)
    assert {h.kind for h in hits} == {"personal_value", "mobile", "resident_id"}
    assert any("全文索引词表" in h.location for h in hits)


def test_deleted_sqlite_rows_are_still_in_the_file(tmp_path):
    with sqlite3.connect(tmp_path / "stale.sqlite") as connection:
        connection.execute("PRAGMA secure_delete = OFF")
        connection.execute("CREATE TABLE t (note TEXT)")
        connection.execute("INSERT INTO t VALUES (?)", [f"联系电话 {MOBILE}"])
        connection.commit()
        connection.execute("DELETE FROM t")
    connection.close()
    hits = scan_release(tmp_path, [], ALLOW)
    assert [(h.kind, h.location) for h in hits] == [("mobile", "二进制内容中的文本")]


def test_what_cannot_be_read_fails_closed(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("secret.txt", "x")
    data = bytearray(buffer.getvalue())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_offset] |= 0x01  # the "encrypted" flag bit
    (tmp_path / "locked.zip").write_bytes(bytes(data))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + b"\x00" * 64)
    hits = scan_release(tmp_path, [], ALLOW)
    assert {(h.file, h.kind) for h in hits} == {
        ("locked.zip", "unscannable"),
        ("broken.parquet", "unscannable"),
    }


def test_values_across_chunk_edges_are_found_once(tmp_path, monkeypatch):
    """Small chunks, one long line (so chunks overlap rather than end at a line end), and a value
    every 97 characters: each lands once at every offset from a chunk edge."""
    monkeypatch.setattr(pii, "CHUNK_CHARS", 4096)
    monkeypatch.setattr(readers, "READ_BYTES", 1000)
    filler = ("办事指南文字" * 20)[:86]
    mobiles = [f"1390000{i:04d}" for i in range(1500)]
    ids = [resident_id(f"31010119900307{i:03d}") for i in range(0, 1000, 7)]
    body = (
        "".join(f"{filler}{m}" for m in mobiles) + "".join(f"{filler[:79]}{i}" for i in ids) + "。"
    )
    (tmp_path / "long.json").write_text(body, encoding="utf-8")
    hits = scan_release(tmp_path, [], ALLOW)
    assert sorted(h.masked for h in hits) == sorted(
        [f"139****{m[-4:]}" for m in mobiles] + [f"3101**********{i[-4:]}" for i in ids]
    )
    assert {h.location for h in hits} == {"第 1 行"}


# ---------------------------------------------------------------- a clean release passes


# ID-shaped but with a wrong check character, and failing Luhn too (so not a card either).
NOT_AN_ID = next(
    RESIDENT_ID[:17] + c
    for c in "0123456789"
    if c != RESIDENT_ID[17] and not luhn_ok(RESIDENT_ID[:17] + c)
)

CLEAN_TEXT = "\n".join(
    [
        "上海市宝山区行政服务中心，地址：上海市宝山区密山路5号，咨询电话021-56731234，投诉请拨打12345。",
        f"值班手机{GOVERNMENT_MOBILE}，邮箱xzfw@bs.sh.gov.cn，发布日期2026-11-25，更新于2026-11-25T23:30:00+08:00。",
        f"实施主体{government_code(1)}（统一社会信用代码），企业{business_code('91310113MA1FL3UK8')}。",
        "事项编码11310113MB2F00000X400001201，基本编码000000000001，承诺时限10个工作日，收费0.00元，金额1,234,567.89元。",
        f"编号{NOT_AN_ID} 不是身份证号（校验位不对），201101199013321234 日期也不对，"
        "123456789012345678 和 000000000000000000 只是数字。",
        "办件量 1234567 件，时间戳 1764084600000，sha256 9f2c1a7e3b5d4c6a8e0f1b2d3c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4。",
        "图标 logo@2x.png，示例 someone@example.com，版本 v1.2.3，电话 (021) 5673 1234。",
    ]
)


def write_clean_release(folder: Path) -> None:
    (folder / "index.html").write_text(
        f"<html><body><pre>{CLEAN_TEXT}</pre></body></html>\n", encoding="utf-8"
    )
    (folder / "items.json").write_text(
        json.dumps({"text": CLEAN_TEXT}, ensure_ascii=False), encoding="utf-8"
    )
    (folder / "items.csv").write_bytes(("说明\n" + CLEAN_TEXT + "\n").encode("utf-8-sig"))
    (folder / "feed.atom").write_text(
        f"<feed><entry><summary>{CLEAN_TEXT}</summary></entry></feed>", encoding="utf-8"
    )
    with zipfile.ZipFile(folder / "datasets.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("items.csv", CLEAN_TEXT)
    (folder / "pagefind").mkdir()
    (folder / "pagefind" / "zh_0a1b2c3.pf_fragment").write_bytes(
        gzip.compress(
            b"pagefind_dcd" + json.dumps({"content": CLEAN_TEXT}, ensure_ascii=False).encode()
        )
    )
    (folder / "pagefind" / "zh_0a1b2c3.pf_index").write_bytes(
        gzip.compress(
            b"pagefind_dcd"
            + b"".join(cbor_text(w) for w in CLEAN_TEXT.split()[:40] if len(w.encode()) < 256)
        )
    )
    with sqlite3.connect(folder / "search.sqlite") as connection:
        connection.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
        connection.executemany(
            "INSERT INTO docs VALUES (?)", [(line,) for line in CLEAN_TEXT.splitlines()]
        )
    connection.close()
    write_parquet_lines(folder / "items.parquet", CLEAN_TEXT.splitlines())
    write_xlsx_by_hand(folder, "10个工作日")


def write_parquet_lines(path: Path, lines: list[str]) -> None:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t (line VARCHAR)")
        connection.executemany("INSERT INTO t VALUES (?)", [[line] for line in lines])
        connection.execute(
            f"COPY t TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
        )


def test_clean_release_passes(tmp_path):
    write_clean_release(tmp_path)
    assert scan_release(tmp_path, ["王小明", "赵六", "13700001111"], ALLOW) == []
    check_release(tmp_path, ["王小明"], ALLOW)


def test_clean_release_without_the_allow_list_flags_only_the_sites_own_numbers(tmp_path):
    write_clean_release(tmp_path)
    assert {h.kind for h in scan_release(tmp_path, [], [])} == {"mobile", "email"}


# ---------------------------------------------------------------- performance sanity


def test_many_personal_values_and_a_20_mb_file(tmp_path):
    rng = random.Random(7)
    surnames = "钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
    streets = "长江黄河淮海延安南京北京西藏福州汉口九江"
    personal: set[str] = set()
    while len(personal) < 300_000:
        personal.add(rng.choice(surnames) + rng.choice(given) + rng.choice(given))
        personal.add(
            f"{rng.choice(streets)}{rng.choice(streets)}路{rng.randrange(1, 2000)}弄"
            f"{rng.randrange(1, 99)}号{rng.randrange(101, 2999)}室"
        )
        personal.add(f"13{rng.randrange(10**9):09d}")
        personal.add(
            resident_id(
                f"310113{rng.randrange(1950, 2005)}0{rng.randrange(1, 10)}1"
                f"{rng.randrange(1, 10)}{rng.randrange(1000):03d}"
            )
        )
    planted = sorted(personal)[::100_000]
    line = (
        "本事项由上海市宝山区市场监督管理局办理，法定时限二十个工作日，承诺时限十个工作日，"
        "咨询电话021-56731234，收费0.00元，办件量1234件，更新日期2026-11-25。\n"
    )
    lines = [line] * (20 * 2**20 // len(line.encode()))
    for i, value in enumerate(planted):
        lines[(i + 1) * len(lines) // (len(planted) + 1)] = f"申请人信息：{value}\n"
    (tmp_path / "big.csv").write_text("".join(lines), encoding="utf-8")
    size = (tmp_path / "big.csv").stat().st_size

    started = time.perf_counter()
    scanner = PiiScanner(personal, ALLOW)
    built = time.perf_counter()
    hits = scanner.scan_release(tmp_path)
    done = time.perf_counter()
    print(
        f"\n[pii timing] {len(personal):,} personal values: automaton {built - started:.2f} s; "
        f"{size / 2**20:.1f} MB CSV scanned in {done - built:.2f} s; {len(hits)} hits"
    )
    assert len(hits) == len(planted)


# ---------------------------------------------------------------- the fast paths report what the plain scan reports


def _generated_text(rng: random.Random, pieces: int) -> str:
    """Identifiers whole, split by tags, escaped, cut by line ends, in full width; markup and
    escapes on most lines or on few; noise that looks like them."""

    def identifier() -> str:
        value = rng.choice(
            [
                f"13{rng.randrange(10**9):09d}",
                RESIDENT_ID,
                BANK_CARD,
                BUSINESS_CODE,
                EMAIL,
                NAME,
                ADDRESS,
                GOVERNMENT_MOBILE,
                "+86 138 1234 5678",
                "0086-138-1234-5678",
                "1764084600000",
                "021-56731234",
                "xzfw@bs.sh.gov.cn",
                "Li Na",
            ]
        )
        cut = rng.randrange(len(value) + 1)
        how = rng.randrange(10)
        if how == 0:
            return (
                value[:cut]
                + rng.choice(["<br/>", "<b>", "</span>", "<w:t>", "<b\n>", "<w:rPr><w:b/></w:rPr>"])
                + value[cut:]
            )
        if how == 1:
            return "".join(f"&#{ord(c)};" if rng.random() < 0.4 else c for c in value)
        if how == 2:
            return "".join(f"\\u{ord(c):04x}" if rng.random() < 0.4 else c for c in value)
        if how == 3:
            return "".join(
                "".join(f"%{b:02X}" for b in c.encode()) if rng.random() < 0.4 else c for c in value
            )
        if how == 4:
            return value[:cut] + "\n" + value[cut:]
        if how == 5:
            return "".join(
                chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() and rng.random() < 0.5 else c
                for c in value
            )
        if how == 6:
            return (
                value[:cut]
                + rng.choice([" ", "-", "&nbsp;", "&amp;", "%20", "\u3000", "X"])
                + value[cut:]
            )
        return value

    noise = [
        "办事指南",
        "工程建设",
        "于华东",
        "a",
        "X",
        "9",
        "92",
        "@",
        "-",
        " ",
        "+",
        "\n",
        "\n",
        "<p>",
        "</p>",
        "&amp;",
        "&lt;",
        "%",
        "\\",
        "\\u",
        "&#",
        "<",
        ">",
        "1234567",
        "2026-11-25",
        "（",
        "k",
        "ab.cd@",
    ]
    quiet = rng.random() < 0.5  # markup and escapes on few lines
    out = []
    for _ in range(pieces):
        piece = identifier() if rng.random() < 0.3 else rng.choice(noise)
        if quiet and rng.random() < 0.85:
            piece = "".join(c for c in piece if c not in "<>&%\\")
        out.append(piece + ("\n" if quiet and rng.random() < 0.5 else ""))
    return "".join(out)


def _ordered_unique(items) -> list:
    return list(dict.fromkeys(items))


def _chunk_as_written_and_in_every_view_whole(
    scanner: PiiScanner, chunk: str, binary: bool, clean_start: bool, clean_end: bool
) -> list:
    """The chunk scan without its shortcuts: every view whole, every window searched afresh."""
    found = []
    for view in [views._fold(chunk)] if binary else views._views(views._fold(chunk)):
        low = 0 if clean_start else scanner._reach
        high = len(view) if clean_end else len(view) - scanner._reach
        for m in scanner.find(view, binary=binary):
            if low <= m.start and m.end <= high:
                found.append((m.kind, m.masked, view.count("\n", 0, m.start) + 1))
    return _ordered_unique(found)


def test_chunk_shortcuts_find_what_every_view_whole_finds():
    """Views built from only the lines a view changes, and findings kept per number window, give
    the same hits (kind, value, line, first-found order) as every view searched whole."""
    rng = random.Random(20261126)
    scanner = PiiScanner([NAME, ADDRESS, "程建", "Li Na", "13700001111"], ALLOW)
    for _ in range(150):
        text = _generated_text(rng, rng.randrange(1, 300))
        for binary in (False, True):
            for clean_start in (True, False):
                for clean_end in (True, False):
                    fast = _ordered_unique(
                        (m.kind, m.masked, line)
                        for m, line in scanner._scan_chunk(text, binary, clean_start, clean_end)
                    )
                    assert fast == _chunk_as_written_and_in_every_view_whole(
                        scanner, text, binary, clean_start, clean_end
                    ), text


def test_number_windows_give_the_same_identifiers_with_and_without_the_window_cache():
    rng = random.Random(7)
    for _ in range(300):
        text = views._fold(_generated_text(rng, rng.randrange(1, 200)))
        windows = detectors._number_windows(text)
        for binary in (False, True):
            detectors._WINDOW_CACHE[binary].clear()
            expected = sorted(
                [
                    *detectors._resident_ids(text, windows, binary),
                    *detectors._mobiles(text, windows, binary),
                    *detectors._bank_cards(text, windows, binary),
                ],
                key=lambda m: (m.start, m.end, m.kind),
            )
            for _ in range(2):  # computed, then from the cache
                assert (
                    sorted(
                        detectors._number_detections(text, windows, binary),
                        key=lambda m: (m.start, m.end, m.kind),
                    )
                    == expected
                )


@pytest.fixture
def forked_workers(monkeypatch):
    """Real worker processes even for a small tree (and under pytest-xdist, whose I/O thread
    would otherwise keep the scan in this process), with a short planning window."""
    monkeypatch.setattr(scan_workers, "BATCH_UNITS", 3)
    monkeypatch.setattr(scan_workers, "PENDING_UNITS", 7)
    monkeypatch.setattr(scan_workers, "FORK_WITH_THREADS", True)
    submitted = []
    real = scan_workers.ForkPool

    class Counting(real):
        def submit(self, *args, **kwargs):
            submitted.append(args)
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(scan_workers, "ForkPool", Counting)
    return submitted


def write_varied_release(folder: Path) -> None:
    """Every kind of file, values in each; contents repeated across files, ZIP members and
    nested archives (so which copy is read first matters); names masked alike."""
    rng = random.Random(5)
    values = [value for value, _ in PLANTED.values()]
    for number, writer in enumerate(WRITERS.values()):
        (folder / f"k{number:02d}").mkdir()
        writer(folder / f"k{number:02d}", values[number % len(values)])
    (folder / "clean").mkdir()
    write_clean_release(folder / "clean")
    pages = folder / "pages"
    pages.mkdir()
    for i in range(40):
        (pages / f"p{i:02d}.html").write_text(
            f"<html><body>\n{_generated_text(rng, 80)}\n</body></html>\n", encoding="utf-8"
        )
    later = f"序号,说明\n1,{text_around(MOBILE)}\n".encode()
    earlier = (pages / "p03.html").read_bytes()
    own = f"1,{RESIDENT_ID}\n".encode()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        nested.writestr("same-as-page.html", earlier)
        nested.writestr("own.csv", own)
    with zipfile.ZipFile(folder / "pages" / "q-bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("copy-of-p03.html", earlier)  # read before, as a file: skipped here
        archive.writestr("later.csv", later)  # read here: skipped as a file later
        archive.writestr("nested.zip", inner.getvalue())
        archive.writestr("again/later.csv", later)
        archive.writestr(f"{MOBILE}.txt", "空白")
    (folder / "pages" / "r-later.csv").write_bytes(later)
    (folder / "pages" / "s-nested-again.zip").write_bytes(inner.getvalue())
    (folder / "pages" / "t-own.csv").write_bytes(own)  # read before, inside the nested ZIP
    (folder / "pages" / "13812345678.txt").write_text(f"电话 {MOBILE}\n", encoding="utf-8")
    (folder / "pages" / "13899995678.txt").write_text(
        f"电话 {MOBILE}\n电话 13900000000\n", encoding="utf-8"
    )
    (folder / "pages" / "empty.txt").write_bytes(b"")


def test_scan_across_worker_processes_reports_exactly_what_the_serial_scan_reports(
    tmp_path, forked_workers
):
    write_varied_release(tmp_path)
    personal = [NAME, ADDRESS, "程建", "张三丰"]
    serial = PiiScanner(personal, ALLOW, workers=1).scan_release(tmp_path)
    assert not forked_workers
    parallel = PiiScanner(personal, ALLOW, workers=2).scan_release(tmp_path)
    assert forked_workers, "no batch went to a worker process"
    assert len(serial) > 100 and {h.kind for h in serial} >= set(PLANTED)
    assert parallel == serial


def test_scan_in_one_process_when_the_release_is_smaller_than_a_batch(tmp_path, monkeypatch):
    submitted = []
    monkeypatch.setattr(scan_workers, "ForkPool", lambda *a, **k: submitted.append(a))
    write_html(tmp_path, MOBILE)
    assert [h.kind for h in PiiScanner([], ALLOW, workers=2).scan_release(tmp_path)] == ["mobile"]
    assert not submitted


def test_a_process_with_other_threads_is_not_forked(tmp_path, forked_workers, monkeypatch):
    """A lock another thread holds would stay held in a fork: such a process scans by itself."""
    monkeypatch.setattr(scan_workers, "FORK_WITH_THREADS", False)
    write_varied_release(tmp_path)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        hits = PiiScanner([NAME], ALLOW, workers=2).scan_release(tmp_path)
    finally:
        stop.set()
        other.join()
    assert not forked_workers
    assert hits == PiiScanner([NAME], ALLOW, workers=1).scan_release(tmp_path)


def _dies_in_worker_on(monkeypatch, name: str, how) -> None:
    parent = os.getpid()
    real = scan_workers._run_unit

    def run_unit(scanner, unit):
        if os.getpid() != parent and unit[1].endswith(name):
            how()
        return real(scanner, unit)

    monkeypatch.setattr(scan_workers, "_run_unit", run_unit)


def test_a_worker_process_that_dies_refuses_the_release(tmp_path, forked_workers, monkeypatch):
    for i in range(12):
        (tmp_path / f"page{i:02d}.html").write_text(f"<p>办事指南 {i}</p>\n", encoding="utf-8")
    _dies_in_worker_on(monkeypatch, "page05.html", lambda: os._exit(9))
    hits = PiiScanner([], ALLOW, workers=2).scan_release(tmp_path)
    assert forked_workers
    assert ("page05.html", "unscannable") in {(h.file, h.kind) for h in hits}
    assert {h.kind for h in hits} == {"unscannable"}
    assert all("检查进程失败" in h.location for h in hits)
    with pytest.raises(PiiFound):
        PiiScanner([], ALLOW, workers=2).check(tmp_path)


def test_a_worker_that_fails_refuses_the_release(tmp_path, forked_workers, monkeypatch):
    for i in range(12):
        (tmp_path / f"page{i:02d}.html").write_text(f"<p>办事指南 {i}</p>\n", encoding="utf-8")

    def fail():
        raise MemoryError

    _dies_in_worker_on(monkeypatch, "page07.html", fail)
    hits = PiiScanner([], ALLOW, workers=2).scan_release(tmp_path)
    assert forked_workers
    assert {(h.file, h.kind, h.location) for h in hits} >= {
        ("page07.html", "unscannable", "检查进程失败，未能检查（MemoryError）")
    }
    assert {h.file for h in hits} <= {f"page{i:02d}.html" for i in range(6, 9)}  # its batch only


def test_worker_count():
    """The scan's processes follow the build's one setting and CPU rule (pipeline.workers):
    ``workers`` when above 0, else one per available CPU, at most four."""
    with workers_in_use(3):
        assert PiiScanner().workers == 3
    with workers_in_use(1):
        assert PiiScanner().workers == 1
    with workers_in_use(0):
        assert PiiScanner().workers == max(1, min(MAX_AUTOMATIC, available_cpus()))
    assert 1 <= PiiScanner().workers <= MAX_AUTOMATIC
    assert PiiScanner(workers=1).workers == 1
