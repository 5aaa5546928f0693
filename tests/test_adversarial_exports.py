"""Exports from an adversarial pass (a tester who had not seen these tests): each broke a promise
of the hardening issue (#13). Small exports, one thing at a time."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from pypdf import PdfWriter

from pipeline.build import BuildOptions, run_build, validate_export
from pipeline.errors import ExportBroken
from pipeline.extract.folder import FolderSource
from pipeline.gates.privacy.report import PiiFound
from pipeline.gates.privacy.scanner import PiiScanner, scan_release
from pipeline.outcomes.cases import connect, ingest_cases
from pipeline.site.text import MAX_SLUG_CHARS, pinyin_slug
from pipeline.validate.archives import zip_problem
from pipeline.validate.catalogue import build_catalogue
from pipeline.validate.filetypes import extension_problem
from pipeline.validate.mapping import load_profile
from pipeline.validate.pdf import pdf_problem
from pipeline.validate.problems import Report
from tests.fixtures import MINIMAL_PDF, case, department, item, write_export
from tests.test_hostile_exports import reseal
from tests.test_search_api import Nginx
from tests.test_search_api import _free_port as free_port
from tests.test_search_api import _through as through

DEPARTMENT = department(1, "上海市宝山区市场监督管理局")
CODE = DEPARTMENT["code"]
ITEM = item(1, CODE)
IMPL = ITEM["impl_code"]
ROOT = Path(__file__).resolve().parents[1]


def cases_export(root: Path, cases: list[dict]) -> Path:
    return write_export(root, [DEPARTMENT], [ITEM], cases=cases)


def intake_of(export: Path):
    source, report = FolderSource(export), Report()
    catalogue = build_catalogue(source, load_profile("contract"), report, lambda f, d: None)
    intake = ingest_cases(connect(), source, catalogue.items, None, report)
    return intake, report


# ---------------------------------------------------------------- 1. an overlong personal value


def test_an_overlong_personal_value_refuses_its_case_masked(tmp_path):
    cases = [
        case("C1", IMPL, CODE, "2025-09-01T10:00", applicant_name="李" * 700_000),
        case("C2", IMPL, CODE, "2025-09-02T10:00", applicant_address="路" * 201),
        case("C3", IMPL, CODE, "2025-09-03T10:00", applicant_phone="1" * 65),
        case("C4", IMPL, CODE, "2025-09-04T10:00", applicant_name="李" * 200),
    ]
    intake, report = intake_of(cases_export(tmp_path / "x", cases))
    assert (intake.read, intake.accepted) == (4, 1)
    shown = {p.field: p for p in report.problems}
    assert set(shown) == {"applicant_name", "applicant_address", "applicant_phone"}
    name = shown["applicant_name"]
    assert (name.entity, name.record_id, name.severity) == ("cases", "C1", "error")
    assert "200" in name.message
    assert name.value == "李***（共 700000 字符）"
    assert (
        shown["applicant_address"].record_id == "C2" and "200" in shown["applicant_address"].message
    )
    assert shown["applicant_phone"].value == "1***（共 65 字符）"
    assert "李" * 200 in intake.personal_values  # the longest accepted name is still searched
    assert max(map(len, intake.personal_values)) <= 200


def test_the_scanner_survives_a_huge_personal_value_and_still_finds_it():
    """pyahocorasick crashed (SIGSEGV, when the automaton was freed) with a 700,000-character
    pattern; the scanner cuts patterns, so such a value is found by its beginning."""
    code = (
        "from pipeline.gates.privacy.scanner import PiiScanner\n"
        "s = PiiScanner(['李' * 700_000], workers=1)\n"
        "print(len(s.find('申请人：' + '李' * 300 + '。')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "1"


def test_a_night_with_an_overlong_name_publishes_without_that_case(tmp_path):
    cases = [case(f"C{i}", IMPL, CODE, f"2025-09-{i:02d}T10:00") for i in range(1, 6)]
    cases[2]["applicant_name"] = "李" * 700_000
    site = tmp_path / "site"
    result = run_build(BuildOptions(export=str(cases_export(tmp_path / "x", cases)), site_dir=site))
    assert (site / "current").is_symlink()
    assert result.report.kept["cases"] == 4
    assert [p.record_id for p in result.report.problems if p.entity == "cases"] == ["C3"]


# ---------------------------------------------------------------- 2. placeholders, named sources

PLACEHOLDER_VALUES = [
    "暂无",
    "null",
    "None",
    "--",
    "其他",
    "无",
    "不详",
    "未知",
    "n/a",
    "N/A",
    "-",
    "/",
]


def test_placeholders_in_personal_fields_are_not_searched():
    text = "其他事项暂无；null, None, n/a -- / 不详 未知 .x{margin:0 -1px}；申请人 王小明 已办结"
    scanner = PiiScanner([*PLACEHOLDER_VALUES, "王小明"], workers=1)
    assert [m.masked for m in scanner.find(text)] == ["王**"]


def test_a_night_of_placeholders_publishes_and_a_leak_names_its_case_and_field(tmp_path):
    fields = ("applicant_name", "applicant_id_number", "applicant_phone", "applicant_address")
    cases = [
        case(f"C{i}", IMPL, CODE, f"2025-09-{i:02d}T10:00", **dict.fromkeys(fields, value))
        for i, value in enumerate(PLACEHOLDER_VALUES, start=1)
    ]
    site = tmp_path / "site"
    export = write_export(tmp_path / "n1", [DEPARTMENT], [ITEM], cases=cases)
    run_build(BuildOptions(export=str(export), site_dir=site))
    live = (site / "current").resolve()
    leak = case("Z9", IMPL, CODE, "2025-09-20T10:00", applicant_name=DEPARTMENT["name"])
    export = write_export(
        tmp_path / "n2", [DEPARTMENT], [ITEM], cases=[*cases, leak], export_id="night-2"
    )
    with pytest.raises(PiiFound) as refused:
        run_build(BuildOptions(export=str(export), site_dir=site))
    message = str(refused.value)
    assert "来自办件 Z9 的 applicant_name" in message
    assert "上************" in message and DEPARTMENT["name"] not in message
    assert (site / "current").resolve() == live


# ---------------------------------------------------------------- 3. PDFs with active content


def pdf_file(objects: dict[int, bytes], *updates: dict[int, bytes]) -> bytes:
    """A PDF with a correct cross-reference table, and ``updates`` appended as incremental
    updates (each redefining objects, with its own table and ``/Prev``)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    previous = None
    size = max(max(o) for o in (objects, *updates)) + 1
    for revision in (objects, *updates):
        offsets = {}
        for number in sorted(revision):
            offsets[number] = len(out)
            out += b"%d 0 obj\n" % number + revision[number] + b"\nendobj\n"
        table = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n"
        for number in sorted(offsets):
            out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
        prev = b"" if previous is None else b" /Prev %d" % previous
        out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            prev,
            table,
        )
        previous = table
    return bytes(out)


