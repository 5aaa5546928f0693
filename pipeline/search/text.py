"""Chinese text for search: normalising queries and documents, segmenting, pinyin.

The same functions serve both indexes (Whoosh on the server and Pagefind in the browser), so a
word is cut the same way wherever it is indexed or asked for.

* ``normalise``: traditional → simplified (OpenCC ``t2s``), full-width → half-width (NFKC),
  lower case, quotes and brackets of every kind removed, runs of spaces collapsed.
* ``words``: jieba's precise cut with its default dictionary only and without its HMM guesses
  at unknown words (which depend on the surrounding text: 养狗要 in one place, 养狗 in another),
  so a query is cut as the index was; punctuation and spaces dropped.
* ``pinyin_tokens``: full pinyin and initials of a name and of every run of its words, so
  ``shipinjingying``, ``spjy`` and ``yyzz`` find 食品经营许可 and 营业执照.

jieba is imported lazily and told to be quiet: it logs "Building prefix dict…" to stderr and
writes its dictionary cache to the temporary folder on first use.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

QUOTES = "\"'“”‘’「」『』《》〈〉«»`´"
_QUOTES = re.compile("[" + re.escape(QUOTES) + "]")
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"^[\W_]+$")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ASCII_WORD = re.compile(r"^[a-z]+$")
_VARIANT = re.compile(r"[（(]([^（）()]{1,12})[）)]\s*$")

STOPWORDS = frozenset(
    """
的 了 吗 呢 吧 啊 呀 么 嘛 哦 和 与 及 或 在 是 有 要 想 我 我们 你 您 他 她 它 这 那 个 些
怎么 怎么样 怎样 如何 什么 哪里 哪儿 哪个 哪些 多少 几 谁 为什么 需要 需 得 该 应该 可以 能 能不能 会
办 办理 去 到 找 申请 怎么办 手续 流程 一下 请问 咨询 问 帮 给 让 把 被 从 对 为 就 都 也 还 再
""".split()
)
"""Words of how people ask that say nothing about what they ask for (生孩子**要办什么**). They
are dropped from queries (never from documents). 办理 and 申请 are here because nearly every
item is 办理'd or 申请'd: they would match everything and rank nothing."""


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese with OpenCC's phrase-aware ``t2s`` (營業執照 → 营业执照).
    Simplified text passes through unchanged."""
    return _t2s().convert(text) if text else text


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """How a query (or a name) is compared: simplified, half-width, lower case, no quotes."""
    text = unicodedata.normalize("NFKC", text or "")
    text = to_simplified(text)
    text = _QUOTES.sub(" ", text).lower()
    return _SPACES.sub(" ", text).strip()


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def base_name(name: str) -> str:
    """An item's name without its variant in brackets: 食品经营许可（新办） → 食品经营许可."""
    return _VARIANT.sub("", name).strip() or name


def variant(name: str) -> str:
    """The variant in brackets at the end of a name (新办, 变更 …), or ''."""
    match = _VARIANT.search(name)
    return match.group(1) if match else ""


@lru_cache(maxsize=1)
def segmenter() -> Any:
    """jieba's default tokenizer, initialised once and quietly."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


TOKEN_CACHE = 1 << 14
"""How many blocks keep their words in memory (and words their pieces). Documents repeat
sentences — materials, conditions, department names — and a block is cut the same wherever it
occurs, so each is segmented once. A block is a run of Han characters, letters and digits (a
clause, seldom more than a dozen characters), or what lies between two runs; only blocks of up
to :data:`CACHED_BLOCK` characters are kept, so the caches stay near 15 MB when full whatever the
size of the input (measured: 20 MB for 22,000 blocks)."""
CACHED_BLOCK = 48


@lru_cache(maxsize=1)
def _blocks() -> re.Pattern[str]:
    """How jieba splits a text before cutting each block on its own (its ``re_han_default``)."""
    import jieba

    return jieba.re_han_default


def _cut_block(block: str) -> tuple[tuple[str, int, int], ...]:
    found = []
    for word, start, end in segmenter().tokenize(block, HMM=False):
        word = word.strip().lower()
        if word and not _PUNCT.match(word):
            found.append((word, start, end))
    return tuple(found)


_cached_cut = lru_cache(maxsize=TOKEN_CACHE)(_cut_block)


def _block_tokens(block: str) -> tuple[tuple[str, int, int], ...]:
    return _cached_cut(block) if len(block) <= CACHED_BLOCK else _cut_block(block)


def tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) of each word of ``text`` in jieba's precise mode; punctuation and
    spaces are dropped, Latin words lower-cased.

    jieba splits a text into blocks and cuts each on its own (a block's words do not depend on
    its neighbours without the HMM), so the text is cut block by block, each block once
    (:data:`TOKEN_CACHE`); ``tests/test_search.py`` checks that the words are jieba's."""
    offset = 0
    for block in _blocks().split(text):
        if block:
            for word, start, end in _block_tokens(block):
                yield word, offset + start, offset + end
            offset += len(block)


