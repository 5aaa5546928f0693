"""The server index: Whoosh (the ``whoosh3`` line) with a jieba tokenizer.

* **Tokens with sequential positions.** jieba's own ``ChineseAnalyzer`` records each word's
  character offset as its position, so a two-word phrase is never "adjacent" and phrase queries
  fail. :class:`JiebaTokenizer` numbers words 0, 1, 2 …; the dictionary words inside a long word
  (营业执照 → 营业, 执照) are indexed at the long word's position, so 执照 finds 营业执照 and the
  phrase 营业执照 办理 still matches.
* **Field boosts** name ≫ aliases ≫ colloquial keywords ≫ body, plus exact matches of the whole
  query against a name (with or without its variant) or an alias.
* **Pinyin**: full pinyin and initials of names, aliases and keywords, matched whole, as a
  prefix, or within one edit for long ones (a slip in ``shipinjingying``).
* **Coverage**: a result must match words making up at least half of the query's characters
  (stop words aside), so 比特币挖矿许可 does not return every 许可 item.
* **Facets**: department, item type, audience, online application, free of charge, visits.

* **Speed** (Python Whoosh alone took ~400 ms for a broad query at 20,000 items): posting blocks
  are read whole, each term's documents are cached as a set, coverage, filters and facet counts
  are set operations, and BM25F is computed by Whoosh only for the few dozen candidates that a
  cheap pre-score (boost × idf of the clauses matched) selects.

The index lives in the release (``search/whoosh/``) next to ``search/index.json`` (what was
indexed, and how). :func:`build_server_index` updates a copy of the previous release's index:
only documents whose fingerprint changed are re-indexed. It is written deterministically: Whoosh
names segments at random (the generator is seeded from the documents' fingerprints), stores file
times in compound files (not used) and zlib-compresses posting blocks (not used either: their
bytes are noise in which the privacy gate "finds" e-mail addresses).

Writing is two to three times as fast as with Whoosh's own writer, with the same files byte for
byte (:class:`_Writer`): each text block is cut by jieba once (cached in
:mod:`pipeline.search.text`), jieba fields are indexed without Whoosh's per-token generators,
fields with few values (department, type …) remember them, postings are pooled term by term
instead of sorted as tuples and spilled to disk (:class:`TermPool`), and field lengths are read
once per field instead of once per posting. Related items of the variants and copies of an item
are scored once (:meth:`ServerIndex._related_levels`).
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import json
import logging
import math
import operator
import random
import shutil
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from whoosh import fields, formats, index, matching, query
from whoosh.analysis import RegexTokenizer, Token, Tokenizer
from whoosh.writing import PostingPool, SegmentWriter

from pipeline.errors import ConfigurationError
from pipeline.search.documents import FILTERS, ITEM, SearchDocument
from pipeline.search.synonyms import Synonyms, parse_synonyms
from pipeline.search.text import (
    base_name,
    has_han,
    indexed_words,
    is_pinyin_query,
    normalise,
    query_words,
    subwords,
    tokens,
    variant,
    word_pieces,
    words,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Raise when the schema or the analysis changes: an older index is then rebuilt in full."""
INDEX_DIR = "whoosh"
INDEX_META = "index.json"
MIN_COVERAGE = 0.5
BOOSTS = {"name": 8.0, "aliases": 4.0, "keywords": 3.0, "body": 1.0}
EXACT_NAME_BOOST, EXACT_ALIAS_BOOST, PHRASE_BOOST = 30.0, 12.0, 2.0
PINYIN_BOOST = 6.0
MAX_EXPANSIONS = 64
"""At most this many pinyin terms stand for one Latin query (its prefixes and slips)."""
LIMIT_MB = 256
"""The posting pool's memory before it spills to temporary files (see :class:`TermPool`)."""
RELATED_MAX_DF = 500
RELATED_WEIGHTS = {"exact_name": 4, "exact_alias": 2, "name": 1}
"""What a related item scores for sharing the name without its variant, an alias, a word of the
name (whole numbers: see :meth:`ServerIndex._related`)."""
DEPARTMENT_BONUS = 0.5
"""What sharing the department adds to a related item's score (more than 0, less than 1)."""
RELATED_CACHE = 256
"""Names (without variant) and aliases whose related items' scores are kept."""
MAX_GROUPS = 8
CANDIDATE_SLACK = 15
"""BM25F re-scores the best ``limit + CANDIDATE_SLACK`` documents of the cheap pre-score."""
RERANK_WINDOW = 30
"""Results are re-ranked (variant nudge) within the first this many of Whoosh's order."""
FIRST_VARIANTS = ("新办", "首次", "设立")
"""When a query names no variant, 食品经营许可（新办） comes before （变更）（延续）（注销）."""


