"""``GET /api/search`` on the real server (``approvals serve``'s, threads and all): concurrent
clients get the answers a lone client gets, a release switch under load drops nothing, the listen
backlog holds a burst, every bad request gets a short JSON error (fuzzed with Hypothesis), and
the sample nginx config proxies the API to it.

The site is the bundled demo's release data with its search index (``build_search``), no pages:
the file runs in about a minute. Timings are not asserted (``bench/bench_search_api.py``)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.search.api import MAX_QUERY_CHARS
from pipeline.search.steps import build_search

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo-export"
MARRIAGE = "11310113002481872T400000401"  # 结婚登记
QUERIES = [
    "营业执照",
    "开饭店",
    "结婚登记",
    "yyzz",
    "shipin",
    "kaifandian",
    "dengji",
    "食品经营许可",
    "出生医学证明",
    "失业保险金申领",
    "許可",
    "身份证",
    "社保卡",
    "公积金",
    "护照",
    "spjyxk",
    "“食品经营许可”",
    "生孩子要办什么",
]
PATHS = [
    f"/api/search?{urlencode(params)}"
    for q in QUERIES
    for params in ({"q": q}, {"q": q, "page": 2, "page_size": 5}, {"q": q, "type": "行政许可"})
]


def _release(root: Path, name: str, rename: str = "") -> None:
    """A release folder with the demo's data and search index (``rename``: 结婚登记's new name)."""
    release = root / "releases" / name
    (release / "site").mkdir(parents=True)
    shutil.copytree(DEMO, release / "data", ignore=shutil.ignore_patterns("files"))
    if rename:
        items_path = release / "data" / "items.json"
        items = json.loads(items_path.read_text(encoding="utf-8"))
        for item in items:
            if item["impl_code"] == MARRIAGE:
                item["name"] = rename
        items_path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    build_search(release / "data", release, None)


def _point(site: Path, name: str) -> None:
    """``current`` → ``releases/<name>``, swapped atomically as a publish does."""
    link = site / f".current-{name}"
    link.unlink(missing_ok=True)
    link.symlink_to(f"releases/{name}")
    os.replace(link, site / "current")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api-site")
    _release(root, "r1")
    _release(root, "r2", rename="结婚登记（预约办理）")
    _point(root, "r1")
    return root


class Server:
    """``approvals serve``'s server in a thread; ``answers_kept=0``: every request is searched
    (no answer given again from memory), so concurrent requests really search at once."""

    def __init__(self, site: Path, answers_kept: int = 0):
        from pipeline.ops.serve import make_server

        self.http = make_server(site, "127.0.0.1", 0, answers_kept)
        self.port = self.http.server_address[1]
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def get(self, path: str, method: str = "GET") -> tuple[int, str, bytes]:
        """(status, content type, body); status -1 for a dropped connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        except (OSError, http.client.HTTPException) as exc:
            return -1, type(exc).__name__, b""
        finally:
            connection.close()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.http.search.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[Server]:
    running = Server(site)
    yield running
    running.stop()


def _sequential(server: Server) -> dict[str, tuple[int, str, bytes]]:
    return {path: server.get(path) for path in PATHS}


# ---------------------------------------------------------------- concurrency


def test_concurrent_clients_get_what_a_lone_client_gets(server: Server):
    """20 clients at once, 40 requests each: every answer a 200 equal, byte for byte, to the
    answer the same request gets alone (one Whoosh searcher shared by the threads gave 500s —
    ``struct.error``, ``KeyError`` — and other scores)."""
    expected = _sequential(server)
    assert all(status == 200 for status, _, _ in expected.values())
    assert len({body for _, _, body in expected.values()}) > 40  # varied answers
    work = [PATHS[n % len(PATHS)] for n in range(800)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(server.get, work))
    wrong = [
        (path, got[:2]) for path, got in zip(work, answers, strict=True) if got != expected[path]
    ]
    assert wrong == [], f"{len(wrong)} of {len(work)}: {wrong[:5]}"


