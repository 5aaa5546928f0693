"""Fault tests of the nightly run (issue 6, "Must show"): real ``approvals build`` processes, a
real local HTTP export server (tests/export_server.py) where the fault is upstream, SIGKILL at
known points (the test hooks of tests/hooks/sitecustomize.py: before any step, or while a pool's
workers are busy), a small tmpfs that fills up, and two builds at once.

Every test asserts the same four things: (a) the exit code and a clear message (never a raw
traceback), (b) the live site — the ``current`` symlink and every byte of the tree it points
to — is exactly what it was, (c) no partial release is left (no new ``releases/*`` folder, no
temporary ``current`` link; a killed build's ``.staging-<pid>`` goes with the next run), and
(d) the next good run publishes. A killed build also leaves no process running (its workers
and commands die with it) and no lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.build import STEPS
from tests.export_server import ExportServer, Fault
from tests.faults_support import (
    PROJECT_ROOT,
    Snapshot,
    build_env,
    can_mount_tmpfs,
    children,
    copy_site,
    fill_disk,
    kill_session,
    left_behind,
    ok,
    reaped,
    release_entries,
    run_build,
    site_entries,
    snapshot,
    start_build,
    tmpfs,
    wait_for_child,
)
from tests.fixtures import small_export

N_ITEMS = 6
PAGE_SIZE = 2  # six items: three pages of /v1/items
STARTED_AT = re.compile(r"开始于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@dataclass
class Template:
    export: Path
    site: Path


@dataclass
class Live:
    """A site directory with one published release, before the fault."""

    site: Path
    before: Snapshot
    releases: set[str]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """One good export and one site built from it; each test works on a copy of the site."""
    work = tmp_path_factory.mktemp("faults")
    export = small_export(work / "export", n_items=N_ITEMS)
    site = work / "site"
    done = run_build(export, site)
    assert done.returncode == 0, ok(done)
    return Template(export, site)


@pytest.fixture
def live(template: Template, tmp_path: Path) -> Live:
    site = copy_site(template.site, tmp_path / "site")
    return Live(site, snapshot(site), release_entries(site))


@pytest.fixture
def sessions() -> Iterator[list[int]]:
    """Sessions of killed builds: whatever a failing test finds left in them is killed after it."""
    started: list[int] = []
    yield started
    for session in started:
        kill_session(session)


# ------------------------------------------------------------------ the four checks


def assert_refused(done: subprocess.CompletedProcess, code: int, *phrases: str) -> None:
    """(a) the exit code, the phrases of a clear message, and no traceback."""
    assert done.returncode == code, ok(done)
    assert "Traceback" not in done.stderr, ok(done)
    assert "\napprovals build: " in "\n" + done.stderr, (
        f"no 'approvals build: …' message\n{ok(done)}"
    )
    message = ("\n" + done.stderr).rsplit("\napprovals build: ", 1)[1]  # to the end: may be lines
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in the message\n{ok(done)}"


def assert_live_unchanged(live: Live, dead_staging: set[str] = frozenset()) -> None:
    """(b) ``current`` and its tree are byte for byte what they were; (c) nothing new was left
    in ``releases/`` (but the staging folders of killed builds, named) nor beside ``current``."""
    now = snapshot(live.site)
    assert now.target == live.before.target
    assert sorted(now.files) == sorted(live.before.files)
    changed = [path for path, data in now.files.items() if live.before.files[path] != data]
    assert not changed, f"live files changed: {changed[:10]}"
    assert now.status == live.before.status  # the public status.json too
    assert release_entries(live.site) == live.releases | set(dead_staging)
    assert not [name for name in site_entries(live.site) if name.startswith(".current")]


def assert_next_run_publishes(
    export: str | Path, live: Live, *args: str, **env: str
) -> subprocess.CompletedProcess:
    """(d) the next good run publishes a new release and leaves no staging folder."""
    done = run_build(export, live.site, *args, **env)
    assert done.returncode == 0, ok(done)
    now = snapshot(live.site)
    assert now.target != live.before.target
    new = release_entries(live.site) - live.releases
    assert new == {Path(now.target).name}, new
    assert not [name for name in release_entries(live.site) if name.startswith(".")]
    assert "site/index.html" in now.files
    return done


# ------------------------------------------------------------------ upstream faults (HTTP)


def test_upstream_500s_past_the_retries_exit_4(template: Template, live: Live) -> None:
    with ExportServer(template.export, page_size=PAGE_SIZE) as server:
        server.faults.append(Fault("/v1/items", "status", status=500))
        done = run_build(server.url, live.site, APPROVALS_HTTP_RETRIES="2")
        assert_refused(done, 4, "导出接口不可用", "/v1/items", "重试 2 次后仍失败", "HTTP 500")
        assert len(server.requests_to("/v1/items")) == 3  # one try and two retries
        assert_live_unchanged(live)

        with socket.socket() as probe:  # and an export API that is not there at all
            probe.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
        done = run_build(closed, live.site)
        assert_refused(done, 4, "导出接口不可用", "/v1/manifest", "连接失败（NewConnectionError）")
        assert_live_unchanged(live)

        server.faults.clear()
        assert_next_run_publishes(server.url, live)


TIMEOUTS = {  # limit → (environment, phrases of the message)
    "read timeout": (
        {"APPROVALS_HTTP_TIMEOUT": "1,1", "APPROVALS_HTTP_RETRIES": "1"},
        ("导出接口不可用", "/v1/items", "重试 1 次后仍失败", "超时"),
    ),
    "whole-run deadline": (
        {"APPROVALS_HTTP_TIMEOUT": "5,5", "APPROVALS_HTTP_DEADLINE": "1"},
        ("导出接口超过整体时限（1 秒）",),
    ),
}


def test_upstream_times_out_exit_4(template: Template, live: Live) -> None:
    with ExportServer(template.export, page_size=PAGE_SIZE) as server:
        server.faults.append(Fault("/v1/items", "delay", seconds=10))
        for limit, (env, phrases) in TIMEOUTS.items():
            started = time.monotonic()
            done = run_build(server.url, live.site, **env)
            assert time.monotonic() - started < 9, f"{limit}: the build waited for the 10 s delay"
            assert_refused(done, 4, *phrases)
            assert_live_unchanged(live)

        server.faults.clear()
        assert_next_run_publishes(server.url, live)


CUTS = {  # fault kind → phrases of the message
    "truncate": ("JSON 无法解析", "响应被截断"),  # a complete response, half its body
    "drop": ("JSON 无法解析", "连接在传输中断开", "已重试 2 次"),  # the connection closes mid-body
}


def test_a_page_cut_mid_json_exit_3(template: Template, live: Live) -> None:
    with ExportServer(template.export, page_size=PAGE_SIZE) as server:
        for kind, phrases in CUTS.items():
            server.faults[:] = [Fault("/v1/items", kind, page=2)]
            done = run_build(server.url, live.site)
            assert_refused(done, 3, "/v1/items 第2页", *phrases)
            assert_live_unchanged(live)

        server.faults.clear()
        assert_next_run_publishes(server.url, live)


def test_manifest_counts_do_not_match_exit_3(
    template: Template, live: Live, tmp_path: Path
) -> None:
    counts = {"departments": 2, "items": N_ITEMS + 1, "life_events": 1, "files": 1}
    wrong = small_export(
        tmp_path / "wrong-counts", n_items=N_ITEMS, counts=counts, export_id="counts"
    )
    with ExportServer(wrong, page_size=PAGE_SIZE) as server:
        done = run_build(server.url, live.site)
    assert_refused(
        done,
        3,
        "导出记录数与 manifest 不符",
        f"items: manifest 声明 {N_ITEMS + 1} 条，导出中实际 {N_ITEMS} 条",
    )
    assert_live_unchanged(live)

    with ExportServer(template.export, page_size=PAGE_SIZE) as server:
        assert_next_run_publishes(server.url, live)


# ------------------------------------------------------------------ the shrink guard


def test_an_export_shrunk_by_half_is_refused_exit_3_unless_allowed(
    live: Live, tmp_path: Path
) -> None:
    half = small_export(tmp_path / "half", n_items=N_ITEMS // 2, export_id="half")
    done = run_build(half, live.site)
    assert_refused(
        done,
        3,
        "数据量比线上版本大幅减少",
        f"items：{N_ITEMS} → {N_ITEMS // 2}（减少 50%，上限 10%）",
        "--allow-shrink",
    )
    assert_live_unchanged(live)

    done = assert_next_run_publishes(half, live, "--allow-shrink")
    assert "gate=shrink overridden=--allow-shrink" in done.stderr  # the override is logged …
    report = json.loads((live.site / "current" / "report.json").read_text("utf-8"))
    assert report["shrink_overridden"] and "items" in report["shrink_overridden"][0]  # … and kept


# ------------------------------------------------------------------ SIGKILL mid-build


def _assert_killed_build_recovers(
    export: str | Path, live: Live, build_pid: int, **env: str
) -> None:
    staging = f".staging-{build_pid}"
    assert_live_unchanged(live, dead_staging={staging})
    holder = (live.site / ".build.lock").read_text("utf-8")
    assert f"pid {build_pid}" in holder  # the dead build's lock text is still there

    done = assert_next_run_publishes(export, live, **env)
    assert "event=stale_lock_taken_over" in done.stderr and f"pid {build_pid}" in done.stderr
    assert staging not in release_entries(live.site)
    assert (live.site / ".build.lock").read_text("utf-8") == ""  # released after the run


def test_sigkill_inside_extraction_leaves_the_live_site(template: Template, live: Live) -> None:
    """Killed while the second page of /v1/items is on its way. (Killed as each step starts:
    test_sigkill_at_each_step_…; during the site render: test_a_build_while_one_runs_exits_8_…)"""
    with ExportServer(template.export, page_size=PAGE_SIZE) as server:
        server.faults.append(Fault("/v1/items", "delay", seconds=30, page=2))
        build = start_build(server.url, live.site, APPROVALS_HTTP_TIMEOUT="5,60")
        with reaped(build):
            deadline = time.monotonic() + 30
            while not [r for r in server.requests_to("/v1/items") if r.query.get("cursor")]:
                assert build.process.poll() is None, build.stderr
                assert time.monotonic() < deadline, "page 2 of /v1/items was never asked for"
                time.sleep(0.01)
            assert "event=step_start step=extract_and_validate" in build.stderr
            assert build.kill() == -signal.SIGKILL
        server.faults.clear()
        _assert_killed_build_recovers(server.url, live, build.pid)


# ------------------------------------------------------------------ SIGKILL at every step (#13)


@pytest.mark.parametrize("step", [name for name, _ in STEPS])
def test_sigkill_at_each_step_leaves_no_process_and_the_next_run_publishes(
    template: Template, live: Live, sessions: list[int], step: str
) -> None:
    """Killed as each step starts (the step hook holds it there): nothing of the build keeps
    running, the live site is as it was, and the next run takes the lock over and publishes."""
    build = start_build(template.export, live.site, pause_before=step)
    sessions.append(build.pid)
    with reaped(build):
        build.wait_for(f"paused-before={step}")
        assert f".staging-{build.pid}" in release_entries(live.site)
        assert build.kill() == -signal.SIGKILL
    assert left_behind(build) == []
    _assert_killed_build_recovers(template.export, live, build.pid)


WORKER_POOLS = {"datasets": "datasets", "render_site": "render", "privacy_gate": "privacy"}


@pytest.mark.parametrize("step", sorted(WORKER_POOLS))
def test_sigkill_while_the_workers_are_busy_leaves_no_worker_and_the_next_run_publishes(
    template: Template, live: Live, sessions: list[int], step: str
) -> None:
    """Killed while the step's forked workers work (each holds its task, by the worker hook):
    they die with the build — they neither write into its staging folder nor keep the build
    lock — and the next run publishes at once. (Before: the privacy gate's workers survived a
    killed build, held its ``flock``, and the next nightly exited 8.)"""
    pool = WORKER_POOLS[step]
    build = start_build(
        template.export, live.site, APPROVALS_HOLD_WORKERS=pool, APPROVALS_WORKERS="2"
    )
    sessions.append(build.pid)
    with reaped(build):
        build.wait_for(f"worker-busy={pool}")
        assert f"event=step_start step={step}" in build.stderr.rsplit("event=step_done", 1)[-1]
        workers = children(build.pid)
        assert workers, build.stderr
        assert build.kill() == -signal.SIGKILL
    assert left_behind(build) == [], f"still running: {left_behind(build)} (workers {workers})"
    _assert_killed_build_recovers(template.export, live, build.pid)


def test_sigkill_while_pagefind_runs_leaves_no_pagefind_behind(
    template: Template, live: Live, sessions: list[int]
) -> None:
    """The browser search index is Pagefind, a command the build runs: killed with the build.
    Pagefind is stopped (SIGSTOP) as soon as it is seen, so that it is surely still there when
    the build is killed: only the kernel's parent-death signal can end it then."""
    build = start_build(template.export, live.site)
    sessions.append(build.pid)
    with reaped(build):
        pagefind = wait_for_child(build, "pagefind")
        os.kill(pagefind.pid, signal.SIGSTOP)
        assert "event=step_start step=browser_search_index" in build.stderr
        assert build.kill() == -signal.SIGKILL
    assert left_behind(build) == [], f"still running: {left_behind(build)} ({pagefind})"
    _assert_killed_build_recovers(template.export, live, build.pid)


