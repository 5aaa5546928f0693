"""One build at a time: a POSIX record lock (``fcntl`` ``F_SETLK``) on ``DIR/.build.lock``, held
by the build's own process.

A record lock belongs to the process that took it: a forked worker does not inherit it, the
kernel releases it when that process dies, however it dies, and ``F_GETLK`` names the process
that holds it. So whether a build runs is whether its *build process* is alive — not its render
or privacy workers. (A ``flock`` belongs to the open file instead, which every forked worker
shares: a build killed during the privacy gate left its workers holding the lock, and the next
build found it taken.) A lock left by a killed build is therefore free by construction and the
next build simply takes it.

The file's text (pid and start time of the holder) is only for the messages: a second build's,
and ``GET /status``'s (:func:`lock_holder`). One rule comes with record locks: closing *any*
descriptor of the file in the holding process releases the lock, so the build opens it only
here, once.

A lock guards the site only while ``DIR/.build.lock`` names the file it is on. If that file is
deleted (or replaced) during a build, a second build takes a lock on a new file at once, and
removes the first one's staging folder as a dead build's: :meth:`HeldLock.confirm` (before the
publish) and :meth:`HeldLock.lost` (when a step fails) make the first build say so (exit 8)
instead of publishing over the second or failing with a message about a missing folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pipeline.errors import BuildLocked

logger = logging.getLogger(__name__)

LOCK_NAME = ".build.lock"
HOLDER_PID = re.compile(r"pid (\d+)")
UNCLEAR_WAIT = 1.0
"""Seconds a second build keeps looking when the lock is held but its text does not name the
holder yet (see :func:`_take`)."""

_FLOCK = struct.Struct("@hhqqi")
"""``struct flock`` (l_type, l_whence, l_start, l_len, l_pid) with 64-bit offsets, as Linux and
Python's large-file build have it."""


def holder_of(handle: IO[str]) -> int | None:
    """The pid of the process holding the lock on ``handle``'s file, or None when nobody does
    (``F_GETLK``: a question to the kernel; it takes no lock)."""
    query = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0) + bytes(8)
    answer = fcntl.fcntl(handle, fcntl.F_GETLK, query)
    kind, _, _, _, pid = _FLOCK.unpack_from(answer)
    return None if kind == fcntl.F_UNLCK else pid


def _text(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip()


def _named(text: str, pid: int) -> bool:
    match = HOLDER_PID.search(text)
    return match is not None and int(match.group(1)) == pid


BUILD_REFUSAL = "本次不启动"


def _take(handle: IO[str], refusal: str = BUILD_REFUSAL) -> None:
    """Take the lock, or raise BuildLocked naming the holder (pid, start time) at once;
    ``refusal`` says what is not done then.

    A holder writes its text just after it takes the lock, so a build that looks in between
    finds the file empty, or still naming the killed build the holder took over from. Then it
    looks again, for up to ``UNCLEAR_WAIT`` seconds, rather than name a dead build; after that
    it names the holder by the pid the kernel gives."""
    deadline = time.monotonic() + UNCLEAR_WAIT
    while True:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: held
            pass
        pid = holder_of(handle)
        text = _text(handle)
        if pid is not None and _named(text, pid):
            raise BuildLocked(f"另一个构建正在进行（{text}），{refusal}")
        if time.monotonic() >= deadline:
            who = f"pid {pid}；" if pid is not None else ""
            raise BuildLocked(f"另一个构建正在进行（{who}持有者尚未登记开始时间），{refusal}")
        time.sleep(0.05)


@dataclass(frozen=True)
class HeldLock:
    """The lock a build holds: on ``handle``'s file, which ``path`` must still name."""

    path: Path
    handle: IO[str]

    def lost(self) -> str | None:
        """Why the lock no longer guards the site (its file deleted or replaced), or None."""
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return "被删除"
        return None if os.path.samestat(named, os.fstat(self.handle.fileno())) else "被替换"

    def error(self, why: str) -> BuildLocked:
        return BuildLocked(
            f"锁文件 {self.path} 在构建期间{why}——另一个构建可能已经开始（并清理了本次的暂存"
            "目录），本次不发布；线上版本未改变"
        )

    def confirm(self) -> None:
        """Raise BuildLocked (exit 8) if the lock no longer guards the site."""
        why = self.lost()
        if why:
            raise self.error(why)


def _open_locked(path: Path, refusal: str) -> IO[str]:
    """``path`` opened and locked, checked to still name the file locked (it may be deleted
    between the open and the lock)."""
    while True:
        handle = path.open("a+", encoding="utf-8")
        try:
            _take(handle, refusal)
            if HeldLock(path, handle).lost() is None:
                return handle
        except BaseException:
            handle.close()
            raise
        handle.close()


@contextmanager
def build_lock(site_dir: Path, refusal: str = BUILD_REFUSAL) -> Iterator[HeldLock]:
    """Hold the build lock of ``site_dir`` (a build, or ``approvals rollback``: it must not
    move ``current`` while a build publishes and prunes). BuildLocked (exit 8) names the holder
    and ``refusal``, what is not done."""
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / LOCK_NAME
    handle = _open_locked(path, refusal)
    try:
        previous = _text(handle)
        if previous:
            logger.warning("event=stale_lock_taken_over holder=%r", previous)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}，开始于 {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield HeldLock(path, handle)
        finally:
            handle.seek(0)
            handle.truncate()
    finally:
        handle.close()


def lock_holder(site_dir: Path) -> str | None:
    """Who holds the build lock now: its text (pid, start time), or ``pid N`` when the text does
    not name the holder yet; None when no process holds it (a killed build's text may remain).
    For other processes (``trigger``, ``GET /status``): in the build itself, closing the file
    would let the lock go."""
    try:
        handle = (site_dir / LOCK_NAME).open("r", encoding="utf-8")
    except OSError:
        return None
    with handle:
        pid = holder_of(handle)
        if pid is None:
            return None
        text = _text(handle)
    return text if _named(text, pid) else f"pid {pid}"
