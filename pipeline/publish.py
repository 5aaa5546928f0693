"""Publish: a folder per release and an atomic swap of the ``current`` symlink.

``DIR/releases/<id>/`` holds ``data/`` (release data), ``site/`` (the built site) and
``report.json``; ``DIR/current`` points at the live release. A run that fails leaves
``current`` as it was: its staging folder is removed and nothing else is touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    """Point ``current`` at ``releases/<release_id>`` atomically (rename over the old link)."""
    temporary = site_dir / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(f"releases/{release_id}", temporary)
    os.replace(temporary, site_dir / "current")
    _fsync_dir(site_dir)


def publish(staging: Path, site_dir: Path, base_id: str) -> str:
    release_id = release_id_for(site_dir, base_id)
    final = site_dir / "releases" / release_id
    os.rename(staging, final)
    _fsync_dir(final.parent)
    swap_current(site_dir, release_id)
    return release_id


def live_release(site_dir: Path) -> Path | None:
    """The live release folder (``current`` resolved), or None before the first publish."""
    current = site_dir / "current"
    return current.resolve() if current.is_symlink() else None


def live_site(site_dir: Path) -> Path:
    """The folder to serve: ``DIR/current/site`` for a release tree, else ``DIR`` itself."""
    current = site_dir / "current" / "site"
    return current if current.is_dir() else site_dir
