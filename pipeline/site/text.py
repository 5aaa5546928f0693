"""Chinese text helpers for the site: pinyin sort keys, slugs and A–Z letters."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_tone3
from pypinyin.core import Pinyin

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_SLUG_CHARS = 80
"""A slug is a file name (``themes/<slug>.html``, a ``.gz`` or ``.br`` beside it, ``-2`` for a
repeated one), and a file name may have 255 bytes: a longer slug (a theme of 66 characters made
one of 300) is cut and ends in a short hash of the whole text, so two long names that begin
alike still get two pages."""


@lru_cache(maxsize=65536)
def pinyin_key(text: str) -> tuple[str, str]:
    """Sort key that orders Chinese by pinyin (as dictionaries and the public expect), with the
    text itself breaking ties so that the order is total and deterministic. Latin letters count
    in lower case, so that "ICP 许可" comes among the I's, not before 阿 (A).

    ``lazy_pinyin(text, style=Style.TONE3)``, several times faster (it is computed for every
    item's name): pypinyin cuts the text into words and reads each word on its own, so each
    distinct word (许可, 登记, 街道 …) is read once; the syllables come with tone marks
    (``shí``) and each distinct one is turned into ``shi2`` once; what is not Chinese comes
    back marked. ``tests/test_site_text.py`` compares both on 20,000 strings."""
    return (" ".join(syllable for word in _PINYIN.seg(text) for syllable in _word_key(word)), text)


_PINYIN = Pinyin()
_tone3 = lru_cache(maxsize=4096)(to_tone3)


def _kept(chunk: str) -> str:
    return "\x00" + chunk


@lru_cache(maxsize=65536)
def _word_key(word: str) -> tuple[str, ...]:
    return tuple(
        chunk[1:].lower() if chunk[:1] == "\x00" else _tone3(chunk)
        for chunk in _PINYIN.lazy_pinyin([word], style=Style.TONE, errors=_kept)
    )


def pinyin_slug(text: str) -> str:
    """``text`` in pinyin, lower-case ASCII letters and digits joined by ``-``, at most
    :data:`MAX_SLUG_CHARS` characters."""
    slug = _NOT_SLUG.sub("-", "-".join(lazy_pinyin(text)).lower()).strip("-") or "x"
    if len(slug) <= MAX_SLUG_CHARS:
        return slug
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"{slug[: MAX_SLUG_CHARS - len(digest) - 1].rstrip('-')}-{digest}"


def initial_letter(text: str) -> str:
    """A–Z letter of the first character's pinyin ('#' for digits and symbols)."""
    first = lazy_pinyin(text[:1], style=Style.FIRST_LETTER)[0][:1].upper() if text else ""
    return first if "A" <= first <= "Z" else "#"
