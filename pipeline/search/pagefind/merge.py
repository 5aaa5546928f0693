"""Merge the bundles of Pagefind runs over disjoint sets of pages into the bundle one run over
all the pages writes.

Pagefind holds every page it indexes in memory until it writes its bundle: ~100 KiB per search
document here (557 MiB at 5,000 documents, 2 GiB at 20,000). So the build runs it over pieces of
the documents' pages, one after the other (at most ``index.PIECE_PAGES`` pages each), and
merges the pieces' bundles here, in Python, into one bundle laid out as Pagefind 1.5 lays it out,
which ``bundle.py`` then re-writes as it re-writes a single run's. What a page adds to a
bundle does not depend on the other pages (its fragment, word count, words' locations and filter
values); what depends on all of them is made again here as Pagefind makes it (Pagefind's source,
``pagefind/src/index/mod.rs`` at v1.5.2, and what 1.5.2 writes):

* **pages**: the pieces' page lists one after the other, page ``p`` of a piece becoming
  ``offset + p``. Fragments keep their names (``<language>_`` and 7 hex digits of Pagefind's hash
  of their content, :func:`pagefind_hash`); when two pieces give one name to different contents,
  the later page's name is lengthened one digit of its hash at a time, as Pagefind does for the
  later of two pages (at 20,000 pages there is about one such pair);
* **index chunks**: each word's page entries from every piece, in page order (a word's pages are
  given as differences, so only the first entry from each piece changes). The meta locations
  (where a word is in a page's meta fields: ``-(field + 1)``, then the locations) number the
  fields in the meta's list of field names, which is the pieces' lists together, so a piece's
  field numbers are renumbered where its list differs. The words are cut into chunks as Pagefind
  cuts them: in code-point order, a chunk ends after the word that brings it to
  :data:`CHUNK_SIZE` (a page entry counts its locations, meta locations and one). Where two
  chunks meet, the next chunk's first word is cut to one character past the words' common
  prefix, and so is the chunk's last word unless that would put its end before its start;
* **filters**: each filter value's pages from every piece (in files named as Pagefind names them;
  ``bundle.py`` sorts and names them again);
* **meta**: the version, the pages, the chunks, the filters, no sort orders (the documents' pages
  have none: a piece with one fails the merge) and the meta field names of all pieces, sorted.

The merged bundle differs from a single run's only in the order of its pages (Pagefind numbers
pages in the order it finds their files, the file system's listing order, so one run's order is
not the pieces' one after the other) and in what follows from that order: which of two colliding
fragment names is the longer, the order of the filter values' and words' pages. After
``bundle.py``, which numbers pages by word count and content, the bundles are
byte-identical (``tests/test_pagefind_merge.py``; also checked at 5,000 and 20,000 items).

Every piece is checked as ``bundle.py`` checks a bundle (its meta, filter files and index
chunks laid out as Pagefind 1.5 writes them, only the files its meta names) and more (each index,
filter and meta file is named by Pagefind's hash of its content, a piece's words are in order,
every piece has the same version, language, entry file and Pagefind scripts): if anything is not
as expected, :class:`UnexpectedFormat` is raised and the build fails (``index.py``).
The pieces' index chunks are read one at a time per piece, so the merge holds the page list, the
filters and one chunk per piece; it writes its index, filter and meta files gzip'd at level 1
(``bundle.py`` re-writes them all).
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from pipeline.search.pagefind.bundle import (
    INTEGER_SIZE,
    MAGIC,
    UnexpectedFormat,
    _check_filter,
    _check_meta,
    _count,
    _encode,
    _fail,
    _head,
    page_entries,
    read,
    unzipped,
)

CHUNK_SIZE = 20_000
"""Pagefind's ``index_chunk_size``: a chunk ends once its page entries' locations, meta
locations and one per entry reach this (unless ``PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE`` says
otherwise, see :func:`chunk_size`)."""
CHUNK_SIZE_VARIABLE = "PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE"
HASH_DIGITS = 7
"""Hex digits of a fragment's, chunk's or filter file's hash in its name (the meta's: the
language's length + 8)."""
ENTRY = "pagefind-entry.json"
FOLDERS = {"fragment": ".pf_fragment", "index": ".pf_index", "filter": ".pf_filter"}
GZIP_LEVEL = 1
"""The merged bundle's index, filter and meta files are re-written by ``bundle.py``."""


