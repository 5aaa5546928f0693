"""Starting builds on demand: ``approvals trigger`` and the admin endpoint (``approvals admin-serve``).

Both start the real command, ``python -m pipeline.cli build --config FILE``, as a detached
process whose output goes to ``DIR/logs/build-<timestamp>.log``: the build lock, the exit codes
and the run record (``DIR/logs/runs.jsonl``) are the ones of any other build.

The endpoint (stdlib ``ThreadingHTTPServer``, bound to 127.0.0.1 unless configured otherwise):

``POST /rebuild``  ``Authorization: Bearer <token>``; the token comes from the environment
                   variable named by ``admin_token_env`` (at least 16 characters, compared in
                   constant time). 202 ``{"status": "started"}`` or, while a build runs,
                   202 ``{"status": "coalesced"}`` (nothing new starts); 401 (one body whatever
                   was wrong), 400 (any query string — a token never travels in a URL),
                   413 (body over 1 KiB), 429 with ``Retry-After`` (``admin_rate_limit`` per
                   client per minute).
``GET /status``    the same token; the live release, data as of, the last run (started,
                   finished, duration, exit code, result), whether a build runs, the next
                   scheduled run.

Every answer is JSON (never a stack trace); every request is logged as one ``key=value`` line
on stderr, without the Authorization header or the query string.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipeline.errors import BuildLocked, ConfigurationError
from pipeline.ops.status import (
    BUILD_LOG_ENV,
    LOGS_DIR,
    TRIGGER_ENV,
    admin_status,
    append_run,
    describe_exit,
    holder_pid,
    iso,
    lock_holder,
    lock_text,
    now_local,
    parse_schedule,
    read_runs,
)

logger = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16
MAX_BODY_BYTES = 1024
KEEP_BUILD_LOGS = 60
RATE_WINDOW_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 10
LOCK_WAIT_SECONDS = 10.0


_LOG_LOCK = threading.Lock()


def _value(value: Any) -> str:
    text = str(value)
    needs_quotes = isinstance(value, str) and (not text or any(c in text for c in ' ="\n'))
    return json.dumps(text, ensure_ascii=False) if needs_quotes else text


def log_line(stream: Any, **fields: Any) -> None:
    """One ``key=value`` line, written whole (handler threads never interleave their lines)."""
    line = " ".join(f"{k}={_value(v)}" for k, v in fields.items()) + "\n"
    with _LOG_LOCK:
        stream.write(line)
        stream.flush()


# ------------------------------------------------------------------ starting a build


def build_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "build", "--config", str(config.resolve())]


def _new_log(site_dir: Path) -> Path:
    folder = site_dir / LOGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    logs = sorted(folder.glob("build-*.log"))
    for old in logs[: max(0, len(logs) - KEEP_BUILD_LOGS + 1)]:
        old.unlink(missing_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for n in range(1, 1000):
        path = folder / (f"build-{stamp}.log" if n == 1 else f"build-{stamp}-{n}.log")
        try:
            path.open("x").close()
            return path
        except FileExistsError:
            continue
    raise ConfigurationError(f"无法在 {folder} 中创建构建日志")


def start_build(
    config: Path, site_dir: Path, trigger: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, Path]:
    """Start ``approvals build --config FILE`` detached (own session, no terminal), its output
    appended to a new ``DIR/logs/build-<timestamp>.log``."""
    log = _new_log(site_dir)
    environment = dict(os.environ if env is None else env)
    environment[TRIGGER_ENV] = trigger
    environment[BUILD_LOG_ENV] = str(log.resolve())
    with log.open("ab") as output:
        process = subprocess.Popen(
            build_command(config),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
            close_fds=True,
        )
    return process, log


def trigger_build(config: Path | None, site_dir: Path) -> int:
    """``approvals trigger``: one build in the background, or exit 8 if one is running.

    Returns once the new build holds the lock (so a second trigger right after sees it), or
    with the build's own exit code if it ended before that (e.g. a configuration error)."""
    if config is None:
        raise ConfigurationError("approvals trigger 需要 --config：后台构建按配置文件运行")
    holder = lock_holder(site_dir)
    if holder:
        raise BuildLocked(f"另一个构建正在进行（{holder}），本次不启动")
    process, log = start_build(config, site_dir, "approvals trigger")
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while time.monotonic() < deadline:
        if holder_pid(lock_text(site_dir)) == process.pid:
            break
        code = process.poll()
        if code is not None:
            print(
                f"构建已结束（{describe_exit(code)[1]}）： pid={process.pid} exit_code={code} log={log}"
            )
            return code
        time.sleep(0.05)
    print(f"已在后台启动构建： pid={process.pid} log={log}")
    return 0


