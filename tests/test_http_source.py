"""HttpSource against a real local export server (tests/export_server.py): real sockets, no
mocks. Fault tests use a small generated export so they stay fast; the equality test also runs
on examples/demo-export when it is there."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigurationError, ExportBroken, UpstreamUnavailable
from pipeline.extract.folder import FolderSource
from pipeline.extract.http import HttpSource
from tests.export_server import ExportServer, Fault

ENTITIES = ("departments", "items", "life_events", "files", "cases", "evaluations")
DEMO_EXPORT = Path(__file__).resolve().parent.parent / "examples" / "demo-export"
TOKEN_ENV = "APPROVALS_EXPORT_TOKEN"
FAST = {"timeout": (1.0, 2.0), "retries": 2, "backoff": 0.01, "deadline_seconds": 20.0}

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 32


# -- a small contract-conforming export ------------------------------------------------------


def _department(n: int) -> dict[str, Any]:
    return {"code": f"11310113MB{n:07d}X", "name": f"宝山区测试局{n}", "region_code": "310113"}


def _item(n: int) -> dict[str, Any]:
    return {
        "impl_code": f"11310113MB0000001X4000117{n:03d}",
        "basic_code": f"40001170{n:02d}",
        "version": n,
        "status": "in_force",
        "name": f"测试事项{n}（新办）",
        "item_type": "licensing",
        "department_code": _department(1 + n % 3)["code"],
        "audiences": ["enterprise"],
        "conditions": "<p>申请人&nbsp;应当具备条件</p>",
        "updated_at": f"2024-0{1 + n % 5}-15T09:30:00+08:00",
    }


def _case(n: int) -> dict[str, Any]:
    return {
        "case_id": f"BS2024{n:06d}",
        "impl_code": _item(n % 5)["impl_code"],
        "item_version": 1,
        "department_code": _department(1)["code"],
        "applicant_type": "enterprise",
        "channel": "online_pc",
        "submitted_at": f"2024-0{1 + n % 4}-02T10:00:00+08:00",
        "status": "completed",
        "updated_at": f"2024-0{1 + n % 4}-20T17:00:00+08:00",
    }


def _write_json(root: Path, name: str, data: Any) -> None:
    (root / name).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _write_lines(root: Path, name: str, rows: list[Any]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (root / name).write_text(text, encoding="utf-8")


def make_small_export(path: Path) -> Path:
    """A tiny contract-conforming folder export: 3 departments, 5 items, 1 life event, 2 files,
    8 cases, 3 evaluations, and a manifest with counts and sha256."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "files").mkdir(exist_ok=True)
    blobs = {"f1": (".pdf", PDF_BYTES), "f2": (".png", PNG_BYTES)}
    for file_id, (ext, data) in blobs.items():
        (path / "files" / f"{file_id}{ext}").write_bytes(data)
    files = [
        {
            "file_id": fid,
            "title": f"附件{fid}",
            "filename": f"{fid}{ext}",
            "media_type": "application/pdf" if ext == ".pdf" else "image/png",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for fid, (ext, data) in blobs.items()
    ]
    lists = {
        "departments": [_department(n) for n in range(1, 4)],
        "items": [_item(n) for n in range(1, 6)],
        "life_events": [
            {
                "code": "LE001",
                "name": "开办餐饮店",
                "steps": [{"title": "办理营业执照", "items": [_item(1)["impl_code"]]}],
            }
        ],
        "files": files,
    }
    for entity, rows in lists.items():
        _write_json(path, f"{entity}.json", rows)
    cases = [_case(n) for n in range(1, 9)]
    evaluations = [
        {"case_id": c["case_id"], "rated_at": c["updated_at"], "level": 5} for c in cases[:3]
    ]
    _write_lines(path, "cases.jsonl", cases)
    _write_lines(path, "evaluations.jsonl", evaluations)
    counts = {**{k: len(v) for k, v in lists.items()}, "cases": 8, "evaluations": 3}
    _write_json(path, "manifest.json", _manifest(path, counts))
    return path


def split_into_folders(root: Path) -> Path:
    """The other folder layout: ``items/*.json`` (one item each) and ``cases/*.jsonl``."""
    items = json.loads((root / "items.json").read_text(encoding="utf-8"))
    (root / "items").mkdir()
    for n, item in enumerate(items):
        _write_json(root / "items", f"{n:04d}.json", item)
    lines = (root / "cases.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "cases").mkdir()
    (root / "cases" / "a.jsonl").write_text("".join(lines[:3]), encoding="utf-8")
    (root / "cases" / "b.jsonl").write_text("\n" + "".join(lines[3:]), encoding="utf-8")
    (root / "items.json").unlink()
    (root / "cases.jsonl").unlink()
    return root


def _manifest(root: Path, counts: dict[str, int]) -> dict[str, Any]:
    sha = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    return {
        "export_id": "small-1",
        "exported_at": "2024-06-30T23:00:00+08:00",
        "system": {"name": "测试审批系统", "version": "1.0"},
        "schema_version": "1",
        "counts": counts,
        "sha256": sha,
    }


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_token_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)


@pytest.fixture
def small_export(tmp_path: Path) -> Path:
    return make_small_export(tmp_path / "export")


@pytest.fixture
def server(small_export: Path):
    with ExportServer(small_export, page_size=2) as running:
        yield running


def _records(source: Any, entity: str) -> list[Any]:
    return [record.data for record in source.iter_records(entity)]


# -- everything arrives ------------------------------------------------------------------------


def _export_dirs() -> list[Any]:
    demo = pytest.param(
        DEMO_EXPORT,
        id="demo-export",
        marks=pytest.mark.skipif(
            not (DEMO_EXPORT / "manifest.json").is_file(), reason="examples/demo-export not built"
        ),
    )
    split = pytest.param("split", id="split-folders-export")
    return [pytest.param(None, id="small-export"), split, demo]


@pytest.mark.parametrize("export_dir", _export_dirs())
def test_every_entity_matches_the_folder_source(export_dir: Any, small_export: Path):
    root = export_dir or small_export
    if export_dir == "split":
        root = split_into_folders(small_export)
    folder = FolderSource(root)
    with ExportServer(root, page_size=7) as running:
        http = HttpSource(running.url, **FAST)
        assert http.read_manifest() == folder.read_manifest()
        for entity in ENTITIES:
            assert _records(http, entity) == _records(folder, entity), entity
        assert http.not_modified == set()


def test_pagination_follows_the_cursor(server: ExportServer):
    records = list(HttpSource(server.url, **FAST).iter_records("items"))
    assert [r.data["impl_code"][-3:] for r in records] == ["001", "002", "003", "004", "005"]
    pages = server.requests_to("/v1/items")
    assert [p.query.get("cursor") for p in pages] == [None, "c2", "c4"]
    assert [r.where for r in records[-2:]] == ["/v1/items 第2页 #2", "/v1/items 第3页 #1"]


def test_updated_since_is_sent_for_cases_and_kept_across_pages(server: ExportServer):
    since = "2024-03-01T00:00:00+08:00"
    source = HttpSource(server.url, updated_since=since, **FAST)
    cases = _records(source, "cases")
    assert cases and all(c["updated_at"] >= "2024-03" for c in cases)
    assert all(r.query.get("updated_since") == since for r in server.requests_to("/v1/cases"))
    assert len(server.requests_to("/v1/cases")) == 2  # 4 cases since March, 2 a page
    _records(source, "items")
    assert all("updated_since" not in r.query for r in server.requests_to("/v1/items"))


def test_an_entity_the_export_does_not_carry_yields_nothing(small_export: Path):
    (small_export / "life_events.json").unlink()
    with ExportServer(small_export) as running:
        assert _records(HttpSource(running.url, **FAST), "life_events") == []


# -- authentication -------------------------------------------------------------------------


def test_bearer_token_comes_from_the_environment(small_export, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "s3cret-token")
    with ExportServer(small_export, token="s3cret-token") as running:
        assert len(_records(HttpSource(running.url, **FAST), "departments")) == 3
        assert running.requests[0].headers["authorization"] == "Bearer s3cret-token"


def test_no_authorization_header_without_the_variable(server: ExportServer):
    _records(HttpSource(server.url, **FAST), "departments")
    assert all("authorization" not in r.headers for r in server.requests)


def test_a_refused_token_is_a_configuration_error(small_export, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "wrong-token-value")
    with ExportServer(small_export, token="right") as running:
        with pytest.raises(ConfigurationError) as caught:
            HttpSource(running.url, **FAST).read_manifest()
        assert len(running.requests) == 1  # 401 is not retried
    message = str(caught.value)
    assert message == "导出接口拒绝了令牌（HTTP 401）；检查环境变量 APPROVALS_EXPORT_TOKEN"
    assert "wrong-token-value" not in message


def test_a_missing_token_says_the_variable_is_unset(small_export):
    with ExportServer(small_export, token="right") as running:
        with pytest.raises(ConfigurationError, match="未设置"):
            _records(HttpSource(running.url, **FAST), "items")


# -- retries ----------------------------------------------------------------------------------


def test_500_twice_then_ok(server: ExportServer):
    server.faults.append(Fault("/v1/manifest", "status", status=500, times=2))
    assert HttpSource(server.url, **FAST).read_manifest()["export_id"] == "small-1"
    assert len(server.requests_to("/v1/manifest")) == 3


def test_500_twice_mid_listing_then_ok(server: ExportServer):
    server.faults.append(Fault("/v1/departments", "status", status=502, page=2, times=2))
    assert len(_records(HttpSource(server.url, **FAST), "departments")) == 3
    assert [r.query.get("cursor") for r in server.requests_to("/v1/departments")] == [
        None,
        "c2",
        "c2",
        "c2",
    ]


def test_500_forever_is_upstream_unavailable(server: ExportServer):
    server.faults.append(Fault("/v1/items", "status", status=503))
    with pytest.raises(UpstreamUnavailable) as caught:
        _records(HttpSource(server.url, **{**FAST, "retries": 3}), "items")
    assert len(server.requests_to("/v1/items")) == 4  # the first try and 3 retries
    assert f"{server.url}/v1/items" in str(caught.value)
    assert "HTTP 503" in str(caught.value)


def test_connection_refused_is_upstream_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamUnavailable, match="没有收到 HTTP 响应"):
        HttpSource(f"http://127.0.0.1:{port}", **FAST).read_manifest()


