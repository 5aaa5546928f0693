"""Search documents: one per published item and life event, built from the release data.

Both indexes are fed from these documents — the Whoosh index on the server and the Pagefind
index in the browser — so they cannot disagree on what is searchable. A document says what is
searched (name ≫ aliases and colloquial keywords ≫ body, pinyin), how results are filtered
(department, item type, audience, online application, free of charge, visits needed) and what a
result shows (name, department, time limit, fee).

Abolished items keep their page but are not searchable: a search answers "what can I do".
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipeline.contract.models import Limit
from pipeline.errors import ExportBroken
from pipeline.labels import format_limit, label
from pipeline.search.synonyms import Synonyms
from pipeline.search.text import base_name, pinyin_tokens

ITEM, LIFE_EVENT = "item", "life_event"
LIFE_EVENT_TYPE = "一件事"

FILTERS: dict[str, str] = {
    "department": "部门",
    "type": "事项类型",
    "audience": "服务对象",
    "online": "网上申请",
    "free": "是否收费",
    "visits": "到现场次数",
}
"""Filter keys (in URLs, the API and the Pagefind index) → their Chinese names."""

ONLINE_YES, ONLINE_NO = "可网上申请", "须到窗口申请"
FREE_YES, FREE_NO = "不收费", "收费"
VISITS = ("不用到现场", "到现场 1 次", "到现场 2 次及以上")

_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
MAX_BODY_CHARS = 6_000
"""A document's body is cut here: the start of the conditions and the materials say what an item
is about; the rest would only make the browser index larger."""


@dataclass(frozen=True)
class SearchDocument:
    key: str  # impl_code, or the life event's code
    kind: str  # ITEM or LIFE_EVENT
    url: str  # the page, from the site root: /items/<impl_code>.html
    name: str
    aliases: tuple[str, ...]  # the item's own aliases
    keywords: tuple[str, ...]  # colloquial phrases from the synonyms file that lead here
    pinyin: tuple[str, ...]  # full pinyin and initials of the name, aliases and keywords
    department: str  # the department's name ('' for a life event)
    department_code: str
    type: str  # the item type's label, or 一件事
    audiences: tuple[str, ...]  # labels
    online: str
    free: str
    visits: str
    limit: str  # the promised time limit, as the site shows it
    fee: str  # 不收费, or the first fee's standard
    status: str  # in_force / suspended (abolished items are not documents)
    body: str  # plain text: department, themes, conditions, materials, fees, result, laws
    fingerprint: str = field(default="", compare=False)

    @property
    def filters(self) -> dict[str, list[str]]:
        values = {
            "department": [self.department] if self.department else [],
            "type": [self.type],
            "audience": list(self.audiences),
            "online": [self.online] if self.online else [],
            "free": [self.free] if self.free else [],
            "visits": [self.visits] if self.visits else [],
        }
        return {key: value for key, value in values.items() if value}

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchDocument:
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


def plain_text(rich: str | None) -> str:
    """Sanitised rich text → plain text (tags out, entities decoded, spaces collapsed)."""
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", rich or ""))).strip()


def _fingerprint(document: SearchDocument) -> str:
    data = document.as_dict()
    data.pop("fingerprint")
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _finish(document: SearchDocument) -> SearchDocument:
    return replace(document, fingerprint=_fingerprint(document))


def _limit_text(limit: dict[str, Any] | None) -> str:
    return format_limit(Limit.model_validate(limit)) if limit else ""


def _fee_text(item: dict[str, Any]) -> str:
    if not item.get("is_charged"):
        return FREE_YES
    fees = item.get("fees") or []
    return f"收费：{fees[0]['standard']}" if fees else FREE_NO


def _visits(count: int) -> str:
    return VISITS[min(count, 2)]


def _item_body(item: dict[str, Any], department: dict[str, Any]) -> str:
    parts = [
        department.get("name", ""),
        department.get("short_name", ""),
        " ".join(item.get("themes", [])),
        plain_text(item.get("conditions")),
        " ".join(m["name"] for m in item.get("materials", [])),
        " ".join(f"{f['name']} {f['standard']}" for f in item.get("fees", [])),
        (item.get("result") or {}).get("name", ""),
        " ".join(b["title"] for b in item.get("legal_bases", [])),
    ]
    return " ".join(p for p in parts if p)[:MAX_BODY_CHARS]


def item_document(
    item: dict[str, Any], department: dict[str, Any], synonyms: Synonyms
) -> SearchDocument:
    name, aliases = item["name"], tuple(item.get("aliases", []))
    keywords = tuple(p for p in synonyms.phrases_for([name, *aliases]) if p not in aliases)
    return _finish(
        SearchDocument(
            key=item["impl_code"],
            kind=ITEM,
            url=f"/items/{item['impl_code']}.html",
            name=name,
            aliases=aliases,
            keywords=keywords,
            pinyin=tuple(pinyin_tokens([base_name(name), *aliases, *keywords])),
            department=department.get("name", ""),
            department_code=item["department_code"],
            type=label(item["item_type"], "item_type"),
            audiences=tuple(label(a, "audience") for a in item["audiences"]),
            online=ONLINE_YES if item.get("online_url") else ONLINE_NO,
            free=FREE_YES if not item.get("is_charged") else FREE_NO,
            visits=_visits(item.get("visits_required", 0)),
            limit=_limit_text(item.get("promised_limit")),
            fee=_fee_text(item),
            status=item["status"],
            body=_item_body(item, department),
        )
    )


def life_event_document(
    event: dict[str, Any], items: dict[str, dict[str, Any]], synonyms: Synonyms
) -> SearchDocument:
    linked = [items[c]["name"] for s in event["steps"] for c in s.get("items", []) if c in items]
    steps = " ".join(f"{s['title']} {s.get('description', '')}" for s in event["steps"])
    keywords = tuple(synonyms.phrases_for([event["name"]]))
    return _finish(
        SearchDocument(
            key=event["code"],
            kind=LIFE_EVENT,
            url=f"/life-events/{event['code']}.html",
            name=event["name"],
            aliases=(),
            keywords=keywords,
            pinyin=tuple(pinyin_tokens([event["name"], *keywords])),
            department="",
            department_code="",
            type=LIFE_EVENT_TYPE,
            audiences=tuple(label(a, "audience") for a in event.get("audiences", [])),
            online="",
            free="",
            visits="",
            limit="",
            fee="",
            status="in_force",
            body=" ".join(p for p in (event.get("description", ""), steps, " ".join(linked)) if p),
        )
    )


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportBroken(f"无法读取发布数据 {path.name}：{exc}") from exc


def build_documents(
    data_dir: Path, synonyms: Synonyms, release: Any = None
) -> list[SearchDocument]:
    """Every searchable item (in force or suspended) and life event of a release, sorted by key.
    ``release``: the same release data already in memory (``ReleaseData``); its records are
    then made one at a time instead of reading the whole ``items.json`` (which, parsed, takes
    several times the memory of the models)."""
    if release is not None:

        def records(models: dict[str, Any]) -> Iterator[dict[str, Any]]:
            return (m.model_dump(mode="json", exclude_none=True) for m in models.values())

        departments = {d["code"]: d for d in records(release.departments)}
        item_records: Iterable[dict[str, Any]] = records(release.items)
        event_records = list(records(release.life_events))
    else:
        departments = {d["code"]: d for d in _read(data_dir / "departments.json")}
        item_records = _read(data_dir / "items.json")
        life_events = data_dir / "life_events.json"
        event_records = _read(life_events) if life_events.is_file() else []
    documents, names = [], {}
    for item in item_records:
        if item["status"] != "abolished":
            documents.append(
                item_document(item, departments.get(item["department_code"], {}), synonyms)
            )
            names[item["impl_code"]] = {"name": item["name"]}
    documents += [life_event_document(e, names, synonyms) for e in event_records]
    return sorted(documents, key=lambda d: (d.kind, d.key))
