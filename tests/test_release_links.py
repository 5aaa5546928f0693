"""Issue 13 item 5: the change history names items that the live release does not have (removed
from the export, or dropped as invalid). Such an item is named as text marked 本次发布未包含, never
linked, so one invalid item no longer makes the site check refuse every later night; and when the
site check does refuse, the admin reads every missing target and the pages that link to it."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build
from pipeline.errors import GateRefused
from pipeline.gates.site import MESSAGE_BUDGET, broken_links, site_smoke_check
from pipeline.site.item_links import ItemLinks
from tests.fixtures import department, item, write_export

ROOT = Path(__file__).resolve().parent.parent
DEPTS = [department(1, "上海市宝山区市场监督管理局"), department(2, "上海市宝山区卫生健康委员会")]
A, B = DEPTS[0]["code"], DEPTS[1]["code"]
ITEMS = [item(n, A if n % 2 else B, f"测试事项{n}号") for n in range(1, 25)]
X, Y, Z = ITEMS[0], ITEMS[1], ITEMS[2]  # made invalid, abolished, removed on the last night
LATER = {"version": 4, "updated_at": "2026-11-25T10:00:00+08:00"}
CHANGED = [
    dict(X, name="食品经营许可（新办）", **LATER),
    dict(Y, promised_limit={"value": 5, "unit": "working_days"}, **LATER),
    dict(Z, aliases=["开小店"], **LATER),
    *ITEMS[3:],
]
"""The night the three items changed: its change page links to each of them."""
DROPPED = [
    dict(CHANGED[0], status="不存在的状态"),  # invalid: the validation drops the record
    dict(CHANGED[1], status="abolished"),
    *CHANGED[3:],  # Z is gone from the export
]
MARKER = "本次发布未包含"


def night(root: Path, items: list, day: str) -> Path:
    return write_export(
        root / day,
        DEPTS,
        items,
        export_id=f"night-{day}",
        exported_at=f"2026-11-{day}T23:30:00+08:00",
    )


def approvals(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def dropped(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Three nights: the first release; the night X, Y and Z changed (its change page links to
    them); the same export again with X invalid, Y abolished and Z removed. (A fresh site's
    first release has no change events, so its pages link to no item: it takes the middle
    night for the history to name an item that a later release drops.)"""
    root = tmp_path_factory.mktemp("links")
    site = root / "site"
    run_build(BuildOptions(export=str(night(root, ITEMS, "24")), site_dir=site))
    run_build(BuildOptions(export=str(night(root, CHANGED, "25")), site_dir=site))
    done = approvals("build", "--export", str(night(root, DROPPED, "26")), "--site", str(site))
    return site / "current", done


def code(record: dict) -> str:
    return record["impl_code"]


def line_of(page: str, record: dict) -> str:
    """The item's entry on a change page (its ``<li id=…>`` up to the next entry)."""
    start = page.index(f'<li id="{code(record)}">')
    ends = [page.find(mark, start + 1) for mark in ("<li id=", "</section>")]
    return page[start : min(e for e in ends if e > 0)]


def test_a_night_that_drops_an_item_still_publishes(dropped):
    release, done = dropped
    assert done.returncode == 0, done.stderr[-3000:]
    assert "站内链接失效" not in done.stderr
    assert json.loads((release / "data/manifest.json").read_text("utf-8"))["export_id"] == (
        "night-26"
    )
    assert broken_links(release / "site") == []


def test_the_history_names_the_dropped_items_as_marked_text(dropped):
    release, _ = dropped
    site = release / "site"
    for day in ("25", "26"):  # the night they changed, the night they went
        page = (site / f"changes/2026-11-{day}.html").read_text("utf-8")
        for gone, why in ((X, f"（{MARKER}：导出中的记录未通过校验）"), (Z, f"（{MARKER}）")):
            entry = line_of(page, gone)
            assert why in entry and "href" not in entry, entry
        kept = line_of(page, Y)  # abolished: its guide page stays, with a 已取消 notice
        assert f'<a href="/items/{code(Y)}.html">' in kept and MARKER not in kept
        assert f'<a href="/changes/items/{code(Y)}.html">变更记录</a>' in kept
    assert not (site / f"items/{code(X)}.html").exists()
    assert not (site / f"changes/items/{code(Z)}.html").exists()
    assert "已取消" in (site / f"items/{code(Y)}.html").read_text("utf-8")