class JiebaTokenizer(Tokenizer):
    """jieba's words with sequential positions; sub-words share their word's position."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not chars:  # indexing: the words of each block are cut and expanded once
            position = start_pos
            for count, pieces in indexed_words(value):
                for piece, number in pieces:
                    token.text, token.boost, token.stopped = piece, 1.0, False
                    if keeporiginal:
                        token.original = piece
                    if positions:
                        token.pos = position + number
                    yield token
                position += count
            return
        for offset, (word, start, end) in enumerate(tokens(value)):
            for piece in word_pieces(word):
                token.text, token.boost, token.stopped = piece, 1.0, False
                if keeporiginal:
                    token.original = piece
                if positions:
                    token.pos = start_pos + offset
                token.startchar, token.endchar = start_char + start, start_char + end
                yield token


def make_schema() -> fields.Schema:
    chinese = JiebaTokenizer()
    lines = RegexTokenizer(r"[^\n]+")
    return fields.Schema(
        key=fields.ID(stored=True, unique=True),
        kind=fields.ID(stored=True),
        name=fields.TEXT(analyzer=chinese, phrase=True),
        aliases=fields.TEXT(analyzer=chinese, phrase=True),
        keywords=fields.TEXT(analyzer=chinese, phrase=True),
        body=fields.TEXT(analyzer=chinese, phrase=True),
        exact_name=fields.TEXT(analyzer=lines, phrase=False),
        exact_alias=fields.TEXT(analyzer=lines, phrase=False),
        pinyin=fields.KEYWORD(scorable=True),
        department=fields.ID(),
        type=fields.ID(),
        audience=fields.KEYWORD(commas=True),
        online=fields.ID(),
        free=fields.ID(),
        visits=fields.ID(),
        fingerprint=fields.ID(stored=True),
        document=fields.STORED,
    )


# ---------------------------------------------------------------- writing


def _fields(document: SearchDocument) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key": document.key,
        "kind": document.kind,
        "name": document.name,
        "aliases": "，".join(document.aliases),
        "keywords": "，".join(document.keywords),
        "body": document.body,
        "exact_name": "\n".join(
            dict.fromkeys([normalise(document.name), normalise(base_name(document.name))])
        ),
        "exact_alias": "\n".join(normalise(a) for a in (*document.aliases, *document.keywords)),
        "pinyin": " ".join(document.pinyin),
        "audience": ",".join(document.audiences),
        "fingerprint": document.fingerprint,
        "document": document.as_dict(),
    }
    for key, filter_values in document.filters.items():
        if key != "audience":
            values[key] = filter_values[0]
    return {k: v for k, v in values.items() if v != ""}


@dataclass
class IndexStats:
    mode: str  # "full" or "incremental"
    documents: int
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def reindexed(self) -> int:
        return self.added + self.updated


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
        return super().items(maxfiles)


def _codec() -> Any:
    """Whoosh's codec without zlib on the posting blocks: compressed bytes are noise in which the
    privacy gate (which reads every file as text) can "find" an e-mail address like x@y.zz."""
    from whoosh.codec.whoosh3 import W3Codec

    return W3Codec(compression=0)


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
    """A ``TEXT`` field cut by :class:`JiebaTokenizer`, while it is written (see :class:`_Writer`).

    Whoosh indexes a value by passing each token through two generators (the tokenizer and its
    stop-word filter) into a dictionary of positions: per token, most of the time spent on the
    body. Here the words come block by block from the cache (:func:`indexed_words`) straight
    into the dictionary; the postings — term, frequency, weight, encoded positions — are those of
    ``Positions.word_values`` (``tests/test_search.py`` compares them)."""

    def index(self, value: Any, **kwargs: Any) -> list[tuple[bytes, int, float, bytes]]:
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
        encode, boost = self.format.encode, self.format.field_boost
        return [
            (word.encode("utf-8"), len(found), float(len(found)) * boost, encode(found))
            for word, found in positions.items()
        ]


REMEMBERED = 1024


class _Remembered:
    """A field that remembers how it indexed its first :data:`REMEMBERED` values, while it is
    written (see :class:`_Writer`): the department, the item type, the audiences … take a few
    values over thousands of documents. Only for fields whose posting values have a fixed size:
    Whoosh joins those, while it pickles variable ones, where two postings sharing one value
    object would be written as a reference and the files would change."""

    _remembered: dict[str, list[tuple[bytes, int, float, bytes]]]

    def index(self, value: Any, **kwargs: Any) -> Any:
        if kwargs or not isinstance(value, str):
            return super().index(value, **kwargs)
        found = self._remembered.get(value)
        if found is None:
            found = list(super().index(value))
            if len(self._remembered) < REMEMBERED:
                self._remembered[value] = found
        return found


@functools.cache
def _remembering(kind: type) -> type:
    return type(f"_Remembered{kind.__name__}", (_Remembered, kind), {})


def _writing_schema(schema: fields.Schema) -> fields.Schema:
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
            and (spec.format.fixed_value_size() is not None and spec.format.fixed_value_size() >= 0)
        ):
            kind = _remembering(type(spec))
            fast = kind.__new__(kind)
            fast.__dict__.update(spec.__dict__)
            fast._remembered = {}
            spec = fast
        copied[name] = spec
    return fields.Schema(**copied)


class _Writer(SegmentWriter):
    """Whoosh's segment writer with :class:`TermPool`, :class:`_Lengths` and, while documents
    are added, :class:`_JiebaText` and :class:`_Remembered` fields. The index's table of contents
    keeps the schema as it was (plain Whoosh fields): the files are the same as Whoosh's own
    writer makes, byte for byte (``tests/test_search.py`` compares them, for a full build, an
    update and a pool spilled to disk), and any version of this module can read them. It leans
    on four of ``SegmentWriter``'s internals (``pool``, ``schema``, ``per_document_reader``,
    ``_commit_toc``): should a Whoosh release change them, that test fails."""

    def __init__(self, ix: Any):
        super().__init__(ix, limitmb=LIMIT_MB, compound=False, codec=_codec())
        self.pool = TermPool(self.temp_storage(), self.newsegment, limitmb=LIMIT_MB)
        self._schema = self.schema
        self.schema = _writing_schema(self.schema)

    def per_document_reader(self) -> Any:
        return _Lengths(super().per_document_reader())

    def _commit_toc(self, segments: Any) -> None:
        self.schema = self._schema
        super()._commit_toc(segments)


@contextmanager
def _seeded(documents: list[SearchDocument], previous: str = "") -> Iterator[None]:
    """Whoosh draws segment names from ``random``: seed it from the documents (and the previous
    index) for the write, then give the program its own random state back."""
    digest = hashlib.sha256(previous.encode())
    for document in documents:
        digest.update(document.fingerprint.encode())
    state = random.getstate()
    random.seed(digest.hexdigest())
    try:
        yield
    finally:
        random.setstate(state)


def _write_meta(folder: Path, stats: IndexStats, synonyms: Synonyms) -> None:
    meta = {
        "schema_version": SCHEMA_VERSION,
        "stats": asdict(stats),
        "synonyms": synonyms.as_dict(),
    }
    (folder / INDEX_META).write_text(
        json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def _previous_usable(previous: Path | None) -> bool:
    if previous is None or not (previous / INDEX_DIR).is_dir():
        return False
    try:
        meta = json.loads((previous / INDEX_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("schema_version") == SCHEMA_VERSION and index.exists_in(previous / INDEX_DIR)


def _full(documents: list[SearchDocument], target: Path) -> IndexStats:
    target.mkdir(parents=True)
    ix = index.create_in(target, make_schema())
    with _seeded(documents):
        writer = _Writer(ix)
        for document in documents:
            writer.add_document(**_fields(document))
        writer.commit(optimize=True)
    return IndexStats("full", len(documents), added=len(documents))


def _incremental(documents: list[SearchDocument], previous: Path, target: Path) -> IndexStats:
    shutil.copytree(previous, target)
    ix = index.open_dir(target)
    with ix.searcher() as searcher:
        old = {f["key"]: f["fingerprint"] for f in searcher.all_stored_fields()}
    new = {d.key: d for d in documents}
    changed = [d for d in documents if old.get(d.key) != d.fingerprint]
    removed = sorted(set(old) - set(new))
    stats = IndexStats(
        "incremental",
        len(documents),
        added=sum(d.key not in old for d in changed),
        updated=sum(d.key in old for d in changed),
        deleted=len(removed),
        unchanged=len(documents) - len(changed),
    )
    if not changed and not removed:
        return stats
    toc = "".join(sorted(p.name for p in target.iterdir()))
    with _seeded(changed, previous=toc + "".join(removed)):
        writer = _Writer(ix)
        for key in removed + [d.key for d in changed if d.key in old]:
            writer.delete_by_term("key", key)
        for document in changed:
            writer.add_document(**_fields(document))
        writer.commit()
    return stats


def build_server_index(
    documents: list[SearchDocument], folder: Path, synonyms: Synonyms, previous: Path | None = None
) -> IndexStats:
    """Write ``folder/whoosh`` and ``folder/index.json``; start from ``previous`` (the live
    release's search folder) when its index has the same schema."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / INDEX_DIR
    if target.exists():
        shutil.rmtree(target)
    if _previous_usable(previous):
        stats = _incremental(documents, previous / INDEX_DIR, target)
    else:
        stats = _full(documents, target)
    _write_meta(folder, stats, synonyms)
    logger.info("search index: %s", stats)
    return stats


# ---------------------------------------------------------------- searching


@dataclass
class SearchHit:
    key: str
    kind: str
    name: str
    url: str
    department: str
    type: str
    limit: str
    fee: str
    status: str
    aliases: list[str]
    score: float

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 3)
        if self.kind == ITEM:
            data["impl_code"] = self.key
        return data


