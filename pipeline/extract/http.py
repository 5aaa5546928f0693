"""The HTTP source: the approval system's export API (see the contract's "Transport").

Requests go through :mod:`pipeline.extract.transport` (retries with capped backoff, a
whole-extraction deadline that cuts open connections, same-origin redirects only). Every body is
read as a stream and counted after decompression, so no server can make the build hold more than
``max_page_bytes`` of one JSON response (the manifest or a page of records), more than the
contract's 20 MiB of one file, or read more than ``max_export_bytes`` in all: a gzip bomb or an
endless response stops at the limit as :class:`ExportBroken` (exit 3) naming the setting to
raise. An answer that is not the JSON the contract promises (an HTML login page with status 200,
a redirect to another host or to ``file://``) is named as such.
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
from urllib.parse import quote, urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import get_auth_from_url, requote_uri
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from pipeline.config import DEFAULTS
from pipeline.contract.models import MAX_FILE_BYTES
from pipeline.errors import SHOWN_CHARS, ConfigurationError, ExportBroken, UpstreamUnavailable
from pipeline.extract import RawRecord
from pipeline.extract.transport import (
    RETRY_STATUSES,
    CappedRetry,
    Deadline,
    adapter,
    origin,
    origin_text,
)

__all__ = ["CappedRetry", "FileMissing", "HttpSource"]

ENDPOINTS = {
    "departments": "/v1/departments",
    "items": "/v1/items",
    "life_events": "/v1/life-events",
    "files": "/v1/files",
    "cases": "/v1/cases",
    "evaluations": "/v1/evaluations",
}
INCREMENTAL = {"cases", "evaluations"}
CHUNK = 64 * 1024
SNIPPET = 1024
MAX_REDIRECTS = 5
MAX_CURSOR_CHARS = 4096
"""The longest ``?cursor=…`` of a next page's URL (percent-encoded). An opaque cursor is tens
to hundreds of characters, servers refuse longer URLs than ~8 KB (HTTP 414), and the URL is
in every message about that page: a 20 MB cursor was echoed whole on stderr and in the run
log."""
HTML_TYPES = ("text/html", "application/xhtml+xml")
DROPPED = (requests.exceptions.ChunkedEncodingError,)
T = TypeVar("T")


class FileMissing(ExportBroken):
    """``/v1/files/{id}`` answered 404."""

    def __init__(self, file_id: str, url: str) -> None:
        super().__init__(f"files.json 中的文件 {file_id} 缺少内容：{url} 返回 HTTP 404")
        self.url = url


@dataclass(frozen=True)
class _Fetched:
    sha256: str
    size: int


@dataclass(frozen=True)
class _Answer:
    """A JSON endpoint's answer, read: the whole body when 200, else its first SNIPPET bytes."""

    status: int
    url: str
    headers: CaseInsensitiveDict[str]
    body: bytes


def _reason(exc: Exception) -> str:
    """Why a request failed: 超时, or 连接失败 with the urllib3 error's name. (urllib3's
    NewConnectionError, a refused or unroutable connection, subclasses its timeout error.)"""
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)
    if isinstance(exc, requests.Timeout) or (
        isinstance(cause, Urllib3Timeout) and not isinstance(cause, NewConnectionError)
    ):
        return "超时"
    name = type(cause).__name__ if isinstance(cause, BaseException) else type(exc).__name__
    return f"连接失败（{name}）"


def _shown(text: str | bytes, limit: int = SHOWN_CHARS) -> str:
    """Upstream text for a message: its first ``limit`` characters (control characters
    escaped) and how long it was."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return repr(text[:limit]) + (f"…（共 {len(text)} 个字符）" if len(text) > limit else "")


def _refuse_unparsable_redirect(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A response hook: a redirect whose ``Location`` cannot be parsed (``http://[::1``) is
    refused here, naming it. requests parses the target even when it does not follow it, after
    the hooks, and its ``ValueError`` ended the build in a traceback."""
    if not response.is_redirect:
        return
    target = response.headers.get("Location", "")
    try:
        urljoin(response.url, requote_uri(urlsplit(target).geturl()))
    except ValueError as exc:  # requests' InvalidURL is one too
        response.close()
        raise ExportBroken(
            f"{response.url}：导出接口重定向到无法解析的地址 {_shown(target)}（HTTP "
            f"{response.status_code}：{exc}）——已拒绝；检查导出接口地址"
        ) from exc


