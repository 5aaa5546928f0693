"""The in-browser index: Pagefind's *extended* build over pages made from the search documents.

Pagefind's standard build does not segment Chinese (it finds nothing for 营业执照); the extended
binary does, and comes from PyPI (``pagefind[extended]`` installs ``pagefind_bin_extended``).
It is run as a command over a folder — its Python API feeds records one by one, far too slowly.

The folder is not the site: each search document becomes one small page at its own URL
(``items/<impl_code>.html``), holding exactly what the document says is searchable, with weights
(name 10, aliases 7, colloquial keywords 6, pinyin 5, body 1; plus the name, aliases and keywords
character by character, see :func:`characters`), filters and the meta a result shows. So the
browser index and the server index are built from the same documents, and a result links to the
real page. The bundle is written to ``site/pagefind/`` with ``search-config.json`` beside it
(filter names, stop words, quotes, and the trad→simp map for the searchable characters), then
re-written by ``bundle.py``: filter files in a stable order (a build is reproducible),
pages numbered by word count, index chunks cut smaller, fragments and chunks named by number,
and Pagefind's meta also written compactly (``pagefind.<meta>.meta.json``), which the search page
loads instead of the ``.pf_meta`` (137 KB at 20,000 pages → 7 KB gzip'd). A first query then
downloads ~107 KB on the demo and ~124 KB at 20,000 items (docs/benchmarks.md, "Search").

**Only on a Pagefind this build knows.** The merge and the re-write read and write Pagefind's own
file format: they run only on the versions :mod:`~pipeline.search.pagefind.rewrite` names. On
any other, the bundle is Pagefind's own (one run over all the pages, not re-written), with a
warning; the build goes on.

**Memory.** Pagefind holds every page it indexes in memory until it writes its bundle: ~60 MiB
and ~100 KiB per page here (557 MiB at 5,000 documents, 2,078 MiB at 20,000: the build's peak).
So it is run over pieces of at most :data:`PIECE_PAGES` documents (:func:`pieces`), one run at a
time, each piece's pages written, indexed and deleted in turn, and the pieces' bundles are merged
(``merge.py``) into the bundle one run over all the pages writes: once re-written, the
same bytes, whatever the pieces (``tests/test_pagefind_merge.py``; checked at 5,000 and 20,000
items too). A Pagefind run then peaks at ~310 MiB however many documents there are (2,118 MiB
for one run at 20,000 items); the merge holds the page list, the filters and one index chunk
per piece (+10 MiB at 20,000 items, less than the re-write needs). It costs time: at 20,000
items the merge takes ~3 s, and the eight Pagefind runs took as long as one at a quiet moment but
~5 s more (median) on the loaded benchmark machine, on ~25 s for the whole step before. A site
of at most :data:`PIECE_PAGES` documents (the demo's 212) is one run, as before.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
import unicodedata
from html import escape
from pathlib import Path

from pipeline.errors import ConfigurationError, ExportBroken
from pipeline.search.documents import FILTERS, SearchDocument
from pipeline.search.pagefind import rewrite
from pipeline.search.text import QUOTES, STOPWORDS, to_simplified
from pipeline.workers import dies_with_this_process

logger = logging.getLogger(__name__)

BUNDLE = "pagefind"
CONFIG = "search-config.json"
TIMEOUT_S = 3600
PIECE_PAGES = 2_500
"""Documents (pages) per Pagefind run at most (see the module's docstring): a run's peak memory
is ~60 MiB + ~100 KiB per page, ~310 MiB for 2,500 pages. Fewer make more runs (each ~0.3 s of
CPU to start) for less memory; the bundle is the same."""
WEIGHTS = {
    "name": 10.0,
    "aliases": 7.0,
    "keywords": 6.0,
    "pinyin": 5.0,
    "characters": 1.0,
    "body": 1.0,
}


def pagefind_binary() -> Path:
    """The extended Pagefind binary shipped by the ``pagefind_bin_extended`` wheel."""
    try:
        from pagefind_bin_extended import get_executable
    except ImportError as exc:
        raise ConfigurationError(
            "缺少 Pagefind 扩展版（中文分词）：请安装 pagefind[extended]"
        ) from exc
    return Path(get_executable())


def indexed_text(text: str) -> str:
    """``text`` as the browser index holds it: decomposed (NFD), without combining marks
    (Café → Cafe, Bǎoshān → Baoshan, ☎️ → ☎; every combining mark, spacing ones too; full-width
    punctuation kept: a result shows 食品经营许可（新办）as written) — in the indexed text and in the meta and
    filters alike, since Pagefind indexes meta words too. For a word with marks Pagefind 1.5
    writes its accented forms as *variants* of the plain one, a part of its format the merge and
    the re-write do not handle; given the plain word, it writes none. Its query side folds the
    marks of a query the same way, so a search for 'Café' still finds the page; a result then
    shows the name as indexed (Cafe). Chinese text is unchanged (it has no combining marks).
    Anything else that makes Pagefind write variants gets its own bundle (see
    :func:`build_browser_index`)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))


