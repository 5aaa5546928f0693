"""Memory grows with the records an export holds, not with its bytes: ``{}`` is two bytes, and
each empty record became a dozen problems kept in full (200,000 of them in a 0.6 MB page peaked
at 841 MB; 2 million at 7.9 GB). An entity with more records than its manifest declares is
refused at the first record too many, and the problems kept in full are capped per entity and
severity (the rest counted, and the report says how many). The runs are child processes watched
as in test_http_hostile.py: their peak RSS is their own ``ru_maxrss``, and a child past the
bound is killed at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.validate.problems import MAX_SHOWN, Problem, Report
from tests.export_server import ExportServer, Fault
from tests.fixtures import small_export, write_export
from tests.test_http_hostile import WATCH, Child

WATCH_KEEPING_STDOUT = WATCH.replace("stdout=subprocess.DEVNULL", "stdout=open(log + '.out', 'wb')")
assert WATCH_KEEPING_STDOUT != WATCH

ROOT = Path(__file__).resolve().parent.parent
RSS_BOUND_MIB = 200
"""A run that refuses while extracting peaks at ~75 MiB (interpreter and imports)."""
MANY = 200_000
PER_RECORD = 22
"""Problems of one empty item (one per required field)."""
EMPTY_PAGE = b'{"data": [' + b",".join([b"{}"] * MANY) + b'], "next": null}'


def run_child(args: list[str], log: Path, timeout: float = 90.0) -> Child:
    """``approvals ARGS`` in a watched child process (exit code, stderr, peak RSS); its stdout
    is kept in ``LOG.out``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    command = [sys.executable, "-m", "pipeline.cli", *args]
    watched = subprocess.run(
        [
            sys.executable,
            "-c",
            WATCH_KEEPING_STDOUT,
            str(RSS_BOUND_MIB),
            str(timeout),
            str(log),
            *command,
        ],
        cwd=ROOT,
        env=environment,
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


def test_a_page_of_empty_records_past_the_manifest_count_is_refused_at_once(tmp_path):
    export = small_export(tmp_path / "export")  # its manifest declares 3 items
    with ExportServer(export) as server:
        server.faults.append(Fault("/v1/items", "body", bodies=[EMPTY_PAGE]))
        site = tmp_path / "site"
        child = run_child(["build", "--export", server.url, "--site", str(site)], tmp_path / "b")
    assert not child.killed_for, child.killed_for
    assert child.code == 3, child.stderr
    assert "items: 导出中的记录多于 manifest 声明的 3 条（第 4 条：" in child.stderr
    assert f"{server.url} /v1/items 第1页 #4" in child.stderr
    assert child.peak_rss_mib < RSS_BOUND_MIB
    assert not (site / "current").exists()


def test_a_file_of_empty_records_past_the_manifest_count_is_refused_at_once(tmp_path):
    export = small_export(tmp_path / "export")
    items = json.loads((export / "items.json").read_text("utf-8"))
    write_export(tmp_path / "many", [], [*items, *[{}] * MANY], counts={"items": 3})
    child = run_child(["validate", "--export", str(tmp_path / "many")], tmp_path / "v")
    assert not child.killed_for, child.killed_for
    assert child.code == 3, child.stderr
    assert "items: 导出中的记录多于 manifest 声明的 3 条（第 4 条：" in child.stderr
    assert f"{tmp_path / 'many'} items.json[3]" in child.stderr
    assert child.peak_rss_mib < RSS_BOUND_MIB


@pytest.mark.parametrize("source", ["folder", "http"])
def test_empty_records_the_manifest_declares_keep_a_bounded_report(tmp_path, source):
    """As many empty records as the manifest says: every one is read and counted, the first
    MAX_SHOWN problems of each kind kept in full, the rest counted — memory stays bounded."""
    many = 60_000
    export = write_export(tmp_path / "export", [], [{}] * many)
    with ExportServer(export, page_size=many) as server:
        where = server.url if source == "http" else str(export)
        args = ["validate", "--export", where, "--max-invalid-share", "1"]
        child = run_child(args, tmp_path / "v")
    assert not child.killed_for, child.killed_for
    assert child.code == 1, child.stderr
    assert child.peak_rss_mib < RSS_BOUND_MIB
    lines = (tmp_path / "v.out").read_text("utf-8").splitlines()
    listed = [line for line in lines if line.startswith("[error] items ")]
    assert len(listed) == MAX_SHOWN
    hidden = f"items：另有 {PER_RECORD * many - MAX_SHOWN} 个错误未逐条列出"
    assert any(line.startswith(hidden) for line in lines), lines[-3:]
    assert f"items 0/{many}；错误 {PER_RECORD * many} 个" in lines[-1]


def test_the_report_keeps_the_first_problems_in_full_and_counts_the_rest():
    report = Report()
    for n in range(MAX_SHOWN + 250):
        report.add(Problem("items", f"I{n}", "name", "缺少字段", "", "error", "", "D1"))
    for n in range(3):
        report.add(Problem("items", f"I{n}", "url", "链接无效", "", "warning", "", "D2"))
    report.add(Problem("departments", "D9", "name", "缺少字段", "", "error"))
    assert len(report.problems) == MAX_SHOWN + 3 + 1
    assert (report.error_count, report.warning_count) == (MAX_SHOWN + 251, 3)
    assert report.not_shown_summary() == [
        f"items：另有 250 个错误未逐条列出（每类只列前 {MAX_SHOWN} 个，其余只计数）"
    ]
    shown = report.as_dict()
    assert (shown["errors"], shown["warnings"]) == (MAX_SHOWN + 251, 3)
    assert shown["problems_not_shown"] == [
        {"entity": "items", "severity": "error", "department_code": "D1", "count": 250}
    ]
