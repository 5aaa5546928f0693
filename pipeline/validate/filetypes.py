"""Check a file's type by its content, not by its name or the upstream's word for it."""

from __future__ import annotations

import io
import zipfile

from pipeline.contract.models import ALLOWED_MEDIA_TYPES
from pipeline.validate.archives import zip_problem
from pipeline.validate.pdf import pdf_problem

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXTENSIONS: dict[str, tuple[str, ...]] = {
    **{media_type: (extension,) for media_type, extension in ALLOWED_MEDIA_TYPES.items()},
    "image/jpeg": (".jpg", ".jpeg"),
}
"""The file-name extensions of each type (compared in lower case). A file is served by its name's
extension: ``申请表.html`` holding a PDF would be a page of the site's own origin."""


def extension_problem(media_type: str, filename: str) -> str | None:
    """Why ``filename`` may not carry a file of ``media_type`` (its extension is another
    type's, or none), or None."""
    allowed = EXTENSIONS[media_type]
    if filename.lower().endswith(allowed):
        return None
    shown = " 或 ".join(allowed)
    return f"文件名的扩展名与文件类型 {media_type} 不符（应为 {shown}），不提供下载"


def _zip_names(data: bytes) -> set[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist())
    except zipfile.BadZipFile:
        return set()


def sniff_media_type(data: bytes) -> str | None:
    """The media type the bytes really are, among those the contract allows; None if none."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(OLE_MAGIC):
        return "application/x-ole-storage"  # DOC or XLS: matched against either below
    if data.startswith(b"PK\x03\x04"):
        names = _zip_names(data)
        if "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        if "xl/workbook.xml" in names:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if "mimetype" in names and "content.xml" in names:
            return "application/vnd.oasis.opendocument.text"
    return None


def content_matches(declared: str, data: bytes) -> bool:
    sniffed = sniff_media_type(data)
    if sniffed == "application/x-ole-storage":
        return declared in ("application/msword", "application/vnd.ms-excel")
    return sniffed == declared


def unsafe_content(media_type: str, data: bytes) -> str | None:
    """Why a file of a matching type may still not be published: a PDF with active content, a
    ZIP-based document that inflates past the caps. None when it may."""
    if media_type == "application/pdf":
        return pdf_problem(data)
    if data.startswith(b"PK\x03\x04"):
        return zip_problem(data)
    return None