PAGE = {
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [6 0 R] >>",
    6: b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 20]"
    b" /A << /S /URI /URI (https://zwdt.sh.gov.cn/) >> >>",
}
CATALOG = b"<< /Type /Catalog /Pages 2 0 R /OpenAction %s >>"
JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
TRICK_PDFS = {
    # a string that reads "stream" hid what followed from a scanner of raw bytes
    "string-stream": pdf_file(
        {1: b"<< /Lang (stream\n) /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", 4: JS, **PAGE}
    ),
    # a go-to nested as a decoy inside an open action that opens a URI
    "goto-decoy": pdf_file(
        {
            1: CATALOG % b"<< /Decoy << /S /GoTo /D [3 0 R /Fit] >> /S /URI /URI (http://e.x/t) >>",
            **PAGE,
        }
    ),
    # a go-to whose next action is written with a name escape
    "escaped-next": pdf_file(
        {
            1: CATALOG
            % b"<< /S /GoTo /D [3 0 R /Fit] /N#65xt << /S /URI /URI (http://e.x/n) >> >>",
            **PAGE,
        }
    ),
    # the open action's object is a destination, then an incremental update makes it a URI
    "redefined-later": pdf_file(
        {1: CATALOG % b"4 0 R", 4: b"[3 0 R /Fit]", **PAGE},
        {4: b"<< /S /URI /URI (http://e.x/r) >>"},
    ),
    # ... and the other way round: the first revision runs a script
    "redefined-earlier": pdf_file(
        {1: CATALOG % b"4 0 R", 4: b"<< /S /Launch /F (cmd.exe) >>", **PAGE},
        {4: b"[3 0 R /Fit]"},
    ),
    "cut-short": b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit",
}


@pytest.mark.parametrize("name", list(TRICK_PDFS))
def test_a_pdf_hiding_active_content_from_a_byte_scan_is_refused(name):
    problem = pdf_problem(TRICK_PDFS[name])
    assert problem and problem.startswith(("PDF 含有活动内容（/", "PDF 无法")), problem