def test_retry_after_is_honoured(server: ExportServer):
    server.faults.append(Fault("/v1/manifest", "status", status=429, retry_after="1", times=1))
    started = time.monotonic()
    HttpSource(server.url, **FAST).read_manifest()
    assert time.monotonic() - started >= 0.95
    assert len(server.requests_to("/v1/manifest")) == 2


def test_a_long_retry_after_is_capped(server: ExportServer):
    server.faults.append(Fault("/v1/manifest", "status", status=503, retry_after="3600", times=2))
    started = time.monotonic()
    HttpSource(server.url, retry_after_cap=0.5, **FAST).read_manifest()
    assert 0.9 <= time.monotonic() - started < 3.0
    assert len(server.requests_to("/v1/manifest")) == 3


def test_a_reply_slower_than_the_read_timeout_is_upstream_unavailable(server: ExportServer):
    server.faults.append(Fault("/v1/items", "delay", seconds=3.0))
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="没有收到 HTTP 响应：超时"):
        _records(HttpSource(server.url, **{**FAST, "timeout": (1.0, 0.2), "retries": 1}), "items")
    assert time.monotonic() - started < 1.5
    assert len(server.requests_to("/v1/items")) == 2


def test_a_connection_dropped_mid_page_is_retried(server: ExportServer):
    server.faults.append(Fault("/v1/items", "drop", page=2, times=1))
    records = _records(HttpSource(server.url, **FAST), "items")
    assert len(records) == 5
    assert [r.query.get("cursor") for r in server.requests_to("/v1/items")] == [
        None,
        "c2",
        "c2",
        "c4",
    ]


