"""Publish: a folder per release and an atomic swap of the ``current`` symlink.

``DIR/releases/<id>/`` holds ``data/`` (release data), ``site/`` (the built site) and
``report.json``; ``DIR/current`` points at the live release. A run that fails leaves
``current`` as it was: its staging folder is removed and nothing else is touched.

Release ids are ``r<n>-<exported_at>-<export_id>``: ``n`` counts every release this site ever
published (``DIR/.release-sequence``), so an id is never given twice, not even after its release
was pruned, and ids order the releases by publication. Folders named the old way
(``<exported_at>-<export_id>[.2]``) still list, roll back and prune: they come before every
new one, in the order their ``report.json`` was written (their names were reused after
pruning, so the names do not order them). The id is the folder's name only: no page holds it.

``report.json`` marks a release that went live. It is written as ``report.json.publishing``
and renamed after the swap, so a build killed between moving its folder in and the swap leaves
a release that says so (listed as 未上线, never a rollback target, removed by the next publish).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from blinker import Signal

from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"
RELEASE_DONE = "report.json"
PUBLISHING = "report.json.publishing"
SEQUENCE_FILE = ".release-sequence"
NEW_STYLE = re.compile(r"r(\d+)-")


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


# ------------------------------------------------------------------ release ids


def sequence_of(release_id: str) -> int | None:
    """The publication number of a new-style id (``r000012-…`` → 12); None for an old one."""
    match = NEW_STYLE.match(release_id)
    return int(match.group(1)) if match else None


def _last_sequence(site_dir: Path) -> int:
    """The highest number ever given: the counter file, or a folder's id if higher (the file
    may be lost in a restore; the folders may have been pruned)."""
    try:
        counted = int((site_dir / SEQUENCE_FILE).read_text("ascii").strip() or 0)
    except (OSError, ValueError):
        counted = 0
    releases = site_dir / "releases"
    found = [sequence_of(p.name) or 0 for p in releases.iterdir()] if releases.is_dir() else []
    return max([counted, *found])


def next_release_id(site_dir: Path, base: str) -> str:
    """``r<n>-<base>`` with ``n`` one more than any number given before on this site; the
    counter (``DIR/.release-sequence``, beside the releases so that they stay byte-identical)
    is written atomically before the id is used. Called under the build lock."""
    number = _last_sequence(site_dir) + 1
    temporary = site_dir / f"{SEQUENCE_FILE}-{os.getpid()}"
    try:
        temporary.write_text(f"{number}\n", encoding="ascii")
        os.replace(temporary, site_dir / SEQUENCE_FILE)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return f"r{number:06d}-{base}"


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


publish_point = Signal(
    doc="Sent inside ``publish`` with the point's name as sender: ``swap_current`` (the release "
    "folder is in place, not yet live) and ``mark_published`` (live, its ``report.json`` not yet "
    "named). Nothing in the pipeline listens; the fault tests do (``tests/hooks/``)."
)


def publish(staging: Path, site_dir: Path, base_id: str) -> str:
    """Move the staged release to ``releases/<id>`` and swap ``current`` to it; then its
    ``report.json`` gets its name. If the swap fails, the folder goes back to ``staging``
    (which the caller discards). A build killed before the swap leaves a folder without
    ``report.json``: never live, and listed so (:func:`list_releases`)."""
    release_id = next_release_id(site_dir, base_id)
    final = site_dir / "releases" / release_id
    if (staging / RELEASE_DONE).is_file():
        os.replace(staging / RELEASE_DONE, staging / PUBLISHING)
    os.rename(staging, final)
    try:
        _fsync_dir(final.parent)
        publish_point.send("swap_current")
        swap_current(site_dir, release_id)
    except BaseException:
        if live_id(site_dir) != release_id:
            os.rename(final, staging)
        raise
    publish_point.send("mark_published")
    _mark_published(final)
    return release_id


def _mark_published(release: Path) -> bool:
    """``report.json.publishing`` → ``report.json`` (the release has been live)."""
    try:
        os.replace(release / PUBLISHING, release / RELEASE_DONE)
    except FileNotFoundError:
        return False
    _fsync_dir(release)
    return True


def live_release(site_dir: Path) -> Path | None:
    """The live release folder (``current`` resolved), or None before the first publish."""
    current = site_dir / "current"
    return current.resolve() if current.is_symlink() else None


def live_site(site_dir: Path) -> Path | None:
    """The live release's site folder (``DIR/current/site``, resolved), or None while there is
    none (before the first publish). Never ``DIR`` itself: it holds the case store
    (``releases/<id>/state/``), the logs and the lock."""
    current = site_dir / "current" / "site"
    return current.resolve() if current.is_dir() else None


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


LINK_PREFIX = ".link-"


def link_unchanged(staging: Path, live: Path | None) -> int:
    """Replace each staged file identical to the live release's file at the same path by a hard
    link to it, so a nightly release costs the disk only what changed. A staged file is always a
    new file (written fresh) or a link made by a writer that shares an older release's file (the
    dated data archives), so no write ever goes through a link into an older release.

    A staged file that already is the live file (the same inode) counts as linked: renaming a
    link over another link to the same file does nothing (POSIX), which once left the
    temporary ``.link-<name>`` beside it, published, copied on with the archives, and in the way
    of the next night's link. Such leftovers are removed here (no name of ours starts so)."""
    if live is None:
        return 0
    linked = 0
    for path in sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.name.startswith(LINK_PREFIX):
            path.unlink()
            continue
        previous = live / path.relative_to(staging)
        if not previous.is_file() or previous.is_symlink():
            continue
        if os.path.samestat(path.stat(), previous.stat()):
            linked += 1
        elif _same_file(path, previous):
            temporary = path.with_name(f"{LINK_PREFIX}{path.name}")
            temporary.unlink(missing_ok=True)
            os.link(previous, temporary)
            os.replace(temporary, path)
            linked += 1
    return linked


