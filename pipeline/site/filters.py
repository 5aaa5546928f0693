"""Jinja filters of the theme (declared in pelicanconf's JINJA_FILTERS for every generator)."""

from __future__ import annotations

from typing import Any

from pipeline.labels import format_limit, label


def format_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


FILE_KIND = {
    "application/pdf": "PDF",
    "application/msword": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.oasis.opendocument.text": "ODT",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
}


def material_meta(material: Any) -> str:
    """ "2 份 · 纸质 · 申请人自备 · 证照": copies, medium, source and kind, those given."""
    source = material.source
    parts = [
        f"{material.copies} 份" if material.copies else "",
        label(material.medium),
        label(source) + ("（可通过数据共享免于提交）" if source.value == "government" else "")
        if source
        else "",
        label(material.kind),
    ]
    return " · ".join(part for part in parts if part)


JINJA_FILTERS = {
    "material_meta": material_meta,
    "label": label,
    "limit": format_limit,
    "filesize": format_bytes,
    "filekind": lambda media_type: FILE_KIND.get(media_type, media_type),
}