HOLD_AND_FORK = """
import os, sys, time
from pathlib import Path
from pipeline.release.lock import build_lock
with build_lock(Path(sys.argv[1])):
    if os.fork() == 0:  # a child that outlives its parent (not one of our workers)
        time.sleep(60)
        os._exit(0)
    print("held", flush=True)
    time.sleep(60)
"""


def test_the_lock_is_judged_by_its_holder_process_not_by_what_it_forked(
    template: Template, live: Live
) -> None:
    """A build holding the lock forks a process that outlives it: once the build is killed the
    lock is free — the next build publishes, and ``lock_holder`` names nobody. (With a ``flock``
    the child shared the lock, and the next build exited 8.)"""
    from pipeline.ops.status import lock_holder

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_FORK, str(live.site)],
        cwd=PROJECT_ROOT,
        env=build_env(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        (child,) = children(holder.pid)
        assert lock_holder(live.site) is not None
        holder.kill()
        holder.wait(10)
        assert os.path.exists(f"/proc/{child.pid}")  # the child lives on …
        assert lock_holder(live.site) is None  # … but holds no lock
        assert_next_run_publishes(template.export, live)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        kill_session(holder.pid)  # the child, started in the holder's session


def test_the_build_announces_each_step_and_reads_no_test_variable(
    template: Template, tmp_path: Path
) -> None:
    """The step hook the tests hold builds with: ``step_starting`` is sent once per step, in
    order; and no production module reads the tests' variables (they live in tests/hooks/)."""
    from pipeline.build import BuildOptions, step_starting
    from pipeline.build import run_build as build_in_process

    seen: list[str] = []

    def listen(step: str) -> None:
        seen.append(step)

    step_starting.connect(listen)
    try:
        build_in_process(BuildOptions(export=str(template.export), site_dir=tmp_path / "site"))
    finally:
        step_starting.disconnect(listen)
    assert seen == [name for name, _ in STEPS]
    production = [*(PROJECT_ROOT / "pipeline").rglob("*.py"), PROJECT_ROOT / "pelicanconf.py"]
    for path in production:
        text = path.read_text("utf-8")
        assert "APPROVALS_PAUSE" not in text and "APPROVALS_HOLD" not in text, path


# ------------------------------------------------------------------ the disk fills


@pytest.fixture
def small_disk(tmp_path: Path):
    if not can_mount_tmpfs(tmp_path / "probe"):
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    with tmpfs(tmp_path / "disk", "32m") as mount:
        yield mount


def test_the_disk_fills_exit_6(template: Template, small_disk: Path) -> None:
    site = copy_site(template.site, small_disk / "site")
    live = Live(site, snapshot(site), release_entries(site))
    for free in (0, 64 * 1024):  # not even room for the lock's text; room for part of a release
        filler = fill_disk(small_disk, free)
        done = run_build(template.export, site)
        assert_refused(done, 6, "磁盘空间不足", "No space left on device", "线上版本未改变")
        assert_live_unchanged(live)
        filler.unlink()

    assert_next_run_publishes(template.export, live)


def test_a_killed_build_on_a_nearly_full_disk_does_not_block_the_next(
    template: Template, small_disk: Path
) -> None:
    """A build killed just before the swap (the OOM killer, say) leaves a whole staged release.
    With too little space left for a second one, the next build must clear the dead staging
    folder before it starts, not only after a publish it could never reach."""
    site = copy_site(template.site, small_disk / "site")
    live = Live(site, snapshot(site), release_entries(site))
    free_before = _free_bytes(small_disk)
    build = start_build(template.export, site, pause_before="publish")
    with reaped(build):
        build.wait_for("paused-before=publish")
        build.kill()
    staged = free_before - _free_bytes(small_disk)  # what the killed build left on the disk
    fill_disk(small_disk, staged // 2)  # room for half a release, plus what the dead one holds
    done = assert_next_run_publishes(template.export, live)
    assert f"event=dead_staging_removed folder=.staging-{build.pid}" in done.stderr


def _free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


INJECT_ENOSPC = """
import errno, os, shutil, sys

def no_space(path):
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

real_symlink, real_copyfile = os.symlink, shutil.copyfile

def symlink(src, dst, *args, **kwargs):  # the new `current` link
    if os.environ["FAULT_AT"] == "swap" and os.path.basename(dst).startswith(".current-"):
        raise no_space(dst)
    return real_symlink(src, dst, *args, **kwargs)

def copyfile(src, dst, *args, **kwargs):  # Pelican copying the theme: the file is cut short
    if os.environ["FAULT_AT"] == "theme" and str(dst).endswith(".css"):
        with open(src, "rb") as source, open(dst, "wb") as target:
            target.write(source.read(10))
        raise no_space(dst)
    return real_copyfile(src, dst, *args, **kwargs)

os.symlink, shutil.copyfile = symlink, copyfile
from pipeline.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("where", ["theme", "swap"])
def test_no_space_injected_where_a_tmpfs_cannot_aim_exit_6(
    template: Template, live: Live, where: str
) -> None:
    """ENOSPC injected (in the build process itself) at two writes a filling disk may not hit
    on cue: Pelican copying the theme's CSS (Pelican only logs a failed copy and goes on), and
    the new ``current`` link after the release folder is in place (the very last write)."""
    command = [
        sys.executable,
        "-c",
        INJECT_ENOSPC,
        "build",
        "--export",
        str(template.export),
        "--site",
        str(live.site),
    ]
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=build_env(FAULT_AT=where),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_refused(done, 6, "磁盘空间不足", ".css" if where == "theme" else ".current-")
    assert_live_unchanged(live)  # no half-published release folder, no .current-<pid> link


# ------------------------------------------------------------------ one build at a time


def test_two_builds_started_at_once_one_publishes_the_other_exits_8(
    template: Template, live: Live
) -> None:
    # Both pause 3 s once they hold the lock, so the one that loses the race finds it taken.
    builds = [
        start_build(
            template.export, live.site, pause_before="extract_and_validate", pause_seconds=3
        )
        for _ in range(2)
    ]
    with reaped(*builds):
        codes = [build.wait() for build in builds]
    assert sorted(codes) == [0, 8], [build.stderr for build in builds]
    winner, loser = (builds[0], builds[1]) if codes[0] == 0 else (builds[1], builds[0])
    assert "paused-before=extract_and_validate" in winner.stderr
    assert "paused-before" not in loser.stderr  # it never started a step
    assert "approvals build: 另一个构建正在进行" in loser.stderr
    assert f"pid {winner.pid}" in loser.stderr and STARTED_AT.search(loser.stderr), loser.stderr
    assert "Traceback" not in loser.stderr

    now = snapshot(live.site)
    assert release_entries(live.site) - live.releases == {Path(now.target).name}  # one publish
    assert not [name for name in release_entries(live.site) if name.startswith(".")]


def test_a_build_while_one_runs_exits_8_naming_it_and_the_holder_killed_mid_render(
    template: Template, live: Live
) -> None:
    holder = start_build(template.export, live.site, pause_before="render_site")
    with reaped(holder):
        holder.wait_for("paused-before=render_site")
        started = time.monotonic()
        done = run_build(template.export, live.site)
        assert time.monotonic() - started < 15  # at once: not after the holder's 30 s pause
        assert_refused(done, 8, "另一个构建正在进行", f"pid {holder.pid}", "本次不启动")
        assert STARTED_AT.search(done.stderr), done.stderr
        assert f".staging-{holder.pid}" in release_entries(live.site)  # the holder's, untouched
        assert holder.kill() == -signal.SIGKILL  # killed during the site render
    _assert_killed_build_recovers(template.export, live, holder.pid)


def test_a_lock_held_before_its_holder_wrote_its_name_is_not_blamed_on_a_dead_build(
    template: Template, live: Live
) -> None:
    """Between taking the lock and writing its pid, a new holder's lock file still names the
    dead build it took over from: a second build must not report that dead pid as running."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    path = live.site / ".build.lock"
    path.write_text(f"pid {dead_pid}，开始于 2026-01-01 02:30:00", encoding="utf-8")
    with path.open("a") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held, name not yet written
        done = run_build(template.export, live.site)
    assert_refused(done, 8, "另一个构建正在进行")
    assert f"pid {dead_pid}" not in done.stderr.split("approvals build:")[-1], done.stderr
    assert "持有者尚未登记" in done.stderr
    assert f"pid {os.getpid()}" in done.stderr  # the holder, as the kernel names it
    assert_live_unchanged(live)


def test_bad_http_settings_in_the_environment_are_a_configuration_error(live: Live) -> None:
    done = run_build("http://127.0.0.1:9/", live.site, APPROVALS_HTTP_RETRIES="many")
    assert_refused(done, 5, "APPROVALS_HTTP_RETRIES='many'")
    assert_live_unchanged(live)
