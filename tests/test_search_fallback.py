"""A build with a Pagefind and a Whoosh this code does not know: the re-writes that lean on their
internals stand aside (``pipeline/search/pagefind/rewrite.py``, ``pipeline/search/whoosh_fast.py``),
the build says so in a warning and publishes, and both searches work.

The whole demo is built once with the real ``approvals build``, in this process, with a
Pagefind binary that reports another version (a wrapper around the installed one: the bundle is
what Pagefind writes) and Whoosh reporting another version (its ``versionstring``); then the
server index answers ``approvals search`` and the API, and the search page finds items in
Chromium from Pagefind's own bundle."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.search.pagefind import rewrite
from pipeline.search.pagefind.index import build_browser_index, pagefind_binary
from pipeline.search.steps import read_documents
from pipeline.search.whoosh_fast import SUPPORTED_VERSIONS

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo-export"
FOOD_NEW = "113101130024810127400000101"  # 食品经营许可（新办）
OTHER_PAGEFIND, OTHER_WHOOSH = "1.9.0", "3.99.0"


@pytest.fixture(scope="module")
def fallback_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``approvals build`` of the demo with Pagefind 1.9.0 and Whoosh 3.99.0 (as they say)."""
    import pagefind_bin_extended
    import whoosh

    from pipeline.cli import main

    work = tmp_path_factory.mktemp("fallback")
    real = pagefind_binary()
    wrapper = work / "pagefind_extended"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pagefind {OTHER_PAGEFIND}"; exit 0; fi\n'
        f'exec "{real}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    assert rewrite.binary_version(wrapper) == OTHER_PAGEFIND
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("pipeline").addHandler(handler)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(pagefind_bin_extended, "get_executable", lambda: str(wrapper))
        patched.setattr(whoosh, "versionstring", lambda *a, **k: OTHER_WHOOSH)
        code = main(["build", "--export", str(DEMO), "--site", str(work / "site")])
    logging.getLogger("pipeline").removeHandler(handler)
    yield {"code": code, "site": work / "site", "warnings": [r.getMessage() for r in records]}


def test_the_build_publishes_with_a_warning_for_each(fallback_build: dict[str, Any]):
    assert fallback_build["code"] == 0
    warnings = fallback_build["warnings"]
    pagefind = [w for w in warnings if "event=pagefind_unsupported" in w]
    whoosh = [w for w in warnings if "event=whoosh_internals_unsupported" in w]
    assert pagefind and f"version={OTHER_PAGEFIND}" in pagefind[0]
    assert "fallback=stock_bundle" in pagefind[0] and "1.5.2" in pagefind[0]
    assert whoosh and f"version={OTHER_WHOOSH}" in whoosh[0]
    assert all("fallback=stock_writer" in w for w in whoosh)
    assert SUPPORTED_VERSIONS[0] in whoosh[0]


def test_the_bundle_is_pagefinds_own(fallback_build: dict[str, Any]):
    """One run over all the pages, not re-written: Pagefind's names (its hashes), no compact
    meta; the unused interfaces removed and the search page's settings written as always."""
    bundle = fallback_build["site"] / "current" / "site" / "pagefind"
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    ((language, info),) = entry["languages"].items()
    assert info["page_count"] == len(read_documents(fallback_build["site"] / "current" / "search"))
    assert (bundle / f"pagefind.{info['hash']}.pf_meta").is_file()
    assert not list(bundle.glob("*.meta.json"))
    fragments = [p.stem for p in (bundle / "fragment").iterdir()]
    assert all(len(name) == len(language) + 1 + 7 for name in fragments)  # Pagefind's hashes
    assert not (bundle / "pagefind-ui.js").exists()
    assert json.loads((bundle / "search-config.json").read_text(encoding="utf-8"))["filters"]


def test_the_server_index_answers(fallback_build: dict[str, Any], capsys):
    from pipeline.cli import main

    assert main(["search", "开饭店", "--site", str(fallback_build["site"]), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results[0]["impl_code"] == FOOD_NEW


@pytest.fixture(scope="module")
def demo_documents(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    from pipeline.search.steps import build_search

    folder = tmp_path_factory.mktemp("fallback-documents")
    shutil.copytree(DEMO, folder / "data", ignore=shutil.ignore_patterns("files"))
    build_search(folder / "data", folder, None)
    return read_documents(folder / "search")


def test_the_same_pages_in_either_bundle(demo_documents: list[Any], tmp_path: Path, caplog):
    """The stock bundle and the re-written one index the same pages: the re-write changes how
    they are stored, not what is found (``tests/test_pagefind_bundle.py`` compares the results
    in Pagefind's own code). A version that cannot be read counts as unknown."""
    with caplog.at_level(logging.WARNING):
        stock = build_browser_index(demo_documents, tmp_path / "stock", pagefind_version="")
        ours = build_browser_index(demo_documents, tmp_path / "ours", pagefind_version="1.5.2")
    warned = [r.getMessage() for r in caplog.records if "pagefind_unsupported" in r.getMessage()]
    assert len(warned) == 1 and "version=unknown" in warned[0]
    for bundle in (stock, ours):
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        assert next(iter(entry["languages"].values()))["page_count"] == len(demo_documents)
    assert not list(stock.glob("*.meta.json")) and list(ours.glob("*.meta.json"))


@pytest.fixture(scope="module")
def fallback_server(fallback_build: dict[str, Any]) -> Iterator[str]:
    from pipeline.ops.serve import make_server

    server = make_server(fallback_build["site"], "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    server.search.close()
    thread.join(timeout=5)


def test_the_api_answers(fallback_server: str):
    import urllib.request
    from urllib.parse import quote

    url = f"{fallback_server}/api/search?q={quote('开饭店')}"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - local server
        assert json.load(response)["results"][0]["impl_code"] == FOOD_NEW


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "first"),
    [("开饭店", {"食品经营许可（新办）", "开办餐饮店"}), ("结婚登记", {"结婚登记"})],
)
def test_the_search_page_finds_items_in_pagefinds_own_bundle(
    fallback_server: str, new_context: Any, query: str, first: set[str]
):
    page = new_context().new_page()
    page.goto(f"{fallback_server}/search.html")
    box = page.get_by_role("searchbox", name="想办什么事？")
    box.fill(query)
    box.press("Enter")
    page.wait_for_function(
        "q => { const t = document.querySelector('#search-status').textContent;"
        " return t.includes('“' + q + '”') && !t.includes('正在'); }",
        arg=query,
    )
    titles = page.locator("#search-results .search-result-title").all_inner_texts()
    assert titles and titles[0] in first, titles[:5]
