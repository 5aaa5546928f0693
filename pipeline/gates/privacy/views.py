"""Text views: what the detectors read besides the text as written.

A chunk of text is normalised (full-width digits, letters and signs folded to ASCII, one for one
so positions hold) and also read in decoded *views*: JSON ``\\uXXXX`` escapes, HTML/XML character
references and URL percent-escapes decoded, and markup removed (so ``王<b>小明</b>`` and an XLSX
rich-text run are seen whole). Line ends are kept in every view, so line numbers hold; the line
views (:func:`_line_views`) keep only the lines a view changes.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import unquote

# Full-width ASCII (１３８…, ＠) and the ideographic space are folded one for one, so positions hold.
# Only what identifiers are made of: full-width punctuation （，：） is everywhere in Chinese text
# and folding it would change nothing found.
_FULLWIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff20\uff0b\uff0d\uff0e\u3000]")
_FOLD = {
    c: c - 0xFEE0
    for c in (
        *range(0xFF10, 0xFF1A),
        *range(0xFF21, 0xFF3B),
        *range(0xFF41, 0xFF5B),
        0xFF20,
        0xFF0B,
        0xFF0D,
        0xFF0E,
    )
} | {0x3000: 0x20}
_ASCII_LOWER = {c: c + 32 for c in range(0x41, 0x5B)}


_FOLD_CHR = {chr(k): chr(v) for k, v in _FOLD.items()}


def _fold(text: str) -> str:
    """Full-width digits, letters and signs → ASCII (the ideographic space → a space).
    A regex substitution, not ``str.translate`` with a dict: U+3000 is in most Chinese text, and
    translate walks every character through the dict (12× slower on item pages)."""
    return _FULLWIDTH.sub(lambda m: _FOLD_CHR[m[0]], text)


def _lower(text: str) -> str:
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


_JSON_ESCAPES = re.compile(r"(?:\\u[0-9A-Fa-f]{4})+")
_ENTITIES = re.compile(r"(?:&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)+")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_RUN_PROPERTIES = re.compile(r"<(?:[A-Za-z]+:)?rPr\b[^>\n]*?(?:/>|>.*?</(?:[A-Za-z]+:)?rPr>)")
_INLINE_TAG = re.compile(
    r"</?(?:[A-Za-z]+:)?(?:a|abbr|b|bdi|bdo|code|em|font|i|mark|q|r|s|small|span|strong|sub|sup"
    r"|t|u|wbr|proofErr|bookmarkStart|bookmarkEnd|lastRenderedPageBreak|softHyphen)"
    r"(?:\s[^<>\n]*)?/?>"
)
_TAG = re.compile(r"<[^<>\n]*>")
# A decoded character reference matters when it gives something a value is made of (a letter, a
# digit, a separator); ``&nbsp;`` or ``&amp;`` alone do not warrant another pass over the chunk.
# JSON and percent escapes always matter: their hex digits glue onto the digits that follow.
_MATTERS = re.compile(r"[\w@.+'\- ]")


def _one_line(text: str) -> str:
    return text.replace("\n", " ") if "\n" in text else text


@lru_cache(maxsize=65536)
def _decode_json(run: str) -> str:
    decoded = run.encode("ascii").decode("unicode_escape")
    return _one_line(decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


@lru_cache(maxsize=65536)
def _decode_entities(run: str) -> tuple[str, bool]:
    decoded = _one_line(html.unescape(run))
    return decoded, bool(_MATTERS.search(decoded))


@lru_cache(maxsize=65536)
def _decode_percent(run: str) -> str:
    return _one_line(unquote(run, errors="replace"))


def _unescape(text: str) -> tuple[str, bool]:
    """``text`` with JSON, HTML/XML and URL escapes decoded (line ends kept), and whether any
    decoding could change what is found."""
    matters = False

    def entity(m: re.Match[str]) -> str:
        nonlocal matters
        decoded, useful = _decode_entities(m.group())
        matters = matters or useful
        return decoded

    if "\\u" in text:
        decoded = _JSON_ESCAPES.sub(lambda m: _decode_json(m.group()), text)
        matters = matters or decoded != text
        text = decoded
    if "&" in text:
        text = _ENTITIES.sub(entity, text)
    if "%" in text:
        decoded = _PERCENT.sub(lambda m: _decode_percent(m.group()), text)
        matters = matters or decoded != text
        text = decoded
    return text, matters


def _views(chunk: str) -> list[str]:
    """The chunk as written, with escapes decoded, and with markup removed (inline tags such as
    ``<b>`` or an XLSX ``<r><t>`` run vanish; other tags become a space). Line ends are kept in
    every view, so line numbers hold."""
    views = [chunk]
    decoded, matters = _unescape(chunk)
    if matters:
        views.append(decoded)
    if "<" in chunk:
        runs_removed = _RUN_PROPERTIES.sub("", chunk) if "rPr" in chunk else chunk
        bare, _ = _unescape(_TAG.sub(" ", _INLINE_TAG.sub("", runs_removed)))
        if bare not in views:
            views.append(bare)
    return views


# What :func:`_unescape` decodes starts with one of these (a JSON escape, a character
# reference, a percent escape), and a tag with "<"; neither crosses a line end, but for an inline
# tag whose name a line end follows (``<b\n>``), which is looked for.
_ESCAPE = r"\\u[0-9A-Fa-f]{4}|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});|%[0-9A-Fa-f]{2}"
_ANY_ESCAPE = re.compile(_ESCAPE)
_ANY_MARKUP = re.compile("<|" + _ESCAPE)
_TAG_NAME_AT_LINE_END = re.compile(r"</?(?:[A-Za-z]+:)?[A-Za-z]+\n")


def _marked_lines(chunk: str, starts: str, marks: re.Pattern[str]) -> tuple[str, list[int]]:
    """The lines of ``chunk`` with a match of ``marks`` (which starts with one of the characters
    ``starts``), joined, and the index of each. The candidates are found with ``str.find``: a
    regular expression's search walks a text of Chinese characters several times slower."""
    parts: list[str] = []
    numbers: list[int] = []
    line = counted = 0
    match, find = marks.match, chunk.find
    ahead = [find(c) for c in starts]  # the next occurrence of each start character
    while True:
        at = min((p for p in ahead if p >= 0), default=-1)
        if at < 0:
            break
        if match(chunk, at) is None:
            i = starts.index(chunk[at])
            ahead[i] = find(starts[i], at + 1)
            continue
        start = chunk.rfind("\n", 0, at) + 1
        end = find("\n", at)
        if end < 0:
            end = len(chunk)
        line += chunk.count("\n", counted, start)
        counted = start
        parts.append(chunk[start:end])
        numbers.append(line)
        ahead = [
            p if p < 0 or p >= end else find(c, end) for p, c in zip(ahead, starts, strict=True)
        ]
    return "\n".join(parts), numbers


