"""Re-write Pagefind's bundle so that a build is reproducible and a first search downloads little.

**Reproducible.** Pagefind writes the values of each filter, and the list of filters, in hash-map
order, which changes from run to run. Each filter file is re-written with its values in
code-point order, under a name derived from its content. Pagefind numbers pages in the order the
file system lists their files (a bundle built on tmpfs differed from one built on ext4), and a
bundle merged from pieces (``merge.py``) in the pieces' order: pages are numbered again
by their content (below). Everything else is named from content or by number, so two builds of
the same documents are byte-identical, on any file system and from any pieces.

**Small** (figures: docs/benchmarks.md, "Search"). Before its first search, a browser loads
Pagefind's meta (``pagefind.*.pf_meta``): every page's name (``zh-cn_`` and 7 hex digits of its
fragment's hash; the fragment holds what a result shows) and word count, and every index
chunk's range of words and name. Random names do not compress: ~7 bytes per page gzip'd,
137 KB at 20,000 pages, more than the search itself needs. Then each word of a query loads the
index chunk holding it: Pagefind cuts chunks by size for large sites (~16–40 KB gzip'd, as much
on the 212-page demo, where three words cost 75 KB). So:

* pages are numbered again in the order of their word counts (ties by their fragment's hash,
  :func:`page_order`), and
  every page number in the index chunks, the filter files and the sort lists is changed to match
  (the locations of a word on a page are kept as Pagefind wrote them). Pages alike in length
  are then neighbours, and the chunks, which give a word's pages as differences, compress
  better (a quarter smaller at 20,000 items on the benchmark's scaled exports);
* Pagefind's index chunks are cut into chunks of about :data:`CHUNK_TARGET` bytes, only where
  the first character of their words changes (see :func:`split_chunk`: a query word finds the
  same words, and the words it is the start of, as in Pagefind's chunk);
* fragments and chunks are renamed ``<language>_<tag>_<n>`` (``n``: the page's or chunk's number
  in base 36; ``tag``: 8 hex digits of a hash of the contents, so that a name never points at
  other content from one build to the next — the site is served with ``expires 1h``);
* beside the meta, ``pagefind.<meta>.meta.json`` holds the same meta with its page list given as
  a prefix and runs of word counts (``[[85, 3], [86, 12], …]``) and its chunk list as a prefix
  and the chunks' ranges: 0.7 KB gzip'd for the demo, 6.7 KB at 20,000 pages (instead of 137 KB).
  The search page (``theme/static/js/search.js``) answers Pagefind's request for the
  ``.pf_meta`` with the bytes it re-encodes from this file (falling back to the ``.pf_meta`` if
  the file is missing or not understood). Pagefind's own files stay complete and consistent,
  so any other Pagefind client works on the bundle as it is.

The files are small formats: a gzip stream holding ``pagefind_dcd`` and one CBOR value (arrays,
integers, strings). The meta and filter files are decoded and must re-encode byte for byte as
Pagefind wrote them; index chunks are read down to their page numbers (their word locations are
copied as bytes); fragments are only renamed. Every file must have the layout below (that of
Pagefind 1.5); if not (a future Pagefind with another format), :class:`UnexpectedFormat` is
raised before any file is changed, and the build fails: a rewrite that misunderstood the format
would silently break search. ``tests/test_pagefind_bundle.py`` checks that the bundle still says
what Pagefind wrote, and that Pagefind's own code finds the same pages with the same scores in
both.

Layouts (Pagefind's source, ``pagefind/src/index/``, and what 1.5.2 writes):

* meta: ``[version, [[page name, word count], …], [[from word, to word, chunk name], …],
  [[filter, filter file name], …], [[sort, [page, …]], …], …]`` (later elements, e.g. the meta
  field names, are kept as they are, and must be arrays, strings and integers only);
* index chunk: ``[[[word, [[page step, [location, …], [meta location, …]], …], []], …]]``, a
  word's pages in ascending order, each given as the difference from the previous one's (the
  first from 0);
* filter file: ``[filter, [[value, [page, …]], …]]``, pages in ascending order;
* fragment: JSON (never changed, only renamed).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAGIC = b"pagefind_dcd"


class UnexpectedFormat(ValueError):
    """A Pagefind file that this module does not know how to re-write."""


# ---------------------------------------------------------------- CBOR (the subset Pagefind uses)


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    head = data[i]
    major, info = head >> 5, head & 31
    i += 1
    if info < 24:
        value = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        value = int.from_bytes(data[i : i + size], "big")
        i += size
    else:
        raise UnexpectedFormat(f"CBOR head {head:#x}")
    if major == 0:
        return value, i
    if major == 1:
        return -1 - value, i
    if major in (2, 3):
        chunk = data[i : i + value]
        return (bytes(chunk) if major == 2 else chunk.decode("utf-8")), i + value
    if major == 4:
        items = []
        for _ in range(value):
            item, i = _decode(data, i)
            items.append(item)
        return items, i
    if major == 5:
        pairs = {}
        for _ in range(value):
            key, i = _decode(data, i)
            pairs[key], i = _decode(data, i)
        return pairs, i
    if major == 7 and value in (20, 21, 22):
        return {20: False, 21: True, 22: None}[value], i
    raise UnexpectedFormat(f"CBOR major type {major}")


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise UnexpectedFormat("integer too large")


def _encode(value: Any) -> bytes:
    if value is False or value is True or value is None:
        return bytes([0xE0 | {False: 20, True: 21, None: 22}[value]])
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(_encode(k) + _encode(v) for k, v in value.items())
    raise UnexpectedFormat(type(value).__name__)


def unzipped(path: Path) -> bytes:
    """A bundle's file, gzip'd (all of Pagefind's but its scripts), read and decompressed."""
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise UnexpectedFormat(f"{path.name}: {exc}") from exc


def read(path: Path) -> Any:
    raw = unzipped(path)
    if not raw.startswith(MAGIC):
        raise UnexpectedFormat(f"{path.name}: no {MAGIC!r}")
    try:
        value, end = _decode(raw, len(MAGIC))
    except (IndexError, UnicodeDecodeError) as exc:
        raise UnexpectedFormat(f"{path.name}: {exc!r}") from exc
    if end != len(raw) or MAGIC + _encode(value) != raw:
        raise UnexpectedFormat(f"{path.name}: does not re-encode to the same bytes")
    return value


def _gzip(raw: bytes, level: int = 9) -> bytes:
    return gzip.compress(raw, compresslevel=level, mtime=0)


def pack(value: Any) -> bytes:
    return _gzip(MAGIC + _encode(value))


# ---------------------------------------------------------------- layouts


def _fail(what: str) -> UnexpectedFormat:
    return UnexpectedFormat(f"Pagefind {what} is not laid out as expected (Pagefind 1.5)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ints(value: Any) -> bool:
    return isinstance(value, list) and all(_is_int(v) for v in value)


def _plain(value: Any) -> bool:
    """Arrays, strings and integers only: what ``meta.json`` can carry and search.js re-encodes."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, str) or _is_int(value)


def _rows(value: Any, row: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, list) and row(v) for v in value)


def _strings(row: list[Any], width: int) -> bool:
    return len(row) == width and all(isinstance(x, str) for x in row)


def _check_meta(meta: Any, page_count: int) -> None:
    if not (isinstance(meta, list) and len(meta) >= 5 and isinstance(meta[0], str)):
        raise _fail("meta")
    version, pages, chunks, filters, sorts, *rest = meta
    if not (
        _rows(
            pages,
            lambda p: (
                len(p) == 2 and isinstance(p[0], str) and p[0] and _is_int(p[1]) and p[1] >= 0
            ),
        )
        and len(pages) == page_count
    ):
        raise _fail("meta page list")
    if not _rows(chunks, lambda c: _strings(c, 3)):
        raise _fail("meta index chunk list")
    if not _rows(filters, lambda f: _strings(f, 2)):
        raise _fail("meta filter list")
    if not _rows(
        sorts,
        lambda s: (
            len(s) == 2
            and isinstance(s[0], str)
            and _ints(s[1])
            and all(0 <= p < page_count for p in s[1])
        ),
    ):
        raise _fail("meta sort list")
    if not all(_plain(v) for v in rest):
        raise _fail("meta (its last fields)")


def _check_filter(value: Any, pages: int) -> None:
    if not (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], list)
    ):
        raise _fail("filter file")
    for entry in value[1]:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and _ints(entry[1])
            and all(0 <= p < pages for p in entry[1])
            and all(a < b for a, b in zip(entry[1], entry[1][1:], strict=False))
        ):
            raise _fail("filter value (its pages in ascending order)")


# ---------------------------------------------------------------- index chunks, fast

# An index chunk of 20,000 pages holds ~25 MB of CBOR, mostly word locations, which the rewrite
# never changes: it reads the structure down to the page numbers, checks it, and copies the
# locations as bytes (decoding everything into Python objects took a minute at 20,000 pages).


def _count(data: bytes, i: int, major: int) -> tuple[int, int]:
    """The argument of a CBOR head of the given major type at ``i``, and where it ends."""
    head = data[i]
    info = head & 31
    if head >> 5 != major or info > 27:
        raise _fail(f"index chunk (CBOR head {head:#x} where major type {major} was expected)")
    if info < 24:
        return info, i + 1
    size = 1 << (info - 24)
    return int.from_bytes(data[i + 1 : i + 1 + size], "big"), i + 1 + size


def _integer_sizes() -> bytes:
    """For each first byte, the size of the CBOR integer it starts (0: not an integer)."""
    sizes = bytearray(256)
    for head in range(0x40):  # major types 0 and 1
        info = head & 31
        sizes[head] = 1 if info < 24 else (1 + (1 << (info - 24)) if info <= 27 else 0)
    return bytes(sizes)


INTEGER_SIZE = _integer_sizes()


def page_entries(
    raw: bytes, i: int, entries: int, pages: int
) -> Iterator[tuple[int, int, int, int, int, int]]:
    """A word's page entries from ``i`` on (each ``[page step, [location, …], [meta location,
    …]]``): for each, its page, where its locations and its meta locations start, where it ends,
    and how many locations and meta locations it has. Fails on a page ``pages`` or more. (The
    common cases, a step and an array's length under 24, are read inline: this loop reads
    every entry of the index, millions at 20,000 pages.)"""
    sizes = INTEGER_SIZE
    page = 0
    for _ in range(entries):
        if raw[i] != 0x83:
            raise _fail("index chunk page entry")
        head = raw[i + 1]
        if head < 24:
            page, begin = page + head, i + 2
        else:
            step, begin = _count(raw, i + 1, 0)
            page += step
        if page >= pages:  # also what absolute page numbers would soon give
            raise _fail(f"index chunk page number {page} of {pages}")
        head = raw[begin]
        if 0x80 <= head < 0x98:
            locations, middle = head - 0x80, begin + 1
        else:
            locations, middle = _count(raw, begin, 4)
        for _ in range(locations):
            size = sizes[raw[middle]]
            if not size:
                raise _fail(f"index chunk location (CBOR head {raw[middle]:#x})")
            middle += size
        head = raw[middle]
        if 0x80 <= head < 0x98:
            meta_locations, i = head - 0x80, middle + 1
        else:
            meta_locations, i = _count(raw, middle, 4)
        for _ in range(meta_locations):
            size = sizes[raw[i]]
            if not size:
                raise _fail(f"index chunk location (CBOR head {raw[i]:#x})")
            i += size
        yield page, begin, middle, i, locations, meta_locations


def renumbered_words(raw: bytes, number: list[int]) -> list[tuple[str, bytes]]:
    """The words of an index chunk (``pagefind_dcd`` + CBOR, see the module's docstring), each
    with its CBOR entry, with each page ``p`` renumbered ``number[p]``. A word's page entries are
    in page order and each gives its page as the difference from the previous entry's (the
    first: from 0); after renumbering they are put in the new page order (a stable sort) and
    given new differences."""
    try:
        return _renumbered_words(raw, number)
    except IndexError as exc:
        raise _fail("index chunk (it ends too soon)") from exc
    except UnicodeDecodeError as exc:
        raise _fail("index chunk word (not UTF-8)") from exc


def _renumbered_words(raw: bytes, number: list[int]) -> list[tuple[str, bytes]]:
    if not raw.startswith(MAGIC + b"\x81"):
        raise _fail("index chunk")
    out: list[tuple[str, bytes]] = []
    words, i = _count(raw, len(MAGIC) + 1, 4)
    pages = len(number)
    for _ in range(words):
        if raw[i] != 0x83:
            raise _fail("index chunk word")
        size, start = _count(raw, i + 1, 3)
        word = raw[start : start + size].decode("utf-8")
        entry = bytearray(raw[i : start + size])
        entries, i = _count(raw, start + size, 4)
        renumbered = []
        end = i
        for page, begin, _, end, _, _ in page_entries(raw, i, entries, pages):
            renumbered.append((number[page], raw[begin:end]))
        i = end
        renumbered.sort(key=lambda entry: entry[0])
        entry += _head(4, entries)
        previous = 0
        for page, rest in renumbered:
            entry += b"\x83"
            entry += _head(0, page - previous)
            entry += rest
            previous = page
        if raw[i] != 0x80:
            raise _fail("index chunk word (its third field is not empty)")
        entry.append(0x80)
        i += 1
        out.append((word, bytes(entry)))
    if i != len(raw):
        raise _fail("index chunk (bytes after its words)")
    if any(a[0] >= b[0] for a, b in zip(out, out[1:], strict=False)):
        raise _fail("index chunk (its words out of order)")
    return out


def chunk_bytes(words: list[tuple[str, bytes]]) -> bytes:
    return MAGIC + b"\x81" + _head(4, len(words)) + b"".join(entry for _, entry in words)


def renumber_chunk(raw: bytes, number: list[int]) -> bytes:
    """The index chunk with its pages renumbered (see :func:`renumbered_words`)."""
    return chunk_bytes(renumbered_words(raw, number))


LAST_CHARACTER = "\U0010ffff"


def split_chunk(
    low: str, high: str, words: list[tuple[str, bytes]], target: int
) -> list[tuple[str, str, list]]:
    """A chunk of Pagefind's (its range ``low``–``high``, its words in order) cut into chunks of
    about ``target`` bytes, only where the first character of the words changes: a query word
    and the words it is a prefix of (Pagefind looks for those too) start with the same
    character, so they stay in one chunk. Pagefind picks the chunk for a query word by range
    (``from <= word <= to``, the first that matches); the new ranges keep Pagefind's at the
    ends and cover whole first characters inside: ``[c, d + U+10FFFF]``, with ``c`` and ``d``
    the first characters of the chunk's first and last words."""
    families: list[list[tuple[str, bytes]]] = []
    for word in words:
        if families and families[-1][0][0][:1] == word[0][:1]:
            families[-1].append(word)
        else:
            families.append([word])
    pieces: list[list[tuple[str, bytes]]] = []
    size = 0
    for family in families:
        family_size = sum(len(entry) for _, entry in family)
        if pieces and size + family_size <= target:
            pieces[-1].extend(family)
            size += family_size
        else:
            pieces.append(list(family))
            size = family_size
    out = []
    for n, piece in enumerate(pieces):
        start = low if n == 0 else piece[0][0][:1]
        end = high if n == len(pieces) - 1 else piece[-1][0][:1] + LAST_CHARACTER
        out.append((start, end, piece))
    return out