def test_a_connection_that_always_drops_is_export_broken(server: ExportServer):
    server.faults.append(Fault("/v1/items", "drop", page=2))
    with pytest.raises(ExportBroken, match="/v1/items 第2页.*响应被截断"):
        _records(HttpSource(server.url, **FAST), "items")
    assert len(server.requests_to("/v1/items")) == 1 + 3  # page 1, then page 2 thrice


def test_truncated_json_is_export_broken_naming_the_page(server: ExportServer):
    server.faults.append(Fault("/v1/items", "truncate", page=3))
    source = HttpSource(server.url, **FAST)
    with pytest.raises(ExportBroken) as caught:
        _records(source, "items")
    assert "/v1/items 第3页" in str(caught.value)
    assert "JSON 无法解析" in str(caught.value) and "响应被截断" in str(caught.value)
    assert len(server.requests_to("/v1/items")) == 3  # a complete bad reply is not retried


# -- ETag ------------------------------------------------------------------------------------


def test_a_second_run_with_the_same_etags_is_not_modified(server: ExportServer):
    cache: dict[str, str] = {}
    first = HttpSource(server.url, etag_cache=cache, **FAST)
    assert len(_records(first, "items")) == 5
    assert list(cache) == [f"{server.url}/v1/items"]
    second = HttpSource(server.url, etag_cache=cache, **FAST)
    assert _records(second, "items") == []
    assert second.not_modified == {"items"}
    last = server.requests_to("/v1/items")[-1]
    assert last.headers["if-none-match"] == cache[f"{server.url}/v1/items"]
    assert len(_records(second, "departments")) == 3  # other entities still come