def _line_views(chunk: str) -> list[tuple[str, list[int] | None]]:
    """:func:`_views` of a chunk of whole lines, each view with the chunk's index of each of its
    lines (None: all of them, in order).

    A derived view may leave out a line that reads there as in the chunk: no match crosses a line
    end, and every detector decides from the line alone (the characters around it being line
    ends, or the text's edge, in every view), so such a line could only give again what the chunk
    gives on that line. The decoded view keeps only the lines with an escape; the bare view, when
    tags are few, only the lines with a tag or an escape (all of it when an inline tag may span a
    line end, as the bare view then has fewer lines; when tags are on most lines, gathering the
    lines would cost more than it saves)."""
    views: list[tuple[str, list[int] | None]] = [(chunk, None)]
    numbers: list[int] | None  # the chunk's index of each line of a view; None: all, in order
    if "\\u" in chunk or "&" in chunk or "%" in chunk:
        lines, numbers = _marked_lines(chunk, "\\&%", _ANY_ESCAPE)
        decoded, matters = _unescape(lines)
        if matters:
            views.append((decoded, numbers))
    if "<" in chunk:
        source, numbers = chunk, None
        if "rPr" in chunk:
            source = _RUN_PROPERTIES.sub("", chunk)
        elif chunk.count("<") * 8 < chunk.count("\n") and not _TAG_NAME_AT_LINE_END.search(chunk):
            source, numbers = _marked_lines(chunk, "<\\&%", _ANY_MARKUP)
        bare, _ = _unescape(_TAG.sub(" ", _INLINE_TAG.sub("", source)))
        if bare != (chunk if numbers is None else source):
            views.append((bare, numbers))
    return views
