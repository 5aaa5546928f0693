"""``approvals serve``: the live release's site and its search API over HTTP (stdlib server).

Two uses, one server:

* a **local preview** of ``DIR/current/site`` (each request resolves ``current`` afresh, so a
  publish or rollback shows at once), with ``/status.json`` and ``GET /api/search``. Only that
  folder is served, never ``DIR`` itself (it holds the raw case store under
  ``releases/<id>/state/``, the logs and the lock): before the first publish every page is a
  503 saying the site is not published yet (:data:`NOT_PUBLISHED`);
* the **search API in production**, behind nginx, which serves the static site itself and
  proxies only ``/api/search`` here (``deploy/nginx.conf``, ``deploy/approvals-search.service``,
  docs/operations.md, "The search API").

The server (:class:`SiteServer`) is threaded — one thread per connection, the search index
shared between them (:class:`~pipeline.search.api.SearchService`) — with a listen backlog of
:data:`LISTEN_BACKLOG` connections (the standard library's default of 5 made a burst of 20
clients wait ~1 s for the kernel's SYN retry) and a :data:`REQUEST_TIMEOUT_S` timeout on each
connection's reads and writes, so a client that sends nothing holds a thread no longer than that.
Python runs one thread at a time: a query (a few milliseconds) is CPU time, so answers per
second are bounded by one core, and the threads give concurrency, not parallelism
(docs/benchmarks.md, "The search API under load").

Every error is JSON ``{"error": "…"}`` with a short Chinese message — a bad request line, a path
that cannot be a file (``/%00``), a method other than GET and HEAD, an unknown ``/api/`` path —
never a dropped connection or an HTML page quoting the request.
"""

from __future__ import annotations

import functools
import logging
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import ConfigurationError
from pipeline.release.publish import live_site
from pipeline.search.api import ANSWERS_KEPT, API_PATH, SearchService, respond, send_json

logger = logging.getLogger(__name__)

LISTEN_BACKLOG = 1024
"""Connections the kernel queues before the server accepts them (capped by the kernel's
``net.core.somaxconn``, 4096 on current Linux)."""
REQUEST_TIMEOUT_S = 30
"""Seconds a connection may take to send its request or read its answer."""
API_PREFIX = "/api/"
MAX_PORT = 65535
NOT_PUBLISHED = "网站尚未发布：还没有线上版本（approvals build 成功后即可访问）"
ERRORS = {
    HTTPStatus.BAD_REQUEST: "请求格式不正确",
    HTTPStatus.NOT_FOUND: "没有这个页面",
    HTTPStatus.METHOD_NOT_ALLOWED: "只支持 GET 请求",
    HTTPStatus.NOT_IMPLEMENTED: "只支持 GET 请求",
    HTTPStatus.REQUEST_URI_TOO_LONG: "请求地址过长",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "请求头过大",
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: "不支持的 HTTP 版本",
}


class SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".json": "application/json",
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
    }

    status_file: Path | None = None
    site_dir: Path | None = None
    timeout = REQUEST_TIMEOUT_S
    server: SiteServer

    def send_status(self) -> bool:
        """``/status.json`` lives beside the releases (``SITE/status.json``), not in one."""
        if not (self.status_file and self.status_file.is_file()):
            return False
        body = self.status_file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's errors (a bad request line, a file not found, a method not
        supported …) as JSON with a message of our own: its HTML page quotes the request."""
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self.close_connection = True
        if getattr(self, "command", None) is None:
            self.command = ""  # the request line could not be read
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # an unreadable request line: answer with headers
        send_json(self, status, {"error": ERRORS.get(status, status.phrase)})

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.path).path
        if path == API_PATH:
            respond(self, self.server.search)
        elif path.startswith(API_PREFIX):
            send_json(self, 404, {"error": f"没有这个接口（可用的是 {API_PATH}）"})
        elif not (path == "/status.json" and self.send_status()):
            self._static(super().do_GET)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        if urlsplit(self.path).path.startswith(API_PREFIX):
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)
        else:
            self._static(super().do_HEAD)

    def _static(self, serve: Any) -> None:
        """A file of the live release's site, resolved for this request (so one request reads
        one release); a 503 while there is none. A path no file can have (a NUL: ``/%00``, an
        unpaired surrogate: ``/%ED%A0%80``) is a 400: the standard library's ``open()`` raises
        ``ValueError`` for it, which dropped the connection."""
        root = live_site(self.site_dir) if self.site_dir else None
        if root is None:
            self.close_connection = True
            send_json(self, HTTPStatus.SERVICE_UNAVAILABLE, {"error": NOT_PUBLISHED})
            return
        self.directory = str(root)
        try:
            serve()
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST)


class SiteServer(ThreadingHTTPServer):
    """A thread per connection (daemon threads: a stop does not wait for slow clients), a
    listen backlog of :data:`LISTEN_BACKLOG`, and the search service the handlers share."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True
    search: SearchService


def make_server(
    site_dir: Path, host: str = "127.0.0.1", port: int = 8000, answers_kept: int = ANSWERS_KEPT
) -> SiteServer:
    """The server of ``site_dir`` on ``host:port`` (port 0: a free one), not started.
    ``answers_kept``: search answers kept per release (0: every request searched). Each request
    serves the live release's site as it is then (:func:`~pipeline.release.publish.live_site`)."""
    bound = type(
        "BoundSiteHandler",
        (SiteHandler,),
        {"status_file": site_dir / "status.json", "site_dir": site_dir},
    )
    # the folder a request gets is set per request; this one (through the link) is only the
    # standard library's default, so that nothing ever falls back to the working directory
    handler = functools.partial(bound, directory=str(site_dir / "current" / "site"))
    if not 0 <= port <= MAX_PORT:
        raise ConfigurationError(f"--port 无效：{port}（应为 0–{MAX_PORT}，0 为任一空闲端口）")
    try:
        server = SiteServer((host, port), handler)
    except OSError as exc:  # in use, not allowed, an unknown host
        raise ConfigurationError(
            f"无法监听 {host}:{port}：{exc.strerror or exc}——换一个 --port 或 --host"
        ) from exc
    server.search = SearchService(site_dir, answers_kept)  # GET /api/search: the live index
    return server


def serve(site_dir: Path, host: str, port: int) -> None:
    server = make_server(site_dir, host, port)
    waiting = "" if live_site(site_dir) else "（尚未发布：发布后即可访问）"
    print(
        f"正在提供 {site_dir / 'current' / 'site'}{waiting}："
        f"http://{host}:{server.server_address[1]}/  （Ctrl-C 停止）",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.search.close()