def test_a_release_switch_under_load_drops_no_request(site: Path):
    """While 20 clients search, ``current`` flips between two releases every few milliseconds:
    every answer is a 200 from one release or the other (the index of the release left behind
    was closed under the requests still reading it)."""
    running = Server(site)
    try:
        expected = {}
        for name in ("r2", "r1"):
            _point(site, name)
            expected[name] = _sequential(running)
        assert expected["r1"] != expected["r2"]
        stop = threading.Event()

        def flip() -> None:
            while not stop.is_set():
                for name in ("r2", "r1"):
                    _point(site, name)
                    time.sleep(0.005)

        flipper = threading.Thread(target=flip)
        flipper.start()
        work = [PATHS[n % len(PATHS)] for n in range(600)]
        try:
            with ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(running.get, work))
        finally:
            stop.set()
            flipper.join()
        wrong = [
            (path, got[:2])
            for path, got in zip(work, answers, strict=True)
            if got not in (expected["r1"][path], expected["r2"][path])
        ]
        assert wrong == [], f"{len(wrong)} of {len(work)}: {wrong[:5]}"
    finally:
        _point(site, "r1")
        running.stop()


def test_answers_kept_are_the_answers_searched_and_go_with_their_release(
    site: Path, server: Server
):
    """The production server keeps the answers it gave (per release): asked again, at once by
    20 clients, they are the bytes a search gives; once ``current`` moves, the next release's
    answers are given, not the kept ones."""
    searched = _sequential(server)
    keeping = Server(site, answers_kept=1024)
    try:
        assert _sequential(keeping) == searched
        assert len(keeping.http.search._live.answers) == len(PATHS)  # noqa: SLF001 - kept
        work = [PATHS[n % len(PATHS)] for n in range(400)]
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(keeping.get, work))
        assert all(got == searched[path] for path, got in zip(work, answers, strict=True))
        _point(site, "r2")
        moved = _sequential(keeping)
        assert moved == _sequential(server) != searched
    finally:
        _point(site, "r1")
        keeping.stop()


def test_the_listen_backlog_holds_a_burst_of_connections(site: Path):
    """100 clients connect at once to a server busy elsewhere (not accepting): the kernel
    completes every handshake into the listen backlog. With the standard library's backlog
    of 5, all but six waited for a SYN retry a second later (p99 ~1 s under load)."""
    from pipeline.ops.serve import make_server

    idle = make_server(site, "127.0.0.1", 0)
    clients = []
    try:
        for _ in range(100):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(idle.server_address)
            clients.append(client)
        deadline = time.monotonic() + 0.5  # well under the first SYN retry (1 s)
        connected = 0
        for client in clients:
            client.settimeout(max(0.0, deadline - time.monotonic()))
            try:
                client.send(b"")  # raises while the handshake is still pending
                client.getpeername()
                connected += 1
            except OSError:
                pass
        assert connected == 100
    finally:
        for client in clients:
            client.close()
        idle.server_close()
        idle.search.close()


# ---------------------------------------------------------------- bad requests


def _json_error(answer: tuple[int, str, bytes]) -> str:
    status, kind, body = answer
    assert kind.startswith("application/json"), answer
    message = json.loads(body)["error"]
    assert isinstance(message, str) and 0 < len(message) <= 150, message
    return message


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/%00", 400, "请求"),
        ("/%ED%A0%80", 400, "请求"),
        ("/api/search?q=%E8%AE%B8%E5%8F%AF&page=%C2%B2", 400, "page"),  # page=²
        ("/api/search?q=%E8%AE%B8%E5%8F%AF&page_size=%D9%A3", 400, "page_size"),  # Arabic 3
        ("/api/search?q=a&page=99999999999999999999999", 400, "page"),
        ("/api/search?q=a&q=b", 400, "q"),
        ("/api/search?" + "x" * 60_000 + "=1", 400, "过长"),
        ("/api/search?q=" + "x" * 70_000, 414, "过长"),  # past the request line's 64 KB
        ("/api/search?" + "&".join(f"k{n}=1" for n in range(200)), 400, "过多"),
        ("/api/search?" + "y" * 5_000 + "=1", 400, "不认识"),
        ("/api/search?q=%00", 200, ""),
        ("/api/search?q=" + quote("许" * (MAX_QUERY_CHARS + 1)), 400, "最多"),
        ("/api/search?q=a&department=" + "z" * 101, 400, "取值"),
        ("/api/search/", 404, "/api/search"),
        ("/api/other", 404, "/api/search"),
        ("/no-such-page.html", 404, "没有"),
    ],
)
def test_bad_requests_get_short_json_errors(server: Server, path: str, status: int, says: str):
    answer = server.get(path)
    assert answer[0] == status, answer
    if status != 200:
        message = _json_error(answer)
        assert says in message
        assert "x" * 40 not in message and "y" * 40 not in message  # the input is not echoed


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_other_methods_get_json_errors(server: Server, method: str):
    status, kind, body = server.get("/api/search?q=a", method)
    assert status in (405, 501) and kind.startswith("application/json")
    if method != "HEAD":
        _json_error((status, kind, body))


