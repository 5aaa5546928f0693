"""Untrusted upstream text → what may reach a page or a dataset.

Rich text (the upstream editor's HTML, often pasted from Word) goes through nh3, an allow-list
sanitiser (Rust's ammonia), to a small semantic subset. We do not hand-write an HTML cleaner:
allow-list sanitising is easy to get subtly wrong and ammonia is fuzzed and maintained.
Plain text is stripped of control characters; templates autoescape it.

Both lose the invisible characters that reorder or hide text (bidi controls such as U+202E, which
shows "exe.txt" for "txt.exe", and zero-width characters, which make two names look alike), and
both are NFC-normalised, so one name is one string wherever it is compared, indexed or linked.
"""

from __future__ import annotations

import html as html_entities
import re
import unicodedata

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "b",
    "i",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
ALLOWED_URL_SCHEMES = {"http", "https"}
DROPPED_WITH_CONTENT = {
    "script",
    "style",
    "noscript",
    "iframe",
    "object",
    "embed",
    "template",
    "title",
    "xml",
    "svg",
    "math",
    "textarea",
    "select",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
INVISIBLE_CHARS = (
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi: ALM, LRM, RLM, embeddings, isolates
    "\u200b-\u200d\u2060-\u2064\ufeff"  # zero-width: ZWSP, ZWNJ, ZWJ, WJ, BOM …
    "\U000e0000-\U000e007f"  # tag characters: invisible ASCII ("ASCII smuggling")
    "\u3164\u115f\u1160\uffa0"  # Hangul fillers: blank-looking "names"
    "\u00ad\u034f"  # soft hyphen, combining grapheme joiner
    "\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180f"  # variation selectors, Mongolian FVS
)
"""Removed from every text, rich text included. The soft hyphen, the grapheme joiner and the
variation selectors hide or reorder nothing, but they make two strings that look alike differ:
a name, an alias or a search key with one is not found by what a user types, and rich text is
searched (and published as plain text in the datasets) too. Chinese text needs none of them (a
hyphenation point, a glyph variant, an emoji's colour presentation are all that is lost)."""
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_EMPTY_PARAGRAPH = re.compile(r"<p>(?:\s|&nbsp;|\xa0|<br>)*</p>")
_RUNS_OF_SPACES = re.compile(r"(?:&nbsp;|\xa0|[ \t])+")
_RENAMES = (("<b>", "<strong>"), ("</b>", "</strong>"), ("<i>", "<em>"), ("</i>", "</em>"))


def strip_invisible(value: str) -> str:
    """``value`` NFC-normalised, without bidi controls and zero-width characters (ASCII has
    neither; searching before substituting is 3× faster on the usual clean string)."""
    if value.isascii():
        return value
    value = unicodedata.normalize("NFC", value)
    return _INVISIBLE.sub("", value) if _INVISIBLE.search(value) else value


def needs_cleaning(value: str) -> str:
    """Why ``value`` loses or changes characters besides tags and controls: the invisible
    characters it carries (as ``U+202E``, also when written as HTML character references) and
    ``NFC`` when it is not normalised; empty when neither."""
    referenced = "&#" in value
    if value.isascii() and not referenced:
        return ""
    normalised = unicodedata.is_normalized("NFC", value)
    if normalised and not referenced and not _INVISIBLE.search(value):
        return ""
    found = _INVISIBLE.findall(value)
    if referenced:
        found += _INVISIBLE.findall(html_entities.unescape(value))
    notes = [f"U+{ord(c):04X}" for c in dict.fromkeys(found)]
    return " ".join(notes + ([] if normalised else ["NFC"]))


def clean_text(value: str) -> str:
    """Plain text: no control characters (newlines and tabs stay), no bidi or zero-width
    characters, no HTML tags (a plain-text field carries none; a tag there is an editor's slip or
    an attack, and it would reach every dataset consumer that forgets to escape), NFC, trimmed.
    "<5 人" and "a < b" stay as they are."""
    return clean_text_noting(value)[0]


def clean_text_noting(value: str) -> tuple[str, bool]:
    """:func:`clean_text`, and whether it removed invisible characters or normalised."""
    visible = strip_invisible(value)
    return _TAG.sub("", _CONTROL.sub("", visible)).strip(), visible != value


def sanitise_rich_text(value: str) -> str:
    """Return the allow-listed HTML subset of ``value``; empty paragraphs and Word's runs of
    ``&nbsp;`` collapse. Links keep only http(s) targets and get ``rel="noopener noreferrer
    nofollow"``."""
    html = nh3.clean(
        _CONTROL.sub("", value),
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    html = strip_invisible(html)  # after nh3, which turns &#x202E; into the character itself
    for old, new in _RENAMES:
        html = html.replace(old, new)
    html = _RUNS_OF_SPACES.sub(" ", html)
    html = _EMPTY_PARAGRAPH.sub("", html)
    return html.strip()


def rich_text_to_plain(html: str) -> str:
    """Text content of sanitised HTML, for search documents and completeness checks."""
    text = strip_invisible(nh3.clean(html, tags=set()))
    return re.sub(
        r"\s+",
        " ",
        text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " "),
    ).strip()
