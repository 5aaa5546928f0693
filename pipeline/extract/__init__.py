"""Extract: read an export from a folder or from the export API.

Both sources yield the same :class:`RawRecord` stream, so everything after extract is
source-blind. Sources stream: list files and pages are read one record at a time where the
layout allows it (``items/*.json``, ``cases/*.jsonl``, HTTP pages).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class RawRecord:
    """One upstream record before validation. ``where`` says where it came from
    (``items.json[12]``, ``/v1/items page 3 #4``) for problem reports."""

    entity: str
    where: str
    data: Any


class ExportSource(Protocol):
    """What the pipeline needs from an export, wherever it lives."""

    description: str

    def read_manifest(self) -> dict[str, Any]:
        """The raw manifest mapping (validated by the caller)."""
        ...

    def iter_records(self, entity: str) -> Iterator[RawRecord]:
        """Every record of ``entity`` (departments, items, life_events, files, cases,
        evaluations) in export order. An entity the export does not carry yields nothing.
        Raises ExportBroken for unreadable or truncated data."""
        ...

    def fetch_file(self, file_id: str, extension: str) -> bytes:
        """The bytes of one file (``files/<file_id><extension>`` or ``/v1/files/{id}``).
        Raises ExportBroken when it is missing."""
        ...

    def verify_checksums(self, manifest_sha256: dict[str, str]) -> list[str]:
        """Compare the manifest's checksums with what the source holds; return one message per
        mismatch or missing file (empty list when all match). HTTP sources, which have no files
        for list entities, check what they can (file bytes) and return the rest as fine."""
        ...


def open_source(location: str, **options: Any) -> ExportSource:
    """A folder path or an ``http(s)://`` base URL → the matching source."""
    if location.startswith(("http://", "https://")):
        from pipeline.extract.http import HttpSource

        return HttpSource(location, **options)
    from pipeline.extract.folder import FolderSource

    return FolderSource(location)
