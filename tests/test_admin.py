"""The admin endpoint (``approvals admin-serve``) and ``approvals trigger``, driven as the ops
console and an admin drive them: real server processes, real sockets, real builds.

The builds are held open with the test hook (tests/hooks/sitecustomize.py on ``PYTHONPATH``,
``APPROVALS_PAUSE_BEFORE=publish``) so that a flood of triggers or a second ``trigger`` arrives
while one is running.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults_support import with_hooks
from tests.fixtures import EXPORTED_AT, small_export

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "admin-test-token-0123456789abcdef"
HOOKS = {"PYTHONPATH": with_hooks(os.environ.get("PYTHONPATH"))}
HOLD = {**HOOKS, "APPROVALS_PAUSE_BEFORE": "publish", "APPROVALS_PAUSE_SECONDS": "3"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, export: Path, **settings) -> Path:
    lines = [f"export: {json.dumps(str(export))}", f"site: {json.dumps(str(tmp_path / 'site'))}"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in settings.items()]
    path = tmp_path / "approvals.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    env.update(extra)
    return env


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Admin:
    process: subprocess.Popen
    port: int
    site: Path
    banner: str

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            connection.close()

    def post(self, path: str = "/rebuild", token: str | None = TOKEN, **kwargs) -> Answer:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", path, headers, **kwargs)

    def status(self) -> dict:
        answer = self.request("GET", "/status", {"Authorization": f"Bearer {TOKEN}"})
        assert answer.status == 200, answer
        return answer.json()

    def wait_idle(self, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if not status["running"]:
                return status
            time.sleep(0.2)
        pytest.fail("the build did not finish")


@contextmanager
def admin_server(
    tmp_path: Path, export: Path, *, port_arg: bool = True, env: dict | None = None, **settings
) -> Iterator[Admin]:
    port = _free_port()
    config = _config(tmp_path, export, admin_port=port, **settings)
    command = [sys.executable, "-m", "pipeline.cli", "admin-serve", "--config", str(config)]
    if port_arg:
        command += ["--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_env(APPROVALS_ADMIN_TOKEN=TOKEN, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert "管理接口" in banner, (
            banner,
            process.stderr.read() if process.poll() is not None else "",
        )
        yield Admin(process, port, tmp_path / "site", banner)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _runs(site: Path) -> list[dict]:
    path = site / "logs" / "runs.jsonl"
    return (
        [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        if path.is_file()
        else []
    )


def _releases(site: Path) -> list[str]:
    folder = site / "releases"
    return (
        sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        if folder.is_dir()
        else []
    )


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return small_export(tmp_path_factory.mktemp("admin") / "export")


# ------------------------------------------------------------------ start-up


@pytest.mark.parametrize("token", [None, "too-short"])
def test_refuses_to_start_without_a_long_enough_token(tmp_path, export, token):
    config = _config(tmp_path, export)
    env = _env() if token is None else _env(APPROVALS_ADMIN_TOKEN=token)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "admin-serve",
            "--config",
            str(config),
            "--port",
            str(_free_port()),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 5
    assert "APPROVALS_ADMIN_TOKEN" in done.stderr and "拒绝启动" in done.stderr
    assert "Traceback" not in done.stderr


def test_binds_to_localhost_by_default(tmp_path, export):
    with admin_server(tmp_path, export, port_arg=False, admin_rate_limit=100) as admin:
        assert f"http://127.0.0.1:{admin.port}/" in admin.banner
        listening = []
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.split(":")
            if state == "0A" and int(port, 16) == admin.port:
                listening.append(address)
        assert listening == ["0100007F"]  # 127.0.0.1, and nothing else
        assert admin.request("GET", "/status").status == 401


# ------------------------------------------------------------------ refusals


def test_no_token_wrong_token_any_malformed_header_get_one_identical_401(tmp_path, export):
    with admin_server(tmp_path, export, admin_rate_limit=100) as admin:
        attempts = [
            {},
            {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": TOKEN},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": f"Bearer  {TOKEN}"},
            {"Authorization": ""},
        ]
        answers = [admin.post(token=None, headers=dict(h)) for h in attempts]
        answers.append(admin.request("GET", "/status", {"Authorization": "Bearer nope"}))
        for answer in answers:
            assert answer.status == 401
            assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert {a.body for a in answers} == {b'{"error": "unauthorized"}\n'}
        without_date = [{k: v for k, v in a.headers.items() if k != "date"} for a in answers]
        assert all(h == without_date[0] for h in without_date)
        assert _releases(admin.site) == [] and not (admin.site / "logs" / "runs.jsonl").exists()


def test_a_token_in_the_query_string_is_refused(tmp_path, export):
    with admin_server(tmp_path, export, admin_rate_limit=100) as admin:
        for path in (f"/rebuild?token={TOKEN}", f"/rebuild?access_token={TOKEN}"):
            assert admin.post(path, token=None).status == 400
            assert admin.post(path).status == 400  # refused even with the right header as well
        assert admin.request("GET", f"/status?token={TOKEN}").status == 400
        time.sleep(0.5)
        assert not list(admin.site.glob("logs/build-*.log")) and _releases(admin.site) == []
    assert "token_in_query_string" in admin.process.stderr.read()


def test_an_oversized_body_is_413(tmp_path, export):
    with admin_server(tmp_path, export, admin_rate_limit=100) as admin:
        big = b"x" * 4096
        assert admin.post(body=big).status == 413  # by Content-Length, before reading
        assert admin.post(token=None, body=big).status == 413
        chunked = admin.post(body=iter([b"y" * 700, b"y" * 700]))  # http.client sends it chunked
        assert chunked.status == 413  # by reading: no Content-Length to trust
        smuggle = admin.post(
            body=b"{}", headers={"Transfer-Encoding": "chunked", "Content-Length": "2"}
        )
        assert smuggle.status == 400
        for answer in (chunked, smuggle):
            assert (
                answer.headers["content-type"].startswith("application/json")
                and b"Traceback" not in answer.body
            )
        assert _releases(admin.site) == []


def test_unknown_routes_methods_and_garbage_get_json_not_a_stack_trace(tmp_path, export):
    with admin_server(tmp_path, export, admin_rate_limit=100) as admin:
        assert admin.request("GET", "/").status == 404
        assert admin.request("GET", "/rebuild").status == 405
        assert admin.request("DELETE", "/status").status == 405
        with socket.create_connection(("127.0.0.1", admin.port), timeout=10) as raw:
            raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            reply = b""
            while chunk := raw.recv(4096):
                reply += chunk
        assert (
            reply.startswith(b"HTTP/1.0 400") and b'{"error"' in reply and b"Traceback" not in reply
        )
        assert b"Python" not in reply  # no version in the Server header
    log = admin.process.stderr.read()
    assert "event=request client=127.0.0.1 method=GET path=/ status=404" in log, log
    assert TOKEN not in log


# ------------------------------------------------------------------ the flood


def test_a_flood_of_triggers_runs_exactly_one_build(tmp_path, export):
    with admin_server(tmp_path, export, env=HOLD, admin_rate_limit=6, schedule="02:30") as admin:
        barrier = threading.Barrier(20)
        answers: list[Answer] = []

        def fire() -> None:
            barrier.wait()
            answers.append(admin.post())

        threads = [threading.Thread(target=fire) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        statuses = sorted((a.status, a.json().get("status")) for a in answers)
        started = [a.json() for a in answers if a.status == 202 and a.json()["status"] == "started"]
        coalesced = [a for a in answers if a.status == 202 and a.json()["status"] == "coalesced"]
        limited = [a for a in answers if a.status == 429]
        assert len(answers) == 20 and len(started) == 1, statuses
        assert len(coalesced) == 5 and len(limited) == 14, statuses  # 6 admitted per minute
        assert all(int(a.headers["retry-after"]) >= 1 for a in limited)

        running = admin.status()
        assert running["running"] is True and running["running_build"]["pid"] == started[0]["pid"]
        assert admin.post().status == 429  # still over the budget

        status = admin.wait_idle()
        # one build, one release
        assert _releases(admin.site) == ["r000001-20261125T233000-test-export"]
        runs = _runs(admin.site)
        assert len(runs) == 1 and runs[0]["pid"] == started[0]["pid"]
        assert runs[0]["exit_code"] == 0 and runs[0]["trigger"] == "admin endpoint"
        last = status["last_run"]
        assert (
            last["exit_code"] == 0 and last["outcome"] == "published" and last["result"] == "已发布"
        )
        assert last["duration_seconds"] >= 3 and last["started"] < last["finished"]
        assert last["log"] == started[0]["log"] and "已发布版本" in Path(last["log"]).read_text(
            "utf-8"
        )
        assert status["release"] == "r000001-20261125T233000-test-export" == last["release"]
        assert status["data_as_of"] == EXPORTED_AT and status["counts"]["items"] == 3
        assert status["last_successful_build"] and status["schedule"] == "02:30"
        assert status["next_scheduled_run"][11:16] == "02:30"


def test_status_shows_a_failed_build_and_a_killed_one(tmp_path, export):
    with admin_server(tmp_path, tmp_path / "no-such-export", admin_rate_limit=100) as admin:
        assert admin.post().json()["status"] == "started"
        last = admin.wait_idle()["last_run"]
        assert last["exit_code"] == 3 and last["outcome"] == "refused"
        assert "导出目录不存在" in last["message"] and not (admin.site / "current").exists()

    hold = {**HOOKS, "APPROVALS_PAUSE_BEFORE": "publish", "APPROVALS_PAUSE_SECONDS": "60"}
    (tmp_path / "killed").mkdir()
    with admin_server(tmp_path / "killed", export, env=hold, admin_rate_limit=100) as admin:
        build = admin.post().json()
        log = Path(build["log"])
        deadline = time.monotonic() + 60
        while "paused-before=publish" not in log.read_text("utf-8"):
            assert time.monotonic() < deadline, log.read_text("utf-8")
            time.sleep(0.1)
        os.kill(build["pid"], signal.SIGKILL)
        status = admin.wait_idle()
        assert status["last_run"]["exit_code"] == -9 and status["last_run"]["outcome"] == "killed"
        assert "SIGKILL" in status["last_run"]["result"]
        assert status["release"] is None and not (admin.site / "current").exists()


# ------------------------------------------------------------------ approvals trigger


def test_trigger_starts_a_detached_build_and_a_second_trigger_exits_8(tmp_path, export):
    config = _config(tmp_path, export)
    site = tmp_path / "site"
    trigger = [sys.executable, "-m", "pipeline.cli", "trigger", "--config", str(config)]
    started = time.monotonic()
    first = subprocess.run(
        trigger, cwd=ROOT, env=_env(**HOLD), capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    assert time.monotonic() - started < 15  # returns while the build goes on
    fields = dict(part.split("=", 1) for part in first.stdout.split() if "=" in part)
    pid, log = int(fields["pid"]), Path(fields["log"])
    assert log.parent == (site / "logs").resolve() and log.name.startswith("build-")
    assert os.getsid(pid) == pid  # its own session: detached from the admin's terminal

    second = subprocess.run(
        trigger, cwd=ROOT, env=_env(**HOLD), capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 8 and f"pid {pid}" in second.stderr
    assert "另一个构建正在进行" in second.stderr

    deadline = time.monotonic() + 90
    while not [r for r in _runs(site) if r["pid"] == pid]:
        assert time.monotonic() < deadline, log.read_text("utf-8")
        time.sleep(0.2)
    run = [r for r in _runs(site) if r["pid"] == pid][0]
    assert (
        run["exit_code"] == 0 and run["trigger"] == "approvals trigger" and run["log"] == str(log)
    )
    assert len(_runs(site)) == 1 and _releases(site) == ["r000001-20261125T233000-test-export"]
    assert "已发布版本" in log.read_text("utf-8")
    assert json.loads((site / "status.json").read_text("utf-8"))["release"] == run["release"]