def _without_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:password@host/…`` → (``http://host/…``, (user, password)): the URL is in
    every message, the run log and the journal; the credentials go in the session instead."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return bare, get_auth_from_url(url)


def _iso(value: str | datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


class HttpSource:
    """An :class:`~pipeline.extract.ExportSource` reading ``{base}/v1/…``."""

    def __init__(
        self,
        base_url: str,
        *,
        token_env: str = DEFAULTS["token_env"],
        timeout: tuple[float, float] = DEFAULTS["http_timeout"],
        retries: int = DEFAULTS["http_retries"],
        backoff: float = DEFAULTS["http_backoff"],
        retry_after_cap: float = 30.0,
        deadline_seconds: float = DEFAULTS["http_deadline"],
        max_page_bytes: int = DEFAULTS["http_max_page_bytes"],
        max_export_bytes: int = DEFAULTS["http_max_export_bytes"],
        updated_since: str | datetime | None = None,
        etag_cache: dict[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url, credentials = _without_credentials(base_url.rstrip("/"))
        self.description = self.base_url
        self.origin = origin(self.base_url)
        self.token_env = token_env
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_page_bytes = int(max_page_bytes)
        self.max_export_bytes = int(max_export_bytes)
        self.received = 0
        """Bytes read from the API so far (after decompression), against ``max_export_bytes``."""
        self.updated_since = _iso(updated_since)
        self.etag_cache = etag_cache if etag_cache is not None else {}
        self.not_modified: set[str] = set()
        self.fetched: dict[str, _Fetched] = {}
        self.clock = Deadline(deadline_seconds)
        self.session = session or requests.Session()
        if credentials:
            self.session.auth = credentials  # sent as HTTP Basic, as they were in the URL
        transport = adapter(self.clock, retries, backoff, retry_after_cap)
        parts = urlsplit(self.base_url)
        for prefix in {f"{parts.scheme}://{parts.netloc}/", origin_text(self.base_url) + "/"}:
            self.session.mount(prefix, transport)  # as written, and with the port explicit

    # -- the ExportSource protocol ---------------------------------------------------------

    def read_manifest(self) -> dict[str, Any]:
        url = f"{self.base_url}/v1/manifest"
        answer = self._get(url, "/v1/manifest")
        if answer.status == 404:
            raise ExportBroken(f"{url}: 导出接口没有 manifest（HTTP 404）——检查导出接口地址")
        self._check_status(answer, "/v1/manifest")
        manifest = self._parse_json(answer, "/v1/manifest")
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
        return requests.Request("GET", url, params=query).prepare().url or url

    def _pages(self, entity: str, first_url: str) -> Iterator[tuple[int, dict, str | None]]:
        """(page number, page body, ETag) for every page, following ``next``."""
        url: str | None = first_url
        page, seen = 1, set[str]()
        while url:
            label = f"{ENDPOINTS[entity]} 第{page}页"
            answer = self._get_page(entity, url, page, label)
            if answer is None:
                return
            body = self._page_body(answer, label)
            yield page, body, answer.headers.get("ETag")
            cursor = self._next_cursor(body, url, label, seen)
            url = self._with_cursor(first_url, cursor, label) if cursor else None
            page += 1

    def _get_page(self, entity: str, url: str, page: int, label: str) -> _Answer | None:
        """One page, or None when the entity is unchanged (304) or not carried (404)."""
        cached = self.etag_cache.get(url) if page == 1 else None
        answer = self._get(url, label, {"If-None-Match": cached} if cached else {})
        if answer.status == 304 and cached:
            self.not_modified.add(entity)
            return None
        if answer.status == 404 and page == 1:
            return None  # like a folder without the file: the entity is not in this export
        self._check_status(answer, label)
        return answer

    def _page_body(self, answer: _Answer, label: str) -> dict[str, Any]:
        body = self._parse_json(answer, label)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ExportBroken(
                f'{answer.url}（{label}）：页面必须是 {{"data": [...], "next": …}} 对象'
                f"，收到的是 {type(body).__name__}"
                + (f"（键：{_shown(', '.join(map(str, body)))}）" if isinstance(body, dict) else "")
            )
        return body

    def _next_cursor(
        self, body: dict[str, Any], url: str, label: str, seen: set[str]
    ) -> str | None:
        cursor = body.get("next")
        if cursor is not None and not isinstance(cursor, str):
            raise ExportBroken(
                f'{url}（{label}）："next" 必须是字符串或 null，收到 {_shown(json.dumps(cursor))}'
            )
        if cursor in seen:
            raise ExportBroken(f"{url}（{label}）：分页游标 {_shown(cursor)} 重复——接口分页出错")
        if cursor:
            seen.add(cursor)
        return cursor

    def _with_cursor(self, first_url: str, cursor: str, label: str) -> str:
        try:
            cursor.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ExportBroken(
                f"{first_url}（{label}）：分页游标 {_shown(cursor)} 不是有效的 Unicode 文本"
            ) from exc
        prepared = requests.Request("GET", first_url, params={"cursor": cursor}).prepare()
        url = prepared.url or first_url
        if len(url) - len(first_url) > MAX_CURSOR_CHARS:
            raise ExportBroken(
                f"{first_url}（{label}）：分页游标过长（在地址中占 {len(url) - len(first_url)} 个"
                f"字符，上限 {MAX_CURSOR_CHARS}）：{_shown(cursor)}——接口分页出错？"
            )
        return url

    # -- one request -----------------------------------------------------------------------

    def _get(self, url: str, label: str, headers: dict[str, str] | None = None) -> _Answer:
        """GET a JSON endpoint: retries by urllib3, plus a body cut off mid-way."""

        def attempt_once() -> _Answer:
            with self._send(url, label, headers or {}) as response:
                ok = response.status_code == 200
                body = self._read_json_body(response, label) if ok else self._snippet(response)
                return _Answer(response.status_code, response.url, response.headers, body)

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
                if self.clock.expired():
                    raise self._unavailable(url, exc) from exc
                if attempt == self.retries:
                    raise ExportBroken(
                        f"{url}（{label}）：{problem}——响应被截断（连接在传输中断开，"
                        f"已重试 {attempt} 次）"
                    ) from exc
                time.sleep(min(self.backoff * 2**attempt, self.clock.left()))
        raise AssertionError("unreachable")

    def _send(self, url: str, label: str, headers: dict[str, str]) -> requests.Response:
        """A streamed response, after following redirects within the export's origin only."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(url, headers)
            if not response.is_redirect:
                return response
            target = urljoin(response.url, response.headers.get("Location", ""))
            response.close()
            if self.origin is None or origin(target) != self.origin:
                raise ExportBroken(
                    f"{url}（{label}）：导出接口重定向到 {_shown(target)}（HTTP "
                    f"{response.status_code}）——只跟随同一来源（{origin_text(self.base_url)}）"
                    "内的重定向，已拒绝；若导出接口已搬迁，请修改 export 设置"
                )
            url = target
        raise ExportBroken(f"{url}（{label}）：重定向超过 {MAX_REDIRECTS} 次——已停止")

    def _request(self, url: str, headers: dict[str, str]) -> requests.Response:
        self.clock.start()
        self.clock.last_status = None
        if self.clock.expired():
            raise UpstreamUnavailable(
                f"导出接口超过整体时限（{self.clock.seconds:g} 秒）：{url} 未请求"
            )
        try:
            return self.session.get(
                url,
                headers={**self._auth(), **headers},
                timeout=self._timeout(),
                stream=True,
                allow_redirects=False,
                hooks={"response": _refuse_unparsable_redirect},
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
            last = f"（最后一次 HTTP {status}）" if status else ""
            return UpstreamUnavailable(
                f"导出接口超过整体时限（{self.clock.seconds:g} 秒）：{url} 未能在时限内读完{last}"
                "——时限由设置 http_deadline 决定"
            )
        return UpstreamUnavailable(
            f"导出接口不可用：{url}（重试 {self.retries} 次后仍失败，{seen}{reason}）"
        )

    def _check_status(self, answer: _Answer, label: str) -> None:
        status = answer.status
        if status in (401, 403):
            raise self._refused(status)
        if status in RETRY_STATUSES or status >= 500:
            self.clock.last_status = status
            raise self._unavailable(answer.url, None)
        if status != 200:
            raise ExportBroken(
                f"{answer.url}（{label}）：意外的 HTTP {status}：{_shown(answer.body.strip())}"
            )

    def _refused(self, status: int) -> ConfigurationError:
        if os.environ.get(self.token_env):
            return ConfigurationError(
                f"导出接口拒绝了令牌（HTTP {status}）；检查环境变量 {self.token_env}"
            )
        return ConfigurationError(
            f"导出接口要求令牌（HTTP {status}），但环境变量 {self.token_env} 未设置"
        )

    # -- bodies ----------------------------------------------------------------------------

    def _stream(
        self, response: requests.Response, label: str, cap: int, setting: str, what: str = "响应"
    ) -> Iterator[bytes]:
        """The body's chunks after decompression, stopped at ``cap`` bytes (this response) and
        at ``max_export_bytes`` (everything read from the API), and at the deadline."""
        size = 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                self.received += len(chunk)
                if size > cap:
                    raise ExportBroken(
                        f"{response.url}（{label}）：{what}过大：超过上限 {cap} 字节（解压后计；"
                        f"{setting}）——已停止读取（压缩炸弹或无尽的响应？）"
                    )
                if self.received > self.max_export_bytes:
                    raise ExportBroken(
                        f"{response.url}（{label}）：从导出接口读取的数据共超过上限 "
                        f"{self.max_export_bytes} 字节（解压后计；设置 http_max_export_bytes）"
                        "——已停止"
                    )
                if self.clock.expired():
                    raise self._unavailable(response.url, None)
                yield chunk
        except requests.exceptions.ContentDecodingError as exc:
            encoding = response.headers.get("Content-Encoding", "")
            raise ExportBroken(
                f"{response.url}（{label}）：压缩数据损坏（Content-Encoding: {encoding}）"
            ) from exc
        except DROPPED:
            raise
        except requests.exceptions.RequestException as exc:
            raise self._unavailable(response.url, exc) from exc

    def _read_json_body(self, response: requests.Response, label: str) -> bytes:
        setting = "设置 http_max_page_bytes"
        self._check_declared_size(response, label, self.max_page_bytes, setting)
        stream = self._stream(response, label, self.max_page_bytes, setting)
        return b"".join(stream)

    def _snippet(self, response: requests.Response) -> bytes:
        """The start of a body we will not use (an error page), never more than SNIPPET."""
        try:
            return next(response.iter_content(SNIPPET), b"")[:SNIPPET]
        except requests.exceptions.RequestException:
            return b""

    def _check_declared_size(
        self, response: requests.Response, label: str, cap: int, setting: str, what: str = "响应"
    ) -> None:
        declared = response.headers.get("Content-Length", "")
        encoded = "Content-Encoding" in response.headers
        if declared.isdigit() and int(declared) > cap and not encoded:
            raise ExportBroken(
                f"{response.url}（{label}）：{what}过大（Content-Length {int(declared)} 字节，"
                f"上限 {cap} 字节；{setting}）"
            )

    def _parse_json(self, answer: _Answer, label: str) -> Any:
        where = f"{answer.url}（{label}）"
        self._refuse_html(answer, where)
        if answer.body.startswith(b"\xef\xbb\xbf"):
            raise ExportBroken(
                f"{where}：JSON 以 UTF-8 BOM（EF BB BF）开头——导出接口必须返回不带 BOM 的 UTF-8"
            )
        try:
            text = answer.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExportBroken(
                f"{where}：不是 UTF-8 编码（第 {exc.start} 字节起）——导出接口必须返回 UTF-8"
            ) from exc
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            ends = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
            cut = "——响应被截断（JSON 在结尾处中断）" if ends else ""
            kind = answer.headers.get("Content-Type", "（无）")
            raise ExportBroken(
                f"{where}：JSON 无法解析（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}；"
                f"Content-Type: {kind}）{cut}"
            ) from exc
        except RecursionError as exc:
            raise ExportBroken(f"{where}：JSON 嵌套过深，无法解析——拒绝") from exc
        except ValueError as exc:  # an integer of more than 4,300 digits
            raise ExportBroken(f"{where}：JSON 中有无法读取的数值（{_shown(str(exc))}）") from exc

    def _refuse_html(self, answer: _Answer, where: str) -> None:
        kind = answer.headers.get("Content-Type", "")
        html = kind.split(";")[0].strip().lower() in HTML_TYPES
        if html or answer.body.lstrip()[:1] == b"<":
            raise ExportBroken(
                f"{where}：导出接口返回的是 HTML 页面而不是 JSON（HTTP {answer.status}，"
                f"Content-Type: {kind or '（无）'}）：{_shown(answer.body.strip(), 120)}"
                "——检查导出接口地址，或是否被登录页、代理拦截"
            )

    # -- files ---------------------------------------------------------------------------

    def _download(self, file_id: str, keep: bool) -> bytes:
        """``/v1/files/{id}`` streamed, at most MAX_FILE_BYTES, its sha256 and size recorded in
        ``self.fetched``; the bytes are returned only when ``keep``."""
        url = f"{self.base_url}/v1/files/{quote(file_id, safe='')}"
        label = f"/v1/files/{file_id}"
        return self._retry_dropped(
            url, label, "文件下载中断", lambda: self._download_once(file_id, url, label, keep)
        )

    def _download_once(self, file_id: str, url: str, label: str, keep: bool) -> bytes:
        with self._send(url, label, {}) as response:
            if response.status_code == 404:
                raise FileMissing(file_id, url)
            if response.status_code != 200:
                body = self._snippet(response)
                self._check_status(
                    _Answer(response.status_code, response.url, response.headers, body), label
                )
            limit = "导出契约的文件上限"
            self._check_declared_size(response, label, MAX_FILE_BYTES, limit, "文件")
            digest, kept, size = hashlib.sha256(), bytearray(), 0
            for chunk in self._stream(response, label, MAX_FILE_BYTES, limit, "文件"):
                digest.update(chunk)
                size += len(chunk)
                kept += chunk if keep else b""
        self.fetched[file_id] = _Fetched(digest.hexdigest(), size)
        return bytes(kept)

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
