"""Answers of an export API that ended in a traceback (exit 1) instead of a named refusal: a
number of more than 4,300 digits (Python's int limit), a redirect whose ``Location`` cannot be
parsed — each now ExportBroken (exit 3) naming the URL, against a real local export server; and
credentials written into the export's URL, which were in every message and the run log."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import ExportBroken
from pipeline.extract.http import HttpSource
from tests.export_server import ExportServer, Fault
from tests.fixtures import small_export

ROOT = Path(__file__).resolve().parent.parent
FAST = {"timeout": (1.0, 2.0), "retries": 0, "backoff": 0.01, "deadline_seconds": 20.0}
BIG = b"1" * 5000


@pytest.fixture
def server(tmp_path: Path):
    with ExportServer(small_export(tmp_path / "export"), page_size=2) as running:
        yield running


def approvals(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_huge_number_in_the_manifest_is_refused_naming_the_url(server):
    server.faults.append(Fault("/v1/manifest", "body", bodies=[b'{"counts": ' + BIG + b"}"]))
    with pytest.raises(ExportBroken) as caught:
        HttpSource(server.url, **FAST).read_manifest()
    message = str(caught.value)
    assert f"{server.url}/v1/manifest（/v1/manifest）：JSON 中有无法读取的数值" in message
    assert "4300" in message and len(message) < 400


def test_a_huge_number_in_a_page_is_refused_at_exit_3(server):
    page = b'{"data": [{"version": ' + BIG + b'}], "next": null}'
    server.faults.append(Fault("/v1/items", "body", bodies=[page]))
    done = approvals("validate", "--export", server.url)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f"{server.url}/v1/items（/v1/items 第1页）：JSON 中有无法读取的数值" in done.stderr


def test_an_unparsable_redirect_is_refused_naming_the_target(server):
    server.faults.append(Fault("/v1/manifest", "redirect", location="http://[::1"))
    with pytest.raises(ExportBroken) as caught:
        HttpSource(server.url, **FAST).read_manifest()
    message = str(caught.value)
    assert f"{server.url}/v1/manifest：导出接口重定向到无法解析的地址 'http://[::1'" in message
    assert "HTTP 302" in message


def test_an_unparsable_redirect_is_exit_3(server):
    server.faults.append(Fault("/v1/items", "redirect", location="http://[::1/{path}"))
    done = approvals("validate", "--export", server.url)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "导出接口重定向到无法解析的地址 'http://[::1//v1/items'" in done.stderr


def test_credentials_in_the_export_url_are_sent_but_never_shown(server, tmp_path):
    """``http://user:password@host``: the credentials go to the server (HTTP Basic, as before)
    and nowhere else — not in the message, the run log or the build's output."""
    server.faults.append(Fault("/v1/manifest", "status", status=500))
    host = server.url.removeprefix("http://")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "build", "--site", str(site)]
        + ["--export", f"http://admin:s3cret-password@{host}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "APPROVALS_HTTP_RETRIES": "0"},
        timeout=120,
    )
    assert done.returncode == 4, done.stderr[-2000:]
    assert f"导出接口不可用：{server.url}/v1/manifest" in done.stderr
    runs = (site / "logs" / "runs.jsonl").read_text("utf-8")
    assert server.url in runs
    for shown in (done.stdout, done.stderr, runs):
        assert "s3cret" not in shown and "admin:" not in shown
    sent = base64.b64encode(b"admin:s3cret-password").decode()
    assert server.requests[0].headers.get("authorization") == f"Basic {sent}"
