"""Forked worker processes: the one mechanism behind the build's parallel work — the site's
pages (``site/generator.py``), the open datasets' formats (``datasets/run.py``) and the privacy
gate's scan (``gates/privacy/workers.py``).

* **How many.** :func:`process_count` is the one rule: the configured count when above 0, else
  one process per CPU this process may run on, at most :data:`MAX_AUTOMATIC`.
  The count comes from the ``workers`` setting (``pipeline/config.py``: the YAML file or
  ``APPROVALS_WORKERS``); the build makes it this process's with :func:`workers_in_use`, and
  :func:`configured_workers` is where the parallel parts read it.
* **Forked, not spawned.** A worker starts with the build's memory (the release data, the
  compiled templates, the privacy scanner's automaton) instead of pickling it: the ``context``
  of a :class:`ForkPool` reaches its workers through the fork, and only the tasks and their
  results travel through pipes. What a worker changes in memory stays in its process.
* **Workers die with the build.** Right after the fork a worker asks the kernel for SIGKILL when
  its parent dies (``prctl(PR_SET_PDEATHSIG)``), then checks that its parent is still the
  process that forked it (the parent may have died in between, and then no signal comes). A
  build killed with SIGKILL so leaves no worker behind to write into its staging folder or to
  keep running. :func:`dies_with_this_process` gives the same to a command the build runs
  (``subprocess``'s ``preexec_fn``).

The parent-death signal is sent when the *thread* that forked dies: pools are made, used and
closed by one thread (the build's), never handed to a thread that ends before them.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any, Generic, TypeVar

from blinker import Signal

from pipeline.errors import ConfigurationError

MAX_AUTOMATIC = 4
"""At most this many processes when the count is automatic (``0``): beyond four, the build's
parallel parts gain little and each fork costs memory."""

task_starting = Signal(
    doc="Sent in a worker process before each task it runs; the sender is the pool's name "
    "(``render``, ``datasets``, ``privacy``). Tests connect to it (tests/hooks/).",
)

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

# ---------------------------------------------------------------- how many


_configured = 0


def configured_workers() -> int:
    """The configured number of worker processes (``0``: automatic, see :func:`process_count`;
    ``1``: no worker, everything in the build's own process)."""
    return _configured


@contextmanager
def workers_in_use(count: int) -> Iterator[None]:
    """The build's ``workers`` setting for the run inside (restored after, so one process may run
    builds with different settings one after another)."""
    global _configured
    if count < 0:
        raise ConfigurationError(
            f"workers 应为非负整数（0 = 按 CPU 数自动，1 = 不另起进程），得到 {count!r}"
        )
    before, _configured = _configured, count
    try:
        yield
    finally:
        _configured = before


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, which containers and ``taskset`` limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_count(configured: int) -> int:
    """The number of processes to use: ``configured`` when above 0, else one per available CPU,
    at most :data:`MAX_AUTOMATIC`. One process means: no worker, all in this process."""
    if configured > 0:
        return configured
    return max(1, min(MAX_AUTOMATIC, available_cpus()))


# ---------------------------------------------------------------- dying with the parent

PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not on Linux
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl  # type: ignore[no-any-return]


_PRCTL = _load_prctl()
"""libc's ``prctl``, looked up once here: a forked child only calls it."""


def die_with_parent(parent: int) -> None:
    """In a process just forked from ``parent``: be killed when ``parent`` dies, and exit at once
    if it already has. Where ``prctl`` is missing (not Linux), the check alone is made; the pool's
    workers make it again before each task."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(70)


def dies_with_this_process() -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess``: the command is killed when this process dies (the
    signal survives the ``exec``)."""
    return partial(die_with_parent, os.getpid())


# ---------------------------------------------------------------- the pool


class Pending(Generic[R]):
    """A task given to a :class:`ForkPool`: its result once a worker has sent it back."""

    __slots__ = ("_outcome", "_pool")

    def __init__(self, pool: ForkPool[Any, Any, R]) -> None:
        self._pool = pool
        self._outcome: tuple[bool, Any] | None = None

    def done(self) -> bool:
        """Whether the result (or the error) is in; takes what has arrived, never waits."""
        if self._outcome is None:
            self._pool.collect(block=False)
        return self._outcome is not None

    def result(self) -> R:
        """The result, waiting for it; raises what the task raised in its worker, or
        ``BrokenProcessPool`` when a worker of the pool died."""
        while self._outcome is None:
            self._pool.collect(block=True)
        ok, value = self._outcome
        if ok:
            return value  # type: ignore[no-any-return]
        raise value


class RemoteTraceback(Exception):
    """The traceback of an error raised in a worker (the ``__cause__`` of the error re-raised)."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""'


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's forked Process
    tasks: Connection  # this end writes the worker's tasks
    results: Connection  # this end reads its results
    current: Pending[Any] | None = None


_STOP = None


class ForkPool(Generic[C, T, R]):
    """``processes`` forks of this process, each calling ``work(context, task)`` for the tasks
    sent to it, one at a time, in the order given; :meth:`submit` returns a :class:`Pending`.

    ``context`` and ``work`` are not pickled: the workers have them from the fork. A task goes
    to a worker when the worker is idle (so a pipe never holds more than one task, and neither
    side can block the other on a full pipe), whenever the pool is looked at: :meth:`submit`,
    :meth:`Pending.done`, :meth:`Pending.result`. A worker that dies breaks the pool: every task
    not done raises ``BrokenProcessPool``, and so does :meth:`submit`.

    Used as a context manager: on leaving normally the workers finish and are reaped
    (:meth:`close`); on an error they are killed (:meth:`terminate`)."""

    def __init__(self, name: str, processes: int, work: Callable[[C, T], R], context: C) -> None:
        self.name = name
        self._queue: deque[tuple[T, Pending[R]]] = deque()
        self._workers: list[_Worker] = []
        self._broken: BrokenProcessPool | None = None
        self._closed = False
        fork = multiprocessing.get_context("fork")
        parent = os.getpid()
        try:
            for _ in range(max(1, processes)):
                task_reader, task_writer = fork.Pipe(duplex=False)
                result_reader, result_writer = fork.Pipe(duplex=False)
                parent_ends = [task_writer, result_reader]
                parent_ends += [end for w in self._workers for end in (w.tasks, w.results)]
                process = fork.Process(  # type: ignore[attr-defined]
                    target=_serve,
                    args=(parent, name, work, context, task_reader, result_writer, parent_ends),
                    name=f"approvals-{name}",
                    daemon=True,
                )
                process.start()
                task_reader.close()  # the worker's ends: a dead worker is an end of file here
                result_writer.close()
                self._workers.append(_Worker(process, task_writer, result_reader))
        except BaseException:
            self.terminate()
            raise

    def __enter__(self) -> ForkPool[C, T, R]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers]

    def submit(self, task: T) -> Pending[R]:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise RuntimeError(f"进程池 {self.name} 已关闭")
        pending: Pending[R] = Pending(self)
        self._queue.append((task, pending))
        self._send()
        return pending

    def collect(self, *, block: bool) -> None:
        """Take the results that have arrived and give idle workers the next tasks; with
        ``block``, first wait until at least one result (or a worker's death) is in."""
        self._send()
        busy = {worker.results: worker for worker in self._workers if worker.current is not None}
        if not busy:
            return
        for ready in wait(list(busy), timeout=None if block else 0):
            worker = busy[ready]  # type: ignore[index]
            try:
                ok, value, trace = worker.results.recv()
            except (EOFError, OSError):
                self._break(worker)
                return
            pending, worker.current = worker.current, None
            if not ok and trace:
                value.__cause__ = RemoteTraceback(trace)
            pending._outcome = (ok, value)  # type: ignore[union-attr]
        self._send()

    def _send(self) -> None:
        for worker in self._workers:
            if not self._queue or self._broken is not None:
                return
            if worker.current is None:
                task, pending = self._queue.popleft()
                try:
                    worker.tasks.send(task)
                except OSError:  # the worker is gone (a broken pipe)
                    self._queue.appendleft((task, pending))
                    self._break(worker)
                    return
                worker.current = pending

    def _break(self, dead: _Worker) -> None:
        dead.process.join(5)
        self._broken = BrokenProcessPool(
            f"工作进程意外退出（{self.name}，pid {dead.process.pid}，"
            f"退出码 {dead.process.exitcode}），未完成的任务作废"
        )
        self._fail_all(self._broken)
        self.terminate()

    def _fail_all(self, error: BaseException) -> None:
        for worker in self._workers:
            if worker.current is not None:
                worker.current._outcome = (False, error)
                worker.current = None
        while self._queue:
            _, pending = self._queue.popleft()
            pending._outcome = (False, error)

    def close(self) -> None:
        """Let the workers finish the tasks they hold (tasks not sent yet are cancelled), then
        stop them and reap them."""
        while self._broken is None and any(w.current is not None for w in self._workers):
            self.collect(block=True)
        self._closed = True
        self._fail_all(CancelledError())
        for worker in self._workers:
            try:
                worker.tasks.send(_STOP)
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join(10)
        self.terminate()  # any that did not stop

    def terminate(self) -> None:
        """Kill the workers (SIGKILL) and reap them; tasks not done are cancelled."""
        self._closed = True
        self._fail_all(CancelledError())
        for worker in self._workers:
            if worker.process.exitcode is None:
                worker.process.kill()
        for worker in self._workers:
            worker.process.join()
            worker.tasks.close()
            worker.results.close()
        self._workers = []


def _serve(
    parent: int,
    name: str,
    work: Callable[[Any, Any], Any],
    context: Any,
    tasks: Connection,
    results: Connection,
    parent_ends: list[Connection],
) -> None:
    """A worker's life: die with the parent, then run the tasks that come until told to stop.

    The pipes' ends that the parent holds (this worker's and the earlier workers') are closed
    here, so that the parent is the only writer of the tasks: if it dies and the kernel's
    signal does not come (no ``prctl``), the next read ends in end-of-file, and the worker
    ends after its task."""
    die_with_parent(parent)
    for end in parent_ends:
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle
    while True:
        try:
            task = tasks.recv()
        except EOFError:
            return
        if task is _STOP or os.getppid() != parent:
            return
        task_starting.send(name)
        try:
            outcome = (True, work(context, task), "")
        except BaseException as error:  # sent back, raised in the build
            outcome = (False, error, traceback.format_exc())
        try:
            _send(results, outcome)
        except OSError:  # the parent is gone
            return


def _send(results: Connection, outcome: tuple[bool, Any, str]) -> None:
    try:
        results.send(outcome)
    except OSError:
        raise
    except Exception as error:  # a result or an error that cannot be pickled
        results.send((False, RuntimeError(repr(error)), traceback.format_exc()))


# ---------------------------------------------------------------- a few calls at once


def _call(calls: Sequence[Callable[[], Any]], index: int) -> Any:
    return calls[index]()


def run_parallel(calls: Sequence[Callable[[], Any]], name: str = "parallel") -> list[Any]:
    """``[call() for call in calls]``: the first call in this process, each other in a worker
    of its own (a :class:`ForkPool` named ``name``), all at once. Results come back in order; an
    error in any call (a full disk, a bad record) is raised here, as it would be from a plain
    loop; a worker that died raises ``BrokenProcessPool``. The calls may only write files and
    return values: what they change in memory stays in their process."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ForkPool(name, len(calls) - 1, _call, calls) as pool:
        others = [pool.submit(index) for index in range(1, len(calls))]
        first = calls[0]()
        return [first, *(pending.result() for pending in others)]
