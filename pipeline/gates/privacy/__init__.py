"""The privacy gate: no personal identifier in any published file — the site, the open data
and the search folder. Any hit refuses the release (``PiiFound``, exit 3).

What it looks for and how (``scanner``): identity numbers, mobile numbers, credit codes of
individual businesses, bank-card numbers and e-mail addresses by pattern and check digit, and
every applicant's own values (names, numbers, addresses) verbatim, through the escapes, markup
and containers a file may hide them in.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pipeline.outcomes.run import OutcomesResult
from pipeline.release.layout import SEARCH_DIR, search_dir
from pipeline.validate.catalogue import Catalogue


def privacy_gate(
    staging: Path, catalogue: Catalogue, outcomes: OutcomesResult | None, live: Path | None = None
) -> None:
    """Scan every published file (site and data) for personal identifiers; any hit refuses.
    Files hard-linked from the live release (earlier dated datasets) were scanned when they were
    first published and are skipped."""
    from pipeline.gates.privacy.scanner import PiiScanner, published_files

    scanner = PiiScanner(
        outcomes.intake.personal_values if outcomes else set(), public_numbers(catalogue)
    )
    published = published_files(live)
    for part in ("site", "data"):
        scanner.check(staging / part, published)
    check_search_privacy(scanner, staging)


def public_numbers(catalogue: Catalogue) -> set[str]:
    """Numbers the site publishes on purpose: departments' and windows' phones, codes."""
    allowed = {"12345"}
    for department in catalogue.departments.values():
        allowed |= {department.code, *(filter(None, [department.phone]))}
    for item in catalogue.items.values():
        allowed |= set(item.consult.phones) | set(item.complaint.phones)
        if item.window and item.window.phone:
            allowed.add(item.window.phone)
    return allowed


WHOOSH_BINARY_SUFFIXES = {".pst", ".trm", ".col", ".seg", ".toc"}


def check_search_privacy(scanner: Any, release: Path) -> None:
    """The privacy gate over ``search/``: the documents the index is built from
    (``documents.json``), the related items and the index's manifest — but not Whoosh's binary
    segment files (``*.pst``, ``*.trm``, ``*.col``, ``*.seg``, ``*.toc``). Those hold nothing that
    is not in ``documents.json`` (terms, stored fields and lengths are functions of the documents),
    and read as text their compressed bytes "contain" e-mail addresses and phone numbers
    (``K@a.qoh``, ``157****8369``): at 5,000 items the gate refused every release on such noise.
    """
    folder = search_dir(release)
    if not folder.is_dir():
        return
    with tempfile.TemporaryDirectory(prefix="approvals-search-scan-") as view:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix not in WHOOSH_BINARY_SUFFIXES:
                link = Path(view) / SEARCH_DIR / path.relative_to(folder)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(path.resolve())
        scanner.check(Path(view))
