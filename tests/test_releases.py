"""Issue 13 item 6: release ids are unique forever and ordered by publication, whatever is pruned
and whichever export is built again; sites whose releases are named the old way still list, roll
back and prune; a build killed between moving its release in and the swap leaves a release that
says so, and the next build publishes. And the releases share unchanged files night after night
without leaving temporary links behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build
from tests.faults_support import reaped, start_build
from tests.fixtures import department, item, write_export

ROOT = Path(__file__).resolve().parent.parent
DEPTS = [department(1, "上海市宝山区市场监督管理局")]
ITEMS = [item(n, DEPTS[0]["code"], f"测试事项{n}号") for n in range(1, 5)]
LINE = re.compile(r"^([* ]) (\S+)  (\S+)  ", re.M)


def export(root: Path, export_id: str, day: str) -> Path:
    return write_export(
        root / export_id,
        DEPTS,
        ITEMS,
        export_id=export_id,
        exported_at=f"2026-11-{day}T23:30:00+08:00",
    )


def approvals(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def listed(site: Path) -> list[tuple[str, str, str]]:
    """``approvals releases``: (live marker, id, status) per line, in its order."""
    done = approvals("releases", "--site", str(site))
    assert done.returncode == 0, done.stderr
    return LINE.findall(done.stdout)


def live(site: Path) -> str:
    return (site / "current").resolve().name


def rollback(site: Path, *args: str) -> subprocess.CompletedProcess:
    return approvals("rollback", "--site", str(site), *args)


# ------------------------------------------------------------------ ids


def test_ids_stay_unique_and_in_publication_order_with_keep_2(tmp_path):
    """Rebuilds of one export and other exports (one exported earlier, published last) with
    ``--keep-releases 2``; then ``approvals releases`` and ``approvals rollback`` both ways."""
    site = tmp_path / "site"
    exports = {
        "a": export(tmp_path, "night-a", "25"),
        "b": export(tmp_path, "night-b", "26"),
        "old": export(tmp_path, "night-old", "20"),  # an earlier export, published last
    }
    given = []
    for name in ("a", "a", "a", "b", "a", "old"):
        done = run_build(BuildOptions(export=str(exports[name]), site_dir=site, keep_releases=2))
        given.append(done.release_id)
        assert live(site) == done.release_id
    assert len(set(given)) == len(given), given  # never given twice, not even after a prune
    assert given[-1].endswith("night-old") and given[-2].endswith("night-a")
    assert listed(site) == [(" ", given[-2], "完整"), ("*", given[-1], "线上")]

    back = rollback(site)  # back to the release published before the live one
    assert back.returncode == 0 and live(site) == given[-2], back.stderr
    assert listed(site) == [("*", given[-2], "线上"), (" ", given[-1], "完整")]
    nothing_earlier = rollback(site)
    assert nothing_earlier.returncode == 5 and "没有更早的完整版本" in nothing_earlier.stderr

    forward = rollback(site, "--to", given[-1])
    assert forward.returncode == 0 and live(site) == given[-1], forward.stderr
    pruned = rollback(site, "--to", given[0])
    assert pruned.returncode == 5 and f"没有名为 {given[0]} 的版本" in pruned.stderr
    assert live(site) == given[-1]

    done = run_build(BuildOptions(export=str(exports["a"]), site_dir=site, keep_releases=2))
    assert done.release_id not in given and [r[1] for r in listed(site)] == [
        given[-1],
        done.release_id,
    ]


def test_releases_named_the_old_way_still_list_roll_back_and_prune(tmp_path):
    """A site from before the new ids, in the state the old ids left it: with keep 2, the
    newest release got the name of a pruned one (``X``), and sorted first by name."""
    site = tmp_path / "site"
    source = export(tmp_path, "e", "25")
    for _ in range(3):
        run_build(BuildOptions(export=str(source), site_dir=site))
    releases = site / "releases"
    old = ["20261125T233000-e.2", "20261125T233000-e.3", "20261125T233000-e"]  # as published
    built = [p for p in releases.iterdir() if not p.name.startswith(".")]
    built.sort(key=lambda p: (p / "report.json").stat().st_mtime_ns)  # as published
    for n, release in enumerate(built):
        built[n] = release.rename(releases / f"built-{n}")
    for n, (release, name) in enumerate(zip(built, old, strict=True)):
        release.rename(releases / name)
        os.utime(releases / name / "report.json", ns=(0, (1_700_000_000 + n * 86_400) * 10**9))
    (site / ".release-sequence").unlink(missing_ok=True)
    (site / "current").unlink()
    (site / "current").symlink_to(f"releases/{old[-1]}")

    assert listed(site) == [(" ", old[0], "完整"), (" ", old[1], "完整"), ("*", old[2], "线上")]
    back = rollback(site)
    assert back.returncode == 0 and live(site) == old[1], back.stderr
    forward = rollback(site, "--to", old[2])
    assert forward.returncode == 0 and live(site) == old[2], forward.stderr

    new = run_build(BuildOptions(export=str(source), site_dir=site, keep_releases=2)).release_id
    assert new == "r000001-20261125T233000-e"  # after every old one, whatever its name
    assert listed(site) == [(" ", old[2], "完整"), ("*", new, "线上")]  # the 2 newest kept
    back = rollback(site)
    assert back.returncode == 0 and live(site) == old[2], back.stderr


# ------------------------------------------------------------------ killed while publishing


@pytest.fixture
def one_release(tmp_path) -> tuple[Path, Path, str]:
    site = tmp_path / "site"
    source = export(tmp_path, "e", "25")
    return site, source, run_build(BuildOptions(export=str(source), site_dir=site)).release_id


def _killed_at(point: str, source: Path, site: Path) -> None:
    build = start_build(source, site, pause_before=point, pause_seconds=240)
    with reaped(build):
        build.wait_for(f"paused-before={point}", timeout=240)
        assert build.kill() == -signal.SIGKILL


def test_killed_between_the_move_and_the_swap(one_release):
    site, source, first = one_release
    _killed_at("swap_current", source, site)
    assert live(site) == first
    leftover = "r000002-20261125T233000-e"
    assert listed(site) == [
        ("*", first, "线上"),
        (" ", leftover, "未上线（构建在切换前中断，下次发布后清理）"),
    ]
    refused = rollback(site, "--to", leftover)
    assert refused.returncode == 5 and "未上线" in refused.stderr and live(site) == first

    done = approvals("build", "--export", str(source), "--site", str(site))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"event=unpublished_release_removed release={leftover}" in done.stderr
    assert listed(site) == [(" ", first, "完整"), ("*", "r000003-20261125T233000-e", "线上")]


def test_killed_between_the_swap_and_its_report(one_release):
    site, source, first = one_release
    _killed_at("mark_published", source, site)
    second = "r000002-20261125T233000-e"
    assert live(site) == second  # it is live: the swap was done
    assert listed(site) == [(" ", first, "完整"), ("*", second, "线上")]

    done = approvals("build", "--export", str(source), "--site", str(site))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"event=interrupted_publish_completed release={second}" in done.stderr
    assert (site / "releases" / second / "report.json").is_file()
    back = rollback(site)
    assert back.returncode == 0 and live(site) == second, back.stderr


# ------------------------------------------------------------------ unchanged files


def test_nights_share_unchanged_files_and_leave_no_temporary_links(tmp_path):
    """Each night's dated data archives are links to the last night's; sharing them again
    once left a ``.link-*`` file beside each (published) and broke the third night."""
    site = tmp_path / "site"
    for export_id, day in (("n1", "24"), ("n2", "25"), ("n3", "26"), ("n4", "27")):
        done = run_build(BuildOptions(export=str(export(tmp_path, export_id, day)), site_dir=site))
        assert done.linked_files > 0 or export_id == "n1"
    assert not [p for p in site.rglob(".link-*")]
    archive = "site/data/releases/2026-11-24/SHA256SUMS"
    first, last = (
        site / "releases" / r / archive for r in ("r000002-20261125T233000-n2", live(site))
    )
    assert first.stat().st_ino == last.stat().st_ino  # one file on the disk for every release


def test_old_temporary_links_are_not_carried_on(tmp_path):
    """A site where the old code left ``.link-*`` files in a release: the next one drops them."""
    site = tmp_path / "site"
    run_build(BuildOptions(export=str(export(tmp_path, "n1", "24")), site_dir=site))
    run_build(BuildOptions(export=str(export(tmp_path, "n2", "25")), site_dir=site))
    archive = site / "current" / "site/data/releases/2026-11-24"
    shutil.copyfile(archive / "SHA256SUMS", archive / ".link-SHA256SUMS")
    run_build(BuildOptions(export=str(export(tmp_path, "n3", "26")), site_dir=site))
    assert not list((site / "current").rglob(".link-*"))
