"""The privacy scan across worker processes (a :class:`pipeline.workers.ForkPool` named
``privacy``), with the very same hits in the very same order as the serial scan.

The scanner reaches the workers through the fork (the pool's context), never pickled and never
kept in a module global; a worker calls :func:`_work` with it for each batch of units.
"""

from __future__ import annotations

import errno
import gc
import multiprocessing
import os
import stat
import threading
import zipfile
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.gates.privacy.detectors import UNSCANNABLE
from pipeline.gates.privacy.readers import (
    container_kind,
    content_digest,
    scan_member,
    scan_path,
    stream_digest,
    walk_once,
    zip_member,
)
from pipeline.gates.privacy.report import ENTER, HIT, LEAVE, UNIT, Hit, Hits, LogEntry, Place
from pipeline.workers import ForkPool, Pending

if TYPE_CHECKING:
    from pipeline.gates.privacy.scanner import PiiScanner

BATCH_UNITS = 64
BATCH_BYTES = 8 << 20
PENDING_UNITS = 8192
"""A release is scanned in units (a top-level file, or one member of a top-level ZIP), sent to
the workers in batches of up to ``BATCH_UNITS`` units or ``BATCH_BYTES`` bytes; at most about
``PENDING_UNITS`` units are planned ahead of the oldest one not yet taken into the hits, so
memory does not grow with the number of files. A release smaller than one batch is scanned in
this process: starting workers would cost more than it saves."""
Unit = tuple[Any, ...]
"""("file", path, relative, digest) or ("member", path, index, filename, relative, members,
digest): what a worker scans, its content's digest last."""

FORK_WITH_THREADS = False
"""Workers are forks of this process. A process that runs other threads is not forked (a lock
another thread holds would never be released in the fork, and the worker would hang): it scans
in this process instead, as fast as before."""


def _other_threads() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:  # not Linux
        return threading.active_count() > 1


_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _regular_file_to_read(path: str, published: frozenset[tuple[int, int]]) -> bool:
    """``Path(path).is_file()`` and not one of ``published`` (a missing file or a broken link is
    not a file; any other failure to ``stat`` is raised), with one ``stat``."""
    try:
        status = os.stat(path)
    except OSError as error:
        if error.errno in _NOT_THERE:
            return False
        raise
    except ValueError:
        return False
    return stat.S_ISREG(status.st_mode) and (status.st_dev, status.st_ino) not in published


def _digest_and_head(path: str) -> tuple[bytes, bytes, int]:
    """The content digest :meth:`PiiScanner._first_time` takes, the first 64 KiB, the size."""
    digest = content_digest()
    head, size = b"", 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if not size:
                head = chunk[:65536]
            size += len(chunk)
            digest.update(chunk)
    return digest.digest(), head, size


