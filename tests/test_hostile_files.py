"""Hostile files in an export (#13): ZIP bombs dressed as DOCX, PDFs that run code. Each is
refused with a problem naming it; its item keeps its page, without the download."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build, validate_export
from tests.fixtures import MINIMAL_PDF, department, item, write_export

DEPARTMENT = department(1, "上海市宝山区市场监督管理局")
CODE = DEPARTMENT["code"]
ITEM = item(1, CODE)
MAX_MEMBERS, MAX_TOTAL_BYTES = 2_000, 128 << 20  # pipeline.validate.archives
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx(*members: tuple[str, bytes], level: int = 1) -> bytes:
    """A DOCX (as far as type sniffing goes) with ``members`` besides its document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>申请表</w:document>")
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def export_with_file(root: Path, data: bytes, media_type: str = DOCX, ext: str = ".docx") -> Path:
    others = {f"F{n:04d}": MINIMAL_PDF for n in range(2, 12)}  # one bad file in 11: under 10%
    export = write_export(root, [DEPARTMENT], [ITEM], files={"F0001": data, **others})
    files = json.loads((export / "files.json").read_text("utf-8"))
    files[0].update(media_type=media_type, filename=f"申请表{ext}")
    (export / "files.json").write_text(json.dumps(files, ensure_ascii=False), "utf-8")
    (export / "files" / "F0001.pdf").rename(export / "files" / f"F0001{ext}")
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["sha256"] = {
        p.relative_to(export).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(export.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return export


def file_problems(export: Path) -> list:
    _, report = validate_export(str(export), limits=None)
    problems = [(p.entity, p.record_id, p.field, p.severity) for p in report.problems]
    assert problems == [
        ("files", "F0001", "content", "error"),
        ("items", ITEM["impl_code"], "materials", "warning"),  # the item stays, without it
    ]
    return report.problems[0].message


def lying_sizes(data: bytes, member: str, size: int) -> bytes:
    """``data`` with ``member``'s uncompressed size rewritten to ``size`` in both headers, as a
    hand-made bomb declares a small size for a huge stream."""
    name = member.encode()
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    while local >= 0:
        if out[local + 30 : local + 30 + len(name)] == name:
            out[local + 22 : local + 26] = struct.pack("<I", size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        if out[central + 46 : central + 46 + len(name)] == name:
            out[central + 24 : central + 28] = struct.pack("<I", size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


# ------------------------------------------------------------------ ZIP / OOXML


def test_a_docx_inflating_to_256_mib_is_refused_and_its_item_stays(tmp_path):
    bomb = docx(("word/media/image1.png", bytes(256 << 20)))
    assert len(bomb) < 2 << 20
    export = export_with_file(tmp_path / "export", bomb)
    message = file_problems(export)
    assert "word/media/image1.png" in message and "268435456 字节，超过上限" in message
    site = tmp_path / "site"
    run_build(BuildOptions(export=str(export), site_dir=site))
    page = (site / f"current/site/items/{ITEM['impl_code']}.html").read_text("utf-8")
    assert "申请书" in page and "/files/F0001/" not in page
    assert not (site / "current/site/files").exists() or not any(
        (site / "current/site/files").rglob("*.docx")
    )


def test_a_member_lying_about_its_size_is_refused(tmp_path):
    bomb = lying_sizes(
        docx(("word/media/image1.png", bytes(32 << 20))), "word/media/image1.png", 1000
    )
    message = file_problems(export_with_file(tmp_path / "export", bomb))
    assert "word/media/image1.png" in message and "已损坏" in message


def test_a_highly_compressed_member_is_refused(tmp_path):
    message = file_problems(
        export_with_file(tmp_path / "export", docx(("word/media/a.bin", bytes(8 << 20))))
    )
    assert "压缩比" in message and "超过上限 200:1" in message


def test_too_many_members_are_refused(tmp_path):
    members = [(f"word/m{n}.xml", b"") for n in range(MAX_MEMBERS)]
    message = file_problems(export_with_file(tmp_path / "export", docx(*members)))
    assert f"成员过多（{MAX_MEMBERS + 2} 个，上限 {MAX_MEMBERS}）" in message


def test_the_total_inflated_size_is_capped_nested_containers_included(tmp_path):
    """Three 50 MiB members, each compressed ~35:1 (under every per-member cap), one of them
    inside an embedded XLSX: 150 MiB in all."""
    part = os.urandom(50 << 20).translate(bytes(98 if i < 2 else 97 for i in range(256)))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", part)
    data = docx(
        ("word/a.xml", part), ("word/b.xml", part), ("word/embeddings/x.xlsx", inner.getvalue())
    )
    message = file_problems(export_with_file(tmp_path / "export", data))
    assert f"解压后总大小超过上限 {MAX_TOTAL_BYTES} 字节（至 word/embeddings/x.xlsx" in message


def test_an_ordinary_docx_with_an_embedded_workbook_passes(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>" * 1000)
    data = docx(("word/embeddings/x.xlsx", inner.getvalue()), ("word/styles.xml", "<s/>" * 50_000))
    catalogue, report = validate_export(str(export_with_file(tmp_path / "export", data)))
    assert "F0001" in catalogue.files and not report.problems


# ------------------------------------------------------------------ PDF


def pdf(*objects: bytes, trailer: bytes = b"<</Root 1 0 R>>") -> bytes:
    body = b"%PDF-1.7\n"
    for number, content in enumerate(objects, start=1):
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    return body + b"trailer\n" + trailer + b"\n%%EOF\n"


def object_stream(*objects: bytes, first_number: int = 10) -> bytes:
    """An object stream (``/Type /ObjStm``, Flate) holding ``objects`` numbered from
    ``first_number``."""
    offsets, body = [], b""
    for content in objects:
        offsets.append(len(body))
        body += content + b"\n"
    index = b" ".join(b"%d %d" % (first_number + n, o) for n, o in enumerate(offsets)) + b"\n"
    data = zlib.compress(index + body)
    return (
        b"<</Type/ObjStm/N %d/First %d/Length %d/Filter/FlateDecode>>\nstream\n"
        % (len(objects), len(index), len(data))
        + data
        + b"\nendstream"
    )


PAGES = b"<</Type/Pages/Kids[]/Count 0>>"
HOSTILE_PDFS = {
    "javascript": pdf(b"<</Type/Catalog/Pages 2 0 R/Names<</JavaScript 3 0 R>>>>", PAGES, b"<<>>"),
    "open-action-js": pdf(
        b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>", PAGES
    ),
    "open-action-print": pdf(
        b"<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>", PAGES, b"<</S/Named/N/Print>>"
    ),
    "additional-actions": pdf(b"<</Type/Catalog/Pages 2 0 R/AA<</WC 3 0 R>>>>", PAGES, b"<<>>"),
    "launch": pdf(b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/Launch/F(cmd.exe)>>>>", PAGES),
    "embedded-file": pdf(
        b"<</Type/Catalog/Pages 2 0 R>>",
        PAGES,
        b"<</Type/EmbeddedFile/Length 2>>\nstream\nMZ\nendstream",
    ),
    "escaped-name": pdf(
        b"<</Type/Catalog/Pages 2 0 R/Names<</J#61vaScript 3 0 R>>>>", PAGES, b"<<>>"
    ),
    "inside-object-stream": pdf(
        b"<</Type/Catalog/Pages 2 0 R/OpenAction 10 0 R>>",
        PAGES,
        object_stream(b"<</S/JavaScript/JS(app.launchURL('https://evil.example'))>>"),
    ),
    "unreadable-object-stream": pdf(
        b"<</Type/Catalog/Pages 2 0 R>>",
        PAGES,
        b"<</Type/ObjStm/N 1/First 4/Filter/LZWDecode/Length 3>>\nstream\nabc\nendstream",
    ),
}


def pdf_export(tmp_path: Path, data: bytes) -> Path:
    return export_with_file(tmp_path / "export", data, "application/pdf", ".pdf")


@pytest.mark.parametrize("name", list(HOSTILE_PDFS))
def test_a_pdf_with_active_content_is_refused(tmp_path, name):
    message = file_problems(pdf_export(tmp_path, HOSTILE_PDFS[name]))
    assert message.startswith(("PDF 含有活动内容（/", "PDF 无法检查（")), message


def test_the_refusal_names_what_was_found(tmp_path):
    assert file_problems(pdf_export(tmp_path, HOSTILE_PDFS["open-action-js"])) == (
        "PDF 含有活动内容（/JS、/JavaScript、/OpenAction），不提供下载——请上游导出不含脚本、自动动作和附件的 PDF"
    )


BENIGN_PDFS = {
    "minimal": MINIMAL_PDF,
    "open-at-page": pdf(
        b"<</Type/Catalog/Pages 2 0 R/OpenAction[3 0 R/FitH null]>>", PAGES, b"<<>>"
    ),
    "hyperref-goto-in-object-stream": pdf(
        b"<</Type/Catalog/Pages 2 0 R/OpenAction 10 0 R>>",
        PAGES,
        object_stream(b"<< /S /GoTo /D [3 0 R /Fit] >>"),
    ),
    "image-bytes-spelling-js": pdf(
        b"<</Type/Catalog/Pages 2 0 R>>",
        PAGES,
        b"<</Type/XObject/Subtype/Image/Filter/DCTDecode/Length 12>>\nstream\n\xff\xd8/JS /AA \xff\xd9\nendstream",
    ),
}


@pytest.mark.parametrize("name", list(BENIGN_PDFS))
def test_an_ordinary_pdf_passes(tmp_path, name):
    catalogue, report = validate_export(str(pdf_export(tmp_path, BENIGN_PDFS[name])))
    assert "F0001" in catalogue.files and not report.problems
