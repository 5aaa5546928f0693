"""A build whose lock file is deleted while it runs no longer guards the site: a second build
takes a lock on a new file at once and removes the first one's staging folder as a dead
build's. The first build then ended in exit 5 with a message about a missing folder, or — had
its folder survived — would have published over the second. It now refuses with exit 8 naming
the lock file, and never publishes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.build import BuildOptions, run_build, step_starting
from pipeline.errors import BuildLocked
from pipeline.release.lock import LOCK_NAME
from pipeline.release.publish import live_id
from tests.fixtures import small_export

ROOT = Path(__file__).resolve().parent.parent


def _build_while(tmp_path: Path, step: str, action) -> tuple[Path, BuildLocked | None, list]:
    """Build the small export; just before ``step``, run ``action(site)`` (once)."""
    export, site = small_export(tmp_path / "export"), tmp_path / "site"
    done: list = []

    def before(name: str) -> None:
        if name == step and not done:
            done.append(action(site))

    with step_starting.connected_to(before):
        try:
            run_build(BuildOptions(export=str(export), site_dir=site))
        except BuildLocked as exc:
            return site, exc, done
    return site, None, done


def test_a_lock_file_deleted_before_the_publish_stops_the_publish(tmp_path):
    site, refused, done = _build_while(tmp_path, "publish", lambda s: (s / LOCK_NAME).unlink())
    assert done, "the lock file was deleted"
    assert refused is not None, "published although its lock no longer guarded the site"
    assert f"锁文件 {site / LOCK_NAME} 在构建期间被删除" in str(refused)
    assert refused.exit_code == 8
    assert live_id(site) is None
    assert [p.name for p in (site / "releases").iterdir()] == []


def test_a_second_build_after_the_lock_file_was_deleted_is_named(tmp_path):
    """The second build (a real ``approvals build``) runs to its publish while the first waits
    before rendering; the first then finds its folder gone and says why."""

    def second_build(site: Path) -> subprocess.CompletedProcess:
        (site / LOCK_NAME).unlink()
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "build", "--site", str(site)]
            + ["--export", str(site.parent / "export")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )

    site, refused, done = _build_while(tmp_path, "render_site", second_build)
    assert done and done[0].returncode == 0, done[0].stderr[-2000:] if done else ""
    assert "event=dead_staging_removed" in done[0].stderr  # it took the first one's folder
    assert refused is not None
    assert f"锁文件 {site / LOCK_NAME} 在构建期间被替换" in str(refused)
    assert live_id(site) == "r000001-20261125T233000-test-export"  # the second build's
