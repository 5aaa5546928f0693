"""Dated releases: ``site/data/releases/<YYYY-MM-DD>/`` never changes once published, and
``site/data/latest`` links to the newest. Earlier dates are carried over from the live
release's site as hard links (no copy, no disk), so every dated release stays downloadable."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from pipeline.canonical_json import dump_json
from pipeline.datasets.metadata import ReleaseInfo

RELEASES_JSON = "releases.json"


def link_tree(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` made of hard links (a plain copy across devices)."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def link_latest(site: Path, version: str) -> None:
    """``data/latest`` → ``releases/<version>`` (a relative symbolic link): the stable URLs serve
    today's files, and the privacy gate, which follows a link once, reads them once."""
    latest = site / "data" / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(Path("releases") / version, target_is_directory=True)


def carry_earlier_releases(live_site: Path | None, site: Path, version: str) -> list[str]:
    """Hard-link the live site's dated folders, except today's (replaced by this release)."""
    folder = live_site / "data" / "releases" if live_site else None
    if folder is None or not folder.is_dir():
        return []
    carried = []
    for old in sorted(p for p in folder.iterdir() if p.is_dir() and p.name != version):
        link_tree(old, site / "data" / "releases" / old.name)
        carried.append(old.name)
    return carried


def release_entry(
    info: ReleaseInfo, rows: dict[str, int], changes: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "version": info.version,
        "exported_at": info.exported_at.isoformat(),
        "export_id": info.export_id,
        "path": f"/data/releases/{info.version}/",
        "tables": rows,
        "changes": {"id": changes["id"], "text": changes["text"], "summary": changes["summary"]}
        if changes
        else None,
    }


def releases_index(
    live_site: Path | None, entry: dict[str, Any], present: set[str]
) -> dict[str, Any]:
    """The live ``releases.json`` with this release added (replacing one of the same date);
    only releases whose folder exists are listed. Newest first."""
    path = live_site / "data" / RELEASES_JSON if live_site else None
    earlier = json.loads(path.read_text("utf-8"))["releases"] if path and path.is_file() else []
    kept = [r for r in earlier if r["version"] != entry["version"] and r["version"] in present]
    releases = sorted([entry, *kept], key=lambda r: r["version"], reverse=True)
    return {"latest": entry["version"], "releases": releases}


def write_releases_index(site: Path, index: dict[str, Any]) -> None:
    (site / "data" / RELEASES_JSON).write_text(dump_json(index), encoding="utf-8")
