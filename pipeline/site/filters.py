"""Jinja filters of the theme (declared in pelicanconf's JINJA_FILTERS for every generator)."""

from __future__ import annotations

from pipeline.labels import label
from pipeline.models import Limit


def format_limit(limit: Limit | None) -> str:
    if limit is None:
        return ""
    if limit.value == 0:
        return "即时办结"
    value = int(limit.value) if limit.value == limit.value.to_integral_value() else limit.value
    return f"{value} {label(limit.unit)}"


def format_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


FILE_KIND = {
    "application/pdf": "PDF", "application/msword": "Word", "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.oasis.opendocument.text": "ODT", "image/jpeg": "JPEG", "image/png": "PNG",
}


JINJA_FILTERS = {
    "label": label,
    "limit": format_limit,
    "filesize": format_bytes,
    "filekind": lambda media_type: FILE_KIND.get(media_type, media_type),
}
