"""Pagefind over pieces of the documents' pages, the pieces' bundles merged
(``pipeline/search/pagefind/merge.py``, ``pagefind_index.index_pages``).

What must hold: the merged bundle, once re-written (``pagefind_bundle.py``), is byte for byte the
bundle of one Pagefind run over all the pages, whatever the pieces (so Pagefind's own code finds
the same pages with the same scores: ``tests/test_pagefind_bundle.py`` checks that for the
re-written bundle); before the re-write it holds what the single run's holds, page for page; the
same documents give the same bytes; and a piece that is not laid out as expected stops the build
with a clear message, leaving no bundle."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import shutil
from collections import Counter
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigurationError
from pipeline.search.documents import SearchDocument, build_documents
from pipeline.search.pagefind import bundle as pagefind_bundle
from pipeline.search.pagefind import index as pagefind_index
from pipeline.search.pagefind import merge as pagefind_merge
from pipeline.search.pagefind.bundle import MAGIC, UnexpectedFormat, read
from pipeline.search.synonyms import load_synonyms

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-export"
PIECE = 80  # pages per Pagefind run here: 4 pieces
CHUNK_SIZE = 1_000  # Pagefind's index chunk size for the bundles compared before the re-write


def _fragment(folder: Path, document: SearchDocument) -> bytes:
    """The fragment (JSON, without ``pagefind_dcd``) Pagefind writes for the document's page."""
    pagefind_index.write_document_pages([document], folder / "pages")
    pagefind_index.run_pagefind(folder / "pages", folder / "bundle")
    (name,) = [p for p in (folder / "bundle" / "fragment").iterdir()]
    return gzip.decompress(name.read_bytes())[len(MAGIC) :]