def test_an_etag_is_only_remembered_after_the_last_page(server: ExportServer):
    cache: dict[str, str] = {}
    server.faults.append(Fault("/v1/items", "truncate", page=2, times=1))
    with pytest.raises(ExportBroken):
        _records(HttpSource(server.url, etag_cache=cache, **FAST), "items")
    assert cache == {}


# -- the deadline ------------------------------------------------------------------------------


def test_the_overall_deadline_stops_a_slow_extraction(small_export: Path):
    with ExportServer(small_export, page_size=1) as running:
        running.faults.append(Fault("/v1/items", "delay", seconds=0.3))
        source = HttpSource(running.url, **{**FAST, "deadline_seconds": 0.8})
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="导出接口超过整体时限"):
            _records(source, "items")
        assert time.monotonic() - started < 1.3
        assert len(running.requests_to("/v1/items")) < 5
        with pytest.raises(UpstreamUnavailable, match="超过整体时限"):
            source.read_manifest()  # nothing starts after the deadline


# -- files -------------------------------------------------------------------------------------


def test_files_arrive_and_checksums_use_the_bytes_already_fetched(server, small_export):
    folder, http = FolderSource(small_export), HttpSource(server.url, **FAST)
    for name in ("f1.pdf", "f2.png"):
        file_id, ext = name.split(".")
        assert http.fetch_file(file_id, f".{ext}") == folder.fetch_file(file_id, f".{ext}")
    manifest = http.read_manifest()
    assert http.verify_checksums(manifest["sha256"]) == []
    assert len(server.requests_to("/v1/files/")) == 2  # no second download


def test_checksum_mismatches_and_missing_files_are_reported(server: ExportServer):
    sha = HttpSource(server.url, **FAST).read_manifest()["sha256"]
    sha["files/f2.png"] = "0" * 64
    sha["files/f9.pdf"] = "1" * 64
    messages = HttpSource(server.url, **FAST).verify_checksums(sha)
    assert len(messages) == 2
    assert messages[0].startswith("files/f2.png: sha256 不符（manifest 为 000000000000…")
    assert messages[0].endswith(f"{len(PNG_BYTES)} 字节）——文件被截断或未复制完整")
    assert messages[1].startswith("files/f9.pdf: manifest 列出此文件，但导出接口中不存在")
    assert "/v1/files/f9：HTTP 404" in messages[1]


def test_a_file_download_dropped_mid_way_is_retried(server, small_export):
    server.faults.append(Fault("/v1/files/f1", "drop", times=1))
    http = HttpSource(server.url, **FAST)
    assert http.fetch_file("f1", ".pdf") == PDF_BYTES
    assert len(server.requests_to("/v1/files/f1")) == 2


def test_a_file_over_20_mib_is_refused(small_export: Path):
    (small_export / "files" / "big.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024))
    with ExportServer(small_export) as running:
        with pytest.raises(ExportBroken, match="文件过大"):
            HttpSource(running.url, **FAST).fetch_file("big", ".pdf")


def test_a_site_built_over_http_equals_one_built_from_the_folder(tmp_path):
    from pipeline.build import BuildOptions, run_build
    from tests.fixtures import small_export as write_small_export
    from tests.fixtures import tree_bytes

    export = write_small_export(tmp_path / "export", n_items=4)
    folder_site, http_site = tmp_path / "folder-site", tmp_path / "http-site"
    first = run_build(BuildOptions(export=str(export), site_dir=folder_site))
    with ExportServer(export, page_size=2) as running:
        second = run_build(BuildOptions(export=running.url, site_dir=http_site))
    assert first.release_id == second.release_id

    assert tree_bytes(folder_site / "current") == tree_bytes(http_site / "current")