# ------------------------------------------------------------------ listing, pruning, rollback


def _order(folder: Path) -> tuple[int, int, str]:
    """Publication order: new-style ids by their number, after every old-style folder; those
    by the time their ``report.json`` (else the folder) was last written."""
    number = sequence_of(folder.name)
    if number is not None:
        return (1, number, folder.name)
    done = folder / RELEASE_DONE
    return (0, (done if done.is_file() else folder).stat().st_mtime_ns, folder.name)


def release_ids(site_dir: Path) -> list[str]:
    """Every release folder (published or not), oldest publication first."""
    folder = site_dir / "releases"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return [p.name for p in sorted(found, key=_order)]


def live_id(site_dir: Path) -> str | None:
    live = live_release(site_dir)
    return live.name if live else None


def is_complete(site_dir: Path, release_id: str) -> bool:
    """A release that went live: it has its ``report.json``."""
    return (site_dir / "releases" / release_id / RELEASE_DONE).is_file()


def prune(site_dir: Path, keep: int) -> list[str]:
    """Keep the live release and the newest ``keep`` complete ones; remove the other complete
    releases and every folder that never went live (a build killed before its swap), and
    return the ids removed. Stale staging folders of dead builds go too. Called only after a
    successful publish, under the build lock (so no other build is between its move and its
    swap, and ``approvals rollback``, which takes the lock too, waits).

    ``current`` is read again before each folder is removed: a release it points to by then
    (moved by hand while the prune ran) is kept, never deleted under the live site."""
    ids, current = release_ids(site_dir), live_id(site_dir)
    complete = [i for i in ids if is_complete(site_dir, i)]
    kept = set(complete[max(0, len(complete) - keep) :] if keep > 0 else []) | {current}
    removed = []
    for release_id in (i for i in ids if i not in kept):
        if release_id == live_id(site_dir):
            logger.warning("event=prune_skipped_live release=%s", release_id)
            continue
        if not is_complete(site_dir, release_id):
            logger.warning("event=unpublished_release_removed release=%s", release_id)
        shutil.rmtree(site_dir / "releases" / release_id)
        removed.append(release_id)
    discard_dead_stagings(site_dir)
    return removed


def discard_dead_stagings(site_dir: Path) -> list[str]:
    """Clear what dead builds (SIGKILL, OOM, power cut) left, and return the staging folders
    removed. Called under the build lock, so every staging folder but this process's is
    dead, whatever ``kill -0`` says of its pid (reused, or a zombie not yet reaped). A build
    calls it before it starts, so a dead build's files never fill the disk it needs. A build
    killed after its swap left the live release without its ``report.json``: it is given it."""
    folder, own = site_dir / "releases", f"{STAGING_PREFIX}{os.getpid()}"
    if not folder.is_dir():
        return []
    live = live_release(site_dir)
    if live is not None and _mark_published(live):
        logger.warning("event=interrupted_publish_completed release=%s", live.name)
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


STATUS_LIVE = "线上"
STATUS_COMPLETE = "完整"
STATUS_UNPUBLISHED = "未上线（构建在切换前中断，下次发布后清理）"
STATUS_INCOMPLETE = "不完整"


def release_status(site_dir: Path, release_id: str, current: str | None) -> str:
    folder = site_dir / "releases" / release_id
    if release_id == current:
        return STATUS_LIVE
    if (folder / RELEASE_DONE).is_file():
        return STATUS_COMPLETE
    return STATUS_UNPUBLISHED if (folder / PUBLISHING).is_file() else STATUS_INCOMPLETE


def list_releases(site_dir: Path) -> list[ReleaseInfo]:
    """Every release folder in publication order, oldest first, with what it is."""
    current = live_id(site_dir)
    return [
        ReleaseInfo(
            release_id,
            release_id == current,
            release_status(site_dir, release_id, current),
            _summary(site_dir / "releases" / release_id),
        )
        for release_id in release_ids(site_dir)
    ]


def rollback(site_dir: Path, to: str | None = None) -> str:
    """Point ``current`` at ``to`` (or at the newest complete release published before the
    live one). Only complete releases (that went live before) can be chosen."""
    ids, current = release_ids(site_dir), live_id(site_dir)
    complete = [i for i in ids if is_complete(site_dir, i)]
    if to is None:
        before = ids[: ids.index(current)] if current in ids else ids
        earlier = [i for i in before if i in complete]
        if not earlier:
            raise ConfigurationError("没有更早的完整版本可以回滚")
        to = earlier[-1]
    if to not in complete:
        why = (
            f"版本 {to} {release_status(site_dir, to, current)}"
            if to in ids
            else f"没有名为 {to} 的版本"
        )
        raise ConfigurationError(
            f"不能回滚到 {to}：{why}（可回滚的完整版本：{', '.join(complete) or '无'}）"
        )
    swap_current(site_dir, to)
    return to