def _colliding_urls(fragment: bytes, url: str) -> tuple[str, str]:
    """Two URLs for the page whose fragments' names (7 hex digits of Pagefind's hash) are the
    same: pages whose fragments only Pagefind's longer names tell apart."""
    old = json.dumps(url).encode()
    assert fragment.count(old) == 1
    seen: dict[str, str] = {}
    for n in range(200_000):
        candidate = url.replace(".html", f"-{n}.html")
        digits = pagefind_merge.pagefind_hash(fragment.replace(old, json.dumps(candidate).encode()))
        if digits[:7] in seen:
            return seen[digits[:7]], candidate
        seen[digits[:7]] = candidate
    raise AssertionError("no two names alike")


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[SearchDocument]:
    """The demo's documents, 100 copies with other words (so other word counts), and two
    copies of one whose fragments get the same short name, one at each end (so in the first and
    the last piece)."""
    docs = build_documents(DEMO, load_synonyms())
    copies = [
        dataclasses.replace(
            d,
            key=d.key + "C",
            url=d.url.replace(".html", "-c.html"),
            name=d.name + "（副本）",
            body=d.body + " 副本说明" * (n % 7),
        )
        for n, d in enumerate(docs[:100])
    ]
    base = docs[0]
    one, two = _colliding_urls(_fragment(tmp_path_factory.mktemp("fragment"), base), base.url)
    return (
        [dataclasses.replace(base, key=base.key + "X", url=one)]
        + docs
        + copies
        + [dataclasses.replace(base, key=base.key + "Y", url=two)]
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(
    documents: list[SearchDocument], tmp_path_factory: pytest.TempPathFactory
) -> dict[int, dict[str, bytes]]:
    """The published bundle (``build_browser_index``) of one run, and of pieces of two sizes."""
    root = tmp_path_factory.mktemp("built")
    trees = {}
    for size in (len(documents), PIECE, 37):
        pagefind_index.build_browser_index(documents, root / str(size), piece_pages=size)
        trees[size] = _tree(root / str(size) / "pagefind")
    return trees


def test_pieces_are_as_few_as_can_be_equal_and_in_order(documents: list[SearchDocument]):
    assert len(documents) == 314
    assert [len(p) for p in pagefind_index.pieces(documents, PIECE)] == [79, 79, 78, 78]
    assert [len(p) for p in pagefind_index.pieces(documents, 37)] == [35] * 8 + [34]
    assert [d for p in pagefind_index.pieces(documents, 37) for d in p] == documents
    assert pagefind_index.pieces(documents, len(documents)) == [documents]
    assert pagefind_index.pieces(documents[:212], pagefind_index.PIECE_PAGES) == [
        documents[:212]
    ]  # the demo
    with pytest.raises(ConfigurationError, match="piece_pages"):
        pagefind_index.pieces(documents, 0)


def test_the_merged_bundle_is_the_single_runs_byte_for_byte(built: dict[int, dict[str, bytes]]):
    single, *merged = built.values()
    assert sum(name.startswith("fragment/") for name in single) == 314
    assert len([n for n in single if n.startswith("index/")]) > 10
    for tree in merged:
        assert sorted(tree) == sorted(single)
        assert [name for name in single if tree[name] != single[name]] == []


def test_the_same_documents_give_the_same_bytes(
    documents: list[SearchDocument], built: dict[int, dict[str, bytes]], tmp_path: Path
):
    pagefind_index.build_browser_index(documents, tmp_path, piece_pages=PIECE)
    assert _tree(tmp_path / "pagefind") == built[PIECE]


# ---------------------------------------------------------------- the merged bundle, before the re-write


@pytest.fixture(scope="module")
def runs(
    documents: list[SearchDocument], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Pagefind's bundle of all the pages, the bundles of the pieces (kept), and their merge."""
    root = tmp_path_factory.mktemp("runs")
    with (
        pytest.MonkeyPatch.context() as patch
    ):  # Pagefind's chunks smaller: more of them to cut as it does
        patch.setenv(pagefind_merge.CHUNK_SIZE_VARIABLE, str(CHUNK_SIZE))
        pagefind_index.write_document_pages(documents, root / "pages")
        pagefind_index.run_pagefind(root / "pages", root / "single")
        pieces = []
        for n, part in enumerate(pagefind_index.pieces(documents, PIECE)):
            pagefind_index.write_document_pages(part, root / f"pages-{n}")
            pagefind_index.run_pagefind(root / f"pages-{n}", root / "pieces" / str(n))
            pieces.append(root / "pieces" / str(n))
        shutil.copytree(root / "pieces", root / "kept")  # the merge moves the pieces' fragments
        stats = pagefind_index.merge_pieces(pieces, root / "merged")
    return {
        "root": root,
        "single": root / "single",
        "merged": root / "merged",
        "stats": stats,
        "pieces": [root / "kept" / str(n) for n in range(len(pieces))],
    }


def _meta(bundle: Path) -> tuple[dict[str, Any], list[Any]]:
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    (info,) = entry["languages"].values()
    return entry, read(bundle / f"pagefind.{info['hash']}.pf_meta")


def _content(bundle: Path, meta: list[Any]) -> dict[str, Any]:
    """What a bundle says, with pages known by their fragment's content rather than by number."""
    keys = [
        hashlib.sha256(
            gzip.decompress((bundle / "fragment" / f"{n}.pf_fragment").read_bytes())
        ).hexdigest()
        for n, _ in meta[1]
    ]
    chunks, postings = [], {}
    for low, high, name in meta[2]:
        words = read(bundle / "index" / f"{name}.pf_index")[0]
        chunks.append((low, high, [w[0] for w in words]))
        for word, entries, variants in words:
            assert variants == []
            pages = accumulate(entry[0] for entry in entries)
            postings[word] = Counter(
                (keys[p], tuple(e[1]), tuple(e[2])) for p, e in zip(pages, entries, strict=True)
            )
    filters = {}
    for key, name in meta[3]:
        filter_name, values = read(bundle / "filter" / f"{name}.pf_filter")
        assert filter_name == key
        filters[key] = {value: Counter(keys[p] for p in pages) for value, pages in values}
    return {
        "version": meta[0],
        "pages": Counter(zip(keys, [c for _, c in meta[1]], strict=True)),
        "chunks": chunks,
        "postings": postings,
        "filters": filters,
        "sorts": meta[4],
        "fields": meta[5],
    }


def _fragments(bundle: Path, meta: list[Any]) -> dict[str, tuple[str, bytes]]:
    """Fragment name → (its page's URL, its file)."""
    out = {}
    for name, _ in meta[1]:
        data = (bundle / "fragment" / f"{name}.pf_fragment").read_bytes()
        out[name] = (json.loads(gzip.decompress(data)[len(MAGIC) :])["url"], data)
    return out


def test_the_merged_bundle_holds_what_the_single_run_holds(
    runs: dict[str, Any], documents: list[SearchDocument]
):
    (single_entry, single), (merged_entry, merged) = _meta(runs["single"]), _meta(runs["merged"])
    assert runs["stats"]["pieces"] == 4 and runs["stats"]["pages"] == 314
    expected, got = _content(runs["single"], single), _content(runs["merged"], merged)
    assert len(got["chunks"]) > 20
    assert got["chunks"] == expected["chunks"]  # cut, and their ranges trimmed, as Pagefind does
    assert got == expected
    # The fragments are Pagefind's files under Pagefind's names; of the two pages whose names
    # collide, the later one (the last piece's) has one more digit.
    fragments, theirs = _fragments(runs["merged"], merged), _fragments(runs["single"], single)
    assert sorted(fragments.values()) == sorted(theirs.values())
    assert {name[:13] for name in fragments} == {name[:13] for name in theirs}
    assert [url for name, (url, _) in fragments.items() if len(name) > 13] == [documents[-1].url]
    assert len([name for name in theirs if len(name) > 13]) == 1
    # The entry file and Pagefind's scripts are the single run's.
    single_entry["languages"]["zh-cn"]["hash"] = merged_entry["languages"]["zh-cn"]["hash"]
    assert merged_entry == single_entry

    def scripts_of(bundle: Path) -> set[str]:
        return {
            p.name
            for p in bundle.iterdir()
            if p.is_file() and p.suffix not in (".pf_meta", ".json")
        }

    scripts = scripts_of(runs["single"])
    assert scripts_of(runs["merged"]) == scripts and "pagefind.js" in scripts
    assert all(
        (runs["merged"] / n).read_bytes() == (runs["single"] / n).read_bytes() for n in scripts
    )


def test_the_pieces_differ_where_the_merge_must_renumber(runs: dict[str, Any]):
    """What the comparison above covers: the pieces' meta field lists differ (so the meta
    locations' field numbers are renumbered), many words have pages in every piece, and where
    two chunks meet, Pagefind left the first one's end whole (trimmed, it would come before
    its start) as well as trimmed it."""
    fields = [_meta(piece)[1][5] for piece in runs["pieces"]]
    assert len({tuple(f) for f in fields}) > 1
    words = [
        {w[0] for _, _, name in _meta(p)[1][2] for w in read(p / "index" / f"{name}.pf_index")[0]}
        for p in runs["pieces"]
    ]
    assert len(set.intersection(*words)) > 100
    chunks = _content(runs["single"], _meta(runs["single"])[1])["chunks"]
    ends = Counter()
    for (low, high, chunk), (_, _, next_chunk) in zip(chunks, chunks[1:], strict=False):
        common = len(os.path.commonprefix([chunk[-1], next_chunk[0]]))
        trimmed = chunk[-1][: common + 1]
        ends["whole" if trimmed < low else "trimmed"] += 1
        assert high == (chunk[-1] if trimmed < low else trimmed)
    assert ends["whole"] >= 1 and ends["trimmed"] >= 100


def test_pagefinds_chunk_size_from_the_environment_is_followed(
    documents: list[SearchDocument], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(pagefind_merge.CHUNK_SIZE_VARIABLE, "1500")
    trees = []
    for size in (len(documents), PIECE):
        pagefind_index.build_browser_index(documents, tmp_path / str(size), piece_pages=size)
        trees.append(_tree(tmp_path / str(size) / "pagefind"))
    assert trees[0] == trees[1]
    # Pagefind's chunks are the re-written bundle's cut smaller: many more chunks than by default.
    assert len([n for n in trees[0] if n.startswith("index/")]) > 60


def _reverse_pages(bundle: Path) -> None:
    """Pagefind's bundle as if it had found the pages' files in the opposite order: every page
    number ``p`` made ``count - 1 - p`` (the meta's page list, the index chunks, the filters)."""
    entry, meta = _meta(bundle)
    count = len(meta[1])
    number = [count - 1 - p for p in range(count)]
    meta[1].reverse()
    for _, _, name in meta[2]:
        path = bundle / "index" / f"{name}.pf_index"
        path.write_bytes(
            gzip.compress(
                pagefind_bundle.renumber_chunk(gzip.decompress(path.read_bytes()), number)
            )
        )
    for _, name in meta[3]:
        path = bundle / "filter" / f"{name}.pf_filter"
        key, values = read(path)
        path.write_bytes(
            pagefind_bundle.pack([key, [[v, sorted(number[p] for p in ps)] for v, ps in values]])
        )
    assert meta[4] == []
    (bundle / f"pagefind.{entry['languages']['zh-cn']['hash']}.pf_meta").write_bytes(
        pagefind_bundle.pack(meta)
    )


def test_the_rewritten_bundle_does_not_depend_on_pagefinds_page_order(
    runs: dict[str, Any], tmp_path: Path
):
    """Pagefind numbers pages in the order the file system lists their files (another on tmpfs
    than on ext4; another for pieces than for one run): the re-written bundle must not depend on
    it, nor on which of two pages whose fragments' names collide got the longer name."""
    for name in ("as-is", "reversed"):
        shutil.copytree(runs["single"], tmp_path / name)
        pagefind_index.prune_bundle(tmp_path / name)
    _reverse_pages(tmp_path / "reversed")
    assert _tree(tmp_path / "reversed") != _tree(tmp_path / "as-is")
    for name in ("as-is", "reversed"):
        pagefind_bundle.rewrite_bundle(tmp_path / name)
    assert _tree(tmp_path / "reversed") == _tree(tmp_path / "as-is")


# ---------------------------------------------------------------- pieces not as expected


def _store(bundle: Path, folder: str, old: str | None, value: Any, meta_change: Any = None) -> None:
    """Write ``value`` as a file of ``folder`` in place of ``old``, named by its content's hash as
    Pagefind names it, and the meta and entry file to match (so that only the content is
    unexpected, not the names)."""
    entry, meta = _meta(bundle)
    if old is not None:
        cbor = pagefind_bundle._encode(value)
        new = "zh-cn_" + pagefind_merge.pagefind_hash(cbor)[:7]
        suffix = {"index": ".pf_index", "filter": ".pf_filter"}[folder]
        (bundle / folder / f"{old}{suffix}").unlink()
        (bundle / folder / f"{new}{suffix}").write_bytes(gzip.compress(MAGIC + cbor))
        meta = json.loads(json.dumps(meta).replace(json.dumps(old), json.dumps(new)))
    if meta_change:
        meta_change(meta)
    (bundle / f"pagefind.{entry['languages']['zh-cn']['hash']}.pf_meta").unlink()
    cbor = pagefind_bundle._encode(meta)
    name = "zh-cn_" + pagefind_merge.pagefind_hash(cbor)[:13]
    (bundle / f"pagefind.{name}.pf_meta").write_bytes(gzip.compress(MAGIC + cbor))
    entry["languages"]["zh-cn"]["hash"] = name
    (bundle / "pagefind-entry.json").write_text(json.dumps(entry), encoding="utf-8")


def _damage(bundle: Path, how: str) -> None:
    _, meta = _meta(bundle)
    first = meta[2][0][2]
    chunk = bundle / "index" / f"{first}.pf_index"
    if how == "page number":  # a word on a page the piece does not have
        value = read(chunk)
        value[0][0][1].append([len(meta[1]), [1], []])
        _store(bundle, "index", first, value)
    elif how == "meta field":  # a meta location in a field the meta does not name
        name = next(
            n
            for _, _, n in meta[2]
            if any(e[2] for w in read(bundle / "index" / f"{n}.pf_index")[0] for e in w[1])
        )
        value = read(bundle / "index" / f"{name}.pf_index")
        next(e for w in value[0] for e in w[1] if e[2])[2][0] = -len(meta[5]) - 1
        _store(bundle, "index", name, value)
    elif how == "absolute pages":  # a future Pagefind that would not give pages in order
        _, name = meta[3][0]
        value = read(bundle / "filter" / f"{name}.pf_filter")
        pages = max((v[1] for v in value[1]), key=len)
        assert len(pages) > 1
        pages.reverse()
        _store(bundle, "filter", name, value)
    elif how == "sort":
        _store(bundle, "", None, None, lambda m: m[4].append(["date", [0]]))
    elif how == "another meta field":
        _store(bundle, "", None, None, lambda m: m.append(["more"]))
    elif how == "content not its name":
        value = read(chunk)
        value[0][0][1][0][1] = value[0][0][1][0][1] + [3]
        chunk.write_bytes(pagefind_bundle.pack(value))
    elif how == "truncated":
        chunk.write_bytes(chunk.read_bytes()[:-20])
    elif how == "stray file":
        (bundle / "filter" / "zh-cn_0000000.pf_filter").write_bytes(pagefind_bundle.pack(["x", []]))
    elif how == "version":
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        entry["version"] = "9.0.0"
        (bundle / "pagefind-entry.json").write_text(json.dumps(entry), encoding="utf-8")
    elif how == "script":
        (bundle / "pagefind.js").write_text("// another Pagefind", encoding="utf-8")


DAMAGE = {
    "page number": "page number",
    "meta field": "field",
    "absolute pages": "ascending order",
    "sort": "sort orders",
    "another meta field": "its fields or version",
    "content not its name": "not the hash of its content",
    "truncated": "pf_index",
    "stray file": "holds other files",
    "version": "its fields or version",
    "script": "scripts",
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_piece_not_as_expected_is_named_and_leaves_no_bundle(
    runs: dict[str, Any], tmp_path: Path, how: str
):
    pieces = []
    for n, piece in enumerate(runs["pieces"]):
        shutil.copytree(piece, tmp_path / str(n))
        pieces.append(tmp_path / str(n))
    _damage(pieces[-1], how)
    with pytest.raises(UnexpectedFormat) as failure:  # the build then falls back
        pagefind_index.merge_pieces(pieces, tmp_path / "merged")
    assert DAMAGE[how] in str(failure.value)
    assert not (tmp_path / "merged").exists()


def test_undamaged_copies_of_the_pieces_merge(
    runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The damage above is what fails those merges: the same copies, undamaged, merge."""
    monkeypatch.setenv(pagefind_merge.CHUNK_SIZE_VARIABLE, str(CHUNK_SIZE))
    pieces = []
    for n, piece in enumerate(runs["pieces"]):
        shutil.copytree(piece, tmp_path / str(n))
        pieces.append(tmp_path / str(n))
    pagefind_index.merge_pieces(pieces, tmp_path / "merged")
    assert _tree(tmp_path / "merged") == _tree(runs["merged"])