def test_a_malformed_request_line_gets_a_json_error(server: Server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /api/search?q=a HTTP/9.9 extra words\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400") and b"application/json" in head
    assert json.loads(body)["error"] and b"extra words" not in body


KEYS = st.sampled_from(
    ["q", "page", "page_size", "department", "type", "audience", "online", "free", "visits"]
)
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=4),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "\x00", "许可", "营业执照", "yyzz", "行政许可", "1", "50", "51", "0"]),
    st.text(min_size=90, max_size=120),
    st.text(alphabet="许可x\x00%&=+", min_size=200, max_size=1000),  # URL < 64 KB: below
)
PARAMS = st.lists(st.tuples(st.one_of(KEYS, st.text(max_size=12)), TEXT), max_size=6)
PATH = st.one_of(
    st.just("/api/search"),
    st.sampled_from(["/api/search/", "/api/searc", "/api/", "/api/search%00", "/api//search"]),
    st.text(max_size=20).map(lambda s: "/api/" + quote(s, safe="")),
)


@settings(
    max_examples=int(os.environ.get("APPROVALS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=PATH, params=PARAMS, raw=st.binary(max_size=20))
def test_fuzzed_query_strings_get_200_400_or_404_with_json(
    server: Server, path: str, params: list[tuple[str, str]], raw: bytes
):
    """Paths under ``/api/``, parameters known and not, repeated, empty, huge, with NULs and
    digits of other scripts, and bytes that are not UTF-8: only 200, 400 or 404, always JSON."""
    query = urlencode(params) + ("&" + quote(raw) if raw else "")
    answer = server.get(f"{path}?{query}")
    assert answer[0] in (200, 400, 404), answer
    if answer[0] == 200:
        assert json.loads(answer[2])["results"] is not None
    else:
        _json_error(answer)


# ---------------------------------------------------------------- behind nginx


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_config(site: Path, listen: int, api: int, temp: Path) -> str:
    """``deploy/nginx.conf``'s HTTPS server on plain HTTP at ``listen``, with the site at
    ``site`` and the API proxied to ``127.0.0.1:<api>``, as a whole nginx.conf."""
    server = (ROOT / "deploy/nginx.conf").read_text("utf-8").split("\nserver {")[2]
    assert "proxy_pass http://127.0.0.1:8600;" in server
    server = server.replace(
        "proxy_pass http://127.0.0.1:8600;", f"proxy_pass http://127.0.0.1:{api};"
    )
    server = server.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen};")
    server = "\n".join(
        line for line in server.splitlines() if "listen [::]" not in line and "ssl_" not in line
    )
    server = server.replace("/srv/approvals/site", str(site)).replace("brotli_static on;", "")
    server = server.replace(
        "include /etc/nginx/snippets/approvals-data.conf;",
        f"include {ROOT / 'deploy/nginx-data.conf'};",
    )
    return "\n".join(
        [
            "daemon off;",
            "master_process off;",
            f"pid {temp}/nginx.pid;",
            f"error_log {temp}/error.log;",
            "events { worker_connections 256; }",
            "http {",
            "include /etc/nginx/mime.types;",
            "default_type application/octet-stream;",
            "access_log off;",
            *(
                f"{kind}_temp_path {temp}/{kind};"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ),
            "server {" + server,
            "}",
        ]
    )


class Nginx:
    """The real nginx with the sample config, in front of the API on ``api_port``."""

    def __init__(self, site: Path, api_port: int, temp: Path):
        binary = _nginx()
        assert binary, "nginx is installed by `make test` (Debian nginx-light)"
        self.port = _free_port()
        conf = temp / "nginx.conf"
        conf.write_text(nginx_config(site, self.port, api_port, temp), encoding="utf-8")
        command = [binary, "-p", str(temp), "-e", str(temp / "error.log"), "-c", str(conf)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def nginx(site: Path, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    running = Nginx(site, server.port, tmp_path_factory.mktemp("nginx"))
    yield running.port
    running.stop()


def _through(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_nginx_proxies_the_api_to_the_search_server(nginx: int, server: Server):
    """Through the sample config: the API's answers as the server gives them (JSON, 400s and
    404s and 501s included, not replaced by nginx's pages), with the site's security headers,
    uncached."""
    for path in (PATHS[0], PATHS[4], "/api/search?q=a&page=%C2%B2", "/api/search?q=a&q=b"):
        status, headers, body = _through(nginx, path)
        direct = server.get(path)
        assert (status, body) == (direct[0], direct[2]), path
        assert headers["content-type"].startswith("application/json")
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in headers["content-security-policy"]
    assert json.loads(_through(nginx, PATHS[0])[2])["results"]
    for path, status in (("/api/other", 404), ("/api/search/", 404), ("/api/search?q=%00", 200)):
        got, headers, body = _through(nginx, path)
        assert (got, body) == server.get(path)[::2] and headers["content-type"].startswith(
            "application/json"
        ), path
        assert got == status, path
    connection = http.client.HTTPConnection("127.0.0.1", nginx, timeout=30)
    try:
        connection.request("POST", "/api/search?q=a", body=b"x")
        response = connection.getresponse()
        assert response.status == 501 and json.loads(response.read())["error"]
    finally:
        connection.close()


def test_nginx_answers_a_burst_of_clients_through_the_proxy(nginx: int):
    expected = {path: _through(nginx, path)[2] for path in PATHS[:12]}
    work = [PATHS[n % 12] for n in range(240)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda path: _through(nginx, path), work))
    assert [a[0] for a in answers] == [200] * len(work)
    assert all(a[2] == expected[path] for path, a in zip(work, answers, strict=True))


def test_publishing_settings_send_no_js_search_to_the_api():
    """``publishconf.py`` (the production settings) points the search form at the API, so a
    browser without JavaScript gets answers from it (through nginx, as above)."""
    from pelican.settings import read_settings

    published = read_settings(str(ROOT / "publishconf.py"))
    assert published["APPROVALS_SEARCH_API"] == "/api/search"
    assert read_settings(str(ROOT / "pelicanconf.py")).get("APPROVALS_SEARCH_API", "") == ""


def test_nginx_answers_json_when_the_search_server_is_down(site: Path, tmp_path: Path):
    running = Nginx(site, _free_port(), tmp_path)  # nothing listens on the API's port
    try:
        status, headers, body = _through(running.port, PATHS[0])
    finally:
        running.stop()
    assert status == 503 and headers["content-type"].startswith("application/json")
    assert "搜索暂时不可用" in json.loads(body)["error"]


def test_the_systemd_unit_runs_the_server_nginx_proxies_to(site: Path, tmp_path: Path):
    """``deploy/approvals-search.service``'s command, run as it is written (the checkout's
    ``approvals`` instead of /opt's, this site instead of /srv's, a free port instead of 8600),
    behind nginx with the sample config: the port and site folder agree with nginx.conf's, and
    the search answers through both."""
    unit = (ROOT / "deploy/approvals-search.service").read_text("utf-8")
    (command,) = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    conf = (ROOT / "deploy/nginx.conf").read_text("utf-8")
    words = shlex.split(command)
    assert words[:2] == ["/opt/approvals/.venv/bin/approvals", "serve"]
    assert words[words.index("--host") + 1] == "127.0.0.1"
    port = words[words.index("--port") + 1]
    assert f"proxy_pass http://127.0.0.1:{port};" in conf
    assert f"root {words[words.index('--site') + 1]}/current/site;" in conf
    assert "User=approvals" in unit and "Restart=always" in unit

    api_port = _free_port()
    words = [sys.executable, "-m", "pipeline.cli", *words[1:]]
    words[words.index("--site") + 1] = str(site)
    words[words.index("--port") + 1] = str(api_port)
    server = subprocess.Popen(words, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    try:
        assert f":{api_port}/" in server.stdout.readline()  # it says where it listens
        front = Nginx(site, api_port, tmp_path)
        try:
            status, _, body = _through(front.port, PATHS[0])
        finally:
            front.stop()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert status == 200 and json.loads(body)["results"]
