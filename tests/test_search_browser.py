"""The search page of the built site in headless Chromium: typing Chinese queries into the box,
the expected item first, a filter narrowing the results, phone width, WCAG 2.1 AA, no
JavaScript, and the bytes a first and a next query download."""

from __future__ import annotations

import gzip
import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.test_browser import AXE_OPTIONS, OVERFLOW_JS, PHONE, _axe_report, load

if TYPE_CHECKING:
    from tests.conftest import BuiltSite

pytestmark = pytest.mark.browser

FIRST_QUERY_MAX_BYTES = 150_000
STATUS = "#search-status"


def _demo_only(built_site: BuiltSite) -> None:
    if "demo-export" not in str(built_site.export):
        pytest.skip("these queries are written for the bundled demo export")


def _search(page: Any, query: str) -> None:
    box = page.get_by_role("searchbox", name="想办什么事？")
    box.fill(query)
    box.press("Enter")
    page.wait_for_function(
        "([sel, q]) => { const t = document.querySelector(sel).textContent;"
        " return t.includes('“' + q + '”') && !t.includes('正在'); }",
        arg=[STATUS, query],
    )


def _titles(page: Any) -> list[str]:
    return page.locator("#search-results .search-result-title").all_inner_texts()


def _count(page: Any) -> int:
    match = re.search(r"找到 (\d+) 个", page.locator(STATUS).inner_text())
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("开饭店", {"食品经营许可（新办）", "开办餐饮店"}),
        ("营业执照", {"个体工商户设立登记", "有限责任公司设立登记"}),
        (
            "生孩子要办什么",
            {"出生医学证明办理", "生育登记", "出生登记", "新生儿出生", "生育医疗费用报销"},
        ),
        ("結婚登記", {"结婚登记"}),
        ("“食品经营许可”", {"食品经营许可（新办）"}),
    ],
)
def test_typing_a_chinese_query_shows_the_item_first_at_phone_width(
    built_site: BuiltSite, new_context: Any, query: str, first: set[str]
):
    _demo_only(built_site)
    loaded = load(new_context(**PHONE), built_site.url("/search.html"))
    page = loaded.page
    _search(page, query)
    titles = _titles(page)
    assert titles and titles[0] in first, titles[:5]
    meta = page.locator("#search-results .search-result-meta").first.inner_text()
    if not meta.startswith("一件事"):
        assert (
            "上海市宝山区" in meta and ("工作日" in meta or "即时办结" in meta) and "收费" in meta
        ), meta
    metrics = page.evaluate(OVERFLOW_JS, PHONE["viewport"]["width"])
    assert metrics["scrollWidth"] <= metrics["innerWidth"] == PHONE["viewport"]["width"], metrics
    assert f"q={query}" in page.evaluate("decodeURIComponent(location.search)")
    assert loaded.problems == [], loaded.problems


def test_a_filter_narrows_the_results(built_site: BuiltSite, new_context: Any):
    _demo_only(built_site)
    page = load(new_context(**PHONE), built_site.url("/search.html")).page
    _search(page, "许可")
    before = _count(page)
    page.get_by_text("筛选结果").click()  # the panel starts closed
    group = page.get_by_role("group", name="部门")
    box = group.get_by_role("checkbox", name=re.compile(r"^\s*上海市宝山区市场监督管理局\s*（"))
    expected = int(re.search(r"（(\d+)）", box.locator("xpath=..").inner_text()).group(1))
    box.check()
    page.wait_for_function(
        f"document.querySelector('{STATUS}').textContent.includes('找到 {expected} 个')"
    )
    after = _count(page)
    assert 0 < after == expected < before
    metas = page.locator("#search-results .search-result-meta").all_inner_texts()
    assert metas and all("上海市宝山区市场监督管理局" in m for m in metas)
    assert "department=" in page.evaluate("location.search")
    # The same address opens the same narrowed results.
    again = load(new_context(), page.url).page
    again.wait_for_function(
        f"document.querySelector('{STATUS}').textContent.includes('找到 {expected} 个')"
    )


def test_search_page_has_no_axe_violations(built_site: BuiltSite, new_context: Any):
    from axe_playwright_python.sync_playwright import Axe

    _demo_only(built_site)
    loaded = load(new_context(), built_site.url("/search.html?q=开饭店"))
    loaded.page.wait_for_function(
        f"document.querySelector('{STATUS}').textContent.includes('找到')"
    )
    violations = Axe().run(loaded.page, options=AXE_OPTIONS).response["violations"]
    assert not violations, _axe_report(violations)
    assert loaded.problems == [], loaded.problems


def test_without_javascript_the_form_goes_to_the_a_z_index(built_site: BuiltSite, new_context: Any):
    page = load(new_context(java_script_enabled=False), built_site.url("/search.html")).page
    assert page.locator("#search-app").is_hidden()
    assert page.get_by_text("A–Z 索引").first.is_visible()
    page.get_by_role("searchbox", name="想办什么事？").fill("开饭店")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/az.html?q=*")
    assert page.locator("h1").inner_text().startswith("全部事项")


def test_home_search_box_leads_to_results(built_site: BuiltSite, new_context: Any):
    _demo_only(built_site)
    page = load(new_context(), built_site.url("/")).page
    page.get_by_role("searchbox", name="找事项").fill("开公司")
    page.get_by_role("button", name="查找").click()
    page.wait_for_url("**/search.html?q=*")
    page.wait_for_function(f"document.querySelector('{STATUS}').textContent.includes('找到')")
    assert "有限责任公司设立登记" in _titles(page)[:3]


def _transfer(response: Any) -> tuple[int, int]:
    """(bytes as served, bytes with gzip for text): ``approvals serve`` does not compress, any
    production web server does; Pagefind's own index files are gzip already."""
    body = response.body() if response.ok else b""
    text = response.headers.get("content-type", "").startswith(("text/", "application/json"))
    return len(body), len(gzip.compress(body, 6)) if text else len(body)


def test_bytes_for_a_first_and_a_next_query(built_site: BuiltSite, new_context: Any):
    """What the search costs a phone: everything under /pagefind/ fetched until the first query is
    answered (Pagefind's code and WebAssembly, its page list, the index chunks, the fragments of
    the results shown; the filter lists wait until the filter panel is opened) must stay under
    150 KB on the demo; a next query fetches only what it has not seen."""
    _demo_only(built_site)
    page = new_context(**PHONE).new_page()
    seen: list[tuple[str, int, int]] = []
    page.on(
        "response", lambda r: seen.append((r.url, *_transfer(r))) if "/pagefind/" in r.url else None
    )
    page.goto(built_site.url("/search.html"))
    _search(page, "营业执照")
    page.wait_for_load_state("networkidle")
    first_raw, first = sum(s[1] for s in seen), sum(s[2] for s in seen)
    assert any(url.endswith(".pf_index") for url, _, _ in seen)
    seen.clear()
    _search(page, "开饭店")
    page.wait_for_load_state("networkidle")
    following = sum(s[2] for s in seen)
    print(f"first query: {first} B ({first_raw} B uncompressed); next query: {following} B")
    assert first < FIRST_QUERY_MAX_BYTES
    assert following < first / 2
