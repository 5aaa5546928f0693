"""The re-written Pagefind bundle (``pipeline/search/pagefind/bundle.py``): pages numbered by word
count, fragments renamed, the compact page list (``pagefind.<meta>.meta.json``) that the search
page loads instead of Pagefind's ``.pf_meta``.

What must hold: the re-written bundle says exactly what Pagefind wrote (every word's postings,
every filter value's pages, every page's word count, for the same fragments), Pagefind's own
code gives the same results on both, search.js re-encodes ``meta.json`` to the ``.pf_meta``'s
bytes, and a file that is not laid out as expected stops the build before anything changes."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import threading
from collections import Counter
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.search.pagefind import bundle as pagefind_bundle
from pipeline.search.pagefind import index as pagefind_index
from pipeline.search.pagefind.bundle import MAGIC, UnexpectedFormat, read, rewrite_bundle
from pipeline.search.relevance import load_cases
from pipeline.search.steps import read_documents

if TYPE_CHECKING:
    from tests.conftest import BuiltSite

RELEVANCE = Path(__file__).with_name("relevance.yaml")


@pytest.fixture(scope="module")
def bundles(built_site: BuiltSite, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Pagefind's bundle of the built site's search documents as Pagefind wrote it ("raw") and
    re-written ("new"), under one folder (served as /raw/pagefind/ and /new/pagefind/)."""
    root = tmp_path_factory.mktemp("pagefind-bundles")
    documents = read_documents(built_site.site_dir / "current" / "search")
    pages = root / "pages"
    pagefind_index.write_document_pages(documents, pages)
    raw = root / "raw" / "pagefind"
    pagefind_index.run_pagefind(pages, raw)
    pagefind_index.prune_bundle(raw)
    new = root / "new" / "pagefind"
    shutil.copytree(raw, new)
    rewrite_bundle(new)
    return {"root": root, "raw": raw, "new": new}


def _meta(bundle: Path) -> list[Any]:
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    (info,) = entry["languages"].values()
    return read(bundle / f"pagefind.{info['hash']}.pf_meta")


def _fragment_keys(bundle: Path, meta: list[Any]) -> list[str]:
    """Each page (by number) → a digest of its fragment's content: what identifies a page in
    both bundles."""
    return [
        hashlib.sha256(
            gzip.decompress((bundle / "fragment" / f"{name}.pf_fragment").read_bytes())
        ).hexdigest()
        for name, _ in meta[1]
    ]


def _postings(bundle: Path, meta: list[Any], keys: list[str]) -> dict[str, Counter]:
    """word → the multiset of (page's fragment, locations, meta locations)."""
    out: dict[str, Counter] = {}
    for _, _, name in meta[2]:
        for word, entries, variants in read(bundle / "index" / f"{name}.pf_index")[0]:
            assert variants == []
            pages = accumulate(entry[0] for entry in entries)  # pages are given as steps
            out[word] = Counter(
                (keys[page], tuple(entry[1]), tuple(entry[2]))
                for page, entry in zip(pages, entries, strict=True)
            )
    return out


def _filters(bundle: Path, meta: list[Any], keys: list[str]) -> dict[tuple[str, str], Counter]:
    out = {}
    for key, name in meta[3]:
        filter_name, values = read(bundle / "filter" / f"{name}.pf_filter")
        assert filter_name == key
        for value, pages in values:
            out[key, value] = Counter(keys[p] for p in pages)
    return out