def _meta(name: str, value: str) -> str:
    shown = indexed_text(value)
    return f'<meta data-pagefind-meta="{name}[content]" content="{escape(shown)}">' if shown else ""


def _filter(name: str, value: str) -> str:
    return f'<meta data-pagefind-filter="{name}[content]" content="{escape(indexed_text(value))}">'


def _block(weight: float, text: str) -> str:
    shown = indexed_text(text)
    return f'<p data-pagefind-weight="{weight:g}">{escape(shown)}</p>' if shown else ""


def characters(document: SearchDocument) -> str:
    """The name, aliases and keywords one character at a time (动 迁 、 拆 迁). The browser cuts a
    query with ``Intl.Segmenter``, which often splits what the index's segmenter kept whole
    (动迁 → 动 + 迁): without these, such a query finds nothing, and Pagefind's exact-phrase
    search (``"动迁"``) cannot confirm that the words stand together."""
    texts = (document.name, *document.aliases, *document.keywords)
    return " / ".join(
        " ".join(ch for ch in indexed_text(text) if not ch.isspace()) for text in texts
    )


def document_html(document: SearchDocument) -> str:
    """The page Pagefind indexes for one document."""
    head = [
        _meta("kind", document.kind),
        _meta("department", document.department),
        _meta("type", document.type),
        _meta("limit", document.limit),
        _meta("fee", document.fee),
        _meta("status", "暂停办理" if document.status == "suspended" else ""),
        _meta("aliases", "、".join(document.aliases)),
    ]
    head += [_filter(key, value) for key, values in document.filters.items() for value in values]
    body = [
        f'<h1 data-pagefind-meta="title" data-pagefind-weight="{WEIGHTS["name"]:g}">'
        f"{escape(indexed_text(document.name))}</h1>",
        _block(WEIGHTS["aliases"], "、".join(document.aliases)),
        _block(WEIGHTS["keywords"], "、".join(document.keywords)),
        _block(WEIGHTS["pinyin"], " ".join(document.pinyin)),
        _block(WEIGHTS["characters"], characters(document)),
        _block(WEIGHTS["body"], document.body),
    ]
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(indexed_text(document.name))}</title>{''.join(head)}</head>"
        f"<body><main data-pagefind-body>{''.join(body)}</main></body></html>\n"
    )


def write_document_pages(documents: list[SearchDocument], folder: Path) -> None:
    for document in documents:
        target = folder / document.url.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document_html(document), encoding="utf-8")


def run_pagefind(source: Path, bundle: Path) -> None:
    """Index ``source`` (a folder of pages) into ``bundle`` with the extended binary."""
    command = [
        str(pagefind_binary()),
        "--site",
        str(source),
        "--output-path",
        str(bundle),
        "--force-language",
        "zh-cn",
        "--quiet",
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
            preexec_fn=dies_with_this_process(),  # a killed build leaves no Pagefind running
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExportBroken(f"Pagefind 建立站内搜索索引失败：{exc}") from exc
    if done.returncode != 0 or not (bundle / "pagefind.js").is_file():
        raise ExportBroken(
            f"Pagefind 建立站内搜索索引失败（退出码 {done.returncode}）：{done.stderr.strip()[-500:]}"
        )
    logger.debug("pagefind: %s", done.stdout.strip())


UNUSED = (
    "pagefind-ui.js",
    "pagefind-ui.css",
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-highlight.js",
    "pagefind-worker.js",
)
"""Pagefind's ready-made interfaces (and its web worker, which ``noWorker`` turns off): the
search page has its own, so they are not published. (Their translator credits hold e-mail
addresses, which the privacy gate would rightly refuse.)"""


def prune_bundle(bundle: Path) -> None:
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)


def trad_to_simp_map(documents: list[SearchDocument]) -> dict[str, str]:
    """Traditional → simplified for every character whose simplified form occurs in a name,
    alias or keyword (what a query in traditional characters needs to find), from OpenCC."""
    wanted = {c for d in documents for text in (d.name, *d.aliases, *d.keywords) for c in text}
    candidates = [chr(code) for code in range(0x4E00, 0xA000)]
    simplified = to_simplified("\n".join(candidates)).split("\n")
    return {t: s for t, s in zip(candidates, simplified, strict=True) if t != s and s in wanted}


def search_config(documents: list[SearchDocument]) -> dict:
    """What the search page needs besides the bundle: filter names, stop words, quotes, and the
    trad→simp map as one string of pairs (營营業业…)."""
    pairs = "".join(t + s for t, s in sorted(trad_to_simp_map(documents).items()))
    return {"filters": FILTERS, "trad": pairs, "stopwords": sorted(STOPWORDS), "quotes": QUOTES}


