"""The site gate: the built site has the home page, the required pages and one guide page per
published item, and no internal link anywhere points at nothing."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from pipeline.errors import ExportBroken, GateRefused
from pipeline.validate.catalogue import Catalogue

HREF = re.compile(r'(?:href|src)="(/[^"#?]*)')


def broken_links(site: Path) -> list[tuple[str, str]]:
    """Every root-relative link or source in every HTML page that points at nothing."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        for href in set(HREF.findall(page.read_text("utf-8"))):
            target = site / unquote(href).lstrip("/")
            if not (target.is_file() or (target / "index.html").is_file()):
                broken.append((page.relative_to(site).as_posix(), href))
    return broken


REQUIRED_PAGES = ("index.html", "az.html", "departments/index.html", "quality.html")


def site_smoke_check(site: Path, item_codes: list[str]) -> None:
    missing = [p for p in REQUIRED_PAGES if not (site / p).is_file()]
    missing += [
        f"items/{c}.html" for c in item_codes[:1] if not (site / f"items/{c}.html").is_file()
    ]
    broken = broken_links(site)
    if missing or broken:
        shown = [f"缺少 {m}" for m in missing] + [f"{page} → {href}" for page, href in broken[:20]]
        raise GateRefused(
            f"站点检查未通过（{len(missing)} 个必需页面缺失，{len(broken)} 个站内链接失效），拒绝发布：\n  "
            + "\n  ".join(shown)
        )


def check_site(site: Path, catalogue: Catalogue) -> int:
    """The built site has the home page and one guide page per published item."""
    pages = len(list((site / "items").glob("*.html")))
    if not (site / "index.html").is_file() or pages != len(catalogue.items):
        raise ExportBroken(f"站点检查失败：事项页面 {pages} 个，应为 {len(catalogue.items)} 个")
    return pages
