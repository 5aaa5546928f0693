"""Status for everyone and for admins: ``status.json`` beside the releases, the static status page
of each release, ``logs/runs.jsonl`` for every run, gates in ``report.json``; the operations docs
and the deployment samples kept in step with the code (every setting, every exit code, the nginx
headers served for real when nginx is installed)."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.config import SETTINGS
from pipeline.errors import ConfigurationError
from pipeline.ops.status import EXIT_CODES, describe_exit, lock_holder, next_run, parse_schedule
from tests.fixtures import EXPORTED_AT, case, department, item, life_event, write_export

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "r000001-20261125T233000-test-export"


def approvals(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        **kwargs,
    )


def _runs(site: Path) -> list[dict]:
    return [json.loads(line) for line in (site / "logs/runs.jsonl").read_text("utf-8").splitlines()]


def _export(root: Path) -> Path:
    """Two departments, 12 items (one invalid, in department 2), a life event, 30 cases."""
    departments = [
        department(1, "上海市宝山区市场监督管理局"),
        department(2, "上海市宝山区卫生健康委员会"),
    ]
    codes = [d["code"] for d in departments]
    items = [item(i, codes[i % 2], f"测试事项{i}号") for i in range(1, 13)]
    items[4]["visits_required"] = -1
    events = [life_event("LE001", [items[0]["impl_code"], items[1]["impl_code"]])]
    first = items[0]
    cases = [
        case(
            f"C{i:04d}",
            first["impl_code"],
            first["department_code"],
            f"2026-09-{1 + i % 20:02d}T10:00",
            accepted_at=f"2026-09-{1 + i % 20:02d}T11:00",
            completed_at=f"2026-09-{2 + i % 20:02d}T10:00",
        )
        for i in range(30)
    ]
    return write_export(root, departments, items, life_events=events, cases=cases)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("status")
    export = _export(root / "export")
    before = datetime.now().astimezone().replace(microsecond=0)
    done = approvals("build", "--export", str(export), "--site", str(root / "site"))
    assert done.returncode == 0, done.stderr
    after = datetime.now().astimezone()
    return export, root / "site", before, after


# ------------------------------------------------------------------ after a successful build


def test_status_json_beside_the_releases_says_how_fresh_the_data_is(built):
    _, site, before, after = built
    status = json.loads((site / "status.json").read_text("utf-8"))
    assert status["release"] == RELEASE == (site / "current").resolve().name
    assert status["data_as_of"] == EXPORTED_AT and status["export_id"] == "test-export"
    assert before <= datetime.fromisoformat(status["last_successful_build"]) <= after
    assert status["counts"] == {
        "departments": 2,
        "items": 11,
        "life_events": 1,
        "cases": 30,
        "cases_in_export": 30,
        "published_case_records": status["counts"]["published_case_records"],
    }
    assert not list((site / "releases").rglob("status.json"))  # releases stay byte-identical


def test_every_run_appends_one_line_to_the_runs_log(built):
    _, site, before, after = built
    run = _runs(site)[0]
    assert run["exit_code"] == 0 and run["outcome"] == "published" and run["result"] == "已发布"
    assert run["release"] == RELEASE and run["trigger"] == "command line"
    assert (
        before
        <= datetime.fromisoformat(run["started"])
        <= datetime.fromisoformat(run["finished"])
        <= after
    )
    assert run["duration_seconds"] > 0
    from pipeline.build import STEPS

    assert sorted(run["timings"]) == sorted(name for name, _ in STEPS)


def test_the_release_keeps_its_report_with_gates_and_problems_per_department(built):
    export, site, _, _ = built
    report = json.loads((site / "current/report.json").read_text("utf-8"))
    gates = report["gates"]
    assert (
        gates["manifest_counts_and_checksums"]
        == gates["privacy"]
        == gates["site_smoke_check"]
        == "passed"
    )
    assert gates["anonymity"] == "passed" and gates["shrink"] == "not applicable: first release"
    assert set(gates.values()) <= {"passed", "not applicable: first release"}
    department_2 = json.loads((export / "departments.json").read_text("utf-8"))[1]["code"]
    assert report["problems_by_department"] == {department_2: {"errors": 1, "warnings": 0}}
    assert "timings" not in report  # they vary per run: logs/runs.jsonl has them


def test_the_status_page_shows_data_as_of_export_and_counts_and_links_status_json(built):
    _, site, _, _ = built
    html = (site / "current/site/status.html").read_text("utf-8")
    main = html[html.index("<main") : html.index("</main>")]
    for text in (
        "数据更新状态",
        "2026-11-25 23:30",
        "<code>test-export</code>",
        "测试审批系统",
        "<td>2 个</td>",
        "<td>11 项</td>",
        "<td>1 件</td>",
        "<td>30 条</td>",
    ):
        assert text in main, text
    assert '<a href="status.json">' in main  # the live file beside the releases, not in them
    assert not re.search(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?!\+08:00)", main.replace(EXPORTED_AT, "")
    )
    assert 'href="/status.html">数据更新状态</a>' in (site / "current/site/index.html").read_text(
        "utf-8"
    )


# ------------------------------------------------------------------ runs that do not publish


def test_a_refused_build_is_recorded_and_changes_neither_status_nor_site(built, tmp_path):
    export, site, _, _ = built
    broken = tmp_path / "broken"
    shutil.copytree(export, broken)
    (broken / "items.json").write_bytes(b"[")
    status_before = (site / "status.json").read_bytes()
    current_before = (site / "current").readlink()
    done = approvals("build", "--export", str(broken), "--site", str(site))
    assert done.returncode == 3
    last = _runs(site)[-1]
    assert last["exit_code"] == 3 and last["outcome"] == "refused" and "sha256" in last["message"]
    assert last["release"] == "" and last["result"].startswith("拒绝发布")
    assert (site / "status.json").read_bytes() == status_before
    assert (site / "current").readlink() == current_before

    unchanged = approvals("build", "--export", str(export), "--site", str(site), "--if-changed")
    assert unchanged.returncode == 7
    assert _runs(site)[-1]["outcome"] == "unchanged" and _runs(site)[-1]["exit_code"] == 7
    assert (site / "status.json").read_bytes() == status_before


def test_rollback_rewrites_status_json_for_the_release_now_live(built, tmp_path):
    _, built_site, _, _ = built
    site = tmp_path / "site"
    shutil.copytree(built_site, site, symlinks=True)
    older = site / "releases" / "20261124T233000-another-export"  # named the old way
    shutil.copytree(site / "releases" / RELEASE, older)
    manifest = json.loads((older / "data/manifest.json").read_text("utf-8"))
    manifest["export_id"] = "another-export"
    (older / "data/manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = json.loads((site / "status.json").read_text("utf-8"))
    done = approvals("rollback", "--site", str(site), "--to", older.name)
    assert done.returncode == 0, done.stderr
    after = json.loads((site / "status.json").read_text("utf-8"))
    assert after["release"] == older.name and after["export_id"] == "another-export"
    assert after["last_successful_build"] == before["last_successful_build"]


def test_a_live_lock_is_told_from_a_stale_one(tmp_path):
    site = tmp_path / "site"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from pipeline.release.lock import build_lock\n"
                "with build_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)"
            ),
            str(site),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert f"pid {holder.pid}" in (lock_holder(site) or "")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert f"pid {holder.pid}" in (site / ".build.lock").read_text("utf-8")  # text left by the kill
    assert lock_holder(site) is None  # … but nobody holds the lock
    assert lock_holder(tmp_path / "never-built") is None


# ------------------------------------------------------------------ schedule and words


def test_next_run_is_the_next_local_occurrence_of_the_schedule():
    tz = timezone(timedelta(hours=8))
    assert next_run("02:30", datetime(2026, 11, 26, 1, 0, tzinfo=tz)) == datetime(
        2026, 11, 26, 2, 30, tzinfo=tz
    )
    assert next_run("02:30", datetime(2026, 11, 26, 2, 30, tzinfo=tz)) == datetime(
        2026, 11, 27, 2, 30, tzinfo=tz
    )
    assert next_run("2:05", datetime(2026, 12, 31, 23, 0, tzinfo=tz)) == datetime(
        2027, 1, 1, 2, 5, tzinfo=tz
    )
    assert parse_schedule(" 23:59 ") == (23, 59)
    for bad in ("24:00", "2:5", "02:30:00", "nightly", ""):
        with pytest.raises(ConfigurationError):
            parse_schedule(bad)


def test_exit_codes_have_words_and_signals_are_named():
    assert describe_exit(0) == ("published", "已发布")
    assert describe_exit(-9)[0] == "killed" and "SIGKILL" in describe_exit(-9)[1]
    assert describe_exit(8)[0] == "locked" and describe_exit(42)[0] == "failed"


# ------------------------------------------------------------------ docs and deployment samples

OPERATIONS = ROOT / "docs" / "operations.md"


def _table_rows(text: str, header: str) -> dict[str, list[str]]:
    """The rows of the markdown table whose header row starts with ``header``: first cell → cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