@dataclass
class SearchPage:
    query: str
    total: int
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "results": [h.as_dict() for h in self.hits],
            "facets": self.facets,
            "facet_names": FILTERS,
        }


@dataclass(frozen=True)
class Clause:
    """A term (one word) or a phrase (several) in one field, with its boost."""

    field: str
    words: tuple[str, ...]
    boost: float
    part: bool = False  # a dictionary word inside a query word: it selects, it is not scored

    def query(self) -> query.Query:
        if len(self.words) == 1:
            return query.Term(self.field, self.words[0], boost=self.boost)
        return query.Phrase(self.field, list(self.words), boost=self.boost)


@dataclass
class Group:
    """One part of the query: a document matches it through any of its clauses, and then
    counts ``weight`` towards its coverage."""

    clauses: list[Clause]
    weight: float


@dataclass
class Plan:
    groups: list[Group]
    bonus: list[Clause]  # exact matches and phrases: they raise the score, never exclude
    pinyin: str = ""  # the compact Latin query, when it may be pinyin


def _word_clauses(word: str) -> list[Clause]:
    clauses = [Clause(f, (word,), b) for f, b in BOOSTS.items()]
    clauses += [
        Clause(f, (piece,), b * 0.5, part=True)
        for piece in subwords(word)
        for f, b in BOOSTS.items()
        if f != "body"
    ]
    return clauses


