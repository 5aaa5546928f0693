"""Item by item, field by field: what differs between two releases' items (as release data JSON).

An item's fields are compared flattened: nested objects by dotted path (``promised_limit.value``),
lists of scalars whole (``audiences``), lists of objects by their key (a material by its name, a
fee by its name, a legal basis by title and article), so that a fee added to one item is one
change, not a shifted list. ``version`` and ``updated_at`` are context, not changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEYED_LISTS: dict[str, tuple[str, ...]] = {
    "materials": ("name",),
    "fees": ("name",),
    "legal_bases": ("title", "article"),
    "process_steps": ("order",),
    "special_procedures": ("name",),
    "intermediary_services": ("name",),
    "faq": ("question",),
}
CONTEXT_FIELDS = ("version", "updated_at")


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects → dotted paths; lists stay values."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def entry_key(entry: dict[str, Any], fields: tuple[str, ...]) -> str:
    return " · ".join(str(entry.get(f, "")) for f in fields if entry.get(f) is not None)


def keyed(entries: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Entries by key; a repeated key gets ``#2``, ``#3`` so that nothing is lost."""
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key, n = entry_key(entry, fields), 2
        while key in out:
            key, n = f"{entry_key(entry, fields)} #{n}", n + 1
        out[key] = entry
    return out


def change(
    field: str, kind: str, old: Any = None, new: Any = None, key: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "change": kind}
    if key is not None:
        out["key"] = key
    if old is not None:
        out["old"] = old
    if new is not None:
        out["new"] = new
    return out


def diff_values(
    old: dict[str, Any], new: dict[str, Any], prefix: str = "", key: str | None = None
) -> list[dict[str, Any]]:
    """Changed, added and removed fields of two flattened records."""
    a, b = flatten(old), flatten(new)
    changes = []
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            kind = "added" if name not in a else "removed" if name not in b else "changed"
            changes.append(change(prefix + name, kind, a.get(name), b.get(name), key))
    return changes


def diff_list(field: str, old: list[dict], new: list[dict]) -> list[dict[str, Any]]:
    a, b = keyed(old, KEYED_LISTS[field]), keyed(new, KEYED_LISTS[field])
    changes = []
    for key in [k for k in a if k not in b]:
        changes.append(change(field, "removed", old=a[key], key=key))
    for key in b:
        if key not in a:
            changes.append(change(field, "added", new=b[key], key=key))
        else:
            changes += diff_values(a[key], b[key], f"{field}.", key)
    return changes


def diff_item(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Every difference between two versions of one item, in a stable order."""
    plain_old = {k: v for k, v in old.items() if k not in KEYED_LISTS and k not in CONTEXT_FIELDS}
    plain_new = {k: v for k, v in new.items() if k not in KEYED_LISTS and k not in CONTEXT_FIELDS}
    changes = diff_values(plain_old, plain_new)
    for field in KEYED_LISTS:
        changes += diff_list(field, old.get(field, []), new.get(field, []))
    return changes


def summary_of(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "impl_code": record["impl_code"],
        "name": record["name"],
        "department_code": record["department_code"],
        "version": record.get("version"),
    }


def item_event(
    kind: str,
    record: dict[str, Any],
    changes: list[dict] | None = None,
    previous_version: int | None = None,
) -> dict[str, Any]:
    event = {"kind": kind, **summary_of(record), "changes": changes or []}
    if previous_version is not None:
        event["previous_version"] = previous_version
    return event


def diff_items(old: Mapping[str, dict], new: Mapping[str, dict]) -> list[dict[str, Any]]:
    """Item events between two releases: added, removed (gone from the export), abolished
    (status became abolished) and changed; sorted by implementation code."""
    events = []
    for code in sorted(set(old) | set(new)):
        if code not in old:
            events.append(item_event("added", new[code]))
        elif code not in new:
            events.append(item_event("removed", old[code]))
        elif changes := diff_item(old[code], new[code]):
            abolished = new[code].get("status") == "abolished" != old[code].get("status")
            events.append(
                item_event(
                    "abolished" if abolished else "changed",
                    new[code],
                    changes,
                    old[code].get("version"),
                )
            )
    return events


def diff_schema(
    old: dict[str, list[list[str]]] | None, new: dict[str, list[list[str]]]
) -> list[dict[str, Any]]:
    """Tables and columns added, removed or retyped (a rename is a removal and an addition,
    announced together)."""
    if old is None:
        return []
    changes = [{"table": t, "change": "table_added"} for t in new if t not in old]
    changes += [{"table": t, "change": "table_removed"} for t in old if t not in new]
    for table in [t for t in new if t in old]:
        before = {name: kind for name, kind in old[table]}
        after = {name: kind for name, kind in new[table]}
        changes += [
            {"table": table, "change": "field_added", "field": f, "new": after[f]}
            for f in after
            if f not in before
        ]
        changes += [
            {"table": table, "change": "field_removed", "field": f, "old": before[f]}
            for f in before
            if f not in after
        ]
        changes += [
            {
                "table": table,
                "change": "field_type_changed",
                "field": f,
                "old": before[f],
                "new": after[f],
            }
            for f in after
            if f in before and before[f] != after[f]
        ]
        if [f for f in before if f in after] != [f for f in after if f in before]:
            changes.append({"table": table, "change": "field_order_changed"})
    return changes
