"""``approvals serve`` serves the live release's site and nothing else of the site folder: not
before the first publish (the raw case store, the logs and the lock lie beside the releases),
not after it."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.release.publish import swap_current

SECRETS = (
    "/logs/runs.jsonl",
    "/.build.lock",
    "/releases/r000001-x/state/cases.parquet",
    "/releases/r000001-x/report.json",
    "/current/state/cases.parquet",
)


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A site folder as a build leaves it, without ``current`` yet."""
    site = tmp_path / "site"
    (site / "logs").mkdir(parents=True)
    (site / "logs" / "runs.jsonl").write_text('{"export": "secret"}\n', encoding="utf-8")
    (site / ".build.lock").write_text("pid 1", encoding="utf-8")
    release = site / "releases" / "r000001-x"
    (release / "state").mkdir(parents=True)
    (release / "state" / "cases.parquet").write_bytes(b"PAR1 applicant names PAR1")
    (release / "report.json").write_text("{}", encoding="utf-8")
    (release / "site").mkdir()
    (release / "site" / "index.html").write_text("<h1>首页</h1>", encoding="utf-8")
    return site


@pytest.fixture
def port(site_dir: Path) -> Iterator[int]:
    from pipeline.ops.serve import make_server

    server = make_server(site_dir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        server.search.close()
        thread.join(timeout=5)


def test_before_the_first_publish_nothing_of_the_site_folder_is_served(site_dir, port):
    for path in ("/", "/index.html", *SECRETS):
        status, body = _get(port, path)
        assert status == 503, (path, status, body[:200])
        assert "尚未发布" in body.decode("utf-8")
        assert b"PAR1" not in body and b"secret" not in body
    assert _get(port, "/logs/runs.jsonl", "HEAD")[0] == 503


def test_a_server_started_before_the_first_publish_serves_the_release_once_live(site_dir, port):
    """The server was started on an empty site (as ``approvals serve`` before a first build):
    once ``current`` exists it serves ``current/site`` — and still never the site folder."""
    assert _get(port, "/")[0] == 503
    swap_current(site_dir, "r000001-x")
    status, body = _get(port, "/")
    assert (status, body.decode("utf-8")) == (200, "<h1>首页</h1>")
    for path in SECRETS:
        status, body = _get(port, path)
        assert status == 404, (path, status, body[:200])
        assert b"PAR1" not in body and b"secret" not in body
