"""Links to items from the pages and feeds that name items of earlier releases (the change pages,
the feeds). The change history keeps every release's events, so it names items that this
release does not have: removed from the export, or dropped because their record was invalid. A
link to such an item would point at nothing (and the site check would refuse every later night),
so the decision is made here, once: an item of this release gets its link, any other is named as
text marked 本次发布未包含.

Why not a link to the last release that had the item: only ``current/site`` is served (nginx's
root; ``/releases/`` answers 404) and older releases are pruned, so their pages are not
reachable. The release's ``/data/releases/<date>/`` archives are, but they are data, not the
item's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

NOT_IN_RELEASE = "本次发布未包含"
INVALID_REASON = "导出中的记录未通过校验"
PAGES = {"guide": "/items/{code}.html", "history": "/changes/items/{code}.html"}
"""The pages of an item: its guide and its change history (both written for every item of the
release, abolished ones included)."""


@dataclass(frozen=True)
class ItemLinks:
    """The items of this release (``codes``) and the base of their URLs (``SITEURL`` in pages,
    the site's absolute base URL in feeds). ``invalid``: the codes whose record this release's
    export had but the validation refused (named as such beside the marker)."""

    codes: frozenset[str]
    base: str = ""
    invalid: frozenset[str] = frozenset()

    def href(self, code: str, page: str = "guide") -> str | None:
        """The URL of the item's ``page`` ("guide" or "history"), or None when the item is not
        in this release. Every link to an item from the change history goes through here."""
        if code not in self.codes:
            return None
        return self.base + PAGES[page].format(code=code)

    def marker(self, code: str) -> str:
        return f"{NOT_IN_RELEASE}：{INVALID_REASON}" if code in self.invalid else NOT_IN_RELEASE

    def link(self, code: str, text: str, page: str = "guide") -> Markup:
        """``<a href>text</a>``, or the text marked 本次发布未包含 (escaped either way)."""
        href = self.href(code, page)
        if href is None:
            return Markup(
                '<strong>{}</strong> <span class="meta not-in-release">（{}）</span>'
            ).format(text, self.marker(code))
        return Markup('<a href="{}">{}</a>').format(href, text)


def invalid_item_codes(quality: dict[str, Any] | None) -> frozenset[str]:
    """The items the validation refused in this release's export (from ``quality.json``)."""
    problems = ((quality or {}).get("report") or {}).get("problems", [])
    return frozenset(
        p["record_id"] for p in problems if p["entity"] == "items" and p["severity"] == "error"
    )
