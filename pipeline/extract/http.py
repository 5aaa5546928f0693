"""The HTTP source: the approval system's export API (see the contract's "Transport").

Every request goes through one :class:`requests.Session` whose adapter retries connection
errors, read timeouts and 429/5xx with exponential backoff, honouring ``Retry-After`` but never
sleeping longer than ``retry_after_cap`` (urllib3 alone would wait up to six hours). A
whole-extraction deadline bounds everything: each request's timeout is the configured one or the
time left, whichever is shorter, retries stop when it has passed, and a request that would start
after it raises :class:`UpstreamUnavailable`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from pipeline.errors import ConfigurationError, ExportBroken, UpstreamUnavailable
from pipeline.extract import RawRecord

ENDPOINTS = {
    "departments": "/v1/departments",
    "items": "/v1/items",
    "life_events": "/v1/life-events",
    "files": "/v1/files",
    "cases": "/v1/cases",
    "evaluations": "/v1/evaluations",
}
INCREMENTAL = {"cases", "evaluations"}
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_FILE_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024
DROPPED = (requests.exceptions.ChunkedEncodingError,)
T = TypeVar("T")


class _Clock:
    """The whole-extraction deadline (started by the first request) and the last HTTP status
    the retries saw, shared by every copy urllib3 makes of the retry policy."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at: float | None = None
        self.last_status: int | None = None

    def start(self) -> None:
        if self.ends_at is None:
            self.ends_at = time.monotonic() + self.seconds

    def left(self) -> float:
        if self.ends_at is None:
            return self.seconds
        return max(0.0, self.ends_at - time.monotonic())

    def expired(self) -> bool:
        return self.ends_at is not None and time.monotonic() >= self.ends_at