def _synonym_clauses(targets: tuple[str, ...]) -> list[Clause]:
    return [
        Clause(f, tuple(words(t)), BOOSTS[f] * 0.5)
        for t in targets
        if words(t)
        for f in ("name", "aliases")
    ]


def plan_query(text: str, synonyms: Synonyms) -> Plan:
    """How a normalised query is searched: its groups (for coverage) and bonus clauses."""
    if not text:
        return Plan([], [])
    bonus = [
        Clause("exact_name", (text,), EXACT_NAME_BOOST),
        Clause("exact_alias", (text,), EXACT_ALIAS_BOOST),
    ]
    if is_pinyin_query(text):
        # Latin words are also looked up as words (KTV, GSP); pinyin clauses come from the index.
        return Plan(
            [Group(_word_clauses(w), 0.0) for w in words(text)], bonus, pinyin=text.replace(" ", "")
        )
    meaningful = query_words(text)
    groups = [Group(_word_clauses(w), float(len(w))) for w, _, _ in meaningful]
    for phrase, targets in synonyms.in_query(text):
        extra = _synonym_clauses(targets)
        start = text.find(phrase)
        end = start + len(phrase)
        # The words the phrase overlaps can be found through its targets too.
        covered = [
            g for (_, s, e), g in zip(meaningful, groups, strict=True) if s < end and e > start
        ]
        for group in covered:
            group.clauses += extra
        if extra and not covered:
            groups.append(Group(extra, float(len(phrase))))
    all_words = tuple(words(text))
    if len(all_words) > 1:
        # Phrases in the name and aliases only: phrase matching reads positions, which costs most
        # in the long body, where coverage already keeps scattered words out.
        bonus += [Clause(f, all_words, BOOSTS[f] * PHRASE_BOOST) for f in ("name", "aliases")]
    return Plan(groups, bonus)


