"""A hostile export server (tests/export_server.py's hostile faults) against the HTTP source and
the real ``approvals build``: a gzip bomb, an endless answer, a server that answers a byte a
second, redirects out of the export's origin (another port, ``file://``), an HTML page with
status 200 — and a bounded Hypothesis fuzz of the page reader. The builds run as child
processes; their memory is the child's own peak RSS (``ru_maxrss`` from ``wait4``), and a child
whose RSS passes the bound is killed at once (so that a regression cannot eat the machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import ExportBroken, UpstreamUnavailable
from pipeline.extract.http import HttpSource
from pipeline.release.lock import build_lock
from tests.export_server import ExportServer, Fault
from tests.fixtures import small_export

ROOT = Path(__file__).resolve().parent.parent
FAST = {"timeout": (1.0, 2.0), "retries": 1, "backoff": 0.01, "deadline_seconds": 20.0}
RSS_BOUND_MIB = 256
"""A build that fails while extracting peaks at ~75 MiB (interpreter and imports); the largest
answer it may hold is ``http_max_page_bytes`` (32 MiB by default)."""


WATCH = r"""
import json, os, signal, subprocess, sys, time

bound_mib, timeout, log = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
command = sys.argv[4:]


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0
    return int(line.split()[1]) / 1024


with open(log, "wb") as err:
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    killed_for = ""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if not killed_for and rss_mib(proc.pid) > bound_mib:
            killed_for = f"RSS over {bound_mib:g} MiB"
            os.kill(proc.pid, signal.SIGKILL)
        elif not killed_for and time.monotonic() - started > timeout:
            killed_for = f"still running after {timeout:g} s"
            os.kill(proc.pid, signal.SIGKILL)
        time.sleep(0.02)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "killed_for": killed_for,
                  "seconds": time.monotonic() - started, "ended": time.monotonic(),
                  "peak_rss_mib": usage.ru_maxrss / 1024}))
