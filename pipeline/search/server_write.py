"""Writing the server index: the search documents → ``search/whoosh/`` and ``search/index.json``.

The index lives in the release (``search/whoosh/``) next to ``search/index.json`` (what was
indexed, and how). :func:`build_server_index` updates a copy of the previous release's index:
only documents whose fingerprint changed are re-indexed. It is written deterministically: Whoosh
names segments at random (the generator is seeded from the documents' fingerprints), stores file
times in compound files (not used) and zlib-compresses posting blocks (not used either:
:func:`~pipeline.search.server_index.codec`).

The writer is :func:`pipeline.search.whoosh_fast.writer`: a faster subclass of Whoosh's on the
Whoosh versions it was checked against, Whoosh's own on any other (the same files).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from whoosh import index

from pipeline.search import whoosh_fast
from pipeline.search.documents import SearchDocument
from pipeline.search.server_index import INDEX_DIR, INDEX_META, SCHEMA_VERSION, make_schema
from pipeline.search.synonyms import Synonyms
from pipeline.search.text import base_name, normalise

logger = logging.getLogger(__name__)


def document_fields(document: SearchDocument) -> dict[str, Any]:
    """A search document as the index's fields."""
    values: dict[str, Any] = {
        "key": document.key,
        "kind": document.kind,
        "name": document.name,
        "aliases": "，".join(document.aliases),
        "keywords": "，".join(document.keywords),
        "body": document.body,
        "exact_name": "\n".join(
            dict.fromkeys([normalise(document.name), normalise(base_name(document.name))])
        ),
        "exact_alias": "\n".join(normalise(a) for a in (*document.aliases, *document.keywords)),
        "pinyin": " ".join(document.pinyin),
        "audience": ",".join(document.audiences),
        "fingerprint": document.fingerprint,
        "document": document.as_dict(),
    }
    for key, filter_values in document.filters.items():
        if key != "audience":
            values[key] = filter_values[0]
    return {k: v for k, v in values.items() if v != ""}


@dataclass
class IndexStats:
    mode: str  # "full" or "incremental"
    documents: int
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def reindexed(self) -> int:
        return self.added + self.updated


@contextmanager
def _seeded(documents: list[SearchDocument], previous: str = "") -> Iterator[None]:
    """Whoosh draws segment names from ``random``: seed it from the documents (and the previous
    index) for the write, then give the program its own random state back."""
    digest = hashlib.sha256(previous.encode())
    for document in documents:
        digest.update(document.fingerprint.encode())
    state = random.getstate()
    random.seed(digest.hexdigest())
    try:
        yield
    finally:
        random.setstate(state)


def _write_meta(folder: Path, stats: IndexStats, synonyms: Synonyms) -> None:
    meta = {
        "schema_version": SCHEMA_VERSION,
        "stats": asdict(stats),
        "synonyms": synonyms.as_dict(),
    }
    (folder / INDEX_META).write_text(
        json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def _previous_usable(previous: Path | None) -> bool:
    if previous is None or not (previous / INDEX_DIR).is_dir():
        return False
    try:
        meta = json.loads((previous / INDEX_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("schema_version") == SCHEMA_VERSION and index.exists_in(
        str(previous / INDEX_DIR)
    )


def _full(documents: list[SearchDocument], target: Path, whoosh_version: str | None) -> IndexStats:
    target.mkdir(parents=True)
    ix = index.create_in(str(target), make_schema())
    with _seeded(documents):
        writer = whoosh_fast.writer(ix, whoosh_version)
        for document in documents:
            writer.add_document(**document_fields(document))
        writer.commit(optimize=True)
    return IndexStats("full", len(documents), added=len(documents))


def _incremental(
    documents: list[SearchDocument], previous: Path, target: Path, whoosh_version: str | None
) -> IndexStats:
    shutil.copytree(previous, target)
    ix = index.open_dir(str(target))
    with ix.searcher() as searcher:
        old = {f["key"]: f["fingerprint"] for f in searcher.all_stored_fields()}
    new = {d.key: d for d in documents}
    changed = [d for d in documents if old.get(d.key) != d.fingerprint]
    removed = sorted(set(old) - set(new))
    stats = IndexStats(
        "incremental",
        len(documents),
        added=sum(d.key not in old for d in changed),
        updated=sum(d.key in old for d in changed),
        deleted=len(removed),
        unchanged=len(documents) - len(changed),
    )
    if not changed and not removed:
        return stats
    toc = "".join(sorted(p.name for p in target.iterdir()))
    with _seeded(changed, previous=toc + "".join(removed)):
        writer = whoosh_fast.writer(ix, whoosh_version)
        for key in removed + [d.key for d in changed if d.key in old]:
            writer.delete_by_term("key", key)
        for document in changed:
            writer.add_document(**document_fields(document))
        writer.commit()
    return stats


def build_server_index(
    documents: list[SearchDocument],
    folder: Path,
    synonyms: Synonyms,
    previous: Path | None = None,
    whoosh_version: str | None = None,
) -> IndexStats:
    """Write ``folder/whoosh`` and ``folder/index.json``; start from ``previous`` (the live
    release's search folder) when its index has the same schema. ``whoosh_version``: the Whoosh
    to write for (default: the installed one; see :mod:`pipeline.search.whoosh_fast`)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / INDEX_DIR
    if target.exists():
        shutil.rmtree(target)
    if _previous_usable(previous):
        assert previous is not None
        stats = _incremental(documents, previous / INDEX_DIR, target, whoosh_version)
    else:
        stats = _full(documents, target, whoosh_version)
    _write_meta(folder, stats, synonyms)
    logger.info("search index: %s", stats)
    return stats
