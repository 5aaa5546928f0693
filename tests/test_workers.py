"""``pipeline.workers``: the build's one fork pool — its count rule and knob, tasks and errors,
and workers (and commands) that die with the process that started them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigurationError
from pipeline.workers import (
    MAX_AUTOMATIC,
    ForkPool,
    RemoteTraceback,
    available_cpus,
    configured_workers,
    die_with_parent,
    process_count,
    run_parallel,
    workers_in_use,
)
from tests.faults_support import PROJECT_ROOT, processes

# ---------------------------------------------------------------- how many


def test_one_rule_for_the_number_of_processes():
    assert process_count(3) == 3
    assert process_count(1) == 1
    assert process_count(0) == max(1, min(MAX_AUTOMATIC, available_cpus()))
    assert 1 <= process_count(0) <= MAX_AUTOMATIC


def test_the_workers_setting_reaches_the_pools_and_is_checked_once():
    """``workers`` is a setting (file or ``APPROVALS_WORKERS``, checked by the typed model); the
    build makes it the process's for its run and restores the one before."""
    assert configured_workers() == 0
    with workers_in_use(2):
        assert configured_workers() == 2
        with workers_in_use(1):
            assert configured_workers() == 1
        assert configured_workers() == 2
    assert configured_workers() == 0
    for text, value in (("2", 2), (" 0 ", 0), ("1", 1)):
        assert (
            load_settings(options={"export": "x"}, environ={"APPROVALS_WORKERS": text}).workers
            == value
        )
    for text in ("-1", "two", "1.5"):
        with pytest.raises(ConfigurationError) as error:
            load_settings(options={"export": "x"}, environ={"APPROVALS_WORKERS": text})
        assert "APPROVALS_WORKERS" in str(error.value) and text in str(error.value)


# ---------------------------------------------------------------- tasks and errors


def _describe(context: threading.Lock, task: int) -> tuple[int, int, str]:
    return os.getpid(), task * 2, type(context).__name__


def test_tasks_run_in_forked_workers_with_the_context_from_the_fork():
    context = threading.Lock()  # cannot be pickled: it reaches the workers through the fork
    with ForkPool("test", 2, _describe, context) as pool:
        workers = set(pool.pids)
        results = [pool.submit(task) for task in range(20)]
        done = [pending.result() for pending in results]
    assert [doubled for _, doubled, _ in done] == [task * 2 for task in range(20)]
    assert {pid for pid, _, _ in done} <= workers and os.getpid() not in workers
    assert {name for _, _, name in done} == {"lock"}


def _fail_on_seven(context: None, task: int) -> int:
    if task == 7:
        raise ValueError(f"task {task} failed")
    return task


def test_an_error_in_a_worker_is_raised_here_with_the_workers_traceback():
    with ForkPool("test", 2, _fail_on_seven, None) as pool:
        results = [pool.submit(task) for task in range(10)]
        with pytest.raises(ValueError, match="task 7 failed") as error:
            results[7].result()
        assert isinstance(error.value.__cause__, RemoteTraceback)
        assert "_fail_on_seven" in str(error.value.__cause__)
        assert [results[task].result() for task in (6, 8, 9)] == [6, 8, 9]  # the others run on


def _exit_on_three(context: None, task: int) -> int:
    if task == 3:
        os._exit(3)
    time.sleep(0.2)
    return task


def test_a_worker_that_dies_breaks_the_pool():
    with ForkPool("test", 2, _exit_on_three, None) as pool:
        workers = pool.pids
        results = [pool.submit(task) for task in range(3, 9)]
        with pytest.raises(BrokenProcessPool, match="退出码 3"):
            results[0].result()
        with pytest.raises(BrokenProcessPool):
            pool.submit(10)
    assert not [pid for pid in workers if _running(pid)]  # the other worker is stopped too


def test_run_parallel_gives_results_in_order_and_raises_an_error_of_any_call():
    assert run_parallel([lambda: 1, os.getpid, lambda: 3])[1] != os.getpid()

    def fail() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        run_parallel([lambda: 1, fail])


# ---------------------------------------------------------------- dying with the parent


def test_a_fork_whose_parent_is_already_gone_exits_at_once():
    """The parent may die between the fork and ``prctl``: then no signal would ever come, so the
    worker checks that its parent is still the process that forked it."""
    child = multiprocessing.get_context("fork").Process(target=die_with_parent, args=(1,))
    child.start()
    child.join(10)
    assert child.exitcode == 70


PARALLEL_THEN_KILLED = """
import os, sys, time
from pipeline.workers import run_parallel

def worker():
    os.write(1, b"%d\\n" % os.getpid())  # one write: two workers print at once
    time.sleep(60)

run_parallel([lambda: time.sleep(60), worker, worker])
"""

POOL_WITHOUT_PRCTL_THEN_KILLED = """
import os, time
import pipeline.workers as workers

workers._PRCTL = None  # as on a system without prctl: the pipes are all that is left

def work(context, seconds):
    os.write(1, b"%d\\n" % os.getpid())  # one write: two workers print at once
    time.sleep(seconds)

with workers.ForkPool("test", 2, work, None) as pool:
    [pool.submit(1.0) for _ in range(2)]
    time.sleep(60)
"""

COMMAND_THEN_KILLED = """
import subprocess, time
from pipeline.workers import dies_with_this_process

child = subprocess.Popen(["sleep", "60"], preexec_fn=dies_with_this_process())
print(child.pid, flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    return any(p.pid == pid and p.state not in "ZX" for p in processes())


def _kill_and_watch(script: str, count: int) -> list[int]:
    """Run ``script`` (which starts ``count`` processes and prints their pids), SIGKILL it, and
    return the pids still running five seconds later (killed here, not left to run)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    pids = []
    try:
        pids = [int(parent.stdout.readline()) for _ in range(count)]
        assert all(map(_running, pids))
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 5
        while any(map(_running, pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [pid for pid in pids if _running(pid)]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        for pid in pids:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_workers_die_with_the_process_that_forked_them():
    assert _kill_and_watch(PARALLEL_THEN_KILLED, 2) == []


def test_a_command_started_with_dies_with_this_process_dies_with_it():
    assert _kill_and_watch(COMMAND_THEN_KILLED, 1) == []


def test_without_the_kernels_signal_a_worker_ends_after_its_task_when_its_parent_is_gone():
    """The fallback where ``prctl`` is missing: the parent is the only writer of a worker's
    tasks, so its death is an end of file for the worker, which stops after the task it holds
    (before, a worker also held its own task pipe open and waited on it for ever)."""
    assert _kill_and_watch(POOL_WITHOUT_PRCTL_THEN_KILLED, 2) == []