def test_the_feeds_point_dropped_items_at_their_line_on_the_change_page(dropped):
    import feedparser

    release, _ = dropped
    feed = feedparser.parse((release / "site/feeds/changes.atom").read_bytes())
    links = {(e.id.rsplit("/", 1)[1], e.id.split(",")[1][:10]): e.link for e in feed.entries}
    base = "https://approvals.example.gov.cn"
    assert links[(code(X), "2026-11-25")] == f"{base}/changes/2026-11-25.html#{code(X)}"
    assert links[(code(Z), "2026-11-26")] == f"{base}/changes/2026-11-26.html#{code(Z)}"
    assert links[(code(Y), "2026-11-26")] == f"{base}/changes/items/{code(Y)}.html"


def test_item_links_escape_and_mark():
    links = ItemLinks(frozenset({"A1"}), "/base", frozenset({"B2"}))
    assert (
        links.link("A1", "<b>甲</b>") == '<a href="/base/items/A1.html">&lt;b&gt;甲&lt;/b&gt;</a>'
    )
    assert links.href("A1", "history") == "/base/changes/items/A1.html"
    assert links.href("B2") is None and links.href("C3", "history") is None
    assert "本次发布未包含：导出中的记录未通过校验" in links.link("B2", "乙")
    assert links.link("C3", "丙") == (
        '<strong>丙</strong> <span class="meta not-in-release">（本次发布未包含）</span>'
    )


# ------------------------------------------------------------------ when the site check refuses


def test_a_refused_site_check_names_every_missing_target_and_its_pages(tmp_path):
    """A real build whose hand-written pages link to pages that do not exist: what the admin
    reads on the terminal and in ``logs/runs.jsonl``."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)  # the site's own pages, which the footer links to
    for n in range(1, 6):
        (content / "pages" / f"p{n}.md").write_text(
            f"Title: 页面{n}\nSlug: p{n}\n\n[旧地址](/gone.html) [第 {n} 个](/missing-{n}.html)\n",
            encoding="utf-8",
        )
    settings = tmp_path / "settings.py"
    settings.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom pelicanconf import *  # noqa\n"
        f"PATH = {str(content)!r}\n",
        encoding="utf-8",
    )
    site = tmp_path / "site"
    export = night(tmp_path, ITEMS, "24")
    done = approvals(
        "build", "--export", str(export), "--site", str(site), "--settings", str(settings)
    )
    assert done.returncode == 3, done.stderr[-3000:]
    head = (
        "站点检查未通过（0 个必需页面缺失，10 个站内链接失效（6 个目标，在 5 个页面中）），拒绝发布"
    )
    every_target = [
        "/gone.html 不存在，5 个页面链接到它：pages/p1.html、pages/p2.html、pages/p3.html 等 5 个页面",
        *(f"/missing-{n}.html 不存在，1 个页面链接到它：pages/p{n}.html" for n in range(1, 6)),
    ]
    message = done.stderr.rsplit("approvals build: ", 1)[1]
    assert message.startswith(head) and all(line in message for line in every_target), message
    for n in range(1, 6):  # every link, one by one, in the log
        assert f"event=broken_link page=pages/p{n}.html href=/gone.html" in done.stderr
    run = json.loads((site / "logs/runs.jsonl").read_text("utf-8").splitlines()[-1])
    assert run["exit_code"] == 3 and run["message"].startswith(head)
    assert all(line in run["message"] for line in every_target)
    assert not (site / "current").exists()


def test_a_long_list_of_broken_links_stays_within_the_message_and_is_logged(tmp_path, caplog):
    site = tmp_path / "site"
    for name in ("index.html", "az.html", "departments/index.html", "quality.html"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("<p>ok</p>", encoding="utf-8")
    for n in range(400):
        (site / f"p{n:03d}.html").write_text(f'<a href="/gone-{n:03d}.html">x</a>', "utf-8")
    with caplog.at_level(logging.WARNING), pytest.raises(GateRefused) as refused:
        site_smoke_check(site, [])
    message = str(refused.value)
    listed = message.count(" 不存在，1 个页面链接到它：")
    assert 0 < listed < 400 and len(message) < MESSAGE_BUDGET + 300
    assert f"……另有 {400 - listed} 个失效目标（{400 - listed} 个链接）未列出" in message
    logged = [r.getMessage() for r in caplog.records if "event=broken_link " in r.getMessage()]
    assert (
        len(logged) == 400 and logged[-1] == "event=broken_link page=p399.html href=/gone-399.html"
    )
