"""The whole build on a valid export: steps in order, one page per item, JSON-LD, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline import build as build_module
from pipeline.build import BuildOptions, run_build
from tests.fixtures import department, item, small_export, tree_bytes, write_export


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    export = small_export(root / "export", n_items=6)
    result = run_build(BuildOptions(export=str(export), site_dir=root / "site"))
    return export, root / "site", result


def test_steps_run_in_the_documented_order(built):
    _, _, result = built
    names = tuple(name for name, _ in build_module.STEPS)
    assert names == (
        "extract_and_validate",
        "outcomes",
        "write_release_data",
        "history",
        "datasets",
        "search_index",
        "render_site",
        "browser_search_index",
        "check_site",
        "check_datasets",
        "gates",
        "privacy_gate",
        "publish",
    )
    assert tuple(result.timings) == names


def test_one_guide_page_per_item_of_the_export(built):
    export, site, _ = built
    items = json.loads((export / "items.json").read_text("utf-8"))
    live = site / "current" / "site"
    pages = sorted(p.stem for p in (live / "items").glob("*.html"))
    assert pages == sorted(i["impl_code"] for i in items)
    for record in items:
        data = json.loads((live / f"items/{record['impl_code']}.json").read_text("utf-8"))
        assert data["name"] == record["name"] and data["impl_code"] == record["impl_code"]


def _jsonld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD"
    return json.loads(match.group(1))


def test_item_page_sections_and_government_service_jsonld(built):
    export, site, _ = built
    record = json.loads((export / "items.json").read_text("utf-8"))[0]
    html = (site / "current/site/items" / f"{record['impl_code']}.html").read_text("utf-8")
    assert html.count("<h1>") == 1 and f"<h1>{record['name']}</h1>" in html
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    expected = [
        "谁可以申请",
        "申请条件",
        "申请材料",
        "收费",
        "办理时限",
        "办理流程",
        "在哪里、怎么办",
        "咨询与投诉",
        "法律依据",
        "监管措施",
    ]
    assert [h for h in headings if h in expected] == expected
    data = _jsonld(html)
    assert data["@type"] == "GovernmentService" and data["@context"] == "https://schema.org"
    assert data["identifier"] == record["impl_code"] and data["name"] == record["name"]
    assert data["provider"]["@type"] == "GovernmentOrganization"
    assert "不收费" in html and "10 个工作日" in html and "20 个工作日" in html
    assert 'href="/files/F0001/F0001.pdf"' in html


def test_browse_pages_exist_and_link_items(built):
    export, site, _ = built
    live = site / "current" / "site"
    for page in [
        "index.html",
        "az.html",
        "departments/index.html",
        "themes/index.html",
        "life-events/index.html",
        "life-events/LE001.html",
        "quality.html",
        "developers.html",
        "pages/about.html",
        "pages/methodology.html",
        "pages/licence.html",
        "pages/how-to-use.html",
        "audiences/enterprise.html",
        "types/licensing.html",
        "contract/openapi.json",
        "contract/export-contract.schema.json",
    ]:
        assert (live / page).is_file(), page
    home = (live / "index.html").read_text("utf-8")
    assert (
        'href="/life-events/LE001.html"' in home
        and 'href="/themes/zhun-ying-zhun-ban.html"' in home
    )


def test_no_broken_internal_links(built):
    from pipeline.gates.site import broken_links

    _, site, _ = built
    assert broken_links(site / "current" / "site") == []


def test_same_export_gives_byte_identical_releases(built, tmp_path):
    export, site, first = built
    other_site = tmp_path / "site"
    second = run_build(BuildOptions(export=str(export), site_dir=other_site))
    assert first.release_id == second.release_id
    assert tree_bytes(site / "releases" / first.release_id) == tree_bytes(
        other_site / "releases" / second.release_id
    )


def test_rebuilding_into_the_same_site_adds_a_release_and_swaps(tmp_path):
    export = small_export(tmp_path / "export")
    site = tmp_path / "site"
    first = run_build(BuildOptions(export=str(export), site_dir=site))
    second = run_build(BuildOptions(export=str(export), site_dir=site))
    assert (first.release_id, second.release_id) == (
        "r000001-20261125T233000-test-export",
        "r000002-20261125T233000-test-export",
    )  # a number per publication (tests/test_release_ids.py)
    assert (site / "current").readlink() == Path("releases") / second.release_id
    assert (site / "releases" / first.release_id / "site/index.html").is_file()


def test_abolished_items_keep_a_page_but_leave_the_browse_lists(tmp_path):
    dept = department(1, "上海市宝山区民政局")
    items = [
        item(1, dept["code"], "在用事项"),
        item(2, dept["code"], "取消事项", status="abolished"),
    ]
    export = write_export(tmp_path / "export", [dept], items)
    run_build(BuildOptions(export=str(export), site_dir=tmp_path / "site"))
    live = tmp_path / "site/current/site"
    assert "已取消" in (live / f"items/{items[1]['impl_code']}.html").read_text("utf-8")
    az = (live / "az.html").read_text("utf-8")
    assert "在用事项" in az and "取消事项" not in az


def test_quality_page_scores_departments(built):
    _, site, _ = built
    quality = json.loads((site / "current/data/quality.json").read_text("utf-8"))
    scores = {d["code"]: d["score"] for d in quality["completeness"]["departments"]}
    assert set(scores.values()) == {1.0}
    html = (site / "current/site/quality.html").read_text("utf-8")
    assert "100.0%" in html
