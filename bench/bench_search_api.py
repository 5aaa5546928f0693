"""Load benchmark of ``GET /api/search`` (not part of ``make test``).

    .venv/bin/python bench/bench_search_api.py --site /tmp/bench-api/demo --clients 20 --requests 4000
    .venv/bin/python bench/bench_search_api.py --site /tmp/bench-api/demo --clients 1 5 20 --variant no-cache

Starts ``approvals serve --site SITE`` in its own process (the production server, see
``pipeline/ops/serve.py``; ``--url`` measures a server already running instead, e.g. nginx in
front of it; ``--nginx`` puts nginx with ``deploy/nginx.conf`` in front of the server it
starts, as in production), asks every request of the mix once, one at a time (the reference answers), then
runs ``--clients`` closed-loop clients (each sends its next request as soon as its previous
answer has arrived, no think time) until ``--requests`` answers have arrived. Each request is a
fresh HTTP/1.0 connection, as nginx opens to an upstream without ``keepalive``. The clients are
one asyncio process (a few hundred microseconds of CPU per request, on the same machine).

The mix: every query of ``tests/relevance.yaml`` (80), each also on page 2, and with a filter
(department or item type, from the first answer's facets) — 240 distinct requests, asked in
turn. The server keeps the answers it gave (``pipeline/search/api.py``, ``ANSWERS_KEPT``), so
after the reference pass they are memory reads: ``--variant no-cache`` makes it search every
request anew (the worst case: every request a new one), ``--variant pool`` gives each running
query a Whoosh searcher of its own instead of lending the index's one to one query at a time
(the alternative the design weighed).

Reports per run: answers per second, latency p50 / p95 / p99 / max (ms, from before the connect
to the last byte), errors (anything but 200, or a dropped connection) and answers that differ
from the reference answer, and the server's CPU time per answer (``/proc/<pid>/stat``: what
one core can serve, whatever else the machine runs). ``SITE`` missing: the demo is built there first
(``approvals build --export examples/demo-export``). Results go to
``bench/out/search-api-<time>.json`` and are printed as a Markdown row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
OUT = ROOT / "bench" / "out"
RELEVANCE = ROOT / "tests" / "relevance.yaml"


def demo_site(site: Path) -> Path:
    if not (site / "current").exists():
        subprocess.run(
            [
                PYTHON,
                "-m",
                "pipeline.cli",
                "build",
                "--export",
                str(ROOT / "examples" / "demo-export"),
                "--site",
                str(site),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return site


LAUNCH = """
import sys, threading
from contextlib import contextmanager
from pipeline.search import api, server_query
if "no-cache" in sys.argv[1]:  # every answer searched anew
    api.ANSWERS_KEPT = 0
if "pool" in sys.argv[1]:  # the alternative to the index's one searcher: one per running query
    free, guard = [], threading.Lock()
    @contextmanager
    def pooled(self):
        with guard:
            taken = free.pop() if free else None
        if taken is None:
            taken = server_query._Session(self._index.searcher())
        try:
            yield taken
        finally:
            with guard:
                free.append(taken)
    server_query._Searchers.session = pooled