def test_the_rewritten_bundle_says_what_pagefind_wrote(bundles: dict[str, Path]):
    raw, new = _meta(bundles["raw"]), _meta(bundles["new"])
    raw_keys, new_keys = _fragment_keys(bundles["raw"], raw), _fragment_keys(bundles["new"], new)
    assert Counter(raw_keys) == Counter(new_keys)
    assert Counter(zip(raw_keys, [count for _, count in raw[1]], strict=True)) == Counter(
        zip(new_keys, [count for _, count in new[1]], strict=True)
    )
    assert [count for _, count in new[1]] == sorted(count for _, count in raw[1])  # by word count
    assert _postings(bundles["raw"], raw, raw_keys) == _postings(bundles["new"], new, new_keys)
    assert _filters(bundles["raw"], raw, raw_keys) == _filters(bundles["new"], new, new_keys)
    assert new[0] == raw[0] and new[4:] == raw[4:]
    # Pagefind's chunks cut smaller, only where the words' first character changes; the ranges
    # keep Pagefind's at the ends of its chunks.
    assert len(new[2]) > len(raw[2])
    ends = {(low, high) for low, high, _ in raw[2]}
    assert {low for low, _ in ends} <= {low for low, _, _ in new[2]}
    assert {high for _, high in ends} <= {high for _, high, _ in new[2]}
    # Only the files the meta names, named <language>_<tag>_<number in base 36>.
    for names, folder, suffix in (
        ([n for n, _ in new[1]], "fragment", ".pf_fragment"),
        ([n for _, _, n in new[2]], "index", ".pf_index"),
    ):
        prefix = names[0][:-1]
        assert names == [prefix + pagefind_bundle.base36(n) for n in range(len(names))]
        assert {p.name for p in (bundles["new"] / folder).iterdir()} == {n + suffix for n in names}


def _chunk_words(bundle: Path, meta: list[Any]) -> list[tuple[str, str, list[str]]]:
    return [
        (low, high, [w[0] for w in read(bundle / "index" / f"{name}.pf_index")[0]])
        for low, high, name in meta[2]
    ]


def _chunk_for(term: str, chunks: list[tuple[str, str, list[str]]]) -> int | None:
    """The chunk Pagefind's WebAssembly loads for a query word (``try_request_indexes``)."""
    for n, (low, high, _) in enumerate(chunks):
        if low <= term <= high:
            return n
    return None


def test_a_query_word_finds_its_chunk_and_its_extensions_there(bundles: dict[str, Path]):
    """Each word of the index, and every prefix of it, is looked for in the chunk that holds the
    word (when Pagefind's own ranges did so: its ranges end in prefixes, and a word beyond its
    chunk's last prefix is found only by Pagefind's fallback), together with all the words it is a
    prefix of that Pagefind's chunk held."""
    raw, new = (
        _chunk_words(bundles["raw"], _meta(bundles["raw"])),
        _chunk_words(bundles["new"], _meta(bundles["new"])),
    )
    words = sorted({w for _, _, ws in raw for w in ws})
    checked = 0
    for term in {w[:k] for w in words for k in range(1, len(w) + 1)}:
        before = _chunk_for(term, raw)
        if before is None:
            continue
        after = _chunk_for(term, new)
        assert after is not None, term
        extensions = {w for w in raw[before][2] if w.startswith(term)}
        assert extensions <= set(new[after][2]), term
        checked += 1
    assert checked > 1000


def test_meta_json_is_small_and_expands_to_the_meta(bundles: dict[str, Path]):
    entry = json.loads((bundles["new"] / "pagefind-entry.json").read_text(encoding="utf-8"))
    (info,) = entry["languages"].values()
    compact_path = bundles["new"] / f"pagefind.{info['hash']}.meta.json"
    compact = json.loads(compact_path.read_text(encoding="utf-8"))
    meta_path = bundles["new"] / f"pagefind.{info['hash']}.pf_meta"
    assert pagefind_bundle.expand_meta(compact) == gzip.decompress(meta_path.read_bytes())
    assert len(gzip.compress(compact_path.read_bytes())) < meta_path.stat().st_size