def finish_bundle(documents: list[SearchDocument], bundle: Path, rewritten: bool = True) -> dict:
    """What follows Pagefind's run: drop the unused files, re-write the bundle (reproducible and
    small, ``bundle.py``; :class:`~.rewrite.UnexpectedFormat` if what Pagefind wrote is not
    laid out as expected) unless ``rewritten`` is false (a Pagefind :mod:`.rewrite` does not
    know), and write ``search-config.json``."""
    prune_bundle(bundle)
    stats: dict = rewrite.rewrite_bundle(bundle) if rewritten else {}
    config = search_config(documents)
    (bundle / CONFIG).write_text(
        json.dumps(config, ensure_ascii=False, sort_keys=True), encoding="utf-8"
    )
    return stats


def pieces(documents: list[SearchDocument], piece_pages: int) -> list[list[SearchDocument]]:
    """The documents cut into as few pieces of at most ``piece_pages`` as can be, of equal size
    (to one), in their order."""
    if piece_pages < 1:
        raise ConfigurationError(f"piece_pages must be at least 1, not {piece_pages}")
    count = max(1, -(-len(documents) // piece_pages))
    size, more = divmod(len(documents), count)
    out, start = [], 0
    for n in range(count):
        end = start + size + (n < more)
        out.append(documents[start:end])
        start = end
    return out


def index_pages(
    documents: list[SearchDocument],
    work: Path,
    bundle: Path,
    piece_pages: int | None = PIECE_PAGES,
) -> int:
    """Pagefind's bundle of the documents' pages in ``bundle``: one run if there are at most
    ``piece_pages`` documents (or ``piece_pages`` is None), else one run per piece, one after
    the other (each piece's pages written to ``work``, indexed, then deleted), and the pieces'
    bundles merged (``merge.py``). Returns the number of pieces."""
    parts = pieces(documents, piece_pages) if piece_pages is not None else [documents]
    if len(parts) == 1:
        write_document_pages(documents, work / "pages")
        run_pagefind(work / "pages", bundle)
        return 1
    bundles = []
    for n, part in enumerate(parts):
        pages, target = work / f"pages-{n}", work / f"bundle-{n}"
        write_document_pages(part, pages)
        run_pagefind(pages, target)
        shutil.rmtree(pages)
        bundles.append(target)
    merge_pieces(bundles, bundle)
    return len(parts)


def merge_pieces(bundles: list[Path], bundle: Path) -> dict:
    """The pieces' bundles merged into ``bundle`` (``merge.py``);
    :class:`~.rewrite.UnexpectedFormat`, and no ``bundle`` left, if one is not laid out as
    expected."""
    try:
        stats = rewrite.merge_bundles(bundles, bundle)
    except rewrite.UnexpectedFormat:
        shutil.rmtree(bundle, ignore_errors=True)
        raise
    logger.debug("pagefind merge: %s", stats)
    return stats


def build_browser_index(
    documents: list[SearchDocument],
    site: Path,
    piece_pages: int = PIECE_PAGES,
    pagefind_version: str | None = None,
) -> Path:
    """Write ``site/pagefind/`` (the bundle) and ``site/pagefind/search-config.json``: in pieces,
    merged and re-written when the Pagefind (``pagefind_version``, by default the installed
    binary's) is one :mod:`.rewrite` supports; else Pagefind's own bundle, with a warning. If
    a supported Pagefind writes something the merge or the re-write does not expect (it depends
    on the text: see :func:`indexed_text`), the bundle is Pagefind's own too, with a warning —
    the build never fails for the browser index's format."""
    bundle = site / BUNDLE
    if bundle.exists():
        shutil.rmtree(bundle)
    version = (
        rewrite.binary_version(pagefind_binary()) if pagefind_version is None else pagefind_version
    )
    known = rewrite.check(version)
    if known:
        try:
            with tempfile.TemporaryDirectory(prefix="approvals-pagefind-") as folder:
                index_pages(documents, Path(folder), bundle, piece_pages)
            finish_bundle(documents, bundle)
            return bundle
        except rewrite.UnexpectedFormat as exc:
            logger.warning(
                "event=pagefind_unexpected_format version=%s fallback=stock_bundle "
                "(Pagefind 写出了合并与改写不认识的内容：%s。本次浏览器搜索索引改用 Pagefind "
                "原样的输出；搜索照常可用，但首次搜索下载更多，且索引文件不再逐字节相同)",
                version,
                exc,
            )
            shutil.rmtree(bundle, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="approvals-pagefind-") as folder:
        index_pages(documents, Path(folder), bundle, None)
    finish_bundle(documents, bundle, rewritten=False)
    return bundle
