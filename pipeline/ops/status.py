"""Status data: how fresh the live site is (for everyone) and how the last runs went (for admins).

Three files, all outside ``DIR/releases/`` so that releases stay byte-identical::

    DIR/status.json          public: last successful build, live release, data as of, counts
                             (rewritten atomically after each successful build and each rollback;
                             nginx serves it as /status.json)
    DIR/logs/runs.jsonl      admin: one JSON line per ``approvals build`` run, whatever its end
                             (started, finished, duration, exit code, result, message, timings)
    DIR/logs/build-*.log     admin: the output of builds started by ``approvals trigger`` or
                             the admin endpoint

The static page ``/status.html`` is rendered from release data by the site generator (data as of,
export id, counts), so it is deterministic; it links to ``status.json`` for the build time.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pipeline.errors import ApprovalsError, ConfigurationError
from pipeline.release.lock import LOCK_NAME
from pipeline.release.lock import lock_holder as current_holder
from pipeline.release.publish import live_release

logger = logging.getLogger(__name__)

STATUS_FILE = "status.json"
LOGS_DIR = "logs"
RUNS_LOG = "runs.jsonl"
MAX_MESSAGE_CHARS = 4000
TRIGGER_ENV = "APPROVALS_TRIGGER"
BUILD_LOG_ENV = "APPROVALS_BUILD_LOG"

EXIT_CODES: dict[int, tuple[str, str]] = {
    0: ("published", "已发布"),
    1: ("failed", "失败：导出有无效记录（validate）或意外错误，详见日志"),
    2: ("usage", "用法错误"),
    3: ("refused", "拒绝发布：导出损坏或未通过发布检查，线上版本未变"),
    4: ("unreachable", "导出接口无法访问，线上版本未变"),
    5: ("configuration", "配置错误，未构建"),
    6: ("disk_full", "磁盘空间不足，线上版本未变"),
    7: ("unchanged", "导出未变化，未构建"),
    8: ("locked", "另一个构建正在进行，本次未启动"),
    130: ("interrupted", "被中断，线上版本未变"),
}
"""Every exit code of ``approvals`` → (outcome keyword, result in words). docs/operations.md
explains each (a test keeps the two in sync)."""


def describe_exit(code: int | None) -> tuple[str, str]:
    """(outcome keyword, result in words) for an exit code; a negative code is a signal."""
    if code is None:
        return "running", "正在运行"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"信号 {-code}"
        return "killed", f"构建进程被 {name} 终止，线上版本未变"
    return EXIT_CODES.get(code, ("failed", f"以 {code} 退出"))


def now_local() -> datetime:
    return datetime.now().astimezone()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# ------------------------------------------------------------------ release facts


def _stored_cases(release: Path) -> int | None:
    store = release / "state" / "cases.parquet"
    if not store.is_file():
        return None
    import duckdb

    path = str(store).replace("'", "''")
    return int(
        duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    )


def release_facts(release: Path) -> dict[str, Any]:
    """What a release says about its data: export, data as of, counts."""
    manifest = _read_json(release / "data" / "manifest.json") or {}
    kept = manifest.get("kept", {})
    outcomes = _read_json(release / "data" / "outcomes.json") or {}
    stored = _stored_cases(release)
    counts = {
        "departments": kept.get("departments", 0),
        "items": kept.get("items", 0),
        "life_events": kept.get("life_events", 0),
        "cases": stored if stored is not None else kept.get("cases", 0),
        "cases_in_export": kept.get("cases", 0),
        "published_case_records": (outcomes.get("anonymisation") or {}).get("published_records", 0),
    }
    return {
        "release": release.name,
        "export_id": manifest.get("export_id"),
        "data_as_of": manifest.get("exported_at"),
        "counts": counts,
    }


# ------------------------------------------------------------------ public status.json


def read_public_status(site_dir: Path) -> dict[str, Any] | None:
    return _read_json(site_dir / STATUS_FILE)


def write_public_status(site_dir: Path, built_at: str | None = None) -> dict[str, Any] | None:
    """Rewrite ``DIR/status.json`` for the live release. ``built_at`` is the end of the build
    that just published; without it (after a rollback) the previous value is kept."""
    live = live_release(site_dir)
    if live is None:
        return None
    previous = read_public_status(site_dir) or {}
    status = {
        "schema": 1,
        "last_successful_build": built_at or previous.get("last_successful_build"),
        **release_facts(live),
        "updated": iso(now_local()),
        "about": "公开审批网站的数据更新状态：data_as_of 为审批系统导出数据的时间，"
        "last_successful_build 为最近一次成功构建并发布的时间",
    }
    _write_atomically(
        site_dir / STATUS_FILE, json.dumps(status, ensure_ascii=False, indent=1) + "\n"
    )
    return status


# ------------------------------------------------------------------ the build report

GATE_STEPS: dict[str, tuple[str, ...]] = {
    "extract_and_validate": ("manifest_counts_and_checksums", "invalid_share"),
    "check_site": ("page_count",),
    "check_datasets": ("datasets",),
    "gates": ("shrink", "anonymity", "site_smoke_check"),
    "privacy_gate": ("privacy",),
}
"""The gates each build step runs (a step raises when one of its gates refuses)."""


def report_sections(
    report: dict[str, Any],
    steps_done: list[str],
    shrink_overridden: list[str],
    has_case_records: bool,
    first_release: bool,
) -> dict[str, Any]:
    """What ``releases/<id>/report.json`` adds to the validation report: problems per department
    and the gates this release passed (it exists only because every gate of the steps it ran
    passed). Timings vary from run to run, so they go to ``logs/runs.jsonl`` and the build's
    summary, not into the release, which stays byte-identical for one export."""
    per_department: dict[str, dict[str, int]] = {}
    for problem in report.get("problems", []):
        code = problem.get("department_code") or "-"
        counts = per_department.setdefault(code, {"errors": 0, "warnings": 0})
        counts["errors" if problem.get("severity") == "error" else "warnings"] += 1
    for hidden in report.get("problems_not_shown", []):  # counted past the ones kept in full
        counts = per_department.setdefault(
            hidden.get("department_code") or "-", {"errors": 0, "warnings": 0}
        )
        counts["errors" if hidden.get("severity") == "error" else "warnings"] += hidden["count"]
    special = {
        "shrink": (
            "not applicable: first release"
            if first_release
            else "overridden by --allow-shrink"
            if shrink_overridden
            else "passed"
        ),
        "anonymity": "passed" if has_case_records else "not applicable: no case records",
    }
    gates = {
        gate: special.get(gate, "passed")
        for step in steps_done
        for gate in GATE_STEPS.get(step, ())
    }
    return {"problems_by_department": dict(sorted(per_department.items())), "gates": gates}


# ------------------------------------------------------------------ runs.jsonl


def runs_log(site_dir: Path) -> Path:
    return site_dir / LOGS_DIR / RUNS_LOG


def append_run(site_dir: Path, record: dict[str, Any]) -> None:
    """One line per run (a single ``write`` on an O_APPEND file, so lines never interleave)."""
    path = runs_log(site_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_runs(site_dir: Path, last: int = 50) -> list[dict[str, Any]]:
    """The last ``last`` run records, oldest first; a damaged line (disk full) is skipped."""
    path = runs_log(site_dir)
    if not path.is_file():
        return []
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 256 * 1024))
        lines = handle.read().splitlines()
    records = []
    for line in lines[-last:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def exit_code_of(exc: BaseException | None) -> int:
    if exc is None:
        return 0
    if isinstance(exc, ApprovalsError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return 6  # as pipeline.cli.main answers a full disk
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    return 1


class RunRecorder:
    """Around one ``approvals build``: appends its run record to ``logs/runs.jsonl`` however it
    ends, and on success rewrites ``status.json``. Writing either never masks the build's
    own outcome (a full disk is logged, not raised)."""

    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir
        self.release = ""
        self.timings: dict[str, float] = {}
        self.message = ""

    def __enter__(self) -> RunRecorder:
        self.started = now_local()
        self.clock = time.perf_counter()
        return self

    def succeeded(self, release_id: str, timings: dict[str, float]) -> None:
        self.release, self.timings = release_id, dict(timings)
        self.message = f"已发布版本 {release_id}"
        try:
            write_public_status(self.site_dir, built_at=iso(now_local()))
        except OSError as exc:
            logger.warning("event=status_not_written error=%r", str(exc))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        code = exit_code_of(exc)
        outcome, result = describe_exit(code)
        message = self.message if exc is None else (str(exc) or type(exc).__name__)
        if exc is not None and not isinstance(exc, ApprovalsError | KeyboardInterrupt):
            message = f"{type(exc).__name__}: {message}"
        record = {
            "command": "build",
            "pid": os.getpid(),
            "started": iso(self.started),
            "finished": iso(now_local()),
            "duration_seconds": round(time.perf_counter() - self.clock, 3),
            "exit_code": code,
            "outcome": outcome,
            "result": result,
            "message": message[:MAX_MESSAGE_CHARS],
            "release": self.release,
            "timings": self.timings,
            "trigger": os.environ.get(TRIGGER_ENV, "command line"),
        }
        if os.environ.get(BUILD_LOG_ENV):
            record["log"] = os.environ[BUILD_LOG_ENV]
        try:
            append_run(self.site_dir, record)
        except OSError as error:
            logger.warning("event=run_not_recorded error=%r", str(error))
        return False


# ------------------------------------------------------------------ is a build running?

HOLDER_PID = re.compile(r"pid (\d+)")


def lock_text(site_dir: Path) -> str:
    try:
        return (site_dir / LOCK_NAME).read_text("utf-8").strip()
    except OSError:
        return ""


def lock_holder(site_dir: Path) -> str | None:
    """The holder's text (pid, start time) if a build holds the lock now, else None: the lock
    is a record lock of the build's own process, which the kernel names
    (:func:`pipeline.release.lock.lock_holder`); a killed build's text is not a holder."""
    return current_holder(site_dir)