from pipeline.cli import main
sys.exit(main(sys.argv[2:]))
"""


def start_server(site: Path, log: Path, variant: str = "") -> tuple[subprocess.Popen[str], str]:
    """``approvals serve`` on a free port; its base URL from the line it prints. Its log (the
    traces of failed requests) goes to ``log``: a pipe nobody reads would fill and stop it.
    ``variant`` (for comparison only): ``no-cache`` (no answer kept), ``pool`` (a searcher per
    running query instead of the index's one, lent to one query at a time), or both."""
    with log.open("w", encoding="utf-8") as errors:
        process = subprocess.Popen(
            [PYTHON, "-c", LAUNCH, variant or "-", "serve", "--site", str(site), "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://[^/\s]+", line)
    if not found:
        process.kill()
        raise RuntimeError(f"serve did not start: {line!r} {log.read_text('utf-8')[-2000:]}")
    return process, found.group(0)


def start_nginx(site: Path, api_port: int, temp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """nginx with ``deploy/nginx.conf``'s HTTPS server on plain HTTP at a free port, the site
    at ``site`` and ``/api/search`` proxied to ``127.0.0.1:<api_port>`` (as the tests run it)."""
    import shutil
    import socket
    import time as clock

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = (ROOT / "deploy/nginx.conf").read_text("utf-8").split("\nserver {")[2]
    server = server.replace(
        "proxy_pass http://127.0.0.1:8600;", f"proxy_pass http://127.0.0.1:{api_port};"
    )
    server = server.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} backlog=1024;")
    server = "\n".join(
        line for line in server.splitlines() if "listen [::]" not in line and "ssl_" not in line
    )
    server = server.replace("/srv/approvals/site", str(site)).replace("brotli_static on;", "")
    server = server.replace(
        "include /etc/nginx/snippets/approvals-data.conf;",
        f"include {ROOT / 'deploy/nginx-data.conf'};",
    )
    temp.mkdir(parents=True, exist_ok=True)
    conf = temp / "nginx.conf"
    conf.write_text(
        "\n".join(
            [
                "daemon off;",
                "worker_processes 1;",
                f"pid {temp}/nginx.pid;",
                f"error_log {temp}/error.log;",
                "events { worker_connections 1024; }",
                "http {",
                "include /etc/nginx/mime.types;",
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
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [binary, "-p", str(temp), "-e", str(temp / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            clock.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


async def fetch(host: str, port: int, path: str) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body); status -1 for a dropped connection."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return -1, b""
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii"))
        raw = await reader.read(-1)
    except OSError:
        return -1, b""
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(match.group(1)) if match else -1), body


def request_mix(base: str) -> list[str]:
    """The 240 request paths (see the module's docstring)."""
    import urllib.request

    from pipeline.search.relevance import load_cases

    paths = []
    for case in load_cases(RELEVANCE):
        first = f"/api/search?{urlencode({'q': case.query})}"
        paths += [first, f"/api/search?{urlencode({'q': case.query, 'page': 2})}"]
        with urllib.request.urlopen(base + first, timeout=30) as response:  # noqa: S310 - local
            facets = json.load(response)["facets"]
        key = "department" if facets.get("department") else "type"
        value = sorted(facets.get(key, {"": 0}))[0]
        paths.append(f"/api/search?{urlencode({'q': case.query, key: value})}")
    return paths


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (0 when not ours to read)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)


async def load(
    host: str,
    port: int,
    paths: list[str],
    reference: dict[str, tuple[int, bytes]],
    clients: int,
    total: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    differ = 0
    issued = 0

    async def client(number: int) -> None:
        nonlocal issued, differ
        at = number * len(paths) // clients
        while issued < total:
            issued += 1
            path = paths[at % len(paths)]
            at += 1
            started = time.perf_counter()
            status, body = await fetch(host, port, path)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if (status, body) != reference[path]:
                differ += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    seconds = time.perf_counter() - started
    return {
        "clients": clients,
        "answers": len(latencies),
        "seconds": round(seconds, 2),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": percentile(latencies, 100),
        "statuses": statuses,
        "errors": len(latencies) - statuses.get("200", 0),
        "differ": differ,
    }


def run(base: str, clients: list[int], total: int, pid: int | None = None) -> list[dict[str, Any]]:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    paths = request_mix(base)
    reference = {}
    sequential = []
    for path in paths:
        started = time.perf_counter()
        reference[path] = asyncio.run(fetch(host, port, path))
        sequential.append((time.perf_counter() - started) * 1000)
    bad = [p for p, (status, _) in reference.items() if status != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} reference answers are not 200, e.g. {bad[:3]}")
    results = [
        {
            "clients": 1,
            "answers": len(sequential),
            "p50_ms": percentile(sequential, 50),
            "p95_ms": percentile(sequential, 95),
            "p99_ms": percentile(sequential, 99),
            "max_ms": percentile(sequential, 100),
            "errors": 0,
            "differ": 0,
            "note": "the reference pass, one request at a time",
        }
    ]
    for count in clients:
        cpu, load_before = cpu_seconds(pid), os.getloadavg()[0]
        client_cpu = time.process_time()
        result = asyncio.run(load(host, port, paths, reference, count, total))
        if pid is not None:  # the server's CPU per answer: what one core can serve
            result["server_cpu_ms"] = round((cpu_seconds(pid) - cpu) * 1000 / result["answers"], 2)
        result["client_cpu_ms"] = round(
            (time.process_time() - client_cpu) * 1000 / result["answers"], 2
        )
        result["loadavg_1min_before"] = load_before
        results.append(result)
        print(json.dumps(results[-1]), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=Path("/tmp/bench-api/demo"))
    parser.add_argument("--url", help="a server already running (its base URL), instead of --site")
    parser.add_argument("--clients", type=int, nargs="+", default=[20])
    parser.add_argument("--requests", type=int, default=4000, help="answers per run")
    parser.add_argument(
        "--nginx",
        action="store_true",
        help="through nginx with deploy/nginx.conf in front of the server (as in production)",
    )
    parser.add_argument(
        "--variant",
        default="",
        help="for comparison: no-cache (no answer kept), pool (a searcher per running query), "
        "or no-cache,pool",
    )
    args = parser.parse_args(argv)
    process = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        process, base = start_server(demo_site(args.site), args.site / "serve.log", args.variant)
    front = None
    if args.nginx:
        front, base = start_nginx(args.site, int(base.rsplit(":", 1)[1]), args.site / "nginx")
    try:
        results = run(base, args.clients, args.requests, process.pid if process else None)
    finally:
        for running in (front, process):
            if running is not None:
                running.terminate()
                running.wait(timeout=10)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "started": stamp,
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "nproc": os.cpu_count(),
        "loadavg_after": os.getloadavg(),
        "variant": args.variant,
        "nginx": args.nginx,
        "results": results,
    }
    (OUT / f"search-api-{stamp}.json").write_text(json.dumps(record, indent=1), "utf-8")
    print(
        "| clients | answers/s | p50 ms | p95 ms | p99 ms | max ms | errors | differ "
        "| server CPU ms/answer | client CPU ms/answer |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['clients']} | {r.get('per_second', '–')} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} | {r['errors']} | {r['differ']} "
            f"| {r.get('server_cpu_ms', '–')} | {r.get('client_cpu_ms', '–')} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
