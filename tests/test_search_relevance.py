"""The relevance set (``tests/relevance.yaml``) against both indexes of the built demo site.

The server index (Whoosh) is asked directly; the browser index is measured the way people use
it: the built site's ``search.html`` in headless Chromium, through the page's own search code
(``window.approvalsSearch.searchUrls``), over the real Pagefind bundle. Thresholds from the issue:
success@5 ≥ 0.9 for the server, ≥ 0.8 in the browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.search.relevance import evaluate, failures, load_cases, metrics, name_by_key
from pipeline.search.steps import read_documents

if TYPE_CHECKING:
    from tests.conftest import BuiltSite

RELEVANCE = Path(__file__).with_name("relevance.yaml")
SERVER_MIN_SUCCESS_AT_5 = 0.9
BROWSER_MIN_SUCCESS_AT_5 = 0.8
KINDS = {
    "exact",
    "partial",
    "colloquial",
    "alias",
    "pinyin",
    "initials",
    "typo",
    "traditional",
    "quoted",
    "life_event",
    "none",
}


def _demo_only(built_site: BuiltSite) -> None:
    if not (built_site.site_dir / "current" / "search").is_dir() or "demo-export" not in str(
        built_site.export
    ):
        pytest.skip("the relevance set is written for the bundled demo export")


def test_the_set_is_large_and_varied():
    cases = load_cases(RELEVANCE)
    assert len(cases) >= 60
    assert {c.kind for c in cases} == KINDS
    assert sum(1 for c in cases if not c.expect) >= 3  # queries that must return nothing
    assert len({c.query for c in cases}) == len(cases)


def test_every_expected_answer_exists(built_site: BuiltSite):
    _demo_only(built_site)
    names = set(name_by_key(read_documents(built_site.site_dir / "current" / "search")).values())
    missing = sorted({n for c in load_cases(RELEVANCE) for n in c.expect} - names)
    assert missing == []


def test_server_index_relevance(built_site: BuiltSite):
    from pipeline.search.server_query import ServerIndex

    _demo_only(built_site)
    folder = built_site.site_dir / "current" / "search"
    with ServerIndex(folder) as index:
        outcomes = evaluate(
            load_cases(RELEVANCE),
            lambda q: [h.key for h in index.search(q).hits],
            name_by_key(read_documents(folder)),
        )
    scores = metrics(outcomes)
    print(f"server index: {scores}")
    assert scores["success_at_5"] >= SERVER_MIN_SUCCESS_AT_5, f"{scores}\n{failures(outcomes)}"


def _key(url: str) -> str:
    return url.rsplit("/", 1)[-1].removesuffix(".html")


@pytest.mark.browser
def test_browser_index_relevance(built_site: BuiltSite, new_context: Any):
    _demo_only(built_site)
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(built_site.url("/search.html"))
    page.wait_for_function("window.approvalsSearch !== undefined")

    def search(query: str) -> list[str]:
        return [_key(u) for u in page.evaluate("q => window.approvalsSearch.searchUrls(q)", query)]

    outcomes = evaluate(
        load_cases(RELEVANCE),
        search,
        name_by_key(read_documents(built_site.site_dir / "current" / "search")),
    )
    scores = metrics(outcomes)
    print(f"browser index: {scores}")
    assert errors == []
    assert scores["success_at_5"] >= BROWSER_MIN_SUCCESS_AT_5, f"{scores}\n{failures(outcomes)}"


def test_item_pages_show_related_items(built_site: BuiltSite):
    """Each item page lists related items from the server index (the other variants first)."""
    _demo_only(built_site)
    html = (built_site.root / "items" / "113101130024810127400000101.html").read_text("utf-8")
    section = html[html.index('<section id="related"') :]
    section = section[: section.index("</section>")]
    assert "<h2>相关事项</h2>" in section
    for variant in ("食品经营许可（变更）", "食品经营许可（延续）", "食品经营许可（注销）"):
        assert variant in section
    assert "113101130024810127400000101.html" not in section  # not itself
