"""A faster writer for the server index — only on the Whoosh versions it was written against.

:class:`FastWriter` is Whoosh's ``SegmentWriter`` with four of its internals replaced
(``pool``, ``schema``, ``per_document_reader``, ``_commit_toc``): postings pooled term by term
instead of as sorted tuples spilled to disk (:class:`TermPool`), field lengths read once per
field instead of once per posting (:class:`_Lengths`), jieba fields indexed without Whoosh's
per-token generators (:class:`_JiebaText`), and fields with few values (department, type …)
remembering how they indexed them (:class:`_Remembered`). It writes the same files as Whoosh's
own writer, byte for byte (``tests/test_search.py`` compares them: a full build, an update, a
pool spilled to disk), with less CPU and memory (docs/benchmarks.md, "What the re-writes buy").

Whoosh may change those internals in any release. So the fast writer is used only when the
installed Whoosh (``whoosh.versionstring()``) is one of :data:`SUPPORTED_VERSIONS`, the versions
it was checked on; on any other, Whoosh's own writer runs — the same index, more slowly — and a
warning says so. A build never fails for it. To support a new Whoosh: run
``tests/test_search.py`` with it (the files must be Whoosh's own, byte for byte), then add its
version here.

(A block reader of postings that used ``W3LeafMatcher``'s private fields was here too; measured
against Whoosh's ``all_ids()`` it saved nothing that could be told from noise — a term's
documents are read once and cached by the query side — so it was removed.)
"""

from __future__ import annotations

import functools
import logging
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import whoosh
from whoosh import fields, formats
from whoosh.writing import PostingPool, SegmentWriter

from pipeline.search.server_index import JiebaTokenizer, codec
from pipeline.search.text import indexed_words

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("3.54.0",)
"""The ``whoosh3`` versions whose internals this module was checked against."""
LIMIT_MB = 256
"""The posting pool's memory before it spills to temporary files (see :class:`TermPool`)."""
REMEMBERED = 1024


def whoosh_version() -> str:
    """The version of the Whoosh that is imported (whichever distribution installed it)."""
    return str(whoosh.versionstring())


def supported(version: str | None = None) -> bool:
    """Whether the internals used here are those of ``version`` (default: the installed
    Whoosh's)."""
    return (whoosh_version() if version is None else version) in SUPPORTED_VERSIONS


def check(version: str | None = None) -> bool:
    """:func:`supported`, with a warning that Whoosh's own writer is used when it is not."""
    version = whoosh_version() if version is None else version
    if supported(version):
        return True
    logger.warning(
        "event=whoosh_internals_unsupported version=%s supported=%s fallback=stock_writer "
        "(Whoosh %s 未经本程序验证：服务器搜索索引改用 Whoosh 自带的写入，索引相同，只是更慢、"
        "更占内存；请安装 whoosh3 %s，或验证后把新版本加入 pipeline/search/whoosh_fast.py)",
        version,
        ",".join(SUPPORTED_VERSIONS),
        version,
        " / ".join(SUPPORTED_VERSIONS),
    )
    return False


def writer(ix: Any, version: str | None = None) -> Any:
    """A writer for ``ix``: :class:`FastWriter` on a supported Whoosh, else (with a warning)
    Whoosh's own, with the same settings (no compound files,
    :func:`~pipeline.search.server_index.codec`): the same files, more slowly."""
    if check(version):
        return FastWriter(ix)
    return ix.writer(limitmb=LIMIT_MB, compound=False, codec=codec())


# ---------------------------------------------------------------- the writer


