"""Release gates: each refuses to publish with a clear message, and nothing changes live.

Gates run on the staged release, after it is fully built: the shrink guard against the live
release, the anonymised records' two rules (checked again, by SQL independent of the code that
enforced them), and a smoke check of the built site (the pages that must exist, and no broken
internal link anywhere). The manifest, invalid-share and privacy gates run where their data is.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb

from pipeline.config import DEFAULTS
from pipeline.errors import GateRefused

logger = logging.getLogger(__name__)

HREF = re.compile(r'(?:href|src)="(/[^"#?]*)')


@dataclass(frozen=True)
class GateSettings:
    shrink_items: float = DEFAULTS["shrink_items"]
    shrink_departments: float = DEFAULTS["shrink_departments"]
    shrink_cases: float = DEFAULTS["shrink_cases"]
    allow_shrink: bool = False


def gate_settings(values: dict[str, Any], allow_shrink: bool) -> GateSettings:
    return GateSettings(float(values["shrink_items"]), float(values["shrink_departments"]),
                        float(values["shrink_cases"]), allow_shrink)


def _kept(release: Path) -> dict[str, int]:
    manifest = release / "data" / "manifest.json"
    return json.loads(manifest.read_text("utf-8")).get("kept", {}) if manifest.is_file() else {}


def _stored_cases(release: Path) -> int:
    store = release / "state" / "cases.parquet"
    if not store.is_file():
        return 0
    return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{store}')").fetchone()[0]


def shrink_guard(live: Path | None, staging: Path, settings: GateSettings) -> list[str]:
    """Refuse when the release shrank past a threshold against the live one. With
    ``allow_shrink`` the findings are logged and returned instead."""
    if live is None:
        return []
    before, after = _kept(live), _kept(staging)
    pairs = {"items": (before.get("items", 0), after.get("items", 0), settings.shrink_items),
             "departments": (before.get("departments", 0), after.get("departments", 0), settings.shrink_departments),
             "cases": (_stored_cases(live), _stored_cases(staging), settings.shrink_cases)}
    findings = [f"{name}：{old} → {new}（减少 {1 - new / old:.0%}，上限 {limit:.0%}）"
                for name, (old, new, limit) in pairs.items() if old and (old - new) / old > limit]
    if findings and not settings.allow_shrink:
        raise GateRefused("数据量比线上版本大幅减少，拒绝发布（确认无误时可加 --allow-shrink）：\n  " + "\n  ".join(findings))
    for finding in findings:
        logger.warning("gate=shrink overridden=--allow-shrink %s", finding)
    return findings


def anonymity_gate(staging: Path, k: int) -> None:
    """The published case records meet both rules, or nothing is published."""
    table = staging / "data" / "cases" / "anonymised_cases.parquet"
    if not table.is_file():
        return
    quasi = "impl_code, department_code, applicant_type, channel, street_code, submitted_month, closed_month"
    con = duckdb.connect()
    small = con.execute(f"""SELECT count(*) FROM (SELECT count(*) AS n FROM read_parquet('{table}')
        GROUP BY {quasi}, result) WHERE n < {int(k)}""").fetchone()[0]
    adverse = con.execute(f"""SELECT count(*) FROM (SELECT bool_and(result IN ('denied', 'not_accepted', 'withdrawn')) AS a
        FROM read_parquet('{table}') GROUP BY {quasi}) WHERE a""").fetchone()[0]
    if small or adverse:
        raise GateRefused(f"匿名化办件记录未通过检查：{small} 个组合少于 k={k} 条，{adverse} 个组合全部为不利结果；拒绝发布")


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
    missing += [f"items/{c}.html" for c in item_codes[:1] if not (site / f"items/{c}.html").is_file()]
    broken = broken_links(site)
    if missing or broken:
        shown = [f"缺少 {m}" for m in missing] + [f"{page} → {href}" for page, href in broken[:20]]
        raise GateRefused(f"站点检查未通过（{len(missing)} 个必需页面缺失，{len(broken)} 个站内链接失效），拒绝发布：\n  " + "\n  ".join(shown))