# ---------------------------------------------------------------- the bundle

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
TAG_LENGTH = 8
CHUNK_TARGET = 16_384
"""Bytes of CBOR (~4 KB gzip'd) at which an index chunk is cut (where its words' first character
changes): a query loads one chunk per word, and Pagefind's own chunks are up to 40 KB gzip'd."""
META_JSON = "pagefind.{}.meta.json"
COMPACT_FORMAT = 1


def base36(number: int) -> str:
    out = DIGITS[number % 36]
    while number >= 36:
        number //= 36
        out = DIGITS[number % 36] + out
    return out


def _named(language: str, content: bytes, length: int, taken: dict[str, bytes]) -> str:
    """``<language>_<hash>`` from the content, ``length`` hex digits or more if that name is
    already taken by other content (as Pagefind does)."""
    digest = hashlib.sha256(content).hexdigest()
    while True:
        name = f"{language}_{digest[:length]}"
        if taken.get(name, content) == content:
            taken[name] = content
            return name
        if length >= len(digest):
            raise UnexpectedFormat(f"two files hash to {name}")
        length += 1


def _runs(counts: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for count in counts:
        if runs and runs[-1][0] == count:
            runs[-1][1] += 1
        else:
            runs.append([count, 1])
    return runs


def _prefix(names: list[str]) -> str:
    """The prefix of names made as ``prefix + base36(n)``."""
    prefix = names[0][:-1] if names else ""
    if any(name != prefix + base36(n) for n, name in enumerate(names)):
        raise UnexpectedFormat("names that do not follow their prefix")
    return prefix


def compact_meta(meta: list[Any]) -> dict[str, Any]:
    """The content of ``meta.json``: the meta with its page list given by a prefix (page ``n``
    is named ``prefix + base36(n)``) and runs of word counts, and its index chunk list by a
    prefix too and the chunks' ranges."""
    pages, chunks = meta[1], meta[2]
    return {
        "format": COMPACT_FORMAT,
        "meta": [meta[0], None, None, *meta[3:]],
        "pages": {
            "prefix": _prefix([name for name, _ in pages]),
            "word_counts": _runs([count for _, count in pages]),
        },
        "chunks": {
            "prefix": _prefix([name for _, _, name in chunks]),
            "ranges": [[low, high] for low, high, _ in chunks],
        },
    }


def expand_meta(compact: dict[str, Any]) -> bytes:
    """``meta.json`` back to the meta's bytes (``pagefind_dcd`` + CBOR), as search.js does."""
    if compact.get("format") != COMPACT_FORMAT:
        raise UnexpectedFormat("meta.json format")
    prefix = compact["pages"]["prefix"]
    pages: list[list[Any]] = []
    for count, repeat in compact["pages"]["word_counts"]:
        start = len(pages)
        pages.extend([prefix + base36(start + i), count] for i in range(repeat))
    prefix = compact["chunks"]["prefix"]
    chunks = [
        [low, high, prefix + base36(n)] for n, (low, high) in enumerate(compact["chunks"]["ranges"])
    ]
    return MAGIC + _encode([compact["meta"][0], pages, chunks, *compact["meta"][3:]])


HASH_DIGITS = 7
"""Hex digits of the content's hash in the name Pagefind gives a fragment (more if taken)."""


def page_order(bundle: Path, language: str, pages: list[list[Any]]) -> list[int]:
    """The pages (Pagefind's numbers) in their new order: by word count, then by the first
    :data:`HASH_DIGITS` digits of their fragment's name (Pagefind's hash of its content), then,
    for the rare pages equal in both, by a hash of their fragment's content. Not by Pagefind's
    own order: that is the order in which the file system lists the pages' files (a bundle built
    on tmpfs differed from one built on ext4), and a merged bundle's (``merge.py``)
    depends on how the pages were cut into pieces."""
    short = len(language) + 1 + HASH_DIGITS
    if not all(name.startswith(f"{language}_") and len(name) >= short for name, _ in pages):
        raise _fail("meta page list (fragment names)")
    keys = [(count, name[:short]) for name, count in pages]
    seen: dict[tuple[int, str], int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    full = [""] * len(pages)
    for old, key in enumerate(keys):
        if seen[key] > 1:
            full[old] = hashlib.sha256(
                unzipped(bundle / "fragment" / f"{pages[old][0]}.pf_fragment")
            ).hexdigest()
    return sorted(range(len(pages)), key=lambda old: (*keys[old], full[old]))


def rewrite_bundle(bundle: Path) -> dict[str, Any]:
    """Re-write the bundle in place (see the module's docstring). Raises
    :class:`UnexpectedFormat` before changing anything if a file is not as expected."""
    entry_path = bundle / "pagefind-entry.json"
    try:
        entry = json.loads(entry_path.read_text(encoding="utf-8"))
        ((language, info),) = entry["languages"].items()
        meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
        meta = read(meta_path)
        _check_meta(meta, info["page_count"])
    except (OSError, ValueError, KeyError, TypeError) as exc:  # UnexpectedFormat is a ValueError
        raise UnexpectedFormat(f"Pagefind bundle: {exc}") from exc
    version, pages, chunks, filters, sorts, *rest = meta
    count = len(pages)

    # The new page numbers: by word count, then by content (see page_order).
    order = page_order(bundle, language, pages)
    number = [0] * count
    for new, old in enumerate(order):
        number[old] = new

    # Fragments are only renamed. Pagefind names each by a hash of its content, so a hash of
    # those names in the new order identifies the contents (as well as Pagefind's names do).
    short = len(language) + 1 + HASH_DIGITS  # without the digits Pagefind adds to a name taken
    fragment_names = "\n".join(pages[old][0][:short] for old in order)
    prefix = f"{language}_{hashlib.sha256(fragment_names.encode()).hexdigest()[:TAG_LENGTH]}_"

    # Index chunks: renumbered, cut smaller, and named like the fragments (with a hash of all
    # their contents for a tag), so that meta.json can give their names as a prefix.
    ranges, contents = [], []
    for low, high, name in chunks:
        raw = unzipped(bundle / "index" / f"{name}.pf_index")
        for start, end, words in split_chunk(
            low, high, renumbered_words(raw, number), CHUNK_TARGET
        ):
            ranges.append((start, end))
            # Level 6: at 20,000 pages level 9 takes 8 s more (25 MB of CBOR) to save 0.6%.
            contents.append(_gzip(chunk_bytes(words), 6))
    digest = hashlib.sha256()
    for content in contents:
        digest.update(hashlib.sha256(content).digest())
    chunk_prefix = f"{language}_{digest.hexdigest()[:TAG_LENGTH]}_"
    new_chunks = [[low, high, chunk_prefix + base36(n)] for n, (low, high) in enumerate(ranges)]
    chunk_files = {
        name: content for (_, _, name), content in zip(new_chunks, contents, strict=True)
    }

    taken: dict[str, bytes] = {}
    new_filters, filter_files = [], {}
    for key, name in sorted(filters, key=lambda pair: pair[0]):
        value = read(bundle / "filter" / f"{name}.pf_filter")
        _check_filter(value, count)
        value = [
            value[0],
            sorted(
                ([v, sorted(number[p] for p in ps)] for v, ps in value[1]),
                key=lambda entry: entry[0],
            ),
        ]
        content = pack(value)
        renamed = _named(language, content, len(name) - len(language) - 1, taken)
        new_filters.append([key, renamed])
        filter_files[renamed] = content

    new_sorts = [[key, [number[p] for p in ps]] for key, ps in sorts]
    new_pages = [[prefix + base36(new), pages[old][1]] for new, old in enumerate(order)]
    new_meta = [version, new_pages, new_chunks, new_filters, new_sorts, *rest]
    compact = compact_meta(new_meta)
    meta_content = pack(new_meta)
    if expand_meta(compact) != gzip.decompress(meta_content):
        raise UnexpectedFormat("meta.json does not expand to the meta")
    meta_name = _named(language, meta_content, len(info["hash"]) - len(language) - 1, {})

    # Everything is understood: replace the files (all of them: none that the meta does not name).
    written = {
        "fragment": {f"{name}.pf_fragment" for name, _ in pages},
        "index": {f"{name}.pf_index" for _, _, name in chunks},
        "filter": {f"{name}.pf_filter" for _, name in filters},
    }
    for folder, names in written.items():
        present = (
            {path.name for path in (bundle / folder).iterdir()}
            if (bundle / folder).is_dir()
            else set()
        )
        if present != names:
            raise UnexpectedFormat(
                f"Pagefind's {folder}/ holds other files than its meta names: "
                f"{sorted(present ^ names)[:3]}"
            )
    for folder in ("index", "filter"):
        for name in written[folder]:
            (bundle / folder / name).unlink()
    moved: dict[str, Path] = {}
    for new, old in enumerate(order):
        source = bundle / "fragment" / f"{pages[old][0]}.pf_fragment"
        target = bundle / "fragment" / f"{prefix}{base36(new)}.pf_fragment"
        if pages[old][0] in moved:  # identical pages share a fragment in Pagefind's bundle
            shutil.copyfile(moved[pages[old][0]], target)
        else:
            source.rename(target)  # not unlink + write: deleting 20,000 files can take seconds
            moved[pages[old][0]] = target
    for name, content in chunk_files.items():
        (bundle / "index" / f"{name}.pf_index").write_bytes(content)
    for name, content in filter_files.items():
        (bundle / "filter" / f"{name}.pf_filter").write_bytes(content)
    meta_path.unlink()
    (bundle / f"pagefind.{meta_name}.pf_meta").write_bytes(meta_content)
    (bundle / META_JSON.format(meta_name)).write_text(
        json.dumps(compact, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    info["hash"] = meta_name
    entry_path.write_text(
        json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    return {
        "pages": count,
        "prefix": prefix,
        "meta": meta_name,
        "index_chunks": len(new_chunks),
        "filters": len(new_filters),
    }
