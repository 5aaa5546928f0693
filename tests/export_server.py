"""A real local HTTP export server for tests and demos.

Serves any contract *folder* export (``manifest.json``, ``departments.json``, ``items.json`` or
``items/*.json``, ``life_events.json``, ``files.json``, ``files/<id>.<ext>``, ``cases.jsonl`` or
``cases/*.jsonl``, ``evaluations.jsonl``) in the contract's HTTP form: cursor-paginated list
endpoints with an ETag each, ``/v1/manifest`` and ``/v1/files/{id}``. Faults are injected per
test through :attr:`ExportServer.faults`; every request is recorded in
:attr:`ExportServer.requests`.

    with ExportServer("examples/demo-export", page_size=20) as server:
        server.faults.append(Fault("/v1/items", "status", status=500, times=2))
        HttpSource(server.url).iter_records("items")

Hostile answers (what an adversary's server does) are faults too: ``gzip_bomb``, ``endless``,
``trickle``, ``redirect``, ``html`` and ``body`` (see :class:`Fault`).

Command line (manual demo)::

    python -m tests.export_server examples/demo-export --port 8765 [--page-size 50] [--token T]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import mimetypes
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

LIST_ENTITIES = {  # endpoint → (entity file stem, line-delimited?)
    "/v1/departments": ("departments", False),
    "/v1/items": ("items", False),
    "/v1/life-events": ("life_events", False),
    "/v1/files": ("files", False),
    "/v1/cases": ("cases", True),
    "/v1/evaluations": ("evaluations", True),
}
SINCE_FIELD = {"/v1/cases": "updated_at", "/v1/evaluations": "rated_at"}


@dataclass
class Fault:
    """One injected fault, applied to requests whose path starts with ``path_prefix`` (and, if
    ``page`` is set, only to that 1-based page of a list endpoint), ``times`` times (None:
    forever).

    kinds: ``status`` (answer ``status``, with a ``Retry-After: retry_after`` header if given),
    ``delay`` (sleep ``seconds`` before answering normally), ``drop`` (send the headers and half
    of the body, then close the connection), ``truncate`` (a complete response whose body is the
    first half of the real one, with a matching Content-Length).

    Hostile kinds: ``gzip_bomb`` (a ``Content-Encoding: gzip`` body of about 1 KiB per MiB that
    inflates to ``size`` bytes), ``endless`` (a chunked body that never ends), ``trickle`` (the
    real answer one byte every ``seconds`` — its status line and headers too when ``whole``),
    ``redirect`` (``status`` 302 by default, to ``location``, where ``{path}`` is the request's
    path and query and ``{tail}`` what follows ``path_prefix``), ``html`` (a login page with
    status 200), ``body`` (the raw ``bodies`` as JSON answers, one a request, in order).
    """

    path_prefix: str
    kind: str
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    times: int | None = None
    page: int | None = None
    used: int = 0
    size: int = 0
    whole: bool = False
    location: str = ""
    bodies: list[bytes] = field(default_factory=list)

    def matches(self, path: str, page: int | None) -> bool:
        if not path.startswith(self.path_prefix):
            return False
        if self.page is not None and page != self.page:
            return False
        return self.times is None or self.used < self.times


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float = 0.0
    """``time.monotonic()`` when the request arrived (the clock is the machine's, shared by
    every process)."""


@dataclass
class _Entity:
    records: list[Any]
    etag: str


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_entity(root: Path, stem: str, lines: bool) -> _Entity | None:
    """One list entity from the folder, or None when the export does not carry it."""
    single = root / (f"{stem}.jsonl" if lines else f"{stem}.json")
    folder = root / stem
    if single.is_file():
        paths = [single]
    elif folder.is_dir():
        paths = sorted(folder.glob("*.jsonl" if lines else "*.json"))
    else:
        return None
    raws = [path.read_bytes() for path in paths]
    return _Entity(_parse(raws, lines, single.is_file()), _sha256(b"\0".join(raws)))


def _parse(raws: list[bytes], lines: bool, single: bool) -> list[Any]:
    if lines:
        return [json.loads(line) for raw in raws for line in raw.splitlines() if line.strip()]
    if single:
        return json.loads(raws[0])
    return [json.loads(raw) for raw in raws]


def _json(data: Any, status: int = 200, **headers: str) -> _Reply:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return _Reply(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})


def _since(record: Any, field_name: str, since: datetime) -> bool:
    value = record.get(field_name) if isinstance(record, dict) else None
    if not isinstance(value, str):
        return True
    try:
        return datetime.fromisoformat(value) >= since
    except (TypeError, ValueError):
        return True


class ExportServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) serving ``export_dir``."""

    def __init__(
        self,
        export_dir: str | Path,
        page_size: int = 50,
        token: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.root = Path(export_dir)
        self.page_size = page_size
        self.token = token
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.entities = {
            path: _load_entity(self.root, stem, lines)
            for path, (stem, lines) in LIST_ENTITIES.items()
        }
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ExportServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any "delay" fault still sleeping
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ExportServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    # -- answering -------------------------------------------------------------------------

    def take_fault(self, path: str, page: int | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(path, page):
                    fault.used += 1
                    return fault
        return None

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> _Reply:
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return _json({"error": "unauthorised"}, 401, **{"WWW-Authenticate": "Bearer"})
        if path == "/v1/manifest":
            return self._file_reply(self.root / "manifest.json", "application/json")
        if path in LIST_ENTITIES:
            return self._page(path, query, headers.get("if-none-match"))
        if path.startswith("/v1/files/"):
            return self._file_bytes(unquote(path.removeprefix("/v1/files/")))
        return _json({"error": "not found"}, 404)

    def page_number(self, path: str, query: dict[str, str]) -> int | None:
        if path not in LIST_ENTITIES:
            return None
        offset = self._offset(query.get("cursor"))
        return None if offset is None else offset // self.page_size + 1

    def _offset(self, cursor: str | None) -> int | None:
        if cursor is None:
            return 0
        digits = cursor.removeprefix("c")
        return int(digits) if cursor.startswith("c") and digits.isdigit() else None

    def _page(self, path: str, query: dict[str, str], if_none_match: str | None) -> _Reply:
        entity = self.entities[path]
        if entity is None:
            return _json({"error": "this export does not carry the entity"}, 404)
        since = query.get("updated_since")
        etag = '"' + (_sha256(f"{entity.etag}\0{since}".encode()) if since else entity.etag) + '"'
        if if_none_match == etag:
            return _Reply(304, b"", {"ETag": etag})
        offset = self._offset(query.get("cursor"))
        if offset is None:
            return _json({"error": "bad cursor"}, 400)
        records = self._filtered(path, entity.records, since)
        end = offset + self.page_size
        nxt = f"c{end}" if end < len(records) else None
        return _json({"data": records[offset:end], "next": nxt}, ETag=etag)

    def _filtered(self, path: str, records: list[Any], since: str | None) -> list[Any]:
        if not since or path not in SINCE_FIELD:
            return records
        moment = datetime.fromisoformat(since)
        return [r for r in records if _since(r, SINCE_FIELD[path], moment)]

    def _file_bytes(self, file_id: str) -> _Reply:
        if "/" in file_id or file_id.startswith("."):
            return _json({"error": "not found"}, 404)
        matches = sorted((self.root / "files").glob(f"{file_id}.*"))
        if not matches:
            return _json({"error": "not found"}, 404)
        media_type = mimetypes.guess_type(matches[0].name)[0] or "application/octet-stream"
        return self._file_reply(matches[0], media_type)

    def _file_reply(self, path: Path, media_type: str) -> _Reply:
        if not path.is_file():
            return _json({"error": "not found"}, 404)
        return _Reply(200, path.read_bytes(), {"Content-Type": media_type})


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a timeout or deadline test) is not an error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(server: ExportServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ExportHandler):
        export = server

    return Handler


class _ExportHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    export: ExportServer

    def do_GET(self) -> None:  # noqa: N802 — http.server's name
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.export.requests.append(RecordedRequest(parts.path, query, headers, time.monotonic()))
        fault = self.export.take_fault(parts.path, self.export.page_number(parts.path, query))
        try:
            self._respond(parts.path, query, headers, fault)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test): fine

    def _respond(
        self, path: str, query: dict[str, str], headers: dict[str, str], fault: Fault | None
    ) -> None:
        if fault and fault.kind in HOSTILE:
            return HOSTILE[fault.kind](self, fault, path, query, headers)
        if fault and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._send(_json({"error": f"injected {fault.status}"}, fault.status, **extra))
        if fault and fault.kind == "delay":
            self.export.sleep(fault.seconds)
        reply = self.export.answer(path, query, headers)
        if fault and fault.kind == "truncate":
            reply.body = reply.body[: len(reply.body) // 2]
        if fault and fault.kind == "drop":
            return self._send(reply, cut_at=len(reply.body) // 2)
        return self._send(reply)

    def _send(self, reply: _Reply, cut_at: int | None = None) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 304:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.status == 304:
            return
        self.wfile.write(reply.body if cut_at is None else reply.body[:cut_at])
        self.wfile.flush()
        if cut_at is not None:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — stdlib signature
        pass

    # -- hostile answers -------------------------------------------------------------------

    def _gzip_bomb(self, fault: Fault, *_: Any) -> None:
        body = b"".join(_bomb_members(fault.size))
        self._send(
            _Reply(200, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        )

    def _endless(self, fault: Fault, *_: Any) -> None:
        """``{"data": [{…}, {…}, …`` in 64 KiB chunks, never closed."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        record = b'{"impl_code": "' + b"9" * 40 + b'", "name": "endless"},'
        chunk = record * (64 * 1024 // len(record))
        frames = [b'10\r\n{"data": [      \r\n', f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"]
        self.wfile.write(frames[0])
        while not self.export._stopping.is_set():  # noqa: SLF001 — the server's own flag
            self.wfile.write(frames[1])
        self.close_connection = True

    def _trickle(
        self, fault: Fault, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> None:
        reply = self.export.answer(path, query, headers)
        head = f"HTTP/1.1 {reply.status} OK\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in {**reply.headers, "Content-Length": len(reply.body)}.items()
        )
        raw = head.encode("latin-1") + b"\r\n" + reply.body
        if not fault.whole:
            split = len(head) + 2
            self.wfile.write(raw[:split])
            raw = raw[split:]
        for byte in raw:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.export._stopping.wait(fault.seconds):  # noqa: SLF001
                break
        self.close_connection = True

    def _redirect(self, fault: Fault, path: str, query: dict[str, str], *_: Any) -> None:
        target = path + ("?" + urlencode(query) if query else "")
        location = fault.location.format(
            path=target, tail=target[len(fault.path_prefix) :], server=self.export.url
        )
        status = fault.status if 300 <= fault.status < 400 else 302
        self._send(_Reply(status, b"", {"Location": location}))

    def _html(self, *_: Any) -> None:
        page = "<!DOCTYPE html><html><head><title>统一身份认证 登录</title></head><body>请登录</body></html>"
        self._send(_Reply(200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}))

    def _body(self, fault: Fault, *_: Any) -> None:
        body = fault.bodies[min(fault.used, len(fault.bodies)) - 1]
        self._send(_Reply(200, body, {"Content-Type": "application/json"}))


HOSTILE = {
    "gzip_bomb": _ExportHandler._gzip_bomb,
    "endless": _ExportHandler._endless,
    "trickle": _ExportHandler._trickle,
    "redirect": _ExportHandler._redirect,
    "html": _ExportHandler._html,
    "body": _ExportHandler._body,
}
MIB = 1024 * 1024


def _bomb_members(size: int) -> Iterator[bytes]:
    """Concatenated gzip members (a valid gzip stream) inflating to ``size`` bytes of JSON-ish
    text: ``{"export_id": "AAAA…``."""
    yield gzip.compress(b'{"export_id": "')
    member = gzip.compress(b"A" * MIB, compresslevel=9)
    for _ in range(size // MIB):
        yield member


def serve_export(
    export_dir: str | Path, port: int = 0, page_size: int = 50, token: str | None = None
) -> Iterator[ExportServer]:
    """A generator fixture body: ``yield from serve_export(path)`` in a pytest fixture."""
    with ExportServer(export_dir, page_size=page_size, token=token, port=port) as server:
        yield server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a folder export over the export API.")
    parser.add_argument("export_dir")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN'")
    args = parser.parse_args(argv)
    server = ExportServer(args.export_dir, args.page_size, args.token, args.port, args.host)
    print(f"serving {args.export_dir} at {server.url}/v1/manifest (Ctrl-C to stop)")
    with server:
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