# Every setting in docs/operations.md, equal to the typed model: tests/test_settings.py.


def test_operations_doc_explains_every_exit_code_and_command():
    text = OPERATIONS.read_text("utf-8")
    rows = _table_rows(text, "code")
    assert [c for c in EXIT_CODES if str(c) not in rows] == []
    assert all(len(cells) == 2 and cells[1] for cells in rows.values())
    for command in (
        "approvals build",
        "approvals trigger",
        "approvals admin-serve",
        "approvals releases",
        "approvals rollback",
        "APPROVALS_PAUSE_BEFORE",
        "status.json",
        "runs.jsonl",
        "releases/<live>/state/",
        "--if-changed",
        "curl",
    ):
        assert command in text, command


def test_deploy_samples_run_the_documented_commands_at_the_scheduled_time():
    deploy = ROOT / "deploy"
    hour, minute = parse_schedule(next(s.default for s in SETTINGS if s.name == "schedule"))
    timer = (deploy / "approvals-build.timer").read_text("utf-8")
    assert f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00" in timer and "Persistent=true" in timer
    build = (deploy / "approvals-build.service").read_text("utf-8")
    assert re.search(r"^ExecStart=\S+/approvals build --config \S+ --if-changed$", build, re.M)
    assert (
        "SuccessExitStatus=7" in build and "EnvironmentFile=" in build and "User=approvals" in build
    )
    admin = (deploy / "approvals-admin.service").read_text("utf-8")
    assert re.search(r"^ExecStart=\S+/approvals admin-serve --config \S+$", admin, re.M)
    cron = [
        line
        for line in (deploy / "crontab").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert (
        len(cron) == 1
        and cron[0].startswith(f"{minute} {hour} * * * ")
        and "approvals build --config" in cron[0]
    )
    assert cron[0] in OPERATIONS.read_text("utf-8")


CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def test_nginx_sample_has_the_security_headers_and_the_status_alias():
    conf = (ROOT / "deploy/nginx.conf").read_text("utf-8")
    assert conf.count(f'add_header Content-Security-Policy "{CSP}" always;') == 2
    for line in (
        'add_header X-Content-Type-Options "nosniff" always;',
        'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
        'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;',
    ):
        assert conf.count(line) == 2, line  # server level, and again in the location with its own
    for directive in (
        "gzip_static on;",
        "brotli_static on;",
        "root /srv/approvals/site/current/site;",
        "alias /srv/approvals/site/status.json;",
    ):
        assert directive in conf, directive
    data = conf + (ROOT / "deploy/nginx-data.conf").read_text("utf-8")
    assert re.search(r'location /data/ \{[^}]*add_header Access-Control-Allow-Origin "\*"', data)


def test_the_site_needs_nothing_the_csp_does_not_allow(built):
    """No inline script (JSON-LD data blocks are not scripts), no inline style or event handler,
    and every script, style, image and font from the site itself (or the favicon's data: URL)."""
    _, site, _, _ = built
    problems = []
    for page in sorted((site / "current/site").rglob("*.html")):
        html = page.read_text("utf-8")
        name = page.relative_to(site / "current/site").as_posix()
        for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
            if 'type="application/ld+json"' not in attributes and (
                body.strip() or "src=" not in attributes
            ):
                problems.append((name, "inline script"))
        if re.search(r"<style\b|\sstyle=\"|\son[a-z]+=\"", html):
            problems.append((name, "inline style or handler"))
        for tag, url in re.findall(
            r"<(script|img|link|source|iframe|object|embed)\b[^>]*?(?:src|href)=\"([^\"]*)\"", html
        ):
            if tag == "link" and not re.search(
                rf'<link\b[^>]*rel="(?:stylesheet|icon|preload)"[^>]*href="{re.escape(url)}"', html
            ):
                continue  # rel=canonical, alternate … are not fetched as subresources
            if not (url.startswith("/") and not url.startswith("//")) and url != "data:,":
                problems.append((name, f"{tag} from {url}"))
    assert problems == []


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nginx_serves_the_sample_config_with_its_headers(built, tmp_path):
    _, built_site, _, _ = built
    site = tmp_path / "site"
    shutil.copytree(built_site, site, symlinks=True)
    css = site / "current/site/theme/css/site.css"
    css.with_name("site.css.gz").write_bytes(gzip.compress(css.read_bytes(), mtime=0))
    css.with_name("site.css.br").write_bytes(b"precompressed brotli bytes")

    port = _free_port()
    server = (ROOT / "deploy/nginx.conf").read_text("utf-8").split("\nserver {")[2]
    server = server.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    server = "\n".join(
        line for line in server.splitlines() if "listen [::]" not in line and "ssl_" not in line
    )
    server = server.replace("/srv/approvals/site", str(site))
    server = server.replace(
        "/etc/nginx/snippets/approvals-data.conf", str(ROOT / "deploy/nginx-data.conf")
    )
    brotli = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")
    if not brotli.exists():
        server = server.replace("brotli_static on;", "")
    temp = tmp_path / "nginx"
    temp.mkdir()
    conf = temp / "nginx.conf"
    conf.write_text(
        "\n".join(
            [
                f"load_module {brotli};" if brotli.exists() else "",
                "daemon off;",
                "master_process off;",
                f"pid {temp}/nginx.pid;",
                f"error_log {temp}/error.log;",
                "events { worker_connections 64; }",
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
        ),
        encoding="utf-8",
    )
    nginx = _nginx()
    checked = subprocess.run(
        [nginx, "-t", "-p", str(temp), "-e", str(temp / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [nginx, "-p", str(temp), "-e", str(temp / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def get(path: str, **headers: str) -> http.client.HTTPResponse:
        for _ in range(100):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.body = response.read()
                connection.close()
                return response
            except ConnectionRefusedError:
                time.sleep(0.05)
        pytest.fail("nginx did not answer")

    try:
        home = get("/")
        assert home.status == 200 and "宝山区公开审批" in home.body.decode("utf-8")
        for response in (home, get("/status.json"), get("/status.html")):
            assert response.getheader("Content-Security-Policy") == CSP
            assert response.getheader("X-Content-Type-Options") == "nosniff"
            assert response.getheader("Referrer-Policy") == "strict-origin-when-cross-origin"
            assert response.getheader("Strict-Transport-Security").startswith("max-age=")
        status = get("/status.json")
        assert status.status == 200 and status.body == (site / "status.json").read_bytes()
        assert status.getheader("Access-Control-Allow-Origin") == "*"
        assert status.getheader("Cache-Control") == "no-cache"
        data_file = next(p for p in sorted((site / "current/site/data").rglob("*")) if p.is_file())
        data = get("/" + data_file.relative_to(site / "current/site").as_posix())
        assert data.status == 200 and data.getheader("Access-Control-Allow-Origin") == "*"
        zipped = get("/theme/css/site.css", **{"Accept-Encoding": "gzip"})
        assert (
            zipped.getheader("Content-Encoding") == "gzip"
            and gzip.decompress(zipped.body) == css.read_bytes()
        )
        if brotli.exists():
            brotlied = get("/theme/css/site.css", **{"Accept-Encoding": "br"})
            assert (
                brotlied.getheader("Content-Encoding") == "br"
                and brotlied.body == b"precompressed brotli bytes"
            )
        assert get("/.build.lock").status == 404 and get("/releases/").status == 404
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.browser
def test_pages_and_the_in_browser_search_run_under_the_csp(built, new_context):
    """Chromium loads the site with the sample's Content-Security-Policy and reports no violation:
    pages, the status page, and (when the release has it) a search that loads Pagefind's
    WebAssembly and index fragments."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    _, site, _, _ = built
    root = site / "current/site"

    class WithCsp(SimpleHTTPRequestHandler):
        extensions_map = {
            **SimpleHTTPRequestHandler.extensions_map,
            ".wasm": "application/wasm",
            ".js": "text/javascript",
            ".html": "text/html; charset=utf-8",
        }

        def end_headers(self) -> None:
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            super().end_headers()

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(WithCsp, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = new_context().new_page()
        page.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        item = next((root / "items").glob("*.html")).relative_to(root).as_posix()
        for path in ("/", "/status.html", f"/{item}", "/departments/index.html", "/quality.html"):
            page.goto(base + path)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__csp") == [], path
        if (root / "search.html").is_file() and (root / "pagefind").is_dir():
            page.goto(base + "/search.html")
            page.fill("#search-q", "测试事项")
            page.press("#search-q", "Enter")
            page.wait_for_selector("#search-results li", timeout=15_000)
            assert page.evaluate("window.__csp") == [], "search"
    finally:
        server.shutdown()
        server.server_close()