def test_base36_and_the_compact_meta_round_trip():
    assert [pagefind_bundle.base36(n) for n in (0, 9, 10, 35, 36, 1295, 1296)] == [
        "0",
        "9",
        "a",
        "z",
        "10",
        "zz",
        "100",
    ]
    meta = [
        "1.5.2",
        [
            ["zh-cn_t_" + pagefind_bundle.base36(n), c]
            for n, c in enumerate([3, 3, 7, 300, 300, 70000])
        ],
        [["a", "b\U0010ffff", "zh-cn_c_0"], ["c", "营", "zh-cn_c_1"]],
        [["kind", "zh-cn_89abcde"]],
        [["date", [5, 0, 1]]],
        ["title"],
    ]
    compact = pagefind_bundle.compact_meta(meta)
    assert compact["pages"] == {
        "prefix": "zh-cn_t_",
        "word_counts": [[3, 2], [7, 1], [300, 2], [70000, 1]],
    }
    assert compact["chunks"] == {
        "prefix": "zh-cn_c_",
        "ranges": [["a", "b\U0010ffff"], ["c", "营"]],
    }
    assert pagefind_bundle.expand_meta(
        json.loads(json.dumps(compact))
    ) == MAGIC + pagefind_bundle._encode(meta)
    meta[1][2][0] = "zh-cn_t_x"
    with pytest.raises(UnexpectedFormat):
        pagefind_bundle.compact_meta(meta)


def test_a_chunk_is_cut_where_the_first_character_changes():
    words = [
        (w, bytes(size))
        for w, size in [("办", 10), ("办理", 10), ("营", 30), ("营业", 30), ("证", 5), ("证明", 5)]
    ]
    pieces = pagefind_bundle.split_chunk("1", "龄", words, 40)
    last = pagefind_bundle.LAST_CHARACTER
    assert [(low, high, [w for w, _ in ws]) for low, high, ws in pieces] == [
        ("1", "办" + last, ["办", "办理"]),
        ("营", "营" + last, ["营", "营业"]),
        ("证", "龄", ["证", "证明"]),
    ]
    assert pagefind_bundle.split_chunk("1", "龄", words, 10**6) == [("1", "龄", words)]


def _cbor(value: Any) -> bytes:
    return MAGIC + pagefind_bundle._encode(value)


def test_renumbering_a_chunk_keeps_locations_and_recomputes_page_steps():
    # Pages 1, 3 and 3 again (steps 1, 2, 0); page 0 → 2, 1 → 0, 2 → 3, 3 → 1.
    chunk = [
        [
            ["办", [[1, [-25, 3], []], [2, [4, 9], []], [0, [], [-5, 0]]], []],
            ["照", [[0, [300], []]], []],
        ]
    ]
    out = pagefind_bundle.renumber_chunk(_cbor(chunk), [2, 0, 3, 1])
    assert pagefind_bundle._decode(out, len(MAGIC))[0] == [
        [
            ["办", [[0, [-25, 3], []], [1, [4, 9], []], [0, [], [-5, 0]]], []],
            ["照", [[2, [300], []]], []],
        ]
    ]
    assert pagefind_bundle.renumber_chunk(_cbor(chunk), [0, 1, 2, 3]) == _cbor(chunk)