def _run_unit(scanner: PiiScanner, unit: Unit) -> list[LogEntry]:
    """Scan one unit as the serial scan would once it has let the unit's content in, and return
    the log: each hit added, and each inner content let in (``ENTER`` digest … ``LEAVE``).
    Inner contents are checked only against each other here; the replay checks them against the
    whole release."""
    log: list[LogEntry] = []
    hits = Hits(log)
    saved = scanner._seen_contents, scanner._log
    scanner._seen_contents, scanner._log = {unit[-1]}, log
    try:
        if unit[0] == "file":
            _, path, relative, _digest = unit
            try:
                path = Path(path)
                scan_path(scanner, path, path.name, Place(relative), hits, 0)
            except Exception as error:  # fail closed; the message may hold data
                hits.add(relative, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
        else:
            _, path, index, filename, relative, members, _digest = unit
            member = Place(relative, members)
            try:
                with zipfile.ZipFile(path) as archive:
                    info = archive.infolist()[index]
                    if info.filename != filename:
                        raise zipfile.BadZipFile("member list changed")
                    scan_member(scanner, archive, info, member, hits, 0)
            except Exception as error:
                hits.add(
                    relative, UNSCANNABLE, "", member.where(f"无法解压（{type(error).__name__}）")
                )
    finally:
        scanner._seen_contents, scanner._log = saved
    return log


_WORKER_SCANNER: PiiScanner | None = None


def _work(scanner: PiiScanner, units: list[Unit]) -> list[list[LogEntry]]:
    """A batch of units, in a worker process (which has the scanner from the fork)."""
    return [_run_unit(scanner, unit) for unit in units]


class _Slot:
    """Where a unit's log will be: computed here, or the n-th result of a worker's batch."""

    __slots__ = ("future", "index", "log")

    def __init__(self) -> None:
        self.future: Pending[list[list[LogEntry]]] | None = None
        self.index = 0
        self.log: list[LogEntry] | None = None

    def sent(self) -> bool:
        return self.log is not None or self.future is not None

    def ready(self) -> bool:
        return self.log is not None or (self.future is not None and self.future.done())

    def take(self) -> list[LogEntry]:
        """The log (waiting for the worker); raises what the worker raised, or BrokenProcessPool
        when it died."""
        if self.log is None:
            if self.future is None:
                raise RuntimeError("unit taken before it was sent")
            self.log = self.future.result()[self.index]
            self.future = None
        return self.log


class ParallelScan:
    """:meth:`PiiScanner.scan_release` across worker processes, with the very same hits in the
    very same order as the serial scan.

    This process walks the release in the serial order and plans: it scans file and member
    names, takes each file's content digest, opens each top-level ZIP and takes its members'
    digests, and leaves the contents to workers as units — a file, or a member of a top-level
    ZIP (so that the datasets ZIP is shared out member by member). Planned operations (a hit, a
    unit, the start and end of a ZIP) are then replayed in that order into the release's hits.

    A content the serial scan reads once is skipped the second time; which time is the first
    depends on everything before it, inner archive members included, which a worker does not
    know. So a worker reads its unit against that unit's contents only and logs, beside each
    hit, where each inner content starts and ends; the replay, which does know everything
    before, drops what the serial scan would have skipped. A content the planner has already
    seen is not sent at all. A unit whose worker failed or died is an ``unscannable`` hit: the
    gate refuses, it never passes on a scan that did not happen."""

    def __init__(self, scanner: PiiScanner, workers: int) -> None:
        self.scanner = scanner
        self.workers = workers
        self.hits = Hits()
        self.ops: deque[LogEntry] = deque()
        self.sink = Hits(self.ops)  # name hits found while planning, in order with the units
        self.seen: set[bytes] = set()  # contents the serial scan would have let in so far
        self.known: set[bytes] = set()  # contents planned; each is in ``seen`` by its turn
        self.skip = 0
        self.batch: list[tuple[Unit, _Slot]] = []
        self.batch_bytes = 0
        self.pending = 0
        self.pool: ForkPool[PiiScanner, list[Unit], list[list[LogEntry]]] | None = None
        self.in_process = False  # no (more) workers: units are scanned here

    # ------------------------------------------------------------ planning

    def run(self, root: Path, published: frozenset[tuple[int, int]]) -> list[Hit]:
        try:
            self._plan(root, published)
            self._flush(full=False)
            self._commit(0)
        finally:
            self._stop_pool()
        return self.hits.hits

    def _plan(self, root: Path, published: frozenset[tuple[int, int]]) -> None:
        """The serial scan's walk (:meth:`PiiScanner.scan_release`), with plain strings for paths
        and one ``stat`` per file: at 80,000 files, ``pathlib`` alone took seconds."""
        scanner, sink = self.scanner, self.sink
        top = os.fspath(root)
        prefix = top.rstrip(os.sep) + os.sep
        for folder, files in walk_once(top):
            if folder == top:
                base = ""
            elif folder.startswith(prefix) and os.sep == "/":
                base = folder[len(prefix) :] + "/"
            else:
                base = Path(folder).relative_to(root).as_posix() + "/"
            for name in files:
                path = os.path.join(folder, name)
                shown = base + name
                found = scanner.find(shown)
                relative = scanner._safe(shown, found)
                place = Place(relative)
                scanner._scan_name(shown, place, "文件名", sink, found)
                try:
                    if not _regular_file_to_read(path, published):
                        continue
                    digest, head, size = _digest_and_head(path)
                except Exception as error:  # fail closed; the message may hold data
                    sink.add(relative, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
                    continue
                if digest in self.known:
                    continue
                self.known.add(digest)
                archive = None
                if container_kind(head) == "zip":
                    try:
                        archive = zipfile.ZipFile(path)
                    except Exception:
                        archive = None  # the unit reads it as the serial scan does
                if archive is None:
                    self._unit(("file", path, relative, digest), size)
                else:
                    with archive:
                        self._zip_members(archive, path, place, digest)

    def _zip_members(
        self, archive: zipfile.ZipFile, path: str, place: Place, digest: bytes
    ) -> None:
        """What :meth:`PiiScanner._scan_zip` does with a top-level ZIP, each member a unit."""
        scanner, sink = self.scanner, self.sink
        self.ops.append((ENTER, digest))
        try:
            for index, info in enumerate(archive.infolist()):
                member = zip_member(scanner, info, place, sink)
                if member is None:
                    continue
                try:
                    inner = stream_digest(archive.open(info))
                except Exception as error:
                    sink.add(
                        place.file,
                        UNSCANNABLE,
                        "",
                        member.where(f"无法解压（{type(error).__name__}）"),
                    )
                    continue
                if inner in self.known:
                    continue
                self.known.add(inner)
                self._unit(
                    ("member", path, index, info.filename, place.file, member.members, inner),
                    info.file_size,
                )
        except Exception as error:  # as the serial scan's handler for the whole file
            sink.add(place.file, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
        finally:
            self.ops.append((LEAVE,))

    def _unit(self, unit: Unit, size: int) -> None:
        slot = _Slot()
        self.ops.append((UNIT, unit, slot))
        self.pending += 1
        self.batch.append((unit, slot))
        self.batch_bytes += size
        if len(self.batch) >= BATCH_UNITS or self.batch_bytes >= BATCH_BYTES:
            self._flush(full=True)
        self._commit(PENDING_UNITS)

    # ------------------------------------------------------------ workers

    def _flush(self, *, full: bool) -> None:
        """Send the batch to a worker, or scan it here (a release smaller than one batch, no
        fork on this platform, or after the workers have died)."""
        if not self.batch:
            return
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        if self.pool is None and full and not self.in_process:
            self._start_pool()
        if self.pool is not None:
            try:
                future = self.pool.submit([unit for unit, _ in batch])
            except Exception:  # BrokenProcessPool: a worker died; what it held is reported
                self._stop_pool()
                self.in_process = True
            else:
                for index, (_, slot) in enumerate(batch):
                    slot.future, slot.index = future, index
                return
        for unit, slot in batch:
            slot.log = _run_unit(self.scanner, unit)

    def _start_pool(self) -> None:
        if "fork" not in multiprocessing.get_all_start_methods() or (
            _other_threads() and not FORK_WITH_THREADS
        ):
            self.in_process = True
            return
        # The workers are forks: they share this process's memory until they write to it, and a
        # garbage collection in a worker would write to every object it walks.
        gc.freeze()
        try:
            self.pool = ForkPool("privacy", self.workers, _work, self.scanner)
        except Exception:
            gc.unfreeze()
            self.in_process = True

    def _stop_pool(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            pool.close()
            gc.unfreeze()

    # ------------------------------------------------------------ replay

    def _commit(self, keep: int) -> None:
        """Replay planned operations in order while the next one is ready, and wait for it
        while more than ``keep`` units are pending."""
        while self.ops:
            op = self.ops[0]
            if op[0] == UNIT and not self.skip and op[1][-1] not in self.seen:
                slot = op[2]
                if not slot.ready():
                    if self.pending <= keep:
                        return
                    if not slot.sent():
                        self._flush(full=False)
            self.ops.popleft()
            self._apply(op)

    def _apply(self, op: LogEntry) -> None:
        tag = op[0]
        if tag == UNIT:
            self.pending -= 1
        if self.skip:
            # Inside a content the serial scan skipped as already read: nothing in it happened.
            if tag == ENTER:
                self.skip += 1
            elif tag == LEAVE:
                self.skip -= 1
            return
        if tag == HIT:
            self.hits.add(op[1], op[2], op[3], op[4], supplementary=op[5], source=op[6])
        elif tag == ENTER:
            if op[1] in self.seen:
                self.skip = 1
            else:
                self.seen.add(op[1])
        elif tag == UNIT:
            unit, slot = op[1], op[2]
            if unit[-1] in self.seen:
                return
            self.seen.add(unit[-1])
            try:
                log = slot.take()
            except Exception as error:  # the worker failed or died: fail closed
                where = f"检查进程失败，未能检查（{type(error).__name__}）"
                if unit[0] == "member":
                    where = Place(unit[4], unit[5]).where(where)
                self.hits.add(unit[2] if unit[0] == "file" else unit[4], UNSCANNABLE, "", where)
                return
            for entry in log:
                self._apply(entry)
