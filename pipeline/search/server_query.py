"""Querying the server index: :class:`ServerIndex`, shared by every thread of a server.

* **What a query matches** — field boosts, coverage, synonyms, exact names and phrases — is
  planned by :mod:`pipeline.search.server_plan`; pinyin (full pinyin and initials of names,
  aliases and keywords, matched whole, as a prefix, or within one edit for long ones: a slip in
  ``shipinjingying``) is looked up here, in the index's terms.
* **Facets**: department, item type, audience, online application, free of charge, visits.
* **Speed** (Python Whoosh alone took ~400 ms for a broad query at 20,000 items): each term's
  documents are read once and cached as a set, the stored documents of hits too; coverage,
  filters and facet counts are set operations, and BM25F is computed by Whoosh only for the
  few dozen candidates that a cheap pre-score (boost × idf of the clauses matched) selects.
  Related items of the variants and copies of an item are scored once
  (:meth:`ServerIndex._related_levels`).
* **Threads.** A Whoosh searcher reads its files with ``seek`` + ``read`` on shared file objects,
  so two threads in one searcher read each other's bytes (``struct.error``, ``KeyError``, other
  scores: #13). A query takes the index's searcher under a lock (:class:`_Searchers`), for the
  few milliseconds of its search; building the JSON, the HTTP and the answers kept
  (:mod:`pipeline.search.api`) run outside it; the caches have a lock of their own, held only
  for dictionary operations. A searcher per query (a pool) was measured too:
  Python runs one thread at a time, and with 20 clients the pool's threads contended for the
  interpreter — fewer answers per second and a higher p95 than the lock (docs/benchmarks.md,
  "The search API under load").
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import math
import operator
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index, matching, query

from pipeline.errors import ConfigurationError
from pipeline.search.documents import FILTERS, ITEM
from pipeline.search.server_index import INDEX_DIR, INDEX_META, SCHEMA_VERSION
from pipeline.search.server_plan import (
    MIN_COVERAGE,
    PINYIN_BOOST,
    Clause,
    Group,
    Plan,
    covering,
    plan_query,
)
from pipeline.search.synonyms import parse_synonyms
from pipeline.search.text import (
    base_name,
    has_han,
    normalise,
    variant,
    words,
)

logger = logging.getLogger(__name__)

MAX_EXPANSIONS = 64
"""At most this many pinyin terms stand for one Latin query (its prefixes and slips)."""
RELATED_MAX_DF = 500
RELATED_WEIGHTS = {"exact_name": 4, "exact_alias": 2, "name": 1}
"""What a related item scores for sharing the name without its variant, an alias, a word of the
name (whole numbers: see :meth:`ServerIndex._related`)."""
DEPARTMENT_BONUS = 0.5
"""What sharing the department adds to a related item's score (more than 0, less than 1)."""
RELATED_CACHE = 256
"""Names (without variant) and aliases whose related items' scores are kept."""
CANDIDATE_SLACK = 15
"""BM25F re-scores the best ``limit + CANDIDATE_SLACK`` documents of the cheap pre-score."""
RERANK_WINDOW = 30
"""Results are re-ranked (variant nudge) within the first this many of Whoosh's order."""
FIRST_VARIANTS = ("新办", "首次", "设立")
"""When a query names no variant, 食品经营许可（新办） comes before （变更）（延续）（注销）."""
STORED_CACHE = 4096
"""Stored documents (what a hit shows) kept decoded: reading one costs zlib and pickle."""


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


class _Session:
    """One Whoosh searcher and what a query needs of it: its segments' readers with their
    offsets (global document number = offset + the segment's own)."""

    def __init__(self, searcher: Any):
        self.searcher = searcher
        self.leaves = [(s.reader(), offset) for s, offset in searcher.leaf_searchers()]
        self.offsets = {id(s): offset for s, offset in searcher.leaf_searchers()}

    def close(self) -> None:
        self.searcher.close()