@lru_cache(maxsize=TOKEN_CACHE)
def word_pieces(word: str) -> tuple[str, ...]:
    """A word and the dictionary words inside it (:func:`subwords`): what the index holds at
    the word's position."""
    if len(word) <= 2 or not has_han(word):
        return (word,)
    freq = segmenter().FREQ
    found = [word]
    for size in (2, 3):
        if len(word) > size:
            found += [
                word[i : i + size]
                for i in range(len(word) - size + 1)
                if freq.get(word[i : i + size])
            ]
    return tuple(found)


def _pieces(block: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    found = _block_tokens(block)
    return len(found), tuple(
        (piece, number) for number, (word, _, _) in enumerate(found) for piece in word_pieces(word)
    )


_cached_pieces = lru_cache(maxsize=TOKEN_CACHE)(_pieces)


def indexed_words(text: str) -> Iterator[tuple[int, tuple[tuple[str, int], ...]]]:
    """The words of ``text`` as the index holds them, block by block: how many words the block
    has, and each word with the dictionary words inside it (:func:`word_pieces`), numbered from
    the block's first word. The same words as :func:`tokens`, cached block by block."""
    for block in _blocks().split(text):
        if block:
            yield _cached_pieces(block) if len(block) <= CACHED_BLOCK else _pieces(block)


def subwords(word: str) -> list[str]:
    """The dictionary words inside a long word (营业执照 → 营业, 执照), as jieba's search mode
    finds them: two- and three-character pieces that are words of their own."""
    return list(word_pieces(word)[1:])


def words(text: str) -> list[str]:
    """The words of ``text``, in order."""
    return [word for word, _, _ in tokens(text)]


def query_words(text: str) -> list[tuple[str, int, int]]:
    """The words of a (normalised) query that carry meaning, with their spans: stop words
    dropped, unless the query is nothing but stop words."""
    found = list(tokens(text))
    meaningful = [t for t in found if t[0] not in STOPWORDS]
    return meaningful or found


# ---------------------------------------------------------------- pinyin

MAX_RUN = 4
"""Pinyin is given for every run of up to this many consecutive words of a name."""
MIN_INITIALS = 3


@lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, ...]:
    """The syllables of one word (pypinyin reads polyphones by the word they are in)."""
    from pypinyin import Style, lazy_pinyin

    return tuple(
        s.lower() for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore") if s.isalpha()
    )


@lru_cache(maxsize=65536)
def _phrase_pinyin(phrase: str) -> tuple[str, ...]:
    syllables = [_word_pinyin(w) for w in words(normalise(phrase)) if has_han(w)]
    found: dict[str, None] = {}
    for i in range(len(syllables)):
        for j in range(i + 1, min(len(syllables), i + MAX_RUN) + 1):
            run = [s for word in syllables[i:j] for s in word]
            if len(run) < 2:
                continue
            found["".join(run)] = None
            if len(run) >= MIN_INITIALS:
                found["".join(s[0] for s in run)] = None
    return tuple(found)


def pinyin_tokens(phrases: Iterable[str]) -> list[str]:
    """Full pinyin and initials of each phrase and of every run of its words (at most
    :data:`MAX_RUN` words): 办营业执照 → banyingyezhizhao, byyzz, yingyezhizhao, yyzz …
    Runs of one character (kai, ban) and initials of fewer than three letters (sp, jy) are left
    out: they would match nearly everything."""
    found: dict[str, None] = {}
    for phrase in phrases:
        found.update(dict.fromkeys(_phrase_pinyin(phrase)))
    return list(found)


def is_pinyin_query(text: str) -> bool:
    """A query of Latin letters only (spaces allowed): typed as pinyin or its initials."""
    return bool(_ASCII_WORD.match(text.replace(" ", ""))) and len(text.replace(" ", "")) >= 2
