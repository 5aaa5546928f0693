"""The shrink guard: a release that lost more than a set share of its items, departments or
accumulated cases against the live one is refused (an upstream fault looks like this far more
often than a real abolition of a tenth of the catalogue). ``--allow-shrink`` lets one run through,
logged and kept in the build report."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.config import DEFAULTS
from pipeline.errors import GateRefused

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateSettings:
    """The shrink guard's thresholds; made from the settings by ``pipeline.cli``."""

    shrink_items: float = DEFAULTS["shrink_items"]
    shrink_departments: float = DEFAULTS["shrink_departments"]
    shrink_cases: float = DEFAULTS["shrink_cases"]
    allow_shrink: bool = False


def _kept(release: Path) -> dict[str, int]:
    manifest = release / "data" / "manifest.json"
    return json.loads(manifest.read_text("utf-8")).get("kept", {}) if manifest.is_file() else {}


def _stored_cases(release: Path) -> int:
    store = release / "state" / "cases.parquet"
    if not store.is_file():
        return 0
    return int(
        duckdb.connect()
        .execute("SELECT count(*) FROM read_parquet(?)", [str(store)])
        .fetchall()[0][0]
    )


def shrink_guard(live: Path | None, staging: Path, settings: GateSettings) -> list[str]:
    """Refuse when the release shrank past a threshold against the live one. With
    ``allow_shrink`` the findings are logged and returned instead."""
    if live is None:
        return []
    before, after = _kept(live), _kept(staging)
    pairs = {
        "items": (before.get("items", 0), after.get("items", 0), settings.shrink_items),
        "departments": (
            before.get("departments", 0),
            after.get("departments", 0),
            settings.shrink_departments,
        ),
        "cases": (_stored_cases(live), _stored_cases(staging), settings.shrink_cases),
    }
    findings = [
        f"{name}：{old} → {new}（减少 {1 - new / old:.0%}，上限 {limit:.0%}）"
        for name, (old, new, limit) in pairs.items()
        if old and (old - new) / old > limit
    ]
    if findings and not settings.allow_shrink:
        raise GateRefused(
            "数据量比线上版本大幅减少，拒绝发布（确认无误时可加 --allow-shrink）：\n  "
            + "\n  ".join(findings)
        )
    for finding in findings:
        logger.warning("gate=shrink overridden=--allow-shrink %s", finding)
    return findings