class _Searchers:
    """The index's Whoosh searcher, lent to one query at a time (see the module's docstring)."""

    def __init__(self, ix: Any):
        self._index = ix
        self._session = _Session(ix.searcher())
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def session(self) -> Iterator[_Session]:
        with self._lock:
            if self._closed:
                raise ConfigurationError("搜索索引已关闭")
            yield self._session

    def close(self) -> None:
        with self._lock:  # after the query that holds it
            if not self._closed:
                self._closed = True
                self._session.close()


class ServerIndex:
    """A searcher over one release's index, safe to share between threads (see the module's
    docstring)."""

    CACHE_TERMS = 4096

    def __init__(self, folder: Path):
        target = folder / INDEX_DIR
        try:
            meta = json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
            self._index = index.open_dir(str(target))
        except (OSError, ValueError, index.EmptyIndexError) as exc:
            raise ConfigurationError(f"找不到可用的搜索索引 {target}：{exc}") from exc
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ConfigurationError(f"搜索索引 {target} 的版本与本程序不符，请重新构建")
        self.synonyms = parse_synonyms(
            {"synonyms": meta.get("synonyms", {})}, str(folder / INDEX_META)
        )
        self._lock = threading.Lock()  # the caches below: dictionary operations only
        self._cache: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        self._stored: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._levels: OrderedDict[
            tuple[str, tuple[str, ...]], tuple[tuple[int, frozenset[int]], ...]
        ] = OrderedDict()
        self._searchers = _Searchers(self._index)
        with self._searchers.session() as session:
            reader = session.searcher.reader()
            self.doc_count = session.searcher.doc_count()
            self._live = frozenset(reader.all_doc_ids()) if reader.has_deletions() else None
            self._facets = {
                key: {value: self._docs(session, key, value) for value in _values(reader, key)}
                for key in FILTERS
            }
            self._items = self._docs(session, "kind", ITEM)
        self._keys: dict[str, int] | None = None
        self._key_of: dict[int, str] = {}

    def close(self) -> None:
        self._searchers.close()

    def __enter__(self) -> ServerIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def facet_values(self) -> dict[str, list[str]]:
        """Every value of every filter (for the command line's choices and the API)."""
        return {key: sorted(values) for key, values in self._facets.items()}

    # ------------------------------------------------------------ document sets

    def _docs(self, session: _Session, fieldname: str, text: str) -> frozenset[int]:
        """The documents holding a term (cached: terms repeat across queries)."""
        key = (fieldname, text)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        ids: list[int] = []
        for reader, offset in session.leaves:
            if (fieldname, text) in reader:
                leaf = list(reader.postings(fieldname, text).all_ids())
                ids += [d + offset for d in leaf] if offset else leaf
        found = frozenset(ids) if self._live is None else frozenset(ids) & self._live
        with self._lock:
            self._cache[key] = found
            if len(self._cache) > self.CACHE_TERMS:
                self._cache.popitem(last=False)
        return found

    def _clause_docs(self, session: _Session, clause: Clause) -> frozenset[int]:
        """A term's documents; a phrase's are approximated by all of its words (the score,
        not the coverage, tells a phrase from scattered words)."""
        found = self._docs(session, clause.field, clause.words[0])
        for word in clause.words[1:]:
            if not found:
                break
            found = found & self._docs(session, clause.field, word)
        return found

    def _group_docs(self, session: _Session, group: Group) -> frozenset[int]:
        found: set[int] = set()
        for clause in group.clauses:
            found |= self._clause_docs(session, clause)
        return frozenset(found)

    def _pinyin_clauses(self, session: _Session, compact: str) -> list[Clause]:
        """The pinyin terms a Latin query may mean: itself, terms it begins, one slip away."""
        reader = session.searcher.reader()
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

    def _document(self, session: _Session, docnum: int) -> dict[str, Any]:
        """A document's stored fields (what a hit shows; cached)."""
        with self._lock:
            found = self._stored.get(docnum)
            if found is not None:
                self._stored.move_to_end(docnum)
                return found
        found = session.searcher.stored_fields(docnum)["document"]
        with self._lock:
            self._stored[docnum] = found
            if len(self._stored) > STORED_CACHE:
                self._stored.popitem(last=False)
        return found

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
        with self._searchers.session() as session:
            if plan.pinyin:
                plan.groups.insert(0, Group(self._pinyin_clauses(session, plan.pinyin), 1.0))
            allowed = self._allowed(session, plan, filters or {})
            hits = self._ranked(session, plan, allowed, normalised, page * page_size)
        facets = {
            key: counts
            for key in FILTERS
            if (counts := {v: n for v, s in self._facets[key].items() if (n := len(allowed & s))})
        }
        start = (page - 1) * page_size
        return SearchPage(
            text, len(allowed), page, page_size, hits[start : start + page_size], facets
        )

    def _allowed(
        self, session: _Session, plan: Plan, filters: dict[str, list[str]]
    ) -> frozenset[int]:
        """Documents that cover enough of the query (or match it exactly) and pass the filters."""
        if not plan.groups:
            return frozenset()
        sets = [(self._group_docs(session, g), g.weight) for g in plan.groups]
        if plan.pinyin:  # pinyin or Latin words: any match will do
            allowed = set().union(*(docs for docs, _ in sets))
        else:
            allowed = set(covering(sets, sum(w for _, w in sets) * MIN_COVERAGE - 1e-9))
        for clause in plan.bonus[:2]:
            allowed |= self._clause_docs(session, clause)
        for key, values in filters.items():
            wanted: set[int] = set()
            for value in values:
                wanted |= self._facets.get(key, {}).get(value, frozenset())
            allowed &= wanted
        return frozenset(allowed)

    def _ranked(
        self, session: _Session, plan: Plan, allowed: frozenset[int], text: str, wanted: int
    ) -> list[SearchHit]:
        """Documents matching the name, aliases, keywords or pinyin first, then those that match
        only in the body; each part ranked by BM25F (see :meth:`_score`)."""
        if not allowed:
            return []
        clauses = [c for g in plan.groups for c in g.clauses] + plan.bonus
        strong = [c for c in clauses if c.field != "body"]
        strong_docs = frozenset().union(*(self._clause_docs(session, c) for c in strong)) & allowed
        hits = self._score(session, strong, strong_docs, max(wanted, RERANK_WINDOW), text)
        if len(hits) < wanted and allowed - strong_docs:
            body = [c for c in clauses if c.field == "body"]
            hits += self._score(session, body, allowed - strong_docs, wanted - len(hits), text)
        return hits

    def _score(
        self,
        session: _Session,
        clauses: list[Clause],
        docs: frozenset[int],
        limit: int,
        text: str,
    ) -> list[SearchHit]:
        """BM25F for the best ``limit`` of ``docs``. Whoosh scores a document in ~100 µs here
        (a matcher tree per clause), too slow for thousands: a cheap pre-score (boost × idf of
        each clause a document matches, from the cached sets) picks the candidates
        (:data:`CANDIDATE_SLACK` more than needed), and only those are scored, by
        intersecting the query with their list. The clauses are joined by Whoosh's binary tree
        of unions (``DefaultOr``), which skips to the candidates; the ``Or`` it picks by itself
        below 5,000 documents first reads every document's score into an array (the same
        scores, a third slower on the demo)."""
        if not clauses or not docs:
            return []
        count = max(self.doc_count, 1)
        pre: dict[int, float] = {}
        for clause in clauses:
            matched = self._clause_docs(session, clause) & docs
            if matched:
                weight = clause.boost * math.log(1.0 + count / len(matched))
                for docnum in matched:
                    pre[docnum] = pre.get(docnum, 0.0) + weight
        candidates = heapq.nlargest(limit + CANDIDATE_SLACK, pre, key=lambda d: (pre[d], -d))
        # The clauses that score: the word clauses (a dictionary word inside a query word only
        # selects), or all when there are none — and of those, only the ones some candidate
        # holds: the others add nothing to any candidate's score, and each costs Whoosh a
        # matcher.
        parts = all(c.part for c in clauses)
        chosen = frozenset(candidates)
        scored = [
            c.query()
            for c in clauses
            if (parts or not c.part) and not chosen.isdisjoint(self._clause_docs(session, c))
        ]
        scoring = query.And([DocList(candidates, session.offsets), query.DefaultOr(scored)])
        results = session.searcher.search(scoring, limit=len(candidates)) if scored else []
        hits = [self._hit(session, r.docnum, r.score, text) for r in results]
        # A phrase's documents were approximated by its words: those the phrase itself does not
        # match still belong to the results, after the scored ones.
        found = {r.docnum for r in results}
        hits += [self._hit(session, d, pre[d] * 1e-6, text) for d in candidates if d not in found]
        hits.sort(key=lambda h: (-h.score, h.name, h.key))
        return hits[:limit]

    def _hit(self, session: _Session, docnum: int, score: float, text: str) -> SearchHit:
        stored = self._document(session, docnum)
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
        with self._searchers.session() as session:
            return [
                self._hit(session, d, score, "") for d, score in self._related(session, key, limit)
            ]

    def related_keys(self, key: str, limit: int = 5) -> list[str]:
        """The keys of :meth:`related`'s items, without reading their stored documents (the
        build asks this for every item, and has the documents)."""
        with self._searchers.session() as session:
            return [self._key_of[d] for d, _ in self._related(session, key, limit)]

    def _related(self, session: _Session, key: str, limit: int) -> list[tuple[int, float]]:
        """The first ``limit`` items by score + :data:`DEPARTMENT_BONUS` if in the same
        department, then document number. Scores are whole numbers and the bonus is less than
        one, so they come level by level: at each score, those in the department, then the
        others, each by document number."""
        docnum = self._docnum(session, key)
        if docnum is None or limit <= 0:
            return []
        stored = self._document(session, docnum)
        department = self._facets["department"].get(stored["department"], frozenset())
        found: list[tuple[int, float]] = []
        for score, docs in self._related_levels(
            session, base_name(stored["name"]), tuple(stored["aliases"])
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
        self, session: _Session, base: str, aliases: tuple[str, ...]
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
        shared = [
            (self._docs(session, "exact_name", normalise(base)), RELATED_WEIGHTS["exact_name"])
        ]
        shared += [
            (self._docs(session, "exact_alias", normalise(a)), RELATED_WEIGHTS["exact_alias"])
            for a in aliases
        ]
        for word in dict.fromkeys(words(base)):
            if has_han(word) and len(word) > 1:
                docs = self._docs(session, "name", word)
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

    def _docnum(self, session: _Session, key: str) -> int | None:
        """The document of an item or life event (the map is read at the first ask)."""
        with self._lock:
            if self._keys is None:
                self._key_of = {n: f["key"] for n, f in session.searcher.iter_docs()}
                self._keys = {k: n for n, k in self._key_of.items()}
            return self._keys.get(key)


def _values(reader: Any, fieldname: str) -> list[str]:
    return sorted(
        {v.decode("utf-8") if isinstance(v, bytes) else v for v in reader.lexicon(fieldname)}
    )


def _variant_factor(name: str, text: str) -> float:
    """A nudge among near-equal scores: the first-time variant (新办, 首次) when the query
    names no variant, so 食品经营许可 lists （新办） before （变更）（延续）（注销）."""
    which = variant(name)
    if text and which and which not in text and any(v in which for v in FIRST_VARIANTS):
        return 1.05
    return 1.0