"""
"""The watcher: a small process that starts the build, kills it when its RSS passes the bound
or it outlives the timeout, and reports the build's ``ru_maxrss`` from ``wait4``. (Linux carries
the spawning process's peak RSS into a child's ``ru_maxrss`` across fork and exec, so the build
must be spawned by a small process — the watcher, ~10 MiB — not by pytest, whose RSS is in the
hundreds of MiB.)"""


@dataclass
class Child:
    code: int
    stderr: str
    seconds: float
    peak_rss_mib: float
    killed_for: str
    ended: float
    """``time.monotonic()`` when the build had ended (the machine's clock)."""


def build_child(export: str, site: Path, env: dict[str, str], timeout: float = 60.0) -> Child:
    """``approvals build`` in a watched child process: its exit code, stderr, wall time and
    peak RSS; killed when its RSS passes RSS_BOUND_MIB or it outlives ``timeout``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    log = site.parent / f"{site.name}.stderr"
    build = [sys.executable, "-m", "pipeline.cli", "build", "--export", export, "--site", str(site)]
    watched = subprocess.run(
        [sys.executable, "-c", WATCH, str(RSS_BOUND_MIB), str(timeout), str(log), *build],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=True,
    )
    result = json.loads(watched.stdout)
    return Child(
        result["code"],
        log.read_text("utf-8", errors="replace"),
        result["seconds"],
        result["peak_rss_mib"],
        result["killed_for"],
        result["ended"],
    )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return small_export(tmp_path / "export")


@pytest.fixture
def server(export: Path):
    with ExportServer(export, page_size=2) as running:
        yield running


# ------------------------------------------------------------------ size


def test_a_gzip_bomb_stops_at_the_page_limit_in_bounded_memory(server, tmp_path):
    server.faults.append(Fault("/v1/manifest", "gzip_bomb", size=1024 * 1024 * 1024))
    child = build_child(server.url, tmp_path / "site", {})
    assert not child.killed_for, child.killed_for
    assert child.code == 3, child.stderr
    assert "/v1/manifest" in child.stderr and "超过上限 33554432 字节（解压后计" in child.stderr
    assert "http_max_page_bytes" in child.stderr
    assert child.peak_rss_mib < RSS_BOUND_MIB
    assert not (tmp_path / "site" / "current").exists()


def test_an_endless_answer_stops_at_the_page_limit_in_bounded_memory(server, tmp_path):
    server.faults.append(Fault("/v1/items", "endless"))
    child = build_child(server.url, tmp_path / "site", {})
    assert not child.killed_for, child.killed_for
    assert child.code == 3, child.stderr
    assert "/v1/items 第1页" in child.stderr and "过大：超过上限 33554432 字节" in child.stderr
    assert child.peak_rss_mib < RSS_BOUND_MIB


def test_the_whole_export_limit_counts_every_answer(server):
    source = HttpSource(server.url, max_export_bytes=2048, **FAST)
    with pytest.raises(ExportBroken) as caught:
        for entity in ("departments", "items", "life_events", "files", "cases"):
            list(source.iter_records(entity))
    assert "共超过上限 2048 字节" in str(caught.value)
    assert "http_max_export_bytes" in str(caught.value)
    assert 2048 < source.received < 2048 + 64 * 1024


# ------------------------------------------------------------------ time


def test_a_server_trickling_a_byte_a_second_is_cut_at_the_deadline(server, tmp_path):
    server.faults.append(Fault("/v1/items", "trickle", seconds=1.0))
    deadline = 4.0
    child = build_child(
        server.url, tmp_path / "site", {"APPROVALS_HTTP_DEADLINE": str(deadline)}, timeout=30
    )
    assert not child.killed_for, child.killed_for
    assert child.code == 4, child.stderr
    assert "导出接口超过整体时限（4 秒）" in child.stderr
    first_request = server.requests[0].at  # the deadline starts with the first request
    assert deadline - 0.1 < child.ended - first_request < deadline + 2.0
    with build_lock(tmp_path / "site"):  # the lock is free: the next night can build
        pass


def test_headers_trickling_a_byte_a_second_are_cut_at_the_deadline(server):
    server.faults.append(Fault("/v1/manifest", "trickle", seconds=1.0, whole=True))
    source = HttpSource(server.url, **{**FAST, "timeout": (1.0, 5.0), "deadline_seconds": 2.0})
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="导出接口超过整体时限（2 秒）"):
        source.read_manifest()
    assert time.monotonic() - started < 3.0


# ------------------------------------------------------------------ where answers come from


def test_a_redirect_to_another_port_is_refused_and_nothing_is_published(server, export, tmp_path):
    other_export = small_export(tmp_path / "other", n_items=5)
    manifest = json.loads((other_export / "manifest.json").read_text("utf-8"))
    manifest["export_id"] = "attacker"
    (other_export / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with ExportServer(other_export) as other:
        server.faults.append(Fault("/v1/", "redirect", location=other.url + "{path}"))
        child = build_child(server.url, tmp_path / "site", {})
        assert other.requests == []  # never asked
    assert child.code == 3, child.stderr
    assert f"导出接口重定向到 '{other.url}/v1/manifest'" in child.stderr
    assert f"只跟随同一来源（{server.url}）" in child.stderr
    assert not (tmp_path / "site" / "current").exists()


def test_a_file_redirect_is_named_as_such(server):
    server.faults.append(
        Fault("/v1/manifest", "redirect", status=301, location="file:///etc/passwd")
    )
    with pytest.raises(ExportBroken) as caught:
        HttpSource(server.url, **FAST).read_manifest()
    message = str(caught.value)
    assert "导出接口重定向到 'file:///etc/passwd'（HTTP 301）" in message
    assert "连接失败" not in message


def test_a_redirect_within_the_origin_is_followed(server, export):
    server.faults.append(Fault("/old/", "redirect", location="/{tail}"))
    source = HttpSource(server.url + "/old", **FAST)
    assert source.read_manifest()["export_id"] == "test-export"
    assert len(list(source.iter_records("items"))) == 3
    assert [r.path for r in server.requests[:2]] == ["/old/v1/manifest", "/v1/manifest"]


def test_an_html_page_with_status_200_is_named_as_such(server):
    server.faults.append(Fault("/v1/manifest", "html"))
    with pytest.raises(ExportBroken) as caught:
        HttpSource(server.url, **FAST).read_manifest()
    message = str(caught.value)
    assert "导出接口返回的是 HTML 页面而不是 JSON（HTTP 200，Content-Type: text/html" in message
    assert "统一身份认证 登录" in message and "响应被截断" not in message


# ------------------------------------------------------------------ fuzz: the page reader

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
CURSOR = (
    st.none()
    | st.text(max_size=12)
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)  # lone surrogates
    | st.sampled_from(["c2", "c0", "", "x" * 70_000])
    | JSON
)
PAGE = st.fixed_dictionaries(
    {},
    optional={"data": st.lists(JSON, max_size=4) | JSON, "next": CURSOR, "extra": JSON},
).map(lambda page: json.dumps(page).encode())
RAW = (
    st.binary(max_size=64)
    | st.sampled_from([10, 1_000, 100_000]).map(lambda n: b"[" * n + b"]" * n)
    | st.sampled_from([10, 1_000, 100_000]).map(lambda n: b'{"data": ' + b"[" * n + b"]" * n + b"}")
    | PAGE.map(lambda body: b"\xef\xbb\xbf" + body)
    | PAGE.map(lambda body: body[: len(body) // 2])
    | JSON.map(lambda value: json.dumps(value).encode())
)
BODIES = st.lists(PAGE | RAW, min_size=1, max_size=3)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    with ExportServer(small_export(tmp_path_factory.mktemp("fuzz")), page_size=2) as running:
        yield running


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bodies=BODIES, manifest=PAGE | RAW)
def test_fuzzed_pages_end_cleanly_or_as_named_errors(fuzz_server, bodies, manifest):
    fuzz_server.faults[:] = [
        Fault("/v1/items", "body", bodies=bodies, times=len(bodies)),
        Fault("/v1/manifest", "body", bodies=[manifest], times=1),
    ]
    source = HttpSource(fuzz_server.url, **FAST)
    for read in (source.read_manifest, lambda: list(source.iter_records("items"))):
        try:
            read()
        except (ExportBroken, UpstreamUnavailable) as exc:
            assert str(exc)  # a message, never a traceback
