"""The history stage of a build: this release's data against the live release's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.datasets.schema import signature
from pipeline.datasets.tables import tables_in
from pipeline.history.changelog import previous_signature, record_history
from pipeline.release.data import RecordsView, ReleaseData


def run_history(
    data: Path, live: Path | None, release: ReleaseData | None = None
) -> dict[str, Any]:
    """Write ``data/history/{changes,changelog}.json``; ``live`` is the live release folder (its
    ``data/`` is the previous release, its published datapackage.json the previous schema)."""
    previous = live / "data" if live and (live / "data" / "manifest.json").is_file() else None
    items = RecordsView(release.items) if release is not None else None
    return record_history(
        data, previous, previous_signature(live), signature(tables_in(data)), items
    )
