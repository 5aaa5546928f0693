"""The folders of a release, named once: ``releases/<id>/`` holds ``data/`` (the release data),
``site/`` (the published site, datasets under ``site/data/``), ``search/`` (the server index,
its documents and the related items the item pages show) and ``state/`` (the accumulated case
store, never published). Outputs that read another output's file find it here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = "data"
SITE_DIR = "site"
SEARCH_DIR = "search"
STATE_DIR = "state"
RELATED = "related.json"


def search_dir(release: Path) -> Path:
    return release / SEARCH_DIR


def read_related(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The related items written by the search step ({} when the release has none)."""
    path = folder / RELATED
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
