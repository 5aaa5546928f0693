"""The build's search steps (see ``pipeline/build.py``'s STEPS).

``search_index`` runs after the release data is written and before the site is rendered: it
makes the documents, updates the server index from the live release's and writes the related
items that the item pages show. ``browser_search_index`` runs after the site is rendered and
writes Pagefind's bundle into it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from pipeline.canonical_json import dump_json
from pipeline.release.layout import RELATED, search_dir
from pipeline.search.documents import ITEM, SearchDocument, build_documents
from pipeline.search.synonyms import load_synonyms

logger = logging.getLogger(__name__)

DOCUMENTS = "documents.json"
RELATED_COUNT = 5


def write_documents(folder: Path, documents: list[SearchDocument]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DOCUMENTS).write_text(dump_json([d.as_dict() for d in documents]), encoding="utf-8")


def read_documents(folder: Path) -> list[SearchDocument]:
    records = json.loads((folder / DOCUMENTS).read_text(encoding="utf-8"))
    return [SearchDocument.from_dict(r) for r in records]


def related_items(folder: Path, documents: list[SearchDocument]) -> dict[str, list[dict[str, Any]]]:
    """impl_code → up to five related items (key, name, url), from the server index."""
    from pipeline.search.server_query import ServerIndex

    by_key = {d.key: d for d in documents}
    related: dict[str, list[dict[str, Any]]] = {}
    with ServerIndex(folder) as index:
        for document in documents:
            if document.kind == ITEM:
                related[document.key] = [
                    {"key": k, "name": by_key[k].name, "url": by_key[k].url}
                    for k in index.related_keys(document.key, RELATED_COUNT)
                ]
    return related


def build_search(
    data: Path,
    release: Path,
    live: Path | None,
    synonyms_file: Path | None = None,
    release_data: Any = None,
) -> dict[str, Any]:
    """Documents → server index (incremental from ``live``) → related items. Returns timings
    and what the index update did. ``release_data``: the release data of ``data`` in memory."""
    from pipeline.search.server_write import build_server_index

    folder, timings = search_dir(release), {}
    started = time.perf_counter()
    synonyms = load_synonyms(synonyms_file)
    documents = build_documents(data, synonyms, release_data)
    write_documents(folder, documents)
    timings["documents"] = time.perf_counter() - started
    previous = search_dir(live) if live else None
    stats = build_server_index(documents, folder, synonyms, previous)
    timings["server_index"] = time.perf_counter() - started - timings["documents"]
    (folder / RELATED).write_text(dump_json(related_items(folder, documents)), encoding="utf-8")
    timings["related"] = (
        time.perf_counter() - started - timings["documents"] - timings["server_index"]
    )
    logger.info("search: %s, %s", stats, {k: round(v, 3) for k, v in timings.items()})
    return {"stats": stats, "timings": timings}


def build_browser_search(release: Path, site: Path) -> Path:
    from pipeline.search.pagefind.index import build_browser_index

    return build_browser_index(read_documents(search_dir(release)), site)


def step_search_index(ctx: Any) -> None:
    """Build step: documents, server index and related items (before the site is rendered)."""
    build_search(ctx.data, ctx.staging, ctx.live, release_data=ctx.release)


def step_browser_search_index(ctx: Any) -> None:
    """Build step: the Pagefind bundle inside the rendered site."""
    build_browser_search(ctx.staging, ctx.site)