def test_links_and_an_open_at_page_pass_and_a_uri_on_opening_does_not():
    linked = pdf_file({1: CATALOG % b"[3 0 R /Fit]", **PAGE})
    assert pdf_problem(linked) is None
    assert pdf_problem(pdf_file({1: CATALOG % b"<< /S /GoTo /D [3 0 R /Fit] >>", **PAGE})) is None
    opening = pdf_file({1: CATALOG % b"<< /S /URI /URI (https://e.x/) >>", **PAGE})
    assert pdf_problem(opening) == (
        "PDF 含有活动内容（/OpenAction），不提供下载——请上游导出不含脚本、自动动作和附件的 PDF"
    )


def test_an_encrypted_pdf_cannot_be_checked_and_is_refused():
    """Its strings and object streams are ciphertext (an owner password alone encrypts them)."""
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_uri(0, "https://zwdt.sh.gov.cn/", [0, 0, 100, 20])
    plain = io.BytesIO()
    writer.write(plain)
    assert pdf_problem(plain.getvalue()) is None
    writer.encrypt("", "owner", algorithm="RC4-128")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    assert pdf_problem(encrypted.getvalue()) == (
        "PDF 无法检查（文件已加密，内容无法检查——请上游导出未加密的 PDF），不提供下载"
    )


# ---------------------------------------------------------------- 4. PDF streams in any encoding

MOBILE_TEXT = b"BT /F1 12 Tf 72 720 Td (TEL 13917345678) Tj ET"


def lzw(data: bytes) -> bytes:
    """LZW as PDF reads it, the simplest way: a clear-table code, each byte as a 9-bit code (the
    table never reaches 511 entries here), the end code."""
    bits = "".join(f"{code:09b}" for code in (256, *data, 257))
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


ENCODED_STREAMS = {
    "ascii85": (b"/ASCII85Decode", base64.a85encode(MOBILE_TEXT) + b"~>"),
    "asciihex": (b"/ASCIIHexDecode", MOBILE_TEXT.hex().encode() + b">"),
    "lzw": (b"/LZWDecode", lzw(MOBILE_TEXT)),
    "run-length": (b"/RunLengthDecode", bytes([len(MOBILE_TEXT) - 1]) + MOBILE_TEXT + b"\x80"),
    "ascii85-flate": (
        b"[/ASCII85Decode /FlateDecode]",
        base64.a85encode(zlib.compress(MOBILE_TEXT)) + b"~>",
    ),
    "abbreviated-hex-flate": (b"[/AHx /Fl]", zlib.compress(MOBILE_TEXT).hex().encode() + b">"),
}


def pdf_with_stream(filters: bytes, data: bytes) -> bytes:
    return pdf_file(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            4: b"<< /Length %d /Filter %s >>\nstream\n" % (len(data), filters)
            + data
            + b"\nendstream",
        }
    )


@pytest.mark.parametrize("name", list(ENCODED_STREAMS))
def test_the_privacy_gate_decodes_every_text_filter_of_a_pdf(tmp_path, name):
    (tmp_path / "form.pdf").write_bytes(pdf_with_stream(*ENCODED_STREAMS[name]))
    hits = [(h.kind, h.location) for h in scan_release(tmp_path, [])]
    assert ("mobile", "PDF 数据流") in hits and not [h for h in hits if h[0] == "unscannable"]


def test_a_pdf_stream_the_gate_cannot_decode_is_unscannable_and_images_are_skipped(tmp_path):
    (tmp_path / "a.pdf").write_bytes(pdf_with_stream(b"/MadeUpDecode", zlib.compress(MOBILE_TEXT)))
    (tmp_path / "b.pdf").write_bytes(pdf_with_stream(b"/DCTDecode", b"\xff\xd8\xff\xe0JFIF"))
    assert [(h.file, h.kind, h.location) for h in scan_release(tmp_path, [])] == [
        ("a.pdf", "unscannable", "PDF 数据流无法解码（NotImplementedError）")
    ]


def test_a_pdf_with_a_stream_no_filter_decodes_is_refused_as_a_file_not_as_a_release():
    """The privacy gate would refuse the whole release for it (unscannable): validation refuses
    the file instead, and the item keeps its page."""
    assert pdf_problem(pdf_with_stream(b"/MadeUpDecode", zlib.compress(MOBILE_TEXT))) == (
        "PDF 无法检查（数据流无法解码（NotImplementedError）），不提供下载"
    )
    for filters, data in ENCODED_STREAMS.values():
        assert pdf_problem(pdf_with_stream(filters, data)) is None


# ---------------------------------------------------------------- 5. a file named for another type


