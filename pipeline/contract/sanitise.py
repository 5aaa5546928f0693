"""Untrusted upstream text → what may reach a page or a dataset.

Rich text (the upstream editor's HTML, often pasted from Word) goes through nh3, an allow-list
sanitiser (Rust's ammonia), to a small semantic subset. We do not hand-write an HTML cleaner:
allow-list sanitising is easy to get subtly wrong and ammonia is fuzzed and maintained.
Plain text is stripped of control characters; templates autoescape it.
"""

from __future__ import annotations

import re

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

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_EMPTY_PARAGRAPH = re.compile(r"<p>(?:\s|&nbsp;|\xa0|<br>)*</p>")
_RUNS_OF_SPACES = re.compile(r"(?:&nbsp;|\xa0|[ \t])+")
_RENAMES = (("<b>", "<strong>"), ("</b>", "</strong>"), ("<i>", "<em>"), ("</i>", "</em>"))


def clean_text(value: str) -> str:
    """Plain text: no control characters (newlines and tabs stay), no HTML tags (a plain-text
    field carries none; a tag there is an editor's slip or an attack, and it would reach every
    dataset consumer that forgets to escape), trimmed. "<5 人" and "a < b" stay as they are."""
    return _TAG.sub("", _CONTROL.sub("", value)).strip()


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
    for old, new in _RENAMES:
        html = html.replace(old, new)
    html = _RUNS_OF_SPACES.sub(" ", html)
    html = _EMPTY_PARAGRAPH.sub("", html)
    return html.strip()


def rich_text_to_plain(html: str) -> str:
    """Text content of sanitised HTML, for search documents and completeness checks."""
    text = nh3.clean(html, tags=set())
    return re.sub(
        r"\s+",
        " ",
        text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " "),
    ).strip()
