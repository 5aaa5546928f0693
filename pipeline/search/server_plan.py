"""How a query is searched: its words as groups of clauses (for coverage) and bonus clauses.

A query (normalised: :func:`pipeline.search.text.normalise`) becomes a :class:`Plan`:

* one :class:`Group` per meaningful word (stop words and how people ask aside), weighted by its
  length: a document matches a group through any of its clauses — the word in the name, the
  aliases, the colloquial keywords or the body (boosts :data:`BOOSTS`), a dictionary word inside
  it (营业执照 → 营业, 执照: they select, they are not scored) or a synonym's target
  (``synonyms.yaml``);
* **coverage**: a result must match groups making up at least :data:`MIN_COVERAGE` of the
  query's weight (:func:`covering`), so 比特币挖矿许可 does not return every 许可 item;
* **bonus** clauses that raise a score and never exclude: the whole query as a name (with or
  without its variant) or an alias, and the words as a phrase in the name and aliases;
* a Latin query may be pinyin: its pinyin clauses come from the index
  (:meth:`pipeline.search.server_query.ServerIndex._pinyin_clauses`), and any match will do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from whoosh import query

from pipeline.search.synonyms import Synonyms
from pipeline.search.text import is_pinyin_query, query_words, subwords, words

MIN_COVERAGE = 0.5
BOOSTS = {"name": 8.0, "aliases": 4.0, "keywords": 3.0, "body": 1.0}
EXACT_NAME_BOOST, EXACT_ALIAS_BOOST, PHRASE_BOOST = 30.0, 12.0, 2.0
PINYIN_BOOST = 6.0
MAX_GROUPS = 8


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


def covering(sets: list[tuple[frozenset[int], float]], need: float) -> frozenset[int]:
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