# ------------------------------------------------------------------ the endpoint's parts


def admin_token(values: dict[str, Any]) -> str:
    name = str(values["admin_token_env"])
    token = os.environ.get(name, "")
    if not token:
        raise ConfigurationError(
            f"环境变量 {name} 未设置：管理接口需要令牌（至少 {MIN_TOKEN_CHARS} 个字符），拒绝启动"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigurationError(
            f"环境变量 {name} 中的令牌太短（{len(token)} 个字符，至少 {MIN_TOKEN_CHARS} 个），拒绝启动"
        )
    return token


class RateLimiter:
    """At most ``limit`` requests per client in any ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS) -> None:
        self.limit, self.window = limit, window
        self.seen: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def admit(self, client: str) -> float | None:
        """None if admitted (and counted), else the seconds until the client may try again."""
        now = time.monotonic()
        with self.lock:
            for key in [k for k, q in self.seen.items() if not q or q[-1] <= now - self.window]:
                del self.seen[key]
            times = self.seen.setdefault(client, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return max(1.0, times[0] + self.window - now)
            times.append(now)
            return None


class BuildRunner:
    """Starts at most one build at a time; requests while one runs are coalesced."""

    def __init__(self, config: Path, site_dir: Path, token_env: str) -> None:
        self.config, self.site_dir, self.token_env = config, site_dir, token_env
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.current: dict[str, Any] | None = None

    def running(self) -> dict[str, Any] | None:
        """Ours (pid, started, log) or another process's (the lock holder), else None."""
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                return dict(self.current or {})
        holder = lock_holder(self.site_dir)
        return {"holder": holder, "pid": holder_pid(holder)} if holder else None

    def request(self) -> dict[str, Any]:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                return {"status": "coalesced", "running_build": dict(self.current or {})}
            holder = lock_holder(self.site_dir)
            if holder:
                return {
                    "status": "coalesced",
                    "running_build": {"holder": holder, "pid": holder_pid(holder)},
                }
            env = {k: v for k, v in os.environ.items() if k != self.token_env}
            started = now_local()
            process, log = start_build(self.config, self.site_dir, "admin endpoint", env)
            self.process = process
            self.current = {"pid": process.pid, "started": iso(started), "log": str(log)}
            current = dict(self.current)
        log_line(sys.stderr, event="build_started", pid=process.pid, log=str(log))
        threading.Thread(
            target=self._watch,
            args=(process, current, time.monotonic()),
            name=f"build-{process.pid}",
            daemon=True,
        ).start()
        return {"status": "started", **current}

    def _watch(self, process: subprocess.Popen, current: dict[str, Any], clock: float) -> None:
        code = process.wait()
        duration = round(time.monotonic() - clock, 3)
        outcome, result = describe_exit(code)
        log_line(
            sys.stderr,
            event="build_finished",
            pid=process.pid,
            exit_code=code,
            outcome=outcome,
            seconds=duration,
        )
        if not any(r.get("pid") == process.pid for r in read_runs(self.site_dir, last=20)):
            # The build could not write its own record (killed by a signal, disk full …).
            try:
                append_run(
                    self.site_dir,
                    {
                        "command": "build",
                        "pid": process.pid,
                        "started": current["started"],
                        "finished": iso(now_local()),
                        "duration_seconds": duration,
                        "exit_code": code,
                        "outcome": outcome,
                        "result": result,
                        "release": "",
                        "timings": {},
                        "message": "构建进程没有写下自己的运行记录（被终止或磁盘已满？），详见日志",
                        "trigger": "admin endpoint",
                        "log": current["log"],
                    },
                )
            except OSError as exc:
                log_line(sys.stderr, event="run_not_recorded", error=str(exc))


# ------------------------------------------------------------------ HTTP

UNAUTHORIZED = {"error": "unauthorized"}


class AdminServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        token: str,
        runner: BuildRunner,
        limiter: RateLimiter,
        schedule: str,
    ) -> None:
        super().__init__(address, AdminHandler)
        self.token = token.encode()
        self.runner, self.limiter, self.schedule = runner, limiter, schedule


