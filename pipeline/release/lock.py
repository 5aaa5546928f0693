"""One build at a time: an advisory lock (``flock``) on ``DIR/.build.lock``.

The kernel releases a flock when its process dies, however it dies, so a lock left by a killed
build is stale by construction and the next build simply takes it; the file's text (pid and
start time of the holder) is only for the message a second build prints.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pipeline.errors import BuildLocked

logger = logging.getLogger(__name__)

LOCK_NAME = ".build.lock"
HOLDER_PID = re.compile(r"pid (\d+)")
UNCLEAR_WAIT = 1.0
"""Seconds a second build keeps looking when the lock is held but its text names no live
process (see :func:`_take`)."""


def _take(handle: IO[str]) -> None:
    """Take the lock, or raise BuildLocked naming the holder (pid, start time) at once.

    A holder writes its text just after it takes the lock, so a build that looks in between
    finds the file empty, or still naming the killed build the holder took over from; a brief
    shared lock (a status probe) looks the same. Then it looks again, for up to
    ``UNCLEAR_WAIT`` seconds, rather than blame nobody or a dead pid."""
    deadline = time.monotonic() + UNCLEAR_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
        match = HOLDER_PID.search(holder)
        if match and _alive(int(match.group(1))):
            raise BuildLocked(f"另一个构建正在进行（{holder}），本次不启动")
        if time.monotonic() >= deadline:
            raise BuildLocked("另一个构建正在进行（持有者尚未登记 pid），本次不启动")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def build_lock(site_dir: Path) -> Iterator[None]:
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / LOCK_NAME
    handle = path.open("a+", encoding="utf-8")
    try:
        _take(handle)
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            logger.warning("event=stale_lock_taken_over holder=%r", previous)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}，开始于 {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
    finally:
        handle.close()