def pagefind_hash(data: bytes) -> str:
    """Pagefind's ``full_hash``: the SHA-1's bytes in hex, each without a leading zero
    (Rust's ``format!("{:x?}", byte)``), so 30 to 40 digits."""
    return "".join(format(byte, "x") for byte in hashlib.sha1(data).digest())


def chunk_size() -> int:
    """The chunk size Pagefind's runs used: :data:`CHUNK_SIZE`, or the environment's
    ``PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE`` if it is a number (Rust's ``usize`` parse)."""
    value = os.environ.get(CHUNK_SIZE_VARIABLE, "")
    return int(value) if re.fullmatch(r"\+?[0-9]+", value) and int(value) < 2**64 else CHUNK_SIZE


def _gzip(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)


def _cbor(path: Path) -> bytes:
    """A Pagefind file's CBOR (without ``pagefind_dcd``)."""
    raw = unzipped(path)
    if not raw.startswith(MAGIC):
        raise UnexpectedFormat(f"{path.name}: no {MAGIC!r}")
    return raw[len(MAGIC) :]


def _check_name(path: Path, content: bytes, language: str) -> None:
    """A file named ``<language>_<hash>`` holds what its hash says (Pagefind names index, filter
    and meta files by their CBOR's hash)."""
    digits = path.name.split(".")[-2] if path.name.startswith("pagefind.") else path.stem
    prefix = f"{language}_"
    if not (
        digits.startswith(prefix)
        and pagefind_hash(content).startswith(digits[len(prefix) :])
        and len(digits) - len(prefix) >= HASH_DIGITS
    ):
        raise UnexpectedFormat(f"{path.name}: its name is not the hash of its content")


@dataclass
class Piece:
    """One Pagefind run's bundle: its entry, meta and where its pages start in the merged bundle."""

    bundle: Path
    language: str
    entry: dict[str, Any]
    meta: list[Any]
    offset: int

    @property
    def count(self) -> int:
        return len(self.meta[1])


def _open(bundle: Path, offset: int) -> Piece:
    try:
        entry = json.loads((bundle / ENTRY).read_text(encoding="utf-8"))
        ((language, info),) = entry["languages"].items()
        meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
        content = _cbor(meta_path)
        _check_name(meta_path, content, language)
        if len(info["hash"]) != 2 * len(language) + 9:
            raise _fail("meta file name")
        meta = read(meta_path)
        _check_meta(meta, info["page_count"])
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        IndexError,
    ) as exc:  # UnexpectedFormat is a ValueError
        raise UnexpectedFormat(f"Pagefind bundle {bundle.name}: {exc}") from exc
    if len(meta) != 6 or meta[0] != entry.get("version"):
        raise _fail(f"meta of {bundle.name} (its fields or version)")
    if meta[4]:
        raise UnexpectedFormat(
            f"{bundle.name}: Pagefind sort orders cannot be merged (the pages have none)"
        )
    fields = meta[5]
    if not (
        isinstance(fields, list)
        and all(isinstance(f, str) for f in fields)
        and fields == sorted(set(fields))
    ):
        raise _fail(f"meta field names of {bundle.name}")
    for folder, suffix in FOLDERS.items():
        named = (
            {name + suffix for name, _ in meta[1]}
            if folder == "fragment"
            else {name + suffix for _, _, name in meta[2]}
            if folder == "index"
            else {name + suffix for _, name in meta[3]}
        )
        present = (
            {p.name for p in (bundle / folder).iterdir()} if (bundle / folder).is_dir() else set()
        )
        if present != named:
            raise UnexpectedFormat(
                f"{bundle.name}: Pagefind's {folder}/ holds other files than its meta "
                f"names: {sorted(present ^ named)[:3]}"
            )
    prefix = f"{language}_"
    if not all(
        name.startswith(prefix) and len(name) - len(prefix) >= HASH_DIGITS for name, _ in meta[1]
    ):
        raise _fail(f"fragment names of {bundle.name}")
    return Piece(bundle, language, entry, meta, offset)


def _scripts(bundle: Path, meta_file: str) -> dict[str, bytes]:
    """The files beside the meta: Pagefind's scripts, WebAssembly and interfaces."""
    return {
        p.name: p.read_bytes()
        for p in sorted(bundle.iterdir())
        if p.is_file() and p.name not in (ENTRY, meta_file)
    }


# ---------------------------------------------------------------- pages


def _fragment_path(piece: Piece, fragment: str) -> Path:
    return piece.bundle / "fragment" / f"{fragment}.pf_fragment"


