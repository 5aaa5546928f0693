"""A rollback that lands while a build prunes deleted the live release (every page 404): the
build had chosen what to remove, the rollback pointed ``current`` at one of those, and the prune
went on. ``approvals rollback`` now takes the build lock (exit 8 while a build runs), and the
prune reads ``current`` again before it removes each release."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipeline.release.lock import build_lock
from pipeline.release.publish import live_id, prune, rollback, swap_current

ROOT = Path(__file__).resolve().parent.parent
BULK = 4000
"""Files in the first doomed release: its removal takes long enough for a rollback to land."""


def _release(site: Path, release_id: str, bulk: int = 0) -> Path:
    """A complete release folder (it went live: it has its report.json)."""
    folder = site / "releases" / release_id
    (folder / "site").mkdir(parents=True)
    (folder / "site" / "index.html").write_text(release_id, encoding="utf-8")
    if bulk:
        (folder / "bulk").mkdir()
        for n in range(bulk):
            (folder / "bulk" / f"{n}.html").write_bytes(b"x")
    (folder / "report.json").write_text("{}", encoding="utf-8")
    return folder


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    _release(site, "r000001-a", bulk=BULK)
    _release(site, "r000002-b")
    _release(site, "r000003-c")
    swap_current(site, "r000003-c")
    return site


def test_rollback_while_a_build_holds_the_lock_exits_8_naming_it(tmp_path):
    site = _site(tmp_path)
    with build_lock(site):  # this process is the running build
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "rollback", "--site", str(site)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert done.returncode == 8, done.stderr
    assert f"另一个构建正在进行（pid {os.getpid()}，开始于 " in done.stderr
    assert "现在不回滚" in done.stderr
    assert live_id(site) == "r000003-c"
    after = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "rollback", "--site", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert after.returncode == 0 and live_id(site) == "r000002-b", after.stderr


def test_prune_never_removes_the_release_current_points_to_when_it_gets_there(tmp_path):
    """The prune (keep 1) has chosen r1 and r2; while r1 is being removed ``current`` moves to
    r2 (a rollback without the lock, as before, or by hand). r2 stays, and so does the site."""
    site = _site(tmp_path)
    bulk = site / "releases" / "r000001-a" / "bulk"
    before = bulk.stat().st_mtime_ns
    moved = threading.Event()

    def roll_back_once_r1_goes() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if bulk.stat().st_mtime_ns != before:  # its first file was removed
                    break
            except FileNotFoundError:
                break
            time.sleep(0.0002)
        rollback(site, "r000002-b")
        moved.set()

    watcher = threading.Thread(target=roll_back_once_r1_goes)
    watcher.start()
    removed = prune(site, keep=1)
    watcher.join(timeout=30)
    assert moved.is_set()
    assert live_id(site) == "r000002-b"
    assert (site / "current" / "site" / "index.html").read_text(encoding="utf-8") == "r000002-b"
    assert removed == ["r000001-a"]
    assert sorted(p.name for p in (site / "releases").iterdir()) == ["r000002-b", "r000003-c"]
