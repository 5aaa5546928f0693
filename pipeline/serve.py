"""``approvals serve``: a local preview of the live release (stdlib HTTP server).

Each request resolves ``current`` afresh, so a publish or rollback shows at once."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.publish import live_site


class SiteHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".html": "text/html; charset=utf-8", ".json": "application/json",
                      ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    root = live_site(site_dir)
    handler = functools.partial(SiteHandler, directory=str(root))
    return ThreadingHTTPServer((host, port), handler)


def serve(site_dir: Path, host: str, port: int) -> None:
    server = make_server(site_dir, host, port)
    print(f"正在提供 {live_site(site_dir)}：http://{host}:{server.server_address[1]}/  （Ctrl-C 停止）")
    try:
        server.serve_forever()
    finally:
        server.server_close()
