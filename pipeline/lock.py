"""One build at a time: an advisory lock (``flock``) on ``DIR/.build.lock``.

The kernel releases a flock when its process dies, however it dies, so a lock left by a killed
build is stale by construction and the next build simply takes it; the file's text (pid and
start time of the holder) is only for the message a second build prints.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import BuildLocked

logger = logging.getLogger(__name__)

LOCK_NAME = ".build.lock"


@contextmanager
def build_lock(site_dir: Path) -> Iterator[None]:
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / LOCK_NAME
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "未知"
            raise BuildLocked(f"另一个构建正在进行（{holder}），本次不启动") from None
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