class DocList(query.Query):
    """Matches the given documents (global numbers), scoring nothing: intersected with a query,
    it lets Whoosh score only these documents, skipping to them in each posting list."""

    def __init__(self, docnums: list[int], offsets: dict[int, int]):
        self.docnums = sorted(docnums)
        self.offsets = offsets
        self.boost = 0.0

    def __repr__(self) -> str:
        return f"DocList({len(self.docnums)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocList) and other.docnums == self.docnums

    def __hash__(self) -> int:
        return hash(tuple(self.docnums))

    def estimate_size(self, ixreader: Any) -> int:
        return len(self.docnums)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        offset = self.offsets.get(id(searcher), 0)
        size = searcher.doc_count_all()
        local = [d - offset for d in self.docnums if offset <= d < offset + size]
        return matching.ListMatcher(local, all_weights=0.0) if local else matching.NullMatcher()


def _leaf_ids(reader: Any, fieldname: str, text: str) -> list[int]:
    """The document numbers of one term in one segment. Whoosh's own ``all_ids()`` walks a
    Python generator per posting (~2 µs each: 12 ms for a term in 6,000 documents); reading
    its posting blocks whole is about ten times faster. The block reader is Whoosh's
    (``W3LeafMatcher``); any other matcher falls back to ``all_ids()`` (tests compare both)."""
    matcher = reader.postings(fieldname, text)
    inner = getattr(matcher, "child", matcher)
    if not all(hasattr(inner, a) for a in ("_read_ids", "_next_block", "_ids", "_i")):
        return list(matcher.all_ids())
    ids: list[int] = []
    while inner.is_active():
        if inner._ids is None:  # noqa: SLF001 - see the docstring
            inner._read_ids()  # noqa: SLF001
        ids.extend(inner._ids[inner._i :])  # noqa: SLF001
        inner._next_block()  # noqa: SLF001
    return ids


