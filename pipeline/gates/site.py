"""The site gate: the built site has the home page, the required pages and one guide page per
published item, and no internal link anywhere points at nothing."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote

from pipeline.errors import ExportBroken, GateRefused
from pipeline.validate.catalogue import Catalogue

logger = logging.getLogger(__name__)

HREF = re.compile(r'(?:href|src)="(/[^"#?]*)')


def broken_links(site: Path) -> list[tuple[str, str]]:
    """Every root-relative link or source in every HTML page that points at nothing."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        for href in sorted(set(HREF.findall(page.read_text("utf-8")))):
            target = site / unquote(href).lstrip("/")
            if not (target.is_file() or (target / "index.html").is_file()):
                broken.append((page.relative_to(site).as_posix(), href))
    return broken


REQUIRED_PAGES = ("index.html", "az.html", "departments/index.html", "quality.html")
MESSAGE_BUDGET = 3000
"""Characters of the refusal's list of broken links (``logs/runs.jsonl`` keeps 4,000 of a
message); every broken link is in the build's log as well, up to ``MAX_LOGGED``."""
PAGES_SHOWN = 3
MAX_LOGGED = 1000


def by_target(broken: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Link target → the pages linking to it; the targets most linked to first."""
    pages: dict[str, list[str]] = {}
    for page, href in broken:
        pages.setdefault(href, []).append(page)
    return dict(sorted(pages.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def target_line(href: str, pages: list[str]) -> str:
    shown = "、".join(pages[:PAGES_SHOWN])
    more = f" 等 {len(pages)} 个页面" if len(pages) > PAGES_SHOWN else ""
    return f"{href} 不存在，{len(pages)} 个页面链接到它：{shown}{more}"


def broken_links_text(broken: list[tuple[str, str]]) -> list[str]:
    """One line per missing target with the pages that link to it, within ``MESSAGE_BUDGET``
    characters; then how many targets and links are not listed."""
    targets, used = by_target(broken), 0
    lines: list[str] = []
    for href, pages in targets.items():
        line = target_line(href, pages)
        if used + len(line) > MESSAGE_BUDGET and lines:
            break
        lines.append(line)
        used += len(line) + 3  # and "\n  " before it
    rest = list(targets.values())[len(lines) :]
    if rest:
        lines.append(
            f"……另有 {len(rest)} 个失效目标（{sum(map(len, rest))} 个链接）未列出，"
            "构建日志中逐条记录（event=broken_link）"
        )
    return lines


def log_broken_links(broken: list[tuple[str, str]]) -> None:
    for page, href in broken[:MAX_LOGGED]:
        logger.warning("event=broken_link page=%s href=%s", page, href)
    if len(broken) > MAX_LOGGED:
        logger.warning("event=broken_links_not_logged count=%d", len(broken) - MAX_LOGGED)


def site_smoke_check(site: Path, item_codes: list[str]) -> None:
    """The required pages exist and no link points at nothing. A refusal names every missing
    page, and each missing link target with the pages that link to it."""
    missing = [p for p in REQUIRED_PAGES if not (site / p).is_file()]
    missing += [
        f"items/{c}.html" for c in item_codes[:1] if not (site / f"items/{c}.html").is_file()
    ]
    broken = broken_links(site)
    if missing or broken:
        log_broken_links(broken)
        pages = len({page for page, _ in broken})
        targets = len({href for _, href in broken})
        links = f"，{len(broken)} 个站内链接失效（{targets} 个目标，在 {pages} 个页面中）"
        shown = [f"缺少 {m}" for m in missing] + broken_links_text(broken)
        raise GateRefused(
            f"站点检查未通过（{len(missing)} 个必需页面缺失{links if broken else ''}），"
            "拒绝发布：\n  " + "\n  ".join(shown)
        )


def check_site(site: Path, catalogue: Catalogue) -> int:
    """The built site has the home page and one guide page per published item."""
    pages = len(list((site / "items").glob("*.html")))
    if not (site / "index.html").is_file() or pages != len(catalogue.items):
        raise ExportBroken(f"站点检查失败：事项页面 {pages} 个，应为 {len(catalogue.items)} 个")
    return pages
