"""Test hooks for builds the tests run as processes: ``tests/faults_support.py`` and
``tests/test_admin.py`` put this folder first on ``PYTHONPATH`` (production never does), and
Python imports this module as it starts. It listens at the build's hook points when the
environment asks:

- ``APPROVALS_PAUSE_BEFORE=<step>``: before that step (``pipeline.build.step_starting``), or at
  that point inside the publish step (``pipeline.release.publish.publish_point``:
  ``swap_current``, ``mark_published``), print ``paused-before=<step>`` on stderr and sleep
  ``APPROVALS_PAUSE_SECONDS`` (default 30).
- ``APPROVALS_HOLD_WORKERS=<pool>``: in each worker process of that pool (``render``,
  ``datasets``, ``privacy``: ``pipeline.workers.task_starting``), before each task, print
  ``worker-busy=<pool> pid=<pid>`` on stderr and sleep ``APPROVALS_PAUSE_SECONDS``.

The fault tests kill a build at such a point; the admin tests hold a build open.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

STEP = os.environ.get("APPROVALS_PAUSE_BEFORE", "")
POOL = os.environ.get("APPROVALS_HOLD_WORKERS", "")
SECONDS = float(os.environ.get("APPROVALS_PAUSE_SECONDS", "30"))


def pause_before(step: str) -> None:
    if step == STEP:
        print(f"paused-before={step}", file=sys.stderr, flush=True)
        time.sleep(SECONDS)


def hold_worker(pool: str) -> None:
    if pool == POOL:
        print(f"worker-busy={pool} pid={os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(SECONDS)


if STEP or POOL:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's pipeline
    from pipeline.build import step_starting
    from pipeline.release.publish import publish_point
    from pipeline.workers import task_starting

    step_starting.connect(pause_before)
    publish_point.connect(pause_before)
    task_starting.connect(hold_worker)
