"""The search endpoint and command: requests → the live release's server index → JSON.

``GET /api/search?q=开饭店&department=…&type=…&page=1&page_size=10`` (served by
``approvals serve``) and ``approvals search`` share this module. Bounds: a query of at most
:data:`MAX_QUERY_CHARS` characters, pages of at most :data:`MAX_PAGE_SIZE` results, no deeper than
:data:`MAX_PAGE`. Errors are JSON ``{"error": "…"}`` in Chinese; a failure never sends a stack
trace.
"""

from __future__ import annotations

import json
import logging
import threading
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


@dataclass
class SearchRequest:
    query: str
    filters: dict[str, list[str]] = field(default_factory=dict)
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def _bounded_int(value: str | None, name: str, default: int, highest: int) -> int:
    if value in (None, ""):
        return default
    if not value.isdigit() or not 1 <= int(value) <= highest:
        raise BadSearchRequest(f"参数 {name} 应为 1 到 {highest} 之间的整数")
    return int(value)


def parse_request(params: dict[str, list[str]]) -> SearchRequest:
    """Query-string parameters → a checked request (BadSearchRequest names what is wrong)."""
    unknown = sorted(set(params) - set(FILTERS) - {"q", "page", "page_size"})
    if unknown:
        raise BadSearchRequest(f"不认识的参数：{'、'.join(unknown)}")
    query = (params.get("q") or [""])[0].strip()
    if len(query) > MAX_QUERY_CHARS:
        raise BadSearchRequest(f"搜索词最多 {MAX_QUERY_CHARS} 个字符")
    filters = {key: values for key in FILTERS if (values := [v for v in params.get(key, []) if v])}
    if any(len(values) > MAX_FILTER_VALUES for values in filters.values()):
        raise BadSearchRequest(f"每个筛选条件最多 {MAX_FILTER_VALUES} 个取值")
    if not query and not filters:
        raise BadSearchRequest("请提供搜索词 q")
    return SearchRequest(
        query,
        filters,
        _bounded_int((params.get("page") or [None])[0], "page", 1, MAX_PAGE),
        _bounded_int(
            (params.get("page_size") or [None])[0], "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
        ),
    )


class SearchService:
    """The live release's server index, reopened when ``current`` moves to another release."""

    def __init__(self, site_dir: Path):
        self.site_dir = site_dir
        self._lock = threading.Lock()
        self._release: Path | None = None
        self._index: Any = None

    def index(self) -> Any:
        from pipeline.search.server_index import ServerIndex

        release = (self.site_dir / "current").resolve()
        with self._lock:
            if release != self._release:
                if not (search_dir(release) / "whoosh").is_dir():
                    raise SearchUnavailable(f"当前版本 {release.name} 没有搜索索引，请重新构建")
                if self._index is not None:
                    self._index.close()
                self._index = ServerIndex(search_dir(release))
                self._release = release
            return self._index

    def departments(self) -> list[dict[str, Any]]:
        path = self.site_dir / "current" / "data" / "departments.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []

    def search(self, request: SearchRequest) -> dict[str, Any]:
        page = self.index().search(request.query, request.filters, request.page, request.page_size)
        return page.as_dict()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


def department_names(value: str, departments: list[dict[str, Any]]) -> list[str]:
    """A department given by name, short name or 统一社会信用代码 → its name as indexed."""
    found = [d["name"] for d in departments if value in (d["name"], d.get("short_name"), d["code"])]
    return found or [value]


def type_labels(value: str) -> list[str]:
    """An item type given by its label (行政许可, 一件事) or code (licensing)."""
    return [LABELS["item_type"].get(value, value if value != "life_event" else LIFE_EVENT_TYPE)]


# ---------------------------------------------------------------- HTTP


def respond(handler: Any, service: SearchService) -> None:
    """Answer one ``GET /api/search`` on a ``BaseHTTPRequestHandler``."""
    status, payload = 200, None
    try:
        request = parse_request(parse_qs(urlsplit(handler.path).query, keep_blank_values=False))
        payload = service.search(request)
    except BadSearchRequest as exc:
        status, payload = 400, {"error": str(exc)}
    except SearchUnavailable as exc:
        status, payload = 503, {"error": str(exc)}
    except ApprovalsError as exc:
        status, payload = 503, {"error": f"搜索暂时不可用：{exc}"}
    except Exception:  # noqa: BLE001 - the client gets a message, the log gets the trace
        logger.exception("search failed for %r", handler.path[:300])
        status, payload = 500, {"error": "搜索出错，请稍后再试"}
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    handler.wfile.write(body)