class TermPool(PostingPool):
    """Whoosh's posting pool, kept term by term.

    Whoosh's :class:`~whoosh.writing.PostingPool` holds every posting as a tuple (field, term,
    document, weight, value) — ~200 bytes — sorts them all at the commit and, past ``limitmb``,
    sorts and pickles them to a temporary file one by one, to merge the files back at the
    commit: at 20,000 items that was a third of the build. Here each (field, term) has an array
    of documents, an array of weights and a list of values, about 70 bytes a posting (the values
    are not shared: pickle would write a shared one as a reference, and the files would change).
    Documents arrive in order (they are numbered as they are added, a merged segment's after
    them), so only the terms are sorted. The postings come out in the order of Whoosh's pool —
    ``sorted()`` of the tuples — and the index files are the same, byte for byte. Past
    ``limitmb`` (~3.5 million postings at 256 MB, 25,000 items) the pool is written to a run and
    the runs are merged as Whoosh does."""

    POSTING_BYTES, TERM_BYTES = 72, 300

    def __init__(self, tempstore: Any, segment: Any, limitmb: int = 128) -> None:
        super().__init__(tempstore, segment, limitmb=limitmb)
        self._terms: dict[tuple[str, bytes], tuple[array, array, list[bytes]]] = {}

    def add(self, item: tuple[str, bytes, int, float, bytes]) -> None:
        postings = self._terms.get(item[:2])
        if postings is None:
            postings = self._terms[item[:2]] = (array("q"), array("d"), [])
            self.fieldnames.add(item[0])
            self.currentsize += self.TERM_BYTES + len(item[1])
        postings[0].append(item[2])
        postings[1].append(item[3])
        postings[2].append(item[4])
        self.currentsize += self.POSTING_BYTES
        if self.currentsize > self.limit:
            self.save()

    def _sorted(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        terms, self._terms = self._terms, {}
        for key in sorted(terms):
            fieldname, text = key
            docnums, weights, values = terms.pop(key)
            postings: Iterable[tuple[int, float, bytes]] = zip(
                docnums, weights, values, strict=True
            )
            if len(docnums) > 1 and docnums != array("q", sorted(set(docnums))):
                postings = sorted(postings)  # not in document order (not seen in practice)
            for docnum, weight, value in postings:
                yield fieldname, text, docnum, weight, value

    def save(self) -> None:
        if self._terms:
            path, f = self._new_run()
            self._write_run(f, self._sorted())
            self._add_run(path)
        self.currentsize = 0

    def items(self, maxfiles: int = 128) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        if not self.runs:
            return self._sorted()
        return iter(super().items(maxfiles))  # with runs: Whoosh's merge of them, a generator


class _Lengths:
    """The new segment's field lengths for writing its postings, read once per field.

    Whoosh's :meth:`~whoosh.codec.base.FieldWriter.add_postings` asks the length of the
    posting's field in its document for every posting (from the column file just written): at
    5,000 items 630,000 reads for 5,000 × 16 values. Here each field's lengths are read once,
    through Whoosh's own accessor, and served from a list."""

    def __init__(self, reader: Any):
        self._reader = reader

    def doc_field_length_reader(self, fieldname: str, default: int = 0) -> Any:
        read = self._reader.doc_field_length_reader(fieldname, default)
        return [read(docnum) for docnum in range(self._reader.doc_count_all())].__getitem__

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> Any:
        return self._reader.doc_field_length(docnum, fieldname, default)

    def close(self) -> None:
        self._reader.close()


class _JiebaText(fields.TEXT):
    """A ``TEXT`` field cut by :class:`JiebaTokenizer`, while it is written (see :class:`FastWriter`).

    Whoosh indexes a value by passing each token through two generators (the tokenizer and its
    stop-word filter) into a dictionary of positions: per token, most of the time spent on the
    body. Here the words come block by block from the cache (:func:`indexed_words`) straight
    into the dictionary; the postings — term, frequency, weight, encoded positions — are those of
    ``Positions.word_values`` (``tests/test_search.py`` compares them)."""

    # Whoosh annotates FieldType.index as a generator; its callers only iterate (its own
    # BOOLEAN.index returns a list too).
    def index(  # type: ignore[override]
        self, value: Any, **kwargs: Any
    ) -> list[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs:
            return list(super().index(value, **kwargs))
        positions: dict[str, list[int]] = {}
        position = 0
        for count, pieces in indexed_words(value):
            for piece, number in pieces:
                found = positions.get(piece)
                if found is None:
                    positions[piece] = [position + number]
                else:
                    found.append(position + number)
            position += count
        assert isinstance(self.format, formats.Positions), "writing_schema checks the format"
        encode, boost = self.format.encode, self.format.field_boost
        return [
            (word.encode("utf-8"), len(found), float(len(found)) * boost, encode(found))
            for word, found in positions.items()
        ]


class _Remembered:
    """A field that remembers how it indexed its first :data:`REMEMBERED` values, while it is
    written (see :class:`FastWriter`): the department, the item type, the audiences … take a few
    values over thousands of documents. Only for fields whose posting values have a fixed size:
    Whoosh joins those, while it pickles variable ones, where two postings sharing one value
    object would be written as a reference and the files would change."""

    _remembered: dict[str, list[tuple[bytes, int, float, bytes]]]

    def index(self, value: Any, **kwargs: Any) -> Any:
        if kwargs or not isinstance(value, str):
            return super().index(value, **kwargs)  # type: ignore[misc]
        found = self._remembered.get(value)
        if found is None:
            found = list(super().index(value))  # type: ignore[misc]
            if len(self._remembered) < REMEMBERED:
                self._remembered[value] = found
        return found


@functools.cache
def _remembering(kind: type[fields.FieldType]) -> type[fields.FieldType]:
    return type(f"_Remembered{kind.__name__}", (_Remembered, kind), {})


def writing_schema(schema: fields.Schema) -> fields.Schema:
    """The schema with :class:`_JiebaText` for the plain ``TEXT`` fields cut by jieba, and
    :class:`_Remembered` fields for the others with values of a fixed size."""
    copied = {}
    for name, spec in schema.items():
        if (
            type(spec) is fields.TEXT
            and isinstance(spec.analyzer, JiebaTokenizer)
            and type(spec.format) is formats.Positions
            and not spec.vector
        ):
            fast = _JiebaText.__new__(_JiebaText)
            fast.__dict__.update(spec.__dict__)
            spec = fast
        elif (
            spec.indexed
            and not spec.vector
            and spec.format is not None
            and (size := spec.format.fixed_value_size()) is not None
            and size >= 0
        ):
            # A class is hashable: mypy checks FieldType's instances' __hash__ (None) instead.
            kind = _remembering(type(spec))  # type: ignore[arg-type]
            fast = kind.__new__(kind)
            fast.__dict__.update(spec.__dict__, _remembered={})
            spec = fast
        copied[name] = spec
    return fields.Schema(**copied)


class FastWriter(SegmentWriter):
    """Whoosh's segment writer with :class:`TermPool`, :class:`_Lengths` and, while documents
    are added, :class:`_JiebaText` and :class:`_Remembered` fields. The index's table of contents
    keeps the schema as it was (plain Whoosh fields): the files are the same as Whoosh's own
    writer makes, byte for byte, and any version of this program can read them."""

    def __init__(self, ix: Any):
        super().__init__(ix, limitmb=LIMIT_MB, compound=False, codec=codec())
        self.pool = TermPool(self.temp_storage(), self.newsegment, limitmb=LIMIT_MB)
        self._schema = self.schema
        self.schema = writing_schema(self.schema)

    def per_document_reader(self) -> Any:
        return _Lengths(super().per_document_reader())

    def _commit_toc(self, segments: Any) -> None:
        self.schema = self._schema
        super()._commit_toc(segments)
