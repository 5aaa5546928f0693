"""Publish: a folder per release and an atomic swap of the ``current`` symlink.

``DIR/releases/<id>/`` holds ``data/`` (release data), ``site/`` (the built site) and
``report.json``; ``DIR/current`` points at the live release. A run that fails leaves
``current`` as it was: its staging folder is removed and nothing else is touched.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"


def new_staging(site_dir: Path) -> Path:
    releases = site_dir / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    staging = releases / f"{STAGING_PREFIX}{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def release_id_for(site_dir: Path, base: str) -> str:
    """``base``, or ``base.2``, ``base.3`` … when a release of the same export exists."""
    releases, candidate, n = site_dir / "releases", base, 2
    while (releases / candidate).exists():
        candidate, n = f"{base}.{n}", n + 1
    return candidate


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_current(site_dir: Path, release_id: str) -> None:
    """Point ``current`` at ``releases/<release_id>`` atomically (rename over the old link).
    If that fails (a full disk), ``current`` is as it was and no temporary link is left."""
    temporary = site_dir / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    try:
        os.symlink(f"releases/{release_id}", temporary)
        os.replace(temporary, site_dir / "current")
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(site_dir)


def publish(staging: Path, site_dir: Path, base_id: str) -> str:
    """Move the staged release to ``releases/<id>`` and swap ``current`` to it. If the swap
    fails, the folder goes back to ``staging`` (which the caller discards): no release that
    was never live is left looking complete."""
    release_id = release_id_for(site_dir, base_id)
    final = site_dir / "releases" / release_id
    os.rename(staging, final)
    try:
        _fsync_dir(final.parent)
        swap_current(site_dir, release_id)
    except BaseException:
        if live_id(site_dir) != release_id:
            os.rename(final, staging)
        raise
    return release_id


def live_release(site_dir: Path) -> Path | None:
    """The live release folder (``current`` resolved), or None before the first publish."""
    current = site_dir / "current"
    return current.resolve() if current.is_symlink() else None


def live_site(site_dir: Path) -> Path:
    """The folder to serve: ``DIR/current/site`` for a release tree, else ``DIR`` itself."""
    current = site_dir / "current" / "site"
    return current if current.is_dir() else site_dir


# ------------------------------------------------------------------ unchanged files


def _same_file(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as left, b.open("rb") as right:
        while True:
            chunk = left.read(1 << 20)
            if chunk != right.read(1 << 20):
                return False
            if not chunk:
                return True


def link_unchanged(staging: Path, live: Path | None) -> int:
    """Replace each staged file identical to the live release's file at the same path by a hard
    link to it, so a nightly release costs the disk only what changed. A staged file is always a
    new file (written fresh), so no write ever goes through a link into an older release."""
    if live is None:
        return 0
    linked = 0
    for path in sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink()):
        previous = live / path.relative_to(staging)
        if previous.is_file() and not previous.is_symlink() and _same_file(path, previous):
            temporary = path.with_name(f".link-{path.name}")
            os.link(previous, temporary)
            os.replace(temporary, path)
            linked += 1
    return linked


# ------------------------------------------------------------------ listing, pruning, rollback

RELEASE_DONE = "report.json"


def release_ids(site_dir: Path) -> list[str]:
    """Published releases, oldest first (ids start with the export's timestamp)."""
    folder = site_dir / "releases"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def live_id(site_dir: Path) -> str | None:
    live = live_release(site_dir)
    return live.name if live else None


def prune(site_dir: Path, keep: int) -> list[str]:
    """Remove the oldest releases beyond ``keep``, never the live one; stale staging folders of
    dead builds go too. Called only after a successful publish, under the build lock."""
    ids, current = release_ids(site_dir), live_id(site_dir)
    doomed = [i for i in ids[: max(0, len(ids) - keep)] if i != current]
    for release_id in doomed:
        shutil.rmtree(site_dir / "releases" / release_id)
    discard_dead_stagings(site_dir)
    return doomed


def discard_dead_stagings(site_dir: Path) -> list[str]:
    """Remove the staging folders of builds that died (SIGKILL, OOM, power cut) and return
    their names. Called under the build lock, so every staging folder but this process's is
    dead, whatever ``kill -0`` says of its pid (reused, or a zombie not yet reaped). A build
    calls it before it starts, so a dead build's files never fill the disk it needs."""
    folder, own = site_dir / "releases", f"{STAGING_PREFIX}{os.getpid()}"
    if not folder.is_dir():
        return []
    dead = sorted(p for p in folder.glob(f"{STAGING_PREFIX}*") if p.name != own)
    for staging in dead:
        logger.warning("event=dead_staging_removed folder=%s", staging.name)
        shutil.rmtree(staging, ignore_errors=True)
    return [p.name for p in dead]


@dataclass(frozen=True)
class ReleaseInfo:
    release_id: str
    live: bool
    status: str
    summary: str


def _summary(release: Path) -> str:
    manifest = release / "data" / "manifest.json"
    if not manifest.is_file():
        return ""
    data = json.loads(manifest.read_text("utf-8"))
    kept = data.get("kept", {})
    return f"导出 {data.get('exported_at', '')}，事项 {kept.get('items', 0)}，部门 {kept.get('departments', 0)}，办件 {kept.get('cases', 0)}"


def list_releases(site_dir: Path) -> list[ReleaseInfo]:
    current = live_id(site_dir)
    out = []
    for release_id in release_ids(site_dir):
        folder = site_dir / "releases" / release_id
        status = (
            "线上"
            if release_id == current
            else ("完整" if (folder / RELEASE_DONE).is_file() else "不完整")
        )
        out.append(ReleaseInfo(release_id, release_id == current, status, _summary(folder)))
    return out


def rollback(site_dir: Path, to: str | None = None) -> str:
    """Point ``current`` at ``to`` (or at the release before the live one)."""
    ids, current = release_ids(site_dir), live_id(site_dir)
    complete = [i for i in ids if (site_dir / "releases" / i / RELEASE_DONE).is_file()]
    if to is None:
        earlier = [i for i in complete if current is None or i < current]
        if not earlier:
            raise ConfigurationError("没有更早的完整版本可以回滚")
        to = earlier[-1]
    if to not in complete:
        raise ConfigurationError(f"没有名为 {to} 的完整版本（可用：{', '.join(complete) or '无'}）")
    swap_current(site_dir, to)
    return to