class ServerIndex:
    """A searcher over one release's index. Thread-safe (one lock: a query takes milliseconds)."""

    CACHE_TERMS = 4096

    def __init__(self, folder: Path):
        target = folder / INDEX_DIR
        try:
            meta = json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
            self._index = index.open_dir(target)
        except (OSError, ValueError, index.EmptyIndexError) as exc:
            raise ConfigurationError(f"找不到可用的搜索索引 {target}：{exc}") from exc
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ConfigurationError(f"搜索索引 {target} 的版本与本程序不符，请重新构建")
        self.synonyms = parse_synonyms(
            {"synonyms": meta.get("synonyms", {})}, str(folder / INDEX_META)
        )
        self._searcher = self._index.searcher()
        self._leaves = [(s.reader(), offset) for s, offset in self._searcher.leaf_searchers()]
        self._offsets = {id(s): offset for s, offset in self._searcher.leaf_searchers()}
        reader = self._searcher.reader()
        self._live = frozenset(reader.all_doc_ids()) if reader.has_deletions() else None
        self._cache: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        self._lock = threading.RLock()
        self._facets = {
            key: {value: self._docs(key, value) for value in self._values(key)} for key in FILTERS
        }
        self._items = self._docs("kind", ITEM)
        self._keys: dict[str, int] | None = None
        self._key_of: dict[int, str] = {}
        self._levels: OrderedDict[
            tuple[str, tuple[str, ...]], tuple[tuple[int, frozenset[int]], ...]
        ] = OrderedDict()

    def close(self) -> None:
        self._searcher.close()

    def __enter__(self) -> ServerIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def doc_count(self) -> int:
        return self._searcher.doc_count()

    def facet_values(self) -> dict[str, list[str]]:
        """Every value of every filter (for the command line's choices and the API)."""
        return {key: sorted(values) for key, values in self._facets.items()}

    # ------------------------------------------------------------ document sets

    def _values(self, fieldname: str) -> list[str]:
        reader = self._searcher.reader()
        return sorted(
            {v.decode("utf-8") if isinstance(v, bytes) else v for v in reader.lexicon(fieldname)}
        )

    def _docs(self, fieldname: str, text: str) -> frozenset[int]:
        """The documents holding a term (cached: terms repeat across queries)."""
        key = (fieldname, text)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            ids: list[int] = []
            for reader, offset in self._leaves:
                if (fieldname, text) in reader:
                    ids += (
                        [d + offset for d in _leaf_ids(reader, fieldname, text)]
                        if offset
                        else _leaf_ids(reader, fieldname, text)
                    )
            found = frozenset(ids) if self._live is None else frozenset(ids) & self._live
            self._cache[key] = found
            if len(self._cache) > self.CACHE_TERMS:
                self._cache.popitem(last=False)
            return found

    def _clause_docs(self, clause: Clause) -> frozenset[int]:
        """A term's documents; a phrase's are approximated by all of its words (the score,
        not the coverage, tells a phrase from scattered words)."""
        found = self._docs(clause.field, clause.words[0])
        for word in clause.words[1:]:
            if not found:
                break
            found = found & self._docs(clause.field, word)
        return found

    def _group_docs(self, group: Group) -> frozenset[int]:
        found: set[int] = set()
        for clause in group.clauses:
            found |= self._clause_docs(clause)
        return frozenset(found)

    def _pinyin_clauses(self, compact: str) -> list[Clause]:
        """The pinyin terms a Latin query may mean: itself, terms it begins, one slip away."""
        reader = self._searcher.reader()
        terms = {compact: PINYIN_BOOST}
        for term in itertools.islice(reader.expand_prefix("pinyin", compact), MAX_EXPANSIONS):
            terms.setdefault(
                term.decode("utf-8") if isinstance(term, bytes) else term, PINYIN_BOOST * 0.6
            )
        if len(compact) >= 6:
            for term in itertools.islice(
                reader.terms_within("pinyin", compact, 1, prefix=2), MAX_EXPANSIONS
            ):
                terms.setdefault(term, PINYIN_BOOST * 0.3)
        return [Clause("pinyin", (t,), b) for t, b in sorted(terms.items())]

    # ------------------------------------------------------------ search

    def search(
        self,
        text: str,
        filters: dict[str, list[str]] | None = None,
        page: int = 1,
        page_size: int = 10,
    ) -> SearchPage:
        normalised = normalise(text)
        plan = plan_query(normalised, self.synonyms)
        if plan.pinyin:
            plan.groups.insert(0, Group(self._pinyin_clauses(plan.pinyin), 1.0))
        with self._lock:
            allowed = self._allowed(plan, filters or {})
            hits = self._ranked(plan, allowed, normalised, page * page_size)
            facets = {
                key: counts
                for key in FILTERS
                if (
                    counts := {
                        v: n for v, s in self._facets[key].items() if (n := len(allowed & s))
                    }
                )
            }
        start = (page - 1) * page_size
        return SearchPage(
            text, len(allowed), page, page_size, hits[start : start + page_size], facets
        )

    def _allowed(self, plan: Plan, filters: dict[str, list[str]]) -> frozenset[int]:
        """Documents that cover enough of the query (or match it exactly) and pass the filters."""
        if not plan.groups:
            return frozenset()
        sets = [(self._group_docs(g), g.weight) for g in plan.groups]
        if plan.pinyin:  # pinyin or Latin words: any match will do
            allowed = set().union(*(docs for docs, _ in sets))
        else:
            allowed = set(_covering(sets, sum(w for _, w in sets) * MIN_COVERAGE - 1e-9))
        for clause in plan.bonus[:2]:
            allowed |= self._clause_docs(clause)
        for key, values in filters.items():
            wanted: set[int] = set()
            for value in values:
                wanted |= self._facets.get(key, {}).get(value, frozenset())
            allowed &= wanted
        return frozenset(allowed)

    def _ranked(
        self, plan: Plan, allowed: frozenset[int], text: str, wanted: int
    ) -> list[SearchHit]:
        """Documents matching the name, aliases, keywords or pinyin first, then those that match
        only in the body; each part ranked by BM25F (see :meth:`_score`)."""
        if not allowed:
            return []
        clauses = [c for g in plan.groups for c in g.clauses] + plan.bonus
        strong = [c for c in clauses if c.field != "body"]
        strong_docs = frozenset().union(*(self._clause_docs(c) for c in strong)) & allowed
        hits = self._score(strong, strong_docs, max(wanted, RERANK_WINDOW), text)
        if len(hits) < wanted and allowed - strong_docs:
            body = [c for c in clauses if c.field == "body"]
            hits += self._score(body, allowed - strong_docs, wanted - len(hits), text)
        return hits

    def _score(
        self, clauses: list[Clause], docs: frozenset[int], limit: int, text: str
    ) -> list[SearchHit]:
        """BM25F for the best ``limit`` of ``docs``. Whoosh scores a document in ~100 µs here
        (a matcher tree per clause), too slow for thousands: a cheap pre-score (boost × idf of
        each clause a document matches, from the cached sets) picks the candidates
        (:data:`CANDIDATE_SLACK` more than needed), and only those are scored, by
        intersecting the query with their list."""
        if not clauses or not docs:
            return []
        count = max(self.doc_count, 1)
        pre: dict[int, float] = {}
        for clause in clauses:
            matched = self._clause_docs(clause) & docs
            if matched:
                weight = clause.boost * math.log(1.0 + count / len(matched))
                for docnum in matched:
                    pre[docnum] = pre.get(docnum, 0.0) + weight
        candidates = heapq.nlargest(limit + CANDIDATE_SLACK, pre, key=lambda d: (pre[d], -d))
        scored = [c.query() for c in clauses if not c.part] or [c.query() for c in clauses]
        scoring = query.And([DocList(candidates, self._offsets), query.Or(scored)])
        results = self._searcher.search(scoring, limit=len(candidates))
        hits = [self._hit(r.docnum, r.score, text) for r in results]
        # A phrase's documents were approximated by its words: those the phrase itself does not
        # match still belong to the results, after the scored ones.
        scored = {r.docnum for r in results}
        hits += [self._hit(d, pre[d] * 1e-6, text) for d in candidates if d not in scored]
        hits.sort(key=lambda h: (-h.score, h.name, h.key))
        return hits[:limit]

    def _hit(self, docnum: int, score: float, text: str) -> SearchHit:
        stored = self._searcher.stored_fields(docnum)["document"]
        return SearchHit(
            key=stored["key"],
            kind=stored["kind"],
            name=stored["name"],
            url=stored["url"],
            department=stored["department"],
            type=stored["type"],
            limit=stored["limit"],
            fee=stored["fee"],
            status=stored["status"],
            aliases=list(stored["aliases"]),
            score=score * _variant_factor(stored["name"], text),
        )

    # ------------------------------------------------------------ related items

    def related(self, key: str, limit: int = 5) -> list[SearchHit]:
        """Items like this one, by the terms they share: the same name without its variant
        (the other variants of an item) counts most, then shared aliases, then the distinctive
        words of the name (a word in more than :data:`RELATED_MAX_DF` documents says little),
        then the same department."""
        return [self._hit(d, score, "") for d, score in self._related(key, limit)]

    def related_keys(self, key: str, limit: int = 5) -> list[str]:
        """The keys of :meth:`related`'s items, without reading their stored documents (the
        build asks this for every item, and has the documents)."""
        return [self._key_of[d] for d, _ in self._related(key, limit)]

    def _related(self, key: str, limit: int) -> list[tuple[int, float]]:
        """The first ``limit`` items by score + :data:`DEPARTMENT_BONUS` if in the same
        department, then document number. Scores are whole numbers and the bonus is less than
        one, so they come level by level: at each score, those in the department, then the
        others, each by document number."""
        docnum = self._docnum(key)
        if docnum is None or limit <= 0:
            return []
        stored = self._searcher.stored_fields(docnum)["document"]
        department = self._facets["department"].get(stored["department"], frozenset())
        found: list[tuple[int, float]] = []
        for score, docs in self._related_levels(
            base_name(stored["name"]), tuple(stored["aliases"])
        ):
            same = docs & department
            for group in (same, docs - same):
                found += [
                    (d, float(score))
                    for d in sorted(group)[: limit - len(found) + 1]
                    if d != docnum
                ]
                if len(found) >= limit:
                    return found[:limit]
        return found

    def _related_levels(
        self, base: str, aliases: tuple[str, ...]
    ) -> tuple[tuple[int, frozenset[int]], ...]:
        """The items sharing terms with a name (without its variant) and aliases, grouped by
        score, best first. The variants and copies of an item share them: cached
        (:data:`RELATED_CACHE`)."""
        key = (base, aliases)
        with self._lock:
            levels = self._levels.get(key)
            if levels is not None:
                self._levels.move_to_end(key)
                return levels
        shared = [(self._docs("exact_name", normalise(base)), RELATED_WEIGHTS["exact_name"])]
        shared += [
            (self._docs("exact_alias", normalise(a)), RELATED_WEIGHTS["exact_alias"])
            for a in aliases
        ]
        for word in dict.fromkeys(words(base)):
            if has_han(word) and len(word) > 1:
                docs = self._docs("name", word)
                if len(docs) <= RELATED_MAX_DF:
                    shared.append((docs, RELATED_WEIGHTS["name"]))
        # A document's score is the sum of the weights of the terms it shares, counted in C
        # (each set repeated as many times as its weight).
        scores = Counter(
            itertools.chain.from_iterable(
                itertools.chain.from_iterable(
                    itertools.repeat(docs & self._items, weight) for docs, weight in shared
                )
            )
        )
        by_score = sorted(scores.items(), key=operator.itemgetter(1), reverse=True)
        levels = tuple(
            (score, frozenset(map(operator.itemgetter(0), group)))
            for score, group in itertools.groupby(by_score, key=operator.itemgetter(1))
        )
        with self._lock:
            self._levels[key] = levels
            if len(self._levels) > RELATED_CACHE:
                self._levels.popitem(last=False)
        return levels

    def _docnum(self, key: str) -> int | None:
        with self._lock:
            if self._keys is None:
                self._key_of = {n: f["key"] for n, f in self._searcher.iter_docs()}
                self._keys = {k: n for n, k in self._key_of.items()}
        return self._keys.get(key)


