"""``approvals serve``: a local preview of the live release (stdlib HTTP server).

Each request resolves ``current`` afresh, so a publish or rollback shows at once."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.release.publish import live_site
from pipeline.search.api import API_PATH, SearchService, respond


class SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".json": "application/json",
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
    }

    status_file: Path | None = None

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

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.path).path
        if path == API_PATH:
            respond(self, self.server.search)
        elif not (path == "/status.json" and self.send_status()):
            super().do_GET()


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    root = live_site(site_dir)
    bound = type("BoundSiteHandler", (SiteHandler,), {"status_file": site_dir / "status.json"})
    handler = functools.partial(bound, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    server.search = SearchService(site_dir)  # GET /api/search: the live release's index
    return server


def serve(site_dir: Path, host: str, port: int) -> None:
    server = make_server(site_dir, host, port)
    print(
        f"正在提供 {live_site(site_dir)}：http://{host}:{server.server_address[1]}/  （Ctrl-C 停止）"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