def holder_pid(text: str) -> int | None:
    match = HOLDER_PID.search(text)
    return int(match.group(1)) if match else None


# ------------------------------------------------------------------ the schedule

SCHEDULE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_schedule(schedule: str) -> tuple[int, int]:
    match = SCHEDULE.match(str(schedule).strip())
    if not match:
        raise ConfigurationError(f"schedule 应为本地时间 HH:MM（如 02:30），得到 {schedule!r}")
    return int(match.group(1)), int(match.group(2))


def next_run(schedule: str, now: datetime | None = None) -> datetime:
    """The next daily run at ``schedule`` (HH:MM) strictly after ``now`` (default: now, in the
    machine's local time, which is what systemd timers and cron use)."""
    hour, minute = parse_schedule(schedule)
    local = now is None
    now = now_local() if now is None else now
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += timedelta(days=1)
    # the local offset of that day (a daylight-saving change in between moves it)
    return candidate.replace(tzinfo=None).astimezone() if local else candidate


# ------------------------------------------------------------------ the admin's view


def admin_status(site_dir: Path, schedule: str, running: dict[str, Any] | None) -> dict[str, Any]:
    """What ``GET /status`` answers: live release, data as of, last run, running, next run."""
    live = live_release(site_dir)
    facts = (
        release_facts(live)
        if live
        else {"release": None, "export_id": None, "data_as_of": None, "counts": {}}
    )
    public = read_public_status(site_dir) or {}
    runs = read_runs(site_dir, last=1)
    last = runs[-1] if runs else None
    if last is not None:
        last = {
            k: last.get(k)
            for k in (
                "started",
                "finished",
                "duration_seconds",
                "exit_code",
                "outcome",
                "result",
                "message",
                "release",
                "trigger",
                "log",
                "timings",
            )
        }
    return {
        **facts,
        "last_successful_build": public.get("last_successful_build"),
        "running": running is not None,
        "running_build": running,
        "last_run": last,
        "schedule": schedule,
        "next_scheduled_run": iso(next_run(schedule)),
    }
