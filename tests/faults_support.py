"""Helpers for tests/test_faults.py: run ``approvals build`` as a real process, pause it at a
step or hold its workers busy (the test hooks of ``tests/hooks/sitecustomize.py``) and wait for
the marker, find the processes it leaves, snapshot the live site, and mount a small tmpfs to
fill."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOOKS = Path(__file__).resolve().parent / "hooks"

# Short limits for the export API client (read by the CLI, see pipeline/cli.py): a fault test
# gives up in about a second instead of minutes.
FAST_HTTP = {
    "APPROVALS_HTTP_TIMEOUT": "1,1",
    "APPROVALS_HTTP_RETRIES": "2",
    "APPROVALS_HTTP_BACKOFF": "0.01",
    "APPROVALS_HTTP_DEADLINE": "20",
}


def with_hooks(pythonpath: str | None = None) -> str:
    """A ``PYTHONPATH`` with the test hooks first (``tests/hooks/sitecustomize.py``)."""
    return os.pathsep.join([str(HOOKS), *filter(None, [pythonpath])])


def build_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APPROVALS_PAUSE", "APPROVALS_HOLD", "APPROVALS_HTTP_"))
    }
    env.update(FAST_HTTP)
    env["PYTHONPATH"] = with_hooks(os.environ.get("PYTHONPATH"))
    env.update(extra)
    return env


def build_command(export: str | Path, site: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline.cli",
        "build",
        "--export",
        str(export),
        "--site",
        str(site),
        *args,
    ]


def run_build(
    export: str | Path, site: Path, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        build_command(export, site, *args),
        cwd=PROJECT_ROOT,
        env=build_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(done: subprocess.CompletedProcess) -> str:
    """Describe a finished build for an assertion message."""
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"


@dataclass
class Build:
    """A build running in the background; its stderr is collected line by line."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stderr(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # end of stream
            self.changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Block until ``text`` appears on stderr (or the process ends / time runs out)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if text in "".join(self.lines):
                    return
                if self.lines and self.lines[-1] == "" and self.process.poll() is not None:
                    raise AssertionError(
                        f"build ended (exit {self.process.returncode}) without "
                        f"{text!r}:\n{''.join(self.lines)}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {text!r} within {timeout} s:\n{''.join(self.lines)}")
                self.changed.wait(left)

    def wait(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        if self.reader:
            self.reader.join(timeout)
        return code

    def kill(self) -> int:
        """SIGKILL, then reap (a zombie would still look alive to ``kill -0``)."""
        self.process.kill()
        return self.wait()


def start_build(
    export: str | Path,
    site: Path,
    *args: str,
    pause_before: str | None = None,
    pause_seconds: float = 30,
    **env: str,
) -> Build:
    if pause_before:
        env = {
            **env,
            "APPROVALS_PAUSE_BEFORE": pause_before,
            "APPROVALS_PAUSE_SECONDS": str(pause_seconds),
        }
    process = subprocess.Popen(
        build_command(export, site, *args),
        cwd=PROJECT_ROOT,
        env=build_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its session holds every process it starts (see ``left_behind``)
    )
    build = Build(process)
    build.reader = threading.Thread(target=build._read, daemon=True)
    build.reader.start()
    return build


@contextmanager
def reaped(*builds: Build) -> Iterator[None]:
    """Make sure no build outlives the test, however it fails."""
    try:
        yield
    finally:
        for build in builds:
            if build.process.poll() is None:
                build.kill()


# ------------------------------------------------------------------ processes left behind


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    session: int
    state: str
    name: str


def processes() -> list[Proc]:
    """Every process in ``/proc`` (those that end while being read are skipped)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]  # the name may hold spaces, ")"
        state, ppid, _group, session = text[text.rindex(")") + 2 :].split()[:4]
        found.append(Proc(int(entry), int(ppid), int(session), state, name))
    return found


def children(pid: int) -> list[Proc]:
    return [p for p in processes() if p.ppid == pid and p.state not in "ZX"]


def left_behind(build: Build, timeout: float = 5) -> list[Proc]:
    """The processes of a killed build's session (it is started as a session leader, so every
    process it starts is in it, wherever it is re-parented) still running after ``timeout``
    seconds — a killed worker takes a moment to go. Zombies are not running: the container's
    first process may never reap them."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes() if p.session == build.pid and p.state not in "ZX"]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def kill_session(session: int) -> None:
    """SIGKILL what is left of a test's build in its session (after the assertions)."""
    for process in processes():
        if process.session == session and process.state not in "ZX":
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)


def wait_for_child(build: Build, name: str, timeout: float = 60) -> Proc:
    """Poll until the build runs a child process called ``name`` (e.g. Pagefind)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children(build.pid):
            if child.name.startswith(name):
                return child
        if build.process.poll() is not None:
            break
        time.sleep(0.002)
    raise AssertionError(f"the build never ran {name!r}:\n{build.stderr}")


# ------------------------------------------------------------------ the live site


@dataclass(frozen=True)
class Snapshot:
    target: str  # what the ``current`` symlink says
    files: dict[str, bytes]  # path → bytes of the tree it points to
    status: bytes | None  # DIR/status.json (public, rewritten only by a successful build)


def snapshot(site: Path) -> Snapshot:
    current = site / "current"
    assert current.is_symlink(), f"{current} is not a symlink"
    root = current.resolve()
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    assert files, f"{root} is empty"
    status = site / "status.json"
    return Snapshot(os.readlink(current), files, status.read_bytes() if status.is_file() else None)


def release_entries(site: Path) -> set[str]:
    """Everything in ``DIR/releases`` (published releases, and staging folders)."""
    return {p.name for p in (site / "releases").iterdir()}


def site_entries(site: Path) -> set[str]:
    """Everything at the top of ``DIR``."""
    return {p.name for p in site.iterdir()}


def copy_site(template: Path, site: Path) -> Path:
    shutil.copytree(template, site, symlinks=True)
    return site


# ------------------------------------------------------------------ a small disk


def can_mount_tmpfs(probe: Path) -> bool:
    probe.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True
    )
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(probe)], check=True)
    return True


@contextmanager
def tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
    )
    try:
        yield mount_point
    finally:
        for _attempt in range(20):
            if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)  # a just-killed process may still hold a file open
        else:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill_disk(mount_point: Path, leave_bytes: int) -> Path:
    """Write a filler file so that only about ``leave_bytes`` stay free."""
    filler = mount_point / "filler"
    stat = os.statvfs(mount_point)
    free = stat.f_bavail * stat.f_frsize
    with filler.open("wb", buffering=0) as handle, suppress(OSError):
        size = max(0, free - leave_bytes)
        chunk = b"\0" * (1 << 20)
        while size > 0:
            size -= handle.write(chunk[: min(size, len(chunk))])
    return filler
