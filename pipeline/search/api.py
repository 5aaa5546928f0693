"""The search endpoint and command: requests → the live release's server index → JSON.

``GET /api/search?q=开饭店&department=…&type=…&page=1&page_size=10`` (served by
``approvals serve``, ``pipeline/ops/serve.py``) and ``approvals search`` share this module.

Bounds: a query of at most :data:`MAX_QUERY_CHARS` characters, pages of at most
:data:`MAX_PAGE_SIZE` results, no deeper than :data:`MAX_PAGE`, at most :data:`MAX_FILTER_VALUES`
values of :data:`MAX_FILTER_CHARS` characters per filter, a query string of at most
:data:`MAX_QUERY_STRING` characters and :data:`MAX_FIELDS` parameters; ``q``, ``page`` and
``page_size`` at most once; page numbers in ASCII digits (``page=²`` is refused, not a 500).
Every answer is JSON: the results, or ``{"error": "…"}`` in Chinese with a 400 (the request),
404 (no such path), 503 (no index) or 500 (a bug: the log has the trace, the client a short
message). An error quotes at most :data:`SHOWN_CHARS` characters of what it was sent.

Many threads answer at once: :class:`SearchService` lends each request the live release's
:class:`~pipeline.search.server_query.ServerIndex` (itself safe to share between threads) and
closes an index once ``current`` has moved on and its last request is done.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.errors import ApprovalsError, BadSearchRequest, SearchUnavailable
from pipeline.labels import LABELS
from pipeline.release.layout import search_dir
from pipeline.search.documents import FILTERS, LIFE_EVENT_TYPE

logger = logging.getLogger(__name__)

API_PATH = "/api/search"
MAX_QUERY_CHARS = 100
MAX_PAGE_SIZE = 50
DEFAULT_PAGE_SIZE = 10
MAX_PAGE = 100
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 100
MAX_QUERY_STRING = 8192
"""Characters of the raw query string (nginx's default request line is at most 8 KB too)."""
MAX_FIELDS = 100
SHOWN_CHARS = 30
"""What an error message quotes of a value it was sent, at most (then "…")."""
SINGLE = ("q", "page", "page_size")
ANSWERS_KEPT = 1024
"""Answers kept per release, as JSON bytes (~5 KB each): asked again, they are sent as they are."""


@dataclass
class SearchRequest:
    query: str
    filters: dict[str, list[str]] = field(default_factory=dict)
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def shown(value: str, limit: int = SHOWN_CHARS) -> str:
    """A value as an error message quotes it: at most ``limit`` characters, control characters
    as ``\\x..`` escapes."""
    cut = value[:limit]
    printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return printable + ("…" if len(value) > limit else "")


def _bounded_int(value: str | None, name: str, default: int, highest: int) -> int:
    if value in (None, ""):
        return default
    assert value is not None
    if not re.fullmatch(r"[0-9]{1,6}", value) or not 1 <= int(value) <= highest:
        raise BadSearchRequest(
            f"参数 {name} 应为 1 到 {highest} 之间的整数（收到“{shown(value)}”）"
        )
    return int(value)


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def parse_query_string(raw: str) -> dict[str, list[str]]:
    """A URL's query string → its parameters (BadSearchRequest when too long or too many)."""
    if len(raw) > MAX_QUERY_STRING:
        raise BadSearchRequest(f"请求参数过长（最多 {MAX_QUERY_STRING} 个字符）")
    try:
        return parse_qs(raw, keep_blank_values=False, max_num_fields=MAX_FIELDS)
    except ValueError as exc:  # more than MAX_FIELDS parameters
        raise BadSearchRequest(f"请求参数过多（最多 {MAX_FIELDS} 个）") from exc


def parse_request(params: dict[str, list[str]]) -> SearchRequest:
    """Query-string parameters → a checked request (BadSearchRequest names what is wrong)."""
    unknown = sorted(set(params) - set(FILTERS) - {"q", "page", "page_size"})
    if unknown:
        names = "、".join(shown(name, 20) for name in unknown[:3])
        more = f" 等 {len(unknown)} 个" if len(unknown) > 3 else ""
        raise BadSearchRequest(f"不认识的参数：{names}{more}")
    repeated = [name for name in SINGLE if len(params.get(name, [])) > 1]
    if repeated:
        raise BadSearchRequest(f"参数 {repeated[0]} 只能给一次")
    query = (params.get("q") or [""])[0].strip()
    if len(query) > MAX_QUERY_CHARS:
        raise BadSearchRequest(f"搜索词最多 {MAX_QUERY_CHARS} 个字符")
    filters = {key: values for key in FILTERS if (values := [v for v in params.get(key, []) if v])}
    if any(len(values) > MAX_FILTER_VALUES for values in filters.values()):
        raise BadSearchRequest(f"每个筛选条件最多 {MAX_FILTER_VALUES} 个取值")
    if any(len(v) > MAX_FILTER_CHARS for values in filters.values() for v in values):
        raise BadSearchRequest(f"筛选条件的取值最多 {MAX_FILTER_CHARS} 个字符")
    if not query and not filters:
        raise BadSearchRequest("请提供搜索词 q")
    return SearchRequest(
        query,
        filters,
        _bounded_int(_first(params, "page"), "page", 1, MAX_PAGE),
        _bounded_int(_first(params, "page_size"), "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )


@dataclass
class _Live:
    """One release's index as the service lends it, with the answers already given from it."""

    release: Path
    index: Any
    kept: int = 0
    users: int = 0
    answers: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: SearchRequest) -> bytes:
        """The request's answer as JSON bytes: the one given before, if it is still kept (a
        release's index never changes), else searched and kept (the last ``kept``)."""
        key = (
            request.query,
            tuple(sorted((k, tuple(v)) for k, v in request.filters.items())),
            request.page,
            request.page_size,
        )
        with self.lock:
            found = self.answers.get(key)
            if found is not None:
                self.answers.move_to_end(key)
                return found
        page = self.index.search(request.query, request.filters, request.page, request.page_size)
        found = json.dumps(page.as_dict(), ensure_ascii=False).encode("utf-8")
        with self.lock:
            self.answers[key] = found
            while len(self.answers) > self.kept:
                self.answers.popitem(last=False)
        return found


class SearchService:
    """The live release's server index, reopened when ``current`` moves to another release.

    Each request holds the index it was given (:meth:`lease`) until it has answered; an index
    ``current`` has moved away from is closed when its last request is done, never under one.
    The answers given from an index are kept with it (the last ``answers_kept`` asked, 0: none),
    so they go when it goes."""

    def __init__(self, site_dir: Path, answers_kept: int = ANSWERS_KEPT):
        self.site_dir = site_dir
        self.answers_kept = answers_kept
        self._lock = threading.Lock()
        self._live: _Live | None = None

    def _open(self, release: Path) -> None:
        """Make ``release``'s index the one lent (under the lock)."""
        from pipeline.search.server_query import ServerIndex

        if not (search_dir(release) / "whoosh").is_dir():
            raise SearchUnavailable(f"当前版本 {release.name} 没有搜索索引，请重新构建")
        opened = _Live(release, ServerIndex(search_dir(release)), self.answers_kept)
        previous, self._live = self._live, opened
        if previous is not None and not previous.users:
            previous.index.close()

    @contextmanager
    def lease(self) -> Iterator[_Live]:
        """The live release's index (and its answers), for one request."""
        release = (self.site_dir / "current").resolve()
        with self._lock:
            if self._live is None or release != self._live.release:
                self._open(release)
            live = self._live
            assert live is not None
            live.users += 1
        try:
            yield live
        finally:
            with self._lock:
                live.users -= 1
                if live is not self._live and not live.users:
                    live.index.close()

    def index(self) -> Any:
        """The live release's index (for one caller at a time, as ``approvals search``)."""
        with self.lease() as live:
            return live.index

    def departments(self) -> list[dict[str, Any]]:
        path = self.site_dir / "current" / "data" / "departments.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []

    def search(self, request: SearchRequest) -> dict[str, Any]:
        with self.lease() as live:
            page = live.index.search(
                request.query, request.filters, request.page, request.page_size
            )
        return page.as_dict()

    def answer(self, request: SearchRequest) -> bytes:
        """:meth:`search`'s answer as JSON bytes, kept for the next time it is asked."""
        with self.lease() as live:
            return live.answer(request)

    def close(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live.index.close()
                self._live = None


def department_names(value: str, departments: list[dict[str, Any]]) -> list[str]:
    """A department given by name, short name or 统一社会信用代码 → its name as indexed."""
    found = [d["name"] for d in departments if value in (d["name"], d.get("short_name"), d["code"])]
    return found or [value]


def type_labels(value: str) -> list[str]:
    """An item type given by its label (行政许可, 一件事) or code (licensing)."""
    return [LABELS["item_type"].get(value, value if value != "life_event" else LIFE_EVENT_TYPE)]


# ---------------------------------------------------------------- HTTP


def send_json(handler: Any, status: int, payload: Any) -> None:
    """One JSON answer on a ``BaseHTTPRequestHandler``."""
    send_body(handler, status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def send_body(handler: Any, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def respond(handler: Any, service: SearchService) -> None:
    """Answer one ``GET /api/search`` on a ``BaseHTTPRequestHandler``."""
    try:
        request = parse_request(parse_query_string(urlsplit(handler.path).query))
        body = service.answer(request)
    except BadSearchRequest as exc:
        status, payload = 400, {"error": str(exc)}
    except SearchUnavailable as exc:
        status, payload = 503, {"error": str(exc)}
    except ApprovalsError as exc:
        status, payload = 503, {"error": f"搜索暂时不可用：{exc}"}
    except Exception:  # noqa: BLE001 - the client gets a message, the log gets the trace
        logger.exception("search failed for %r", handler.path[:300])
        status, payload = 500, {"error": "搜索出错，请稍后再试"}
    else:
        send_body(handler, 200, body)
        return
    send_json(handler, status, payload)
