"""The server index's format: Whoosh (the ``whoosh3`` line) with a jieba tokenizer.

**This module's path is part of every index.** Whoosh pickles the schema, and with it the
analyzer's class path ``pipeline.search.server_index.JiebaTokenizer``, into each index's table of
contents (``search/whoosh/_MAIN_1.toc``). Moving or renaming :class:`JiebaTokenizer` would make
the indexes of earlier releases unreadable after an upgrade (a rollback serves one of them) and
would change the bytes of every release. So this module keeps the tokenizer, the schema and the
codec — what an index *is* — and the rest lives beside it:

* :mod:`pipeline.search.server_write` — writing: :func:`~pipeline.search.server_write.build_server_index`,
  full or incremental from the previous release's index, deterministic;
* :mod:`pipeline.search.server_query` — querying: :class:`~pipeline.search.server_query.ServerIndex`
  (coverage, boosts, pinyin, facets, related items), safe to share between threads;
* :mod:`pipeline.search.whoosh_fast` — the parts that lean on Whoosh's internals (a faster
  writer, a block reader of postings), used only on the Whoosh versions it names; on any other
  the stock Whoosh code runs, with a warning.

**Tokens with sequential positions.** jieba's own ``ChineseAnalyzer`` records each word's character
offset as its position, so a two-word phrase is never "adjacent" and phrase queries fail.
:class:`JiebaTokenizer` numbers words 0, 1, 2 …; the dictionary words inside a long word
(营业执照 → 营业, 执照) are indexed at the long word's position, so 执照 finds 营业执照 and the
phrase 营业执照 办理 still matches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh import fields
from whoosh.analysis import RegexTokenizer, Token, Tokenizer

from pipeline.search.text import indexed_words, tokens, word_pieces

SCHEMA_VERSION = 1
"""Raise when the schema or the analysis changes: an older index is then rebuilt in full."""
INDEX_DIR = "whoosh"
INDEX_META = "index.json"


class JiebaTokenizer(Tokenizer):
    """jieba's words with sequential positions; sub-words share their word's position.

    Its class path, ``pipeline.search.server_index.JiebaTokenizer``, is pickled into every index
    (see the module's docstring): it must not move."""

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
                        # Whoosh's Token does not declare ``original``; its tokenizers set it.
                        token.original = piece  # type: ignore[attr-defined]
                    if positions:
                        token.pos = position + number
                    yield token
                position += count
            return
        for offset, (word, start, end) in enumerate(tokens(value)):
            for piece in word_pieces(word):
                token.text, token.boost, token.stopped = piece, 1.0, False
                if keeporiginal:
                    token.original = piece  # type: ignore[attr-defined]  # (as above)
                if positions:
                    token.pos = start_pos + offset
                token.startchar, token.endchar = start_char + start, start_char + end
                yield token


def _text(tokenizer: Tokenizer, phrase: bool) -> fields.TEXT:
    """A ``TEXT`` field cut by ``tokenizer``. Whoosh takes a tokenizer as a field's analyzer
    (``fields._check_analyzer``); its annotation names ``Analyzer`` only."""
    return fields.TEXT(analyzer=tokenizer, phrase=phrase)  # type: ignore[arg-type]


def make_schema() -> fields.Schema:
    chinese = JiebaTokenizer()
    lines = RegexTokenizer(r"[^\n]+")
    return fields.Schema(
        key=fields.ID(stored=True, unique=True),
        kind=fields.ID(stored=True),
        name=_text(chinese, phrase=True),
        aliases=_text(chinese, phrase=True),
        keywords=_text(chinese, phrase=True),
        body=_text(chinese, phrase=True),
        exact_name=_text(lines, phrase=False),
        exact_alias=_text(lines, phrase=False),
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


def codec() -> Any:
    """Whoosh's codec without zlib on the posting blocks: compressed bytes are noise in which the
    privacy gate (which reads every file as text) can "find" an e-mail address like x@y.zz."""
    from whoosh.codec.whoosh3 import W3Codec

    return W3Codec(compression=0)
