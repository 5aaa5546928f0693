"""View models and pages of the changelog: a page per release, an item history per item, feeds.
Called by the site generator with itself (``write(path, template, **values)``, ``write_raw``)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline.history.changelog import aspects
from pipeline.site.describe import EVENT_WORDS, describe, describe_schema
from pipeline.site.feeds import write_feeds
from pipeline.site.item_links import ItemLinks, invalid_item_codes

KIND_ORDER = ("added", "abolished", "removed", "changed")


def load_changelog(data: Path) -> dict[str, Any] | None:
    path = data / "history" / "changelog.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def event_view(event: dict[str, Any]) -> dict[str, Any]:
    return {
        **event,
        "word": EVENT_WORDS[event["kind"]],
        "aspects": aspects(event),
        "lines": [describe(c) for c in event["changes"]],
    }


def entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    events = [event_view(e) for e in entry["items"]]
    groups = [
        (kind, EVENT_WORDS[kind], [e for e in events if e["kind"] == kind]) for kind in KIND_ORDER
    ]
    return {
        **entry,
        "groups": [g for g in groups if g[2]],
        "schema_lines": [describe_schema(c) for c in entry["schema"]],
    }


def item_histories(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Implementation code → its events, newest first, each with its release."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in reversed(entries):
        for event in entry["items"]:
            out[event["impl_code"]].append({"entry": entry, **event_view(event)})
    return out


def first_seen(entries: list[dict[str, Any]], history: list[dict[str, Any]]) -> dict[str, Any]:
    """When the item first appeared: the release that added it, else the first one logged."""
    added = [h for h in history if h["kind"] == "added"]
    if added:
        return {"version": added[-1]["entry"]["version"], "exact": True}
    first = entries[0]
    if first["baseline"]:
        return {"version": first["version"], "exact": True}
    return {"version": first["previous"]["version"], "exact": False}


def archived_ids(entries: list[dict[str, Any]], dated: set[str]) -> set[str]:
    """The entries whose files are in a dated folder: the last release of each day kept."""
    last = {e["version"]: e["id"] for e in entries}
    return {entry_id for version, entry_id in last.items() if version in dated}


class ItemHistories:
    """Each item's history page; written with the item's own page (in the render processes)."""

    def __init__(self, entries: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.histories = item_histories(entries)
        self.archived = archived_ids(entries, {r["version"] for r in releases})

    def write(self, generator: Any, item: Any) -> None:
        history = self.histories.get(item.impl_code, [])
        generator.write(
            f"changes/items/{item.impl_code}.html",
            "item_history",
            item=item,
            history=history,
            first=first_seen(self.entries, history),
            archived=self.archived,
        )


def item_links(release: Any, base: str) -> ItemLinks:
    """Links to this release's items (URLs from ``base``); any other item is named as text."""
    return ItemLinks(frozenset(release.items), base, invalid_item_codes(release.quality))


def write_history_pages(generator: Any, base_url: str, releases: list[dict[str, Any]]) -> None:
    """A page per release and the feeds (the items' history pages: ``ItemHistories``). They
    name items of earlier releases: links to items go through ``ItemLinks``."""
    changelog = load_changelog(generator.release.root)
    if changelog is None:
        return
    entries = changelog["entries"]
    archived = archived_ids(entries, {r["version"] for r in releases})
    links = item_links(generator.release, generator.settings.get("SITEURL", ""))
    for entry in entries:
        generator.write(
            f"changes/{entry['id']}.html",
            "change",
            entry=entry_view(entry),
            archived=archived,
            items=links,
        )
    names = {d.code: d.name for d in generator.release.departments.values()}
    write_feeds(
        generator.write_raw,
        changelog,
        base_url,
        names,
        item_links(generator.release, base_url),
        generator.settings.get("SITENAME", "公开审批"),
    )


def changelog_views(data: Path) -> list[dict[str, Any]]:
    """Every release's entry, newest first (for the release index)."""
    changelog = load_changelog(data)
    return [entry_view(e) for e in reversed(changelog["entries"])] if changelog else []
