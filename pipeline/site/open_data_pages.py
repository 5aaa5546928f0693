"""The open-data pages: the datasets page, the release index, and (through pipeline.history) the
change pages, item histories and feeds. Called once by the site generator with itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.datasets.run import load_summary
from pipeline.site.history_pages import (
    ItemHistories,
    archived_ids,
    changelog_views,
    load_changelog,
    write_history_pages,
)

LATEST = "/data/latest/"


def item_histories_of(data: Path) -> ItemHistories | None:
    """The writer of the items' history pages, when the release has datasets and a changelog."""
    summary, changelog = load_summary(data), load_changelog(data)
    if summary is None or changelog is None:
        return None
    return ItemHistories(changelog["entries"], summary["releases"])


def write_open_data_pages(generator: Any) -> None:
    summary = load_summary(generator.release.root)
    if summary is None:
        return
    anonymisation = (generator.release.outcomes or {}).get("anonymisation")
    generator.write(
        "datasets.html", "datasets", datasets=summary, latest=LATEST, anonymisation=anonymisation
    )
    changelog = load_changelog(generator.release.root) or {"entries": []}
    generator.write(
        "releases.html",
        "releases",
        datasets=summary,
        entries=changelog_views(generator.release.root),
        archived=archived_ids(changelog["entries"], {r["version"] for r in summary["releases"]}),
    )
    write_history_pages(generator, summary["base_url"], summary["releases"])