class _Fragments:
    """The merged bundle's fragment names, given as Pagefind gives them to pages in order."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = pieces
        self.taken: dict[str, tuple[int, str]] = {}  # name → (piece, its name in the piece)
        self.names: dict[tuple[int, str], str] = {}
        self._hashes: dict[tuple[int, str], str] = {}

    def _hash(self, key: tuple[int, str]) -> str:
        if key not in self._hashes:
            piece = self.pieces[key[0]]
            path = _fragment_path(piece, key[1])
            digest = pagefind_hash(_cbor(path))
            if not digest.startswith(key[1][len(piece.language) + 1 :]):
                raise UnexpectedFormat(f"{path.name}: its name is not the hash of its content")
            self._hashes[key] = digest
        return self._hashes[key]

    def name(self, piece: int, old: str) -> str:
        key = (piece, old)
        if key in self.names:  # identical pages share a fragment in Pagefind's bundle
            return self.names[key]
        prefix = f"{self.pieces[piece].language}_"
        short = old[: len(prefix) + HASH_DIGITS]
        if old == short and short not in self.taken:  # nearly always: no file is read
            new = short
        else:
            digest = self._hash(key)
            for length in range(HASH_DIGITS, len(digest) + 1):
                new = prefix + digest[:length]
                holder = self.taken.get(new)
                if holder is None or self._hash(holder) == digest:
                    break
            else:
                raise UnexpectedFormat(f"two fragments hash to {new}")
        self.taken.setdefault(new, key)
        self.names[key] = new
        return new


# ---------------------------------------------------------------- index chunks


@dataclass(slots=True)
class _Word:
    """A word of a piece's index chunk: its page entries as bytes, the first one's page (its
    step from 0) apart, so that only that step changes in the merged bundle."""

    word: str
    first_page: int
    first_rest: bytes  # the first entry after its page: locations and meta locations
    others: bytes  # the other entries, as they are
    entries: int
    last_page: int
    size: int  # locations + meta locations + 1 per entry (what Pagefind's chunking counts)


def _meta_locations(data: bytes, i: int, fields: list[int]) -> bytes:
    """The meta locations at ``i`` (an array of integers, checked by ``page_entries``:
    ``-(field + 1)`` for a meta field, the field's number in the meta's list of field names, then
    the word's locations in it) with each field ``f`` made ``fields[f]``."""
    length, i = _count(data, i, 4)
    out = bytearray(_head(4, length))
    for n in range(length):
        head = data[i]
        size = INTEGER_SIZE[head]
        if head >> 5 == 1:  # a negative integer, -1 - value: the field's number
            field = head & 31 if size == 1 else int.from_bytes(data[i + 1 : i + size], "big")
            if field >= len(fields):
                raise _fail(f"index chunk meta location (field {field} of {len(fields)})")
            out += _head(1, fields[field])
        elif n == 0:
            raise _fail("index chunk meta locations (a location before its field)")
        else:
            out += data[i : i + size]
        i += size
    return bytes(out)


def chunk_words(raw: bytes, pages: int, fields: list[int] | None = None) -> list[_Word]:
    """The words of an index chunk's CBOR (see ``bundle.py``), of a bundle of ``pages``
    pages; with ``fields``, each meta location's field ``f`` made ``fields[f]`` (see
    :func:`_meta_locations`)."""
    if not raw.startswith(b"\x81"):
        raise _fail("index chunk")
    out = []
    try:
        words, i = _count(raw, 1, 4)
        for _ in range(words):
            if raw[i] != 0x83:
                raise _fail("index chunk word")
            size, start = _count(raw, i + 1, 3)
            word = raw[start : start + size].decode("utf-8")
            entries, i = _count(raw, start + size, 4)
            if not entries:
                raise _fail("index chunk word (without pages)")
            total = first_page = others_start = last_page = 0
            first_rest = b""
            changed: list[bytes] = []  # with fields: the entries after the first, re-written
            entry_start = i
            for n, (page, begin, middle, end, locations, meta_locations) in enumerate(
                page_entries(raw, i, entries, pages)
            ):
                total += locations + meta_locations + 1
                if fields is not None:
                    rest = raw[begin:middle] + _meta_locations(raw, middle, fields)
                if n == 0:
                    first_page, others_start = page, end
                    first_rest = raw[begin:end] if fields is None else rest
                elif fields is not None:
                    changed += (raw[entry_start:begin], rest)
                entry_start = i = end
                last_page = page
            if raw[i] != 0x80:
                raise _fail("index chunk word (its third field is not empty)")
            others = raw[others_start:i] if fields is None else b"".join(changed)
            out.append(_Word(word, first_page, first_rest, others, entries, last_page, total))
            i += 1
    except IndexError as exc:
        raise _fail("index chunk (it ends too soon)") from exc
    except UnicodeDecodeError as exc:
        raise _fail("index chunk word (not UTF-8)") from exc
    if i != len(raw):
        raise _fail("index chunk (bytes after its words)")
    return out


def _piece_words(number: int, piece: Piece, fields: list[str]) -> Iterator[tuple[str, int, _Word]]:
    """A piece's words in order, one index chunk in memory at a time; the fields of their meta
    locations numbered as in ``fields`` (the merged meta's field names)."""
    numbers = [fields.index(field) for field in piece.meta[5]]
    renumber = None if numbers == list(range(len(numbers))) else numbers
    previous = None
    for _, _, name in piece.meta[2]:
        path = piece.bundle / "index" / f"{name}.pf_index"
        content = _cbor(path)
        _check_name(path, content, piece.language)
        for word in chunk_words(content, piece.count, renumber):
            if previous is not None and word.word <= previous:
                raise _fail(f"index of {piece.bundle.name} (its words out of order: {word.word!r})")
            previous = word.word
            yield word.word, number, word


def _merged_word(word: str, parts: list[tuple[int, _Word]], offsets: list[int]) -> bytes:
    out = bytearray(b"\x83")
    raw = word.encode("utf-8")
    out += _head(3, len(raw)) + raw + _head(4, sum(part.entries for _, part in parts))
    previous = 0
    for piece, part in parts:
        first = offsets[piece] + part.first_page
        out += b"\x83" + _head(0, first - previous) + part.first_rest + part.others
        previous = offsets[piece] + part.last_page
    out.append(0x80)
    return bytes(out)


def _prefixes(a: str, b: str) -> tuple[str, str]:
    """Pagefind's ``get_prefixes``: where chunks meet, the last word of one and the first of the
    next, each cut one character after their common prefix."""
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return a[: common + 1], b[: common + 1]


def _short_name(language: str, digest: str, taken: set[str], step: int) -> str:
    """``<language>_`` and :data:`HASH_DIGITS` digits of the hash, ``step`` more while taken (as
    Pagefind names index chunks and filter files: two more digits at a time)."""
    length = HASH_DIGITS
    while f"{language}_{digest[:length]}" in taken and length < len(digest):
        length += step
    name = f"{language}_{digest[:length]}"
    if name in taken:
        raise UnexpectedFormat(f"two files hash to {name}")
    taken.add(name)
    return name


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(_gzip(MAGIC + content))


class _Chunks:
    """The merged words cut into index chunks as Pagefind cuts them, each written when full."""

    def __init__(self, folder: Path, language: str) -> None:
        self.folder, self.language = folder, language
        self.words: list[tuple[str, bytes]] = []
        self.size = 0
        self.limit = chunk_size()
        self.meta: list[list[str]] = []
        self.taken: set[str] = set()

    def add(self, word: str, entry: bytes, size: int) -> None:
        self.size += size
        self.words.append((word, entry))
        if self.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.words:
            return
        content = b"\x81" + _head(4, len(self.words)) + b"".join(entry for _, entry in self.words)
        name = _short_name(self.language, pagefind_hash(content), self.taken, 2)
        _write(self.folder / f"{name}.pf_index", content)
        self.meta.append([self.words[0][0], self.words[-1][0], name])
        self.words, self.size = [], 0

    def ranges(self) -> list[list[str]]:
        """The chunks' ranges as Pagefind's ``chunk_meta`` makes them: where two chunks meet, the
        next one's first word cut to one character past the common prefix, and the last word of
        the one before too, unless that would put it before the chunk's start."""
        self.flush()
        for one, two in zip(self.meta, self.meta[1:], strict=False):
            end, start = _prefixes(one[1], two[0])
            if end >= one[0]:
                one[1] = end
            two[0] = start
        return self.meta


# ---------------------------------------------------------------- the bundle


def _filter_values(piece: Piece, key: str, name: str) -> list[list[Any]]:
    """A piece's filter file: ``[[value, [page, …]], …]``."""
    path = piece.bundle / "filter" / f"{name}.pf_filter"
    _check_name(path, _cbor(path), piece.language)
    value = read(path)
    _check_filter(value, piece.count)
    if value[0] != key or len({v for v, _ in value[1]}) != len(value[1]):
        raise _fail(f"filter file {path.name} (its filter or its values)")
    return value[1]


def merge_bundles(pieces: list[Path], bundle: Path) -> dict[str, Any]:
    """Write into ``bundle`` (a folder that does not exist yet) the merge of the Pagefind bundles
    ``pieces`` (runs over disjoint sets of pages, in that order; see the module's docstring). The
    pieces' fragments are moved, not copied. Raises :class:`UnexpectedFormat` if a piece is not
    laid out as expected (``bundle`` may then hold part of the merge)."""
    if not pieces:
        raise UnexpectedFormat("no Pagefind bundle to merge")
    opened: list[Piece] = []
    offset = 0
    for path in pieces:
        opened.append(_open(path, offset))
        offset += opened[-1].count
    first = opened[0]
    language, version = first.language, first.meta[0]

    def entry_rest(piece: Piece) -> dict[str, Any]:
        info = {
            k: v
            for k, v in piece.entry["languages"][piece.language].items()
            if k not in ("hash", "page_count")
        }
        return {**piece.entry, "languages": {piece.language: info}}

    meta_file = f"pagefind.{first.entry['languages'][language]['hash']}.pf_meta"
    scripts = _scripts(first.bundle, meta_file)
    for piece in opened[1:]:
        if (
            piece.language != language
            or piece.meta[0] != version
            or entry_rest(piece) != entry_rest(first)
        ):
            raise UnexpectedFormat(
                f"{piece.bundle.name}: another Pagefind version, language or entry file"
            )
        other = _scripts(
            piece.bundle, f"pagefind.{piece.entry['languages'][language]['hash']}.pf_meta"
        )
        if other != scripts:
            raise UnexpectedFormat(
                f"{piece.bundle.name}: other Pagefind scripts than {first.bundle.name}'s"
            )
    offsets = [piece.offset for piece in opened]

    bundle.mkdir(parents=True)
    for folder in FOLDERS:
        (bundle / folder).mkdir()

    # Pages and their fragments (named first: a name taken may need the fragment that took it).
    fragments = _Fragments(opened)
    pages = [
        [fragments.name(number, name), word_count]
        for number, piece in enumerate(opened)
        for name, word_count in piece.meta[1]
    ]
    for (number, name), new in fragments.names.items():
        target = bundle / "fragment" / f"{new}.pf_fragment"
        if not target.exists():  # identical pages of two pieces share a fragment
            shutil.move(_fragment_path(opened[number], name), target)

    # Index chunks: the pieces' words merged in order, one chunk of each piece read at a time.
    fields = sorted({field for piece in opened for field in piece.meta[5]})
    chunks = _Chunks(bundle / "index", language)
    words = heapq.merge(
        *(_piece_words(n, piece, fields) for n, piece in enumerate(opened)), key=lambda w: w[0]
    )
    word_count = 0
    for word, group in groupby(words, key=lambda w: w[0]):
        parts = [(number, part) for _, number, part in group]
        chunks.add(word, _merged_word(word, parts, offsets), sum(part.size for _, part in parts))
        word_count += 1
    index_chunks = chunks.ranges()

    # Filters: each value's pages from every piece.
    values: dict[str, dict[str, list[int]]] = {}
    for piece in opened:
        for key, name in piece.meta[3]:
            merged = values.setdefault(key, {})
            for v, numbers in _filter_values(piece, key, name):
                merged.setdefault(v, []).extend(piece.offset + p for p in numbers)
    filters: list[list[str]] = []
    taken: set[str] = set()
    for key in sorted(values):
        content = _encode([key, [[v, values[key][v]] for v in sorted(values[key])]])
        name = _short_name(language, pagefind_hash(content), taken, 2)
        _write(bundle / "filter" / f"{name}.pf_filter", content)
        filters.append([key, name])

    # The meta, the entry file and Pagefind's scripts.
    meta = [version, pages, index_chunks, filters, [], fields]
    content = _encode(meta)
    _check_meta(meta, len(pages))
    meta_name = f"{language}_{pagefind_hash(content)[: len(language) + 8]}"
    _write(bundle / f"pagefind.{meta_name}.pf_meta", content)
    entry = first.entry
    entry["languages"][language].update(hash=meta_name, page_count=len(pages))
    (bundle / ENTRY).write_text(
        json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    for name, data in scripts.items():
        (bundle / name).write_bytes(data)
    return {
        "pieces": len(opened),
        "pages": len(pages),
        "words": word_count,
        "index_chunks": len(index_chunks),
        "filters": len(filters),
    }
