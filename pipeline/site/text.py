"""Chinese text helpers for the site: pinyin sort keys, slugs and A–Z letters."""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=65536)
def pinyin_key(text: str) -> tuple[str, str]:
    """Sort key that orders Chinese by pinyin (as dictionaries and the public expect), with the
    text itself breaking ties so that the order is total and deterministic."""
    return (" ".join(lazy_pinyin(text, style=Style.TONE3)), text)


def pinyin_slug(text: str) -> str:
    slug = _NOT_SLUG.sub("-", "-".join(lazy_pinyin(text)).lower()).strip("-")
    return slug or "x"


def initial_letter(text: str) -> str:
    """A–Z letter of the first character's pinyin ('#' for digits and symbols)."""
    first = lazy_pinyin(text[:1], style=Style.FIRST_LETTER)[0][:1].upper() if text else ""
    return first if "A" <= first <= "Z" else "#"