class AdminHandler(BaseHTTPRequestHandler):
    server: AdminServer
    server_version = "approvals-admin"
    sys_version = ""
    protocol_version = "HTTP/1.0"
    timeout = REQUEST_TIMEOUT_SECONDS

    # -------------------------------------------------------- plumbing

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # every request is logged once, as key=value, by _answer

    def _client(self) -> str:
        return str(self.client_address[0])

    def _answer(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        outcome: str = "",
    ) -> None:
        data = (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8")
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # a garbled request line still gets a status line
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            outcome = outcome or "client_gone"
        self.close_connection = True
        path = urlsplit(getattr(self, "path", "") or "").path[:200]
        log_line(
            sys.stderr,
            event="request",
            client=self._client(),
            method=getattr(self, "command", "") or "-",
            path=path or "-",
            status=status,
            outcome=outcome or "-",
            ms=round(
                (time.perf_counter() - getattr(self, "_clock", time.perf_counter())) * 1000, 1
            ),
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests (bad request line, headers too long, unknown method): JSON too."""
        phrase = self.responses.get(code, ("error",))[0].lower()
        self._answer(code, {"error": phrase}, outcome="malformed")

    def handle_one_request(self) -> None:
        self._clock = time.perf_counter()
        self._unread_body = False
        super().handle_one_request()

    def finish(self) -> None:
        """After answering without reading a body (401, 413 …), read and drop what the client
        still sends for a moment, so that closing does not reset the connection before the
        client has read the answer."""
        super().finish()
        if not self._unread_body:
            return
        try:
            self.connection.settimeout(1.0)
            self.connection.shutdown(socket.SHUT_WR)
            dropped = 0
            while dropped < 1 << 20:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        except OSError:
            pass

    def _dispatch(self) -> None:
        try:
            self._route()
        except Exception:  # never a stack trace to the client; the server log has it
            logger.exception("event=internal_error method=%s", self.command)
            self._answer(500, {"error": "internal error"}, outcome="internal_error")

    do_GET = do_POST = _dispatch

    def _refuse_method(self) -> None:
        self._answer(405, {"error": "method not allowed"}, {"Allow": "GET, POST"}, outcome="method")

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method

    # -------------------------------------------------------- checks

    def _authorized(self) -> bool:
        given = self.headers.get_all("Authorization") or []
        scheme, _, credentials = (given[0] if len(given) == 1 else "").partition(" ")
        offered = credentials.encode("latin-1", "replace") if scheme.lower() == "bearer" else b""
        return hmac.compare_digest(offered, self.server.token)

    def _query_refused(self, query: str) -> bool:
        if not query:
            return False
        for _, value in parse_qsl(query, keep_blank_values=True):
            if hmac.compare_digest(value.encode("utf-8", "replace"), self.server.token):
                log_line(
                    sys.stderr,
                    event="token_in_query_string",
                    client=self._client(),
                    advice="the token was sent in a URL: rotate it",
                )
        self._answer(
            400,
            {
                "error": "query parameters are not accepted; send the token in the Authorization header"
            },
            outcome="query_refused",
        )
        return True

    def _rate_limited(self) -> bool:
        wait = self.server.limiter.admit(self._client())
        if wait is None:
            return False
        seconds = str(math.ceil(wait))
        self._answer(
            429,
            {"error": "too many requests", "retry_after_seconds": int(seconds)},
            {"Retry-After": seconds},
            outcome="rate_limited",
        )
        return True

    def _read_body(self) -> bytes | None:
        """The body, or None after answering 400/413. At most MAX_BODY_BYTES are ever read."""
        length = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "").strip().lower()
        if chunked and (chunked != "chunked" or length is not None):
            self._answer(400, {"error": "unsupported transfer encoding"}, outcome="bad_body")
            return None
        if chunked:
            return self._read_chunked()
        try:
            size = int(length or 0)
        except ValueError:
            size = -1
        if size < 0:
            self._answer(400, {"error": "bad content length"}, outcome="bad_body")
            return None
        if size > MAX_BODY_BYTES:
            self._answer(
                413,
                {"error": f"body too large (at most {MAX_BODY_BYTES} bytes)"},
                outcome="too_large",
            )
            return None
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes | None:
        body = b""
        while True:
            line = self.rfile.readline(64)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self._answer(400, {"error": "bad chunked body"}, outcome="bad_body")
                return None
            if size == 0:
                for _ in range(16):  # the (empty) trailer, up to the blank line
                    if not self.rfile.readline(1024).strip():
                        break
                return body
            if len(body) + size > MAX_BODY_BYTES:
                self._answer(
                    413,
                    {"error": f"body too large (at most {MAX_BODY_BYTES} bytes)"},
                    outcome="too_large",
                )
                return None
            body += self.rfile.read(size)
            self.rfile.readline(8)

    # -------------------------------------------------------- routes

    def _route(self) -> None:
        parts = urlsplit(self.path)
        route = (self.command, parts.path)
        if route not in {("POST", "/rebuild"), ("GET", "/status")}:
            known = parts.path in {"/rebuild", "/status"}
            self._answer(
                405 if known else 404,
                {"error": "method not allowed" if known else "not found"},
                {"Allow": "POST" if parts.path == "/rebuild" else "GET"} if known else None,
                outcome="no_route",
            )
            return
        if route == ("POST", "/rebuild"):
            self._rebuild(parts.query)
        else:
            self._status(parts.query)

    def _rebuild(self, query: str) -> None:
        self._unread_body = True
        if self._rate_limited() or self._query_refused(query):
            return
        length = self.headers.get("Content-Length")
        if length and length.strip().isdigit() and int(length) > MAX_BODY_BYTES:
            self._answer(
                413,
                {"error": f"body too large (at most {MAX_BODY_BYTES} bytes)"},
                outcome="too_large",
            )
            return
        if not self._authorized():
            self._answer(
                401,
                UNAUTHORIZED,
                {"WWW-Authenticate": 'Bearer realm="approvals-admin"'},
                outcome="unauthorized",
            )
            return
        body = self._read_body()
        self._unread_body = body is None
        if body is None:
            return
        answer = self.server.runner.request()
        self._answer(202, answer, outcome=answer["status"])

    def _status(self, query: str) -> None:
        if self._query_refused(query):
            return
        if not self._authorized():
            if self._rate_limited():  # failed attempts count against the client's budget
                return
            self._answer(
                401,
                UNAUTHORIZED,
                {"WWW-Authenticate": 'Bearer realm="approvals-admin"'},
                outcome="unauthorized",
            )
            return
        status = admin_status(
            self.server.runner.site_dir, self.server.schedule, self.server.runner.running()
        )
        self._answer(200, status, outcome="ok")


# ------------------------------------------------------------------ the server


def make_admin_server(
    values: dict[str, Any], config: Path | None, host: str | None = None, port: int | None = None
) -> AdminServer:
    """Check everything first (token, schedule, rate limit, config file), then bind."""
    if config is None or not config.is_file():
        raise ConfigurationError("approvals admin-serve 需要 --config：构建按配置文件运行")
    token = admin_token(values)
    schedule = str(values["schedule"])
    parse_schedule(schedule)
    try:
        limit = int(values["admin_rate_limit"])
        port = int(values["admin_port"] if port is None else port)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"admin_rate_limit 与 admin_port 必须是整数：{exc}") from exc
    if limit < 1:
        raise ConfigurationError(f"admin_rate_limit 至少为 1（得到 {limit}）")
    host = str(values["admin_host"] if host is None else host)
    runner = BuildRunner(config, Path(values["site"]), str(values["admin_token_env"]))
    try:
        return AdminServer((host, port), token, runner, RateLimiter(limit), schedule)
    except OSError as exc:
        raise ConfigurationError(f"管理接口无法监听 {host}:{port}：{exc}") from exc


def serve_admin(
    values: dict[str, Any], config: Path | None, host: str | None, port: int | None
) -> None:
    server = make_admin_server(values, config, host, port)
    bound_host, bound_port = server.server_address[:2]
    assert isinstance(bound_host, str), "an AF_INET/AF_INET6 socket's name is a str"
    if bound_host not in {"127.0.0.1", "::1"}:
        log_line(
            sys.stderr,
            event="warning",
            message="admin endpoint is not bound to localhost: put it behind TLS and a firewall",
        )
    log_line(
        sys.stderr,
        event="admin_listening",
        url=f"http://{bound_host}:{bound_port}/",
        site=str(server.runner.site_dir),
    )
    print(
        f"管理接口：http://{bound_host}:{bound_port}/  （POST /rebuild，GET /status；Ctrl-C 停止）",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