@pytest.mark.parametrize(
    "chunk",
    [
        [[["办", [[1, [3], []]], ["x"]]]],  # a word's third field is not empty
        [[["办", [[1, [3]]], []]]],  # a page entry of two fields
        [[["办", [[1, [3], []], [4, [3], []]], []]]],  # page 5 of 4
        [[["办", [[1, ["3"], []]], []]]],  # a location that is not an integer
        [[["办", [[1, [3], []]], []]], "more"],  # another field after the words
    ],
)
def test_a_chunk_laid_out_otherwise_is_refused(chunk: list[Any]):
    with pytest.raises(UnexpectedFormat):
        pagefind_bundle.renumber_chunk(_cbor(chunk), [0, 1, 2, 3])


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("damage", ["chunk", "stray file", "meta"])
def test_an_unexpected_bundle_is_named_and_left_as_it_was(
    bundles: dict[str, Path], tmp_path: Path, damage: str
):
    bundle = tmp_path / "pagefind"
    shutil.copytree(bundles["raw"], bundle)
    meta = _meta(bundle)
    if damage == "chunk":  # a future Pagefind with absolute page numbers, say
        path = bundle / "index" / f"{meta[2][0][2]}.pf_index"
        value = read(path)
        value[0][0][1] = [[page, [1], []] for page in range(len(meta[1]) + 5)]
        path.write_bytes(pagefind_bundle.pack(value))
    elif damage == "stray file":
        (bundle / "fragment" / "zh-cn_0000000.pf_fragment").write_bytes(
            gzip.compress(MAGIC + b"{}")
        )
    else:
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        (info,) = entry["languages"].values()
        (bundle / f"pagefind.{info['hash']}.pf_meta").write_bytes(
            pagefind_bundle.pack(meta[:1] + [{"pages": 1}] + meta[2:])
        )
    before = _tree(bundle)
    with pytest.raises(UnexpectedFormat, match="Pagefind"):  # the build then falls back
        pagefind_index.finish_bundle([], bundle)
    assert _tree(bundle) == before


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def bundle_server(bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    from pipeline.ops.serve import make_server
    from pipeline.release.publish import swap_current

    served = tmp_path_factory.mktemp("pagefind-served")  # serve only serves current/site
    (served / "releases" / "bundles").mkdir(parents=True)
    (served / "releases" / "bundles" / "site").symlink_to(bundles["root"])
    swap_current(served, "bundles")
    server = make_server(served, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


RESULTS_JS = """async ([bundle, queries]) => {
  const pagefind = await import(`/${bundle}/pagefind/pagefind.js`);
  await pagefind.options({ basePath: `/${bundle}/pagefind/`, baseUrl: "/", noWorker: true });
  const out = {};
  for (const query of queries) {
    const response = await pagefind.search(query.text, query.options);
    const results = await Promise.all(response.results.map(async (r) => [(await r.data()).url, r.score.toFixed(5)]));
    out[query.text + JSON.stringify(query.options)] = [results.sort().map((r) => r.join(" ")), response.filters];
  }
  out.filters = await pagefind.filters();
  return out;
}"""


@pytest.mark.browser
def test_pagefind_finds_the_same_in_both_bundles(bundle_server: str, new_context: Any):
    texts = sorted({case.query for case in load_cases(RELEVANCE)})
    texts += [f'"{text}"' for text in texts[:20]] + ["营业", "yyzz", "kaifandian"]
    queries = [{"text": text, "options": {}} for text in texts]
    queries += [
        {"text": "许可", "options": {"filters": {"type": {"any": ["行政许可"]}}}},
        {"text": None, "options": {"filters": {"free": {"any": ["不收费"]}}}},
    ]
    page = new_context().new_page()
    page.goto(f"{bundle_server}/raw/pagefind/pagefind-entry.json")
    raw = page.evaluate(RESULTS_JS, ["raw", queries])
    new = page.evaluate(RESULTS_JS, ["new", queries])
    assert sum(len(r[0]) for k, r in raw.items() if k != "filters") > 500  # the queries find things
    assert new == raw


@pytest.mark.browser
def test_search_js_reencodes_meta_json_to_the_pf_meta(built_site: BuiltSite, new_context: Any):
    page = new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("warning", "error") else None)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url.rsplit("/", 1)[-1]))
    page.goto(built_site.url("/search.html?q=营业执照"))
    page.wait_for_function("document.querySelector('#search-status').textContent.includes('找到')")
    loaded = list(requested)
    same = page.evaluate("""async () => {
      const entry = await (await fetch('/pagefind/pagefind-entry.json')).json();
      const hash = Object.values(entry.languages)[0].hash;
      const compact = await (await fetch(`/pagefind/pagefind.${hash}.meta.json`)).json();
      const mine = window.approvalsSearch.expandMeta(compact);
      const stored = await fetch(`/pagefind/pagefind.${hash}.pf_meta`);
      const theirs = new Uint8Array(await new Response(stored.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
      return mine.length === theirs.length && mine.every((b, i) => b === theirs[i]);
    }""")
    assert same
    assert any(name.endswith(".meta.json") for name in loaded)
    assert not any(name.endswith(".pf_meta") for name in loaded)
    assert errors == []