def _covering(sets: list[tuple[frozenset[int], float]], need: float) -> frozenset[int]:
    """Documents in groups whose weights add up to ``need``: the union, over the smallest
    combinations of groups that reach it, of their intersection — set operations in C instead
    of a count per document (a common word is in thousands of documents)."""
    if len(sets) > MAX_GROUPS:  # a long query: its longest words decide
        sets = sorted(sets, key=lambda s: -s[1])[:MAX_GROUPS]
        need = min(need, sum(w for _, w in sets) * MIN_COVERAGE)
    found: set[int] = set()
    minimal: list[int] = []
    for size in range(1, len(sets) + 1):
        for combination in itertools.combinations(range(len(sets)), size):
            mask = sum(1 << i for i in combination)
            if any(m & mask == m for m in minimal):
                continue  # a smaller combination already reached the weight
            if sum(sets[i][1] for i in combination) >= need:
                minimal.append(mask)
                found |= frozenset.intersection(*(sets[i][0] for i in combination))
    return frozenset(found)


def _variant_factor(name: str, text: str) -> float:
    """A nudge among near-equal scores: the first-time variant (新办, 首次) when the query
    names no variant, so 食品经营许可 lists （新办） before （变更）（延续）（注销）."""
    which = variant(name)
    if text and which and which not in text and any(v in which for v in FIRST_VARIANTS):
        return 1.05
    return 1.0