class CappedRetry(Retry):
    """urllib3's Retry with ``Retry-After`` and backoff capped (and cut to the time left), and
    no retry once the extraction deadline has passed."""

    def __init__(
        self, *args: Any, retry_after_cap: float = 30.0, clock: _Clock | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap
        self.clock = clock or _Clock(float("inf"))

    def new(self, **kw: Any) -> CappedRetry:
        retry = super().new(**kw)
        retry.retry_after_cap, retry.clock = self.retry_after_cap, self.clock
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None  # an unreadable Retry-After falls back to the backoff
        if seconds is None:
            return None
        return min(seconds, self.retry_after_cap, self.clock.left())

    def get_backoff_time(self) -> float:
        return min(super().get_backoff_time(), self.clock.left())

    def increment(
        self,
        method: Any = None,
        url: Any = None,
        response: Any = None,
        error: Any = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> CappedRetry:
        if response is not None:
            self.clock.last_status = response.status
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or self.clock.expired()


class FileMissing(ExportBroken):
    """``/v1/files/{id}`` answered 404."""

    def __init__(self, file_id: str, url: str) -> None:
        super().__init__(f"files.json 中的文件 {file_id} 缺少内容：{url} 返回 HTTP 404")
        self.url = url


@dataclass(frozen=True)
class _Fetched:
    sha256: str
    size: int


def _reason(exc: Exception) -> str:
    """Why a request failed: 超时, or 连接失败 with the urllib3 error's name. (urllib3's
    NewConnectionError, a refused or unroutable connection, subclasses its timeout error.)"""
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)
    if isinstance(exc, requests.Timeout) or (
        isinstance(cause, Urllib3Timeout) and not isinstance(cause, NewConnectionError)
    ):
        return "超时"
    return f"连接失败（{type(cause or exc).__name__}）"


def _iso(value: str | datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class HttpSource:
    """An :class:`~pipeline.extract.ExportSource` reading ``{base}/v1/…``."""

    def __init__(
        self,
        base_url: str,
        *,
        token_env: str = "APPROVALS_EXPORT_TOKEN",
        timeout: tuple[float, float] = (5, 30),
        retries: int = 4,
        backoff: float = 0.5,
        retry_after_cap: float = 30.0,
        deadline_seconds: float = 900.0,
        updated_since: str | datetime | None = None,
        etag_cache: dict[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.description = self.base_url
        self.token_env = token_env
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.updated_since = _iso(updated_since)
        self.etag_cache = etag_cache if etag_cache is not None else {}
        self.not_modified: set[str] = set()
        self.fetched: dict[str, _Fetched] = {}
        self.clock = _Clock(deadline_seconds)
        self.session = session or requests.Session()
        self.session.mount(self.base_url + "/", self._adapter(retry_after_cap))

    def _adapter(self, retry_after_cap: float) -> HTTPAdapter:
        retry = CappedRetry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            backoff_factor=self.backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            retry_after_cap=retry_after_cap,
            clock=self.clock,
        )
        return HTTPAdapter(max_retries=retry)

    # -- the ExportSource protocol ---------------------------------------------------------

    def read_manifest(self) -> dict[str, Any]:
        url = f"{self.base_url}/v1/manifest"
        response = self._get(url, "/v1/manifest")
        if response.status_code == 404:
            raise ExportBroken(f"{url}: 导出接口没有 manifest（HTTP 404）——检查导出接口地址")
        self._check_status(response, url, "/v1/manifest")
        manifest = self._parse_json(response, "/v1/manifest")
        if not isinstance(manifest, dict):
            raise ExportBroken(f"{url}: manifest 顶层必须是对象")
        return manifest

    def iter_records(self, entity: str) -> Iterator[RawRecord]:
        if entity not in ENDPOINTS:
            raise ValueError(f"unknown entity {entity!r}")
        path, first_url = ENDPOINTS[entity], self._first_page_url(entity)
        etag = None
        for page, body, page_etag in self._pages(entity, first_url):
            etag = page_etag if page == 1 else etag
            for number, record in enumerate(body["data"], start=1):
                yield RawRecord(entity, f"{path} 第{page}页 #{number}", record)
        if etag:  # remembered only once every page has arrived
            self.etag_cache[first_url] = etag

    def fetch_file(self, file_id: str, extension: str) -> bytes:
        """``/v1/files/{file_id}`` (the API names files by id alone; ``extension`` is unused)."""
        return self._download(file_id, keep=True)

    def verify_checksums(self, manifest_sha256: dict[str, str]) -> list[str]:
        mismatches = []
        for relative, expected in sorted(manifest_sha256.items()):
            if not relative.startswith("files/"):
                continue  # list entities have no files over HTTP; counts cover them
            message = self._verify_one(relative, expected)
            if message:
                mismatches.append(message)
        return mismatches

    # -- pages ---------------------------------------------------------------------------

    def _first_page_url(self, entity: str) -> str:
        query = {}
        if entity in INCREMENTAL and self.updated_since:
            query["updated_since"] = self.updated_since
        url = self.base_url + ENDPOINTS[entity]
        return requests.Request("GET", url, params=query).prepare().url

    def _pages(self, entity: str, first_url: str) -> Iterator[tuple[int, dict, str | None]]:
        """(page number, page body, ETag) for every page, following ``next``."""
        url: str | None = first_url
        page, seen = 1, set()
        while url:
            label = f"{ENDPOINTS[entity]} 第{page}页"
            response = self._get_page(entity, url, page, label)
            if response is None:
                return
            body = self._page_body(response, label)
            yield page, body, response.headers.get("ETag")
            cursor = self._next_cursor(body, url, label, seen)
            url = self._with_cursor(first_url, cursor) if cursor else None
            page += 1

    def _get_page(self, entity: str, url: str, page: int, label: str) -> requests.Response | None:
        """One page, or None when the entity is unchanged (304) or not carried (404)."""
        cached = self.etag_cache.get(url) if page == 1 else None
        response = self._get(url, label, {"If-None-Match": cached} if cached else {})
        if response.status_code == 304 and cached:
            self.not_modified.add(entity)
            return None
        if response.status_code == 404 and page == 1:
            return None  # like a folder without the file: the entity is not in this export
        self._check_status(response, url, label)
        return response

    def _page_body(self, response: requests.Response, label: str) -> dict[str, Any]:
        body = self._parse_json(response, label)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ExportBroken(
                f'{response.url}（{label}）：页面必须是 {{"data": [...], "next": …}} 对象'
            )
        return body

    def _next_cursor(
        self, body: dict[str, Any], url: str, label: str, seen: set[str]
    ) -> str | None:
        cursor = body.get("next")
        if cursor is not None and not isinstance(cursor, str):
            raise ExportBroken(f'{url}（{label}）："next" 必须是字符串或 null')
        if cursor in seen:
            raise ExportBroken(f"{url}（{label}）：分页游标 {cursor!r} 重复——接口分页出错")
        if cursor:
            seen.add(cursor)
        return cursor

    def _with_cursor(self, first_url: str, cursor: str) -> str:
        return requests.Request("GET", first_url, params={"cursor": cursor}).prepare().url

    # -- one request -----------------------------------------------------------------------

    def _get(
        self, url: str, label: str, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """GET a whole (JSON) response: retries by urllib3, plus a body cut off mid-way."""

        def attempt_once() -> requests.Response:
            return self._send(url, headers or {}, stream=False)

        return self._retry_dropped(url, label, "JSON 无法解析", attempt_once)

    def _retry_dropped(
        self, url: str, label: str, problem: str, attempt_once: Callable[[], T]
    ) -> T:
        """Run ``attempt_once`` again when the connection drops mid-body (urllib3 retries only
        up to the headers). A body that keeps arriving cut off is ExportBroken."""
        for attempt in range(self.retries + 1):
            try:
                return attempt_once()
            except DROPPED as exc:
                if attempt == self.retries or self.clock.expired():
                    raise ExportBroken(
                        f"{url}（{label}）：{problem}——响应被截断（连接在传输中断开，"
                        f"已重试 {attempt} 次）"
                    ) from exc
                time.sleep(min(self.backoff * 2**attempt, self.clock.left()))
        raise AssertionError("unreachable")

    def _send(self, url: str, headers: dict[str, str], stream: bool) -> requests.Response:
        self.clock.start()
        self.clock.last_status = None
        if self.clock.expired():
            raise UpstreamUnavailable(
                f"导出接口超过整体时限（{self.clock.seconds:g} 秒）：{url} 未请求"
            )
        try:
            return self.session.get(
                url, headers={**self._auth(), **headers}, timeout=self._timeout(), stream=stream
            )
        except DROPPED:
            raise
        except requests.RequestException as exc:
            raise self._unavailable(url, exc) from exc

    def _auth(self) -> dict[str, str]:
        token = os.environ.get(self.token_env)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _timeout(self) -> tuple[float, float]:
        left = self.clock.left()
        connect, read = self.timeout
        return (min(connect, left), min(read, left))

    def _unavailable(self, url: str, exc: Exception | None) -> UpstreamUnavailable:
        status = self.clock.last_status
        seen = f"最后一次 HTTP {status}" if status else "没有收到 HTTP 响应"
        reason = f"：{_reason(exc)}" if exc is not None else ""
        if self.clock.expired():
            return UpstreamUnavailable(
                f"导出接口超过整体时限（{self.clock.seconds:g} 秒）：{url}（{seen}{reason}）"
            )
        return UpstreamUnavailable(
            f"导出接口不可用：{url}（重试 {self.retries} 次后仍失败，{seen}{reason}）"
        )

    def _check_status(self, response: requests.Response, url: str, label: str) -> None:
        status = response.status_code
        if status in (401, 403):
            raise self._refused(status)
        if status in RETRY_STATUSES or status >= 500:
            self.clock.last_status = status
            raise self._unavailable(url, None)
        if status != 200:
            snippet = response.text[:200].strip()
            raise ExportBroken(f"{url}（{label}）：意外的 HTTP {status}：{snippet}")

    def _refused(self, status: int) -> ConfigurationError:
        if os.environ.get(self.token_env):
            return ConfigurationError(
                f"导出接口拒绝了令牌（HTTP {status}）；检查环境变量 {self.token_env}"
            )
        return ConfigurationError(
            f"导出接口要求令牌（HTTP {status}），但环境变量 {self.token_env} 未设置"
        )

    def _parse_json(self, response: requests.Response, label: str) -> Any:
        try:
            text = response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExportBroken(
                f"{response.url}（{label}）：不是 UTF-8 编码（第 {exc.start} 字节起）"
                "——导出接口必须返回 UTF-8"
            ) from exc
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ExportBroken(
                f"{response.url}（{label}）：JSON 无法解析（第 {exc.lineno} 行第 {exc.colno} 列："
                f"{exc.msg}）——响应被截断"
            ) from exc

    # -- files ---------------------------------------------------------------------------

    def _download(self, file_id: str, keep: bool) -> bytes:
        """``/v1/files/{id}`` streamed, at most MAX_FILE_BYTES, its sha256 and size recorded in
        ``self.fetched``; the bytes are returned only when ``keep``."""
        url = f"{self.base_url}/v1/files/{quote(file_id, safe='')}"
        label = f"/v1/files/{file_id}"
        return self._retry_dropped(
            url, label, "文件下载中断", lambda: self._download_once(file_id, url, keep)
        )

    def _download_once(self, file_id: str, url: str, keep: bool) -> bytes:
        with self._send(url, {}, stream=True) as response:
            if response.status_code == 404:
                raise FileMissing(file_id, url)
            self._check_status(response, url, f"/v1/files/{file_id}")
            self._check_declared_size(response, url)
            digest, kept, size = hashlib.sha256(), bytearray(), 0
            for chunk in self._read_capped(response, url):
                digest.update(chunk)
                size += len(chunk)
                kept += chunk if keep else b""
        self.fetched[file_id] = _Fetched(digest.hexdigest(), size)
        return bytes(kept)

    def _check_declared_size(self, response: requests.Response, url: str) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
            raise ExportBroken(
                f"{url}: 文件过大（{int(declared)} 字节，上限 {MAX_FILE_BYTES} 字节）"
            )

    def _read_capped(self, response: requests.Response, url: str) -> Iterator[bytes]:
        size = 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise ExportBroken(f"{url}: 文件过大（超过上限 {MAX_FILE_BYTES} 字节）")
                yield chunk
        except requests.exceptions.ConnectionError as exc:
            raise self._unavailable(url, exc) from exc

    def _verify_one(self, relative: str, expected: str) -> str | None:
        name = PurePosixPath(relative).name
        if relative != f"files/{name}" or name.startswith(".") or "\\" in name or "\x00" in name:
            return f"不安全的路径：{relative!r}"
        file_id = name.rsplit(".", 1)[0]
        if file_id not in self.fetched:
            try:
                self._download(file_id, keep=False)  # hashed as it streams; bytes not kept
            except FileMissing as exc:
                return f"{relative}: manifest 列出此文件，但导出接口中不存在（{exc.url}：HTTP 404）"
            except ExportBroken as exc:
                return f"{relative}: {exc}"
        actual = self.fetched[file_id]
        if actual.sha256 == expected:
            return None
        return (
            f"{relative}: sha256 不符（manifest 为 {expected[:12]}…，实际 {actual.sha256[:12]}…，"
            f"{actual.size} 字节）——文件被截断或未复制完整"
        )
