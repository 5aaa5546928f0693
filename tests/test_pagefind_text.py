"""Text that makes Pagefind 1.5 write word *variants* (accents, tone marks, emoji variation
selectors, Indic vowel signs …): the browser index folds the marks before Pagefind sees them, so
the merge and the re-write still apply and the bundle stays reproducible; and if a supported
Pagefind ever writes what they do not expect, the build publishes Pagefind's own bundle with a
warning instead of failing (found by an adversarial pass: one "Café" refused every release with
"Pagefind 是否升级了？")."""

from __future__ import annotations

import gzip
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.search.documents import SearchDocument
from pipeline.search.pagefind.index import (
    build_browser_index,
    document_html,
    indexed_text,
    pagefind_binary,
)
from pipeline.search.pagefind.rewrite import SUPPORTED_VERSIONS

ODD_NAMES = [
    "Café 咨询服务",
    "☎️咨询服务",
    "Bǎoshān 区登记",
    "한국 서비스",
    "ᠠ᠋ᠢ 登记",
    "कि 备案",
    "ᩤ 备案",
]


def _document(n: int, name: str, body: str = "办理 说明 材料") -> SearchDocument:
    return SearchDocument(
        key=f"K{n:03d}",
        kind="item",
        url=f"/items/K{n:03d}.html",
        name=name,
        aliases=(name,),
        keywords=(),
        pinyin=(),
        department="Café 部门",
        department_code="D1",
        type="行政许可",
        audiences=(),
        online="",
        free="",
        visits="",
        limit="",
        fee="",
        status="in_force",
        body=body,
    )


def _documents() -> list[SearchDocument]:
    odd = [_document(n, name, body=f"{name} 条件 Crème brûlée") for n, name in enumerate(ODD_NAMES)]
    return odd + [_document(100 + n, f"食品经营许可{n}") for n in range(6)]


def _files(bundle: Path) -> dict[str, bytes]:
    return {str(p.relative_to(bundle)): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}


def test_marks_are_folded_in_what_pagefind_indexes():
    assert indexed_text("Café Bǎoshān ①") == "Cafe Baoshan ①"
    assert indexed_text("☎️咨询") == "☎咨询"
    assert indexed_text("食品经营许可（新办）") == "食品经营许可（新办）"
    page = document_html(_documents()[0])
    assert "Café" not in page and "Cafe 咨询服务" in page


@pytest.mark.parametrize("pieces", [None, 3], ids=["one run", "merged pieces"])
def test_text_with_marks_gets_the_rewritten_bundle_byte_for_byte(tmp_path, caplog, pieces):
    documents = _documents()
    with caplog.at_level(logging.WARNING):
        first = build_browser_index(
            documents, tmp_path / "a", piece_pages=pieces or 10_000, pagefind_version="1.5.2"
        )
        second = build_browser_index(
            documents, tmp_path / "b", piece_pages=pieces or 10_000, pagefind_version="1.5.2"
        )
    assert not [r for r in caplog.records if "pagefind" in r.getMessage()]
    assert list(first.glob("*.meta.json")), "the re-written bundle (compact meta)"
    assert _files(first) == _files(second)
    entry = json.loads((first / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert next(iter(entry["languages"].values()))["page_count"] == len(documents)


WRAPPER = """#!{python}
import gzip, subprocess, sys
from pathlib import Path
done = subprocess.run([{real!r}, *sys.argv[1:]])
if "--output-path" in sys.argv:
    out = Path(sys.argv[sys.argv.index("--output-path") + 1])
    for chunk in (out / "index").glob("*.pf_index"):
        chunk.write_bytes(gzip.compress(gzip.decompress(chunk.read_bytes()) + b"\\x80"))
sys.exit(done.returncode)
"""


def test_a_format_the_rewrite_does_not_expect_gets_pagefinds_own_bundle(
    tmp_path, caplog, monkeypatch: pytest.MonkeyPatch
):
    """A Pagefind that says it is 1.5.2 but writes one more byte after each index chunk's words
    (a stand-in for any layout the re-write does not know): a warning, Pagefind's own bundle."""
    import pagefind_bin_extended

    wrapper = tmp_path / "pagefind_extended"
    wrapper.write_text(
        WRAPPER.format(python=sys.executable, real=str(pagefind_binary())), encoding="utf-8"
    )
    wrapper.chmod(0o755)
    monkeypatch.setattr(pagefind_bin_extended, "get_executable", lambda: str(wrapper))
    documents = [replace(d, body="普通 文本") for d in _documents()]
    with caplog.at_level(logging.WARNING):
        bundle = build_browser_index(documents, tmp_path / "site", pagefind_version="1.5.2")
    warned = [r.getMessage() for r in caplog.records]
    assert any(
        "event=pagefind_unexpected_format" in w and "fallback=stock_bundle" in w for w in warned
    )
    assert SUPPORTED_VERSIONS[-1] in " ".join(warned)
    assert not list(bundle.glob("*.meta.json")), "Pagefind's own bundle, not re-written"
    assert (bundle / "search-config.json").is_file()
    chunks = list((bundle / "index").glob("*.pf_index"))
    assert chunks and all(gzip.decompress(c.read_bytes()).endswith(b"\x80\x80") for c in chunks)
