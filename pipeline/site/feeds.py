"""Atom feeds (RFC 4287) of the changelog: every change, and one feed per department. An entry is
one item's change in one release; its time is the release's export time, never the build's."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pipeline.history.changelog import aspects
from pipeline.site.describe import describe, describe_schema, event_title
from pipeline.site.item_links import ItemLinks

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 200
ET.register_namespace("", ATOM)


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    updated: str
    link: str
    content: str
    department_code: str | None


def tag(base_url: str, version: str, specific: str) -> str:
    """A tag: URI (RFC 4151) — stable, unique, and not a URL that may move."""
    return f"tag:{urlsplit(base_url).hostname or 'localhost'},{version[:10]}:{specific}"


def html_list(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def item_entry(entry: dict, event: dict, base_url: str, items: ItemLinks) -> FeedEntry:
    """The item's change history when it is in this release, else its line on the change page."""
    code = event["impl_code"]
    link = items.href(code, "history") or f"{base_url}/changes/{entry['id']}.html#{code}"
    lines = [describe(c) for c in event["changes"]] or [event_title(event, [])]
    return FeedEntry(
        tag(base_url, entry["version"], f"changes/{entry['id']}/{code}"),
        event_title(event, aspects(event)),
        entry["exported_at"],
        link,
        html_list(lines),
        event["department_code"],
    )


def schema_entry(entry: dict, base_url: str) -> FeedEntry:
    return FeedEntry(
        tag(base_url, entry["version"], f"changes/{entry['id']}/schema"),
        "【数据结构变更】开放数据的表或字段有变化",
        entry["exported_at"],
        f"{base_url}/changes/{entry['id']}.html#schema",
        html_list([describe_schema(c) for c in entry["schema"]]),
        None,
    )


def feed_entries(entries: list[dict], base_url: str, items: ItemLinks) -> Iterator[FeedEntry]:
    """Newest release first; within a release, in implementation-code order."""
    for entry in reversed(entries):
        if entry["schema"]:
            yield schema_entry(entry, base_url)
        for event in entry["items"]:
            yield item_entry(entry, event, base_url, items)


def sub(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
    element.text = text
    return element


def atom(
    title: str,
    feed_url: str,
    page_url: str,
    feed_id: str,
    entries: list[FeedEntry],
    updated: str,
    author: str,
) -> str:
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "updated", entries[0].updated if entries else updated)
    sub(sub(feed, "author"), "name", author)
    sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    for e in entries[:MAX_ENTRIES]:
        node = sub(feed, "entry")
        sub(node, "id", e.id)
        sub(node, "title", e.title)
        sub(node, "updated", e.updated)
        sub(node, "link", rel="alternate", type="text/html", href=e.link)
        sub(node, "content", e.content, type="html")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def write_feeds(
    write: Callable[[str, str], None],
    changelog: dict[str, Any],
    base_url: str,
    departments: dict[str, str],
    items: ItemLinks,
    author: str,
) -> None:
    """``feeds/changes.atom`` and ``feeds/departments/<code>.atom`` through ``write(path, text)``;
    ``items``: links to this release's items, from ``base_url``."""
    entries = changelog["entries"]
    everything = list(feed_entries(entries, base_url, items))
    updated = entries[-1]["exported_at"]
    write(
        "feeds/changes.atom",
        atom(
            f"{author}：事项变更",
            f"{base_url}/feeds/changes.atom",
            f"{base_url}/releases.html",
            tag(base_url, entries[0]["version"], "feeds/changes"),
            everything,
            updated,
            author,
        ),
    )
    for code, name in sorted(departments.items()):
        mine = [e for e in everything if e.department_code == code]
        write(
            f"feeds/departments/{code}.atom",
            atom(
                f"{name}：事项变更",
                f"{base_url}/feeds/departments/{code}.atom",
                f"{base_url}/departments/{code}.html",
                tag(base_url, entries[0]["version"], f"feeds/departments/{code}"),
                mine,
                updated,
                author,
            ),
        )
