"""The changelog: one entry per release, comparing it with the release that was live before it.

Release data gets ``history/changes.json`` (this release's entry) and ``history/changelog.json``
(every entry so far, oldest first: the live release's changelog plus this entry), so item
histories and feeds never need more than the previous release.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.canonical_json import write_json
from pipeline.history.diff import diff_items, diff_schema
from pipeline.release.data import version_of

ASPECTS: dict[str, str] = {
    "fees": "收费",
    "is_charged": "收费",
    "pay_online": "收费",
    "materials": "申请材料",
    "statutory_limit": "办理时限",
    "promised_limit": "办理时限",
    "special_procedures": "办理时限",
    "legal_bases": "法律依据",
    "conditions": "申请条件",
    "prohibitions": "申请条件",
    "process_steps": "办理流程",
    "name": "名称",
}
ASPECT_ORDER = (
    "收费",
    "申请材料",
    "办理时限",
    "法律依据",
    "申请条件",
    "办理流程",
    "名称",
    "其他信息",
)
OTHER = "其他信息"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def identity(manifest: dict[str, Any]) -> dict[str, str]:
    return {
        "version": version_of(manifest),
        "exported_at": manifest["exported_at"],
        "export_id": manifest["export_id"],
    }


def aspect_of(field: str) -> str:
    return ASPECTS.get(field.split(".", 1)[0], OTHER)


def aspects(event: dict[str, Any]) -> list[str]:
    """What kinds of information an item event changed (status is its own kind of event)."""
    found = {aspect_of(c["field"]) for c in event["changes"] if c["field"] != "status"}
    return [a for a in ASPECT_ORDER if a in found]


def summarise(events: list[dict], schema: list[dict]) -> dict[str, Any]:
    kinds = Counter(e["kind"] for e in events)
    per_aspect = Counter(a for e in events if e["kind"] == "changed" for a in aspects(e))
    return {
        "added": kinds["added"],
        "removed": kinds["removed"],
        "abolished": kinds["abolished"],
        "changed": kinds["changed"],
        "schema": len(schema),
        "aspects": {a: per_aspect[a] for a in ASPECT_ORDER if per_aspect[a]},
    }


def summary_text(summary: dict[str, Any], baseline: bool, item_count: int) -> str:
    """The release in one Chinese sentence: 新增 3 个事项；2 个事项的收费变更……"""
    if baseline:
        return f"首次发布，收录 {item_count} 个事项。"
    parts = [
        f"{label} {summary[key]} 个事项"
        for key, label in (("added", "新增"), ("abolished", "取消"), ("removed", "下线"))
        if summary[key]
    ]
    parts += [f"{n} 个事项的{aspect}变更" for aspect, n in summary["aspects"].items()]
    if summary["schema"]:
        parts.append(f"数据结构变更 {summary['schema']} 处")
    return "；".join(parts) + "。" if parts else "与上一版相比没有变化。"


def entry_id(version: str, earlier: list[dict]) -> str:
    """The version, or ``version.2`` … when a release of the same day is already logged."""
    used = {e["id"] for e in earlier}
    candidate, n = version, 2
    while candidate in used:
        candidate, n = f"{version}.{n}", n + 1
    return candidate


def make_entry(
    manifest: dict,
    items: Mapping[str, dict],
    previous: dict | None,
    previous_items: dict[str, dict] | None,
    schema: list[dict],
    earlier: list[dict],
) -> dict[str, Any]:
    baseline = previous is None
    events = [] if baseline else diff_items(previous_items or {}, items)
    summary = summarise(events, schema)
    return {
        "id": entry_id(version_of(manifest), earlier),
        **identity(manifest),
        "previous": None if previous is None else identity(previous),
        "baseline": baseline,
        "item_count": len(items),
        "summary": summary,
        "text": summary_text(summary, baseline, len(items)),
        "items": events,
        "schema": schema,
    }


def items_by_code(data: Path) -> dict[str, dict]:
    return {i["impl_code"]: i for i in load(data / "items.json") or []}


def record_history(
    data: Path,
    previous_data: Path | None,
    previous_schema: dict | None,
    current_schema: dict,
    items: Mapping[str, dict] | None = None,
) -> dict[str, Any]:
    """Compare this release's data with the previous release's (None on the first build);
    write ``history/changes.json`` and ``history/changelog.json``; return the new entry.
    ``items``: this release's item records by code when the caller has them (else read from
    ``data``)."""
    previous_manifest = load(previous_data / "manifest.json") if previous_data else None
    earlier = (
        (load(previous_data / "history" / "changelog.json") or {}).get("entries", [])
        if previous_data
        else []
    )
    current = items if items is not None else items_by_code(data)
    entry = make_entry(
        load(data / "manifest.json"),
        current,
        previous_manifest,
        items_by_code(previous_data) if previous_data and previous_manifest else None,
        diff_schema(previous_schema, current_schema) if previous_manifest else [],
        earlier,
    )
    write_json(data / "history" / "changes.json", entry)
    write_json(data / "history" / "changelog.json", {"entries": [*earlier, entry]})
    return entry


def previous_signature(live: Path | None) -> dict[str, list[list[str]]] | None:
    """The live release's table signature, read from its published datapackage.json."""
    package = load(live / "site" / "data" / "latest" / "datapackage.json") if live else None
    if package is None:
        return None
    return {
        r["name"]: [[f["name"], f["type"]] for f in r["schema"]["fields"]]
        for r in package["resources"]
    }