def test_a_file_whose_name_is_another_types_is_refused_and_its_item_stays(tmp_path):
    export = write_export(tmp_path / "x", [DEPARTMENT], [ITEM])
    files = json.loads((export / "files.json").read_text("utf-8"))
    files[0]["filename"] = "办事指南.html"
    (export / "files.json").write_text(json.dumps(files, ensure_ascii=False), "utf-8")
    reseal(export)
    catalogue, report = validate_export(str(export), limits=None)
    assert [(p.entity, p.record_id, p.field, p.severity) for p in report.problems] == [
        ("files", "F0001", "filename", "error"),
        ("items", IMPL, "materials", "warning"),
    ]
    assert report.problems[0].message == (
        "文件名的扩展名与文件类型 application/pdf 不符（应为 .pdf），不提供下载"
    )
    assert report.problems[0].value == "办事指南.html" and IMPL in catalogue.items


@pytest.mark.parametrize("name", ["申请表.PDF", "照片.jpeg", "照片.JPG"])
def test_an_extension_of_the_files_own_type_passes(name):
    media_type = "application/pdf" if name.endswith("PDF") else "image/jpeg"
    assert extension_problem(media_type, name) is None
    assert extension_problem(media_type, name + ".svg")


def test_nginx_serves_upstream_files_by_the_contracts_types_only(tmp_path):
    """An ``.html`` (or ``.svg``, ``.js``) under /files/ — from a release built before the check,
    or put there by hand — is a download, not a page of the site's origin."""
    files = tmp_path / "site/current/site/files/F1"
    files.mkdir(parents=True)
    (files / "办事指南.html").write_bytes(b"<meta http-equiv=refresh content='0;url=https://e.x/'>")
    (files / "图.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (files / "申请表.pdf").write_bytes(MINIMAL_PDF)
    running = Nginx(tmp_path / "site", free_port(), tmp_path)
    try:
        got = {
            name: through(running.port, "/files/F1/" + quote(name))
            for name in ("办事指南.html", "图.svg", "申请表.pdf")
        }
    finally:
        running.stop()
    assert {name: answer[0] for name, answer in got.items()} == dict.fromkeys(got, 200)
    assert got["办事指南.html"][1]["content-type"] == "application/octet-stream"
    assert got["图.svg"][1]["content-type"] == "application/octet-stream"
    assert got["申请表.pdf"][1]["content-type"] == "application/pdf"
    for _status, headers, _body in got.values():
        assert headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in headers["content-security-policy"]


# ---------------------------------------------------------------- 6. names longer than 255 bytes


def test_a_long_file_name_and_a_long_theme_publish(tmp_path):
    """A file name of 94 characters (274 bytes in UTF-8, within the contract's 200 characters)
    is a file problem; a theme of 66 characters gets a page under a cut slug."""
    long_theme = "关于企业开办和变更登记以及注销登记的全流程一网通办综合服务专题栏目" * 2
    twin_theme = long_theme[:-1] + "页"
    items = [
        item(1, CODE, themes=[long_theme]),
        item(2, CODE, "食品经营许可（变更）", themes=[twin_theme]),
    ]
    forms = {f"F{n:04d}": MINIMAL_PDF for n in range(1, 12)}  # one bad file in 11: under 10%
    export = write_export(tmp_path / "x", [DEPARTMENT], items, files=forms)
    files = json.loads((export / "files.json").read_text("utf-8"))
    files[0]["filename"] = "关于申请食品经营许可的申请书及承诺书" * 5 + ".pdf"
    (export / "files.json").write_text(json.dumps(files, ensure_ascii=False), "utf-8")
    reseal(export)
    site = tmp_path / "site"
    result = run_build(BuildOptions(export=str(export), site_dir=site))
    problem = next(p for p in result.report.problems if p.entity == "files")
    assert (problem.record_id, problem.field) == ("F0001", "filename")
    assert problem.message.startswith("文件名过长：274 字节（UTF-8）")
    pages = sorted(p.name for p in (site / "current/site/themes").glob("*.html"))
    assert len(pages) == 3 and "index.html" in pages  # two themes, two pages
    assert all(len(name.encode()) <= 90 for name in pages)


def test_a_slug_is_cut_with_a_hash_of_the_whole_text():
    long = "关于企业开办和变更登记以及注销登记的全流程一网通办综合服务专题栏目" * 2
    slug = pinyin_slug(long)
    assert len(slug) <= MAX_SLUG_CHARS and slug.startswith("guan-yu-qi-ye-kai-ban")
    assert slug != pinyin_slug(long[:-1] + "页") and slug == pinyin_slug(long)
    assert pinyin_slug("食品经营许可") == "shi-pin-jing-ying-xu-ke"


# ---------------------------------------------------------------- 7. a bomb inside a DOCX member


def docx_with(name: str, member: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr(name, member)
    return buffer.getvalue()


def test_a_gzip_member_inflating_past_the_ratio_is_refused():
    """80 MiB from some 80 KiB: under the whole file's 128 MiB, but 1000:1."""
    data = docx_with("word/media/blob.gz", gzip.compress(bytes(80 << 20), 9))
    assert len(data) < 200_000
    problem = zip_problem(data)
    assert problem and problem.startswith(
        "压缩文件被拒绝：成员 'word/media/blob.gz' 压缩比超过上限"
    )


def test_a_gzip_member_inflating_past_the_member_cap_is_refused():
    """65 MiB at about 70:1: each ratio below the cap, the size above a member's 64 MiB."""
    rng = random.Random(13)
    block = b"".join(rng.randbytes(16) + bytes(1008) for _ in range(64))
    inner = gzip.compress(block * (65 * 16), 1)
    assert 1 < (65 << 20) / len(inner) < 200
    problem = zip_problem(docx_with("word/media/blob.gz", inner))
    assert problem == ("压缩文件被拒绝：成员 'word/media/blob.gz' 解压后超过上限 67108864 字节")


# ---------------------------------------------------------------- 8. a file id "..", invisibles


def test_a_file_id_of_dots_is_one_bad_file_record(tmp_path):
    forms = {"F0001": MINIMAL_PDF, "..": MINIMAL_PDF, ".hidden": MINIMAL_PDF}
    export = write_export(tmp_path / "x", [DEPARTMENT], [ITEM], files=forms)
    catalogue, report = validate_export(str(export), limits=None)
    by_id = [(p.entity, p.record_id, p.value) for p in report.problems if p.field == "file_id"]
    assert by_id == [("files", "..", ".."), ("files", ".hidden", ".hidden")]
    assert {p.record_id for p in report.problems} == {"..", ".hidden"}  # no export error
    assert report.problems[0].message.startswith("文件编号不能以 . 开头")
    assert set(catalogue.files) == {"F0001"} and IMPL in catalogue.items


INVISIBLES = {
    "zero-width space": "\u200b",
    "tag characters": "\U000e0041\U000e0042",
    "soft hyphen": "\u00ad",
    "Hangul filler": "\u3164",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "halfwidth Hangul filler": "\uffa0",
    "grapheme joiner": "\u034f",
    "variation selector": "\ufe0f",
    "variation selector 1": "\ufe00",
    "Mongolian selector": "\u180b",
}


@pytest.mark.parametrize("name", list(INVISIBLES))
def test_invisible_characters_are_removed_from_names_and_refused_in_file_names(tmp_path, name):
    hidden = INVISIBLES[name]
    odd = item(1, CODE, f"食品{hidden}经营许可", aliases=[hidden, f"开{hidden}饭店"])
    nothing = item(2, CODE, hidden)
    export = write_export(tmp_path / "x", [DEPARTMENT], [odd, nothing])
    files = json.loads((export / "files.json").read_text("utf-8"))
    files[0]["filename"] = f"申请书{hidden}.pdf"
    (export / "files.json").write_text(json.dumps(files, ensure_ascii=False), "utf-8")
    reseal(export)
    catalogue, report = validate_export(str(export), limits=None)
    kept = catalogue.items[odd["impl_code"]]
    assert (kept.name, kept.aliases) == ("食品经营许可", ["开饭店"])
    found = {(p.record_id, p.field, p.severity) for p in report.problems}
    assert {
        (odd["impl_code"], "name", "warning"),
        (odd["impl_code"], "aliases.0", "warning"),  # dropped: the item stays
        (nothing["impl_code"], "name", "error"),  # a name of nothing but this is no name
        ("F0001", "filename", "error"),
    } <= found
    dropped = next(p for p in report.problems if p.field == "aliases.0")
    assert dropped.message == "为空或只含不可见字符，已删除此项"


# ---------------------------------------------------------------- 9. a night of invalid cases


def test_a_night_whose_cases_are_all_invalid_is_refused(tmp_path):
    cases = [
        case(f"C{n}", IMPL, CODE, f"2025-09-{n % 28 + 1:02d}T10:00", channel="wechat")
        for n in range(25)
    ]
    site = tmp_path / "site"
    with pytest.raises(ExportBroken) as refused:
        run_build(BuildOptions(export=str(cases_export(tmp_path / "x", cases)), site_dir=site))
    assert str(refused.value) == (
        "cases: 25 / 25 条办件无效（100%，上限 10%），拒绝发布。原因：\n"
        "  channel: 不是允许的代码值：25 条"
    )
    assert not (site / "current").exists()
