"""Benchmark both search indexes at scale (not part of ``make test``).

    .venv/bin/python bench/bench_search.py --items 5000 20000 --workdir /tmp/bench-search
    .venv/bin/python bench/bench_search.py --items 5000 20000 --workdir /tmp/bench-search --browser-only
    .venv/bin/python bench/bench_search.py --items 5000 20000 --workdir /tmp/bench-search --compare-stock

``--compare-stock`` measures what the code that leans on Whoosh's and Pagefind's internals buys
(``pipeline/search/whoosh_fast.py``, ``pipeline/search/pagefind/rewrite.py``) against what a
Whoosh or Pagefind it does not know gets: Whoosh's own writer and posting reader, one Pagefind
run not re-written (see :func:`compare_stock`).

For each size: a synthetic export (``bench/scale_export.py``) → release data → search documents;
then, each in its own process so that peak memory is its own:

* the **server index** (Whoosh): full build, related items, an **incremental** update after 1% of
  the items change (plus a few removed and added) against a full rebuild of the same documents;
* the **browser index** as the build makes it (``pagefind_index.index_pages``, step by step):
  Pagefind extended over the documents' pages in pieces of at most ``--piece-pages``
  (default ``pagefind_index.PIECE_PAGES``), one run at a time (``index_s`` wall, ``index_cpu_s``,
  ``peak_mib``: the largest run's peak RSS), the pieces' bundles merged (``merge_s``,
  ``merge_cpu_s``, ``merge_peak_mib``: the Python process's peak RSS during the merge, next to
  ``merge_rss_before_mib``), then the bundle re-written (``rewrite_*``, the same way);
  ``--browser-only`` measures only this, on the workdir's search documents;
* **query latency** of the server index over ``tests/relevance.yaml`` (CPU time per query, and
  wall time; a cold pass and a warm pass);
* **bytes a browser downloads** for a first and the next queries: the demo site's search page
  and theme, with this size's Pagefind bundle, in headless Chromium. Every request under
  ``/pagefind/`` from pressing Enter until the results are shown and the network has been quiet
  for 0.5 s (the fragments of the results shown included), sized from the files themselves: text
  files (.js, .json) as served and gzip-compressed (level 6, as a production web server sends
  them); Pagefind's own files (``.pf_*``, the WebAssembly) are gzip streams already and count
  as they are. Also per kind of file (``parts``: pagefind.js, wasm, meta.json, index, fragment…).
  ``--bytes-only`` measures again the bundles of an earlier run (``--demo``: the demo's too;
  ``--every-query-first``: also every query of ``tests/relevance.yaml`` as a first query).

Results go to ``bench/out/search-<time>.json`` (``search-bytes-<time>.json`` for ``--bytes-only``)
and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
OUT = ROOT / "bench" / "out"
RELEVANCE = ROOT / "tests" / "relevance.yaml"
BYTES_QUERIES = ("营业执照", "开饭店", "结婚登记", "yyzz")


def run_child(code: str, *args: str, stock: bool = False) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON (with its own peak RSS,
    VmHWM). Adds the wall time. ``stock``: as with a Whoosh and a Pagefind this code does not
    know (``BENCH_STOCK=1``, see PREAMBLE)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCH_STOCK": "1" if stock else "0"},
    )
    out, err = process.communicate()
    if process.returncode:
        raise RuntimeError(f"child failed ({process.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - started, 2)
    return result


PREAMBLE = """
import json, os, resource, sys, time
from pathlib import Path
STOCK = os.environ.get("BENCH_STOCK") == "1"
if STOCK:  # Whoosh's own writer and posting reader (pipeline/search/whoosh_fast.py)
    import whoosh
    whoosh.versionstring = lambda *args, **kwargs: "stock"
def peak_mib():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec from the parent.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
"""

DOCUMENTS = (
    PREAMBLE
    + """
from pipeline.search.documents import build_documents
from pipeline.search.steps import write_documents
from pipeline.search.synonyms import load_synonyms
started = time.perf_counter()
docs = build_documents(Path(sys.argv[1]), load_synonyms())
write_documents(Path(sys.argv[2]), docs)
print(json.dumps({"documents": len(docs), "seconds": round(time.perf_counter() - started, 2),
                  "peak_mib": peak_mib()}))
"""
)

SERVER = (
    PREAMBLE
    + """
from pipeline.search.server_write import build_server_index
from pipeline.release.layout import RELATED
from pipeline.search.steps import read_documents, related_items
from pipeline.search.synonyms import load_synonyms
from pipeline.canonical_json import dump_json
folder, previous = Path(sys.argv[1]), (Path(sys.argv[2]) if sys.argv[2] != "-" else None)
docs = read_documents(folder)
started, cpu = time.perf_counter(), time.process_time()
stats = build_server_index(docs, folder, load_synonyms(), previous)
index_s, index_cpu_s = time.perf_counter() - started, time.process_time() - cpu
related = related_items(folder, docs) if sys.argv[3] == "related" else {}
if related:
    (folder / RELATED).write_text(dump_json(related), encoding="utf-8")
size = sum(p.stat().st_size for p in (folder / "whoosh").iterdir())
print(json.dumps({"mode": stats.mode, "reindexed": stats.reindexed, "deleted": stats.deleted,
                  "unchanged": stats.unchanged, "index_s": round(index_s, 2),
                  "index_cpu_s": round(index_cpu_s, 2),
                  "related_s": round(time.perf_counter() - started - index_s, 2),
                  "index_mib": round(size / 2**20, 1), "peak_mib": peak_mib()}))
"""
)

LATENCY = (
    PREAMBLE
    + """
import statistics
from pipeline.search.relevance import load_cases
from pipeline.search.server_query import ServerIndex
started = time.perf_counter()
index = ServerIndex(Path(sys.argv[1]))
index.search("预热")  # jieba and OpenCC load on first use
open_s = time.perf_counter() - started
queries = [c.query for c in load_cases(Path(sys.argv[2]))]
def one_pass():
    cpu, wall = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.thread_time()
        index.search(q)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return cpu, wall
def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))], 1)
result = {"open_s": round(open_s, 2), "queries": len(queries)}
for label in ("cold", "warm"):
    cpu, wall = one_pass()
    result[label] = {"cpu_p50_ms": pct(cpu, 50), "cpu_p95_ms": pct(cpu, 95),
                     "wall_p50_ms": pct(wall, 50), "wall_p95_ms": pct(wall, 95),
                     "cpu_max_ms": pct(cpu, 100)}
result["peak_mib"] = peak_mib()
print(json.dumps(result))
"""
)


BROWSER = (
    PREAMBLE
    + """
import os, resource, shutil, tempfile, threading
from pipeline.search.pagefind import index as pagefind_index
from pipeline.search.pagefind.merge import merge_bundles
from pipeline.search.steps import read_documents

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)

def reset_peak():  # VmHWM back to the current RSS (Linux 4.0+)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

class Children(threading.Thread):
    # The peak RSS (VmHWM) of every child process (the Pagefind runs), sampled every 250 ms
    # (VmHWM only grows; reading a process's status every 20 ms slowed Pagefind's runs down,
    # 20 s of CPU became 37 s for pieces of 2,500 pages at 20,000 items).
    def __init__(self):
        super().__init__(daemon=True)
        self.peaks, self.stop = {}, threading.Event()
    def run(self):
        while not self.stop.is_set():
            for task in os.listdir("/proc/self/task"):
                try:
                    pids = open(f"/proc/self/task/{task}/children").read().split()
                except OSError:
                    continue
                for pid in pids:
                    try:
                        for line in open(f"/proc/{pid}/status"):
                            if line.startswith("VmHWM:"):
                                self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]))
                    except OSError:
                        pass
            self.stop.wait(0.25)

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

docs = read_documents(Path(sys.argv[1]))
site, piece_pages = Path(sys.argv[2]), int(sys.argv[3])
bundle = site / "pagefind"
shutil.rmtree(bundle, ignore_errors=True)
result = {"documents": len(docs), "piece_pages": piece_pages, "rss_before_mib": rss_mib()}
watch = Children()
watch.start()
# What pagefind_index.build_browser_index does (index_pages, then finish_bundle), step by step.
with tempfile.TemporaryDirectory(prefix="bench-pagefind-") as folder:
    work = Path(folder)
    # STOCK: what a Pagefind that pagefind/rewrite.py does not know gets (one run, no re-write)
    parts = [docs] if STOCK else pagefind_index.pieces(docs, piece_pages)
    pages_s = index_s = 0.0
    cpu = children_cpu()
    bundles = []
    for n, part in enumerate(parts):
        pages, target = work / f"pages-{n}", (work / f"bundle-{n}" if len(parts) > 1 else bundle)
        started = time.perf_counter()
        pagefind_index.write_document_pages(part, pages)
        pages_s += time.perf_counter() - started
        started = time.perf_counter()
        pagefind_index.run_pagefind(pages, target)
        index_s += time.perf_counter() - started
        shutil.rmtree(pages)
        bundles.append(target)
    watch.stop.set()
    watch.join()
    # ru_maxrss of the children: the largest run's peak, or this process's RSS when it started
    # one (a spawned child's ru_maxrss starts from its parent's), whichever is larger.
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result.update(pieces=len(parts), pages_s=round(pages_s, 2), index_s=round(index_s, 2),
                  index_cpu_s=round(children_cpu() - cpu, 2),
                  peak_mib=round(max(watch.peaks.values()) / 1024, 1), runs=len(watch.peaks),
                  children_maxrss_mib=round(maxrss / 1024, 1))
    if len(parts) > 1:
        reset_peak()
        rss, started, cpu = rss_mib(), time.perf_counter(), time.process_time()
        merged = merge_bundles(bundles, bundle)
        result.update(merge_s=round(time.perf_counter() - started, 2), merge_cpu_s=round(time.process_time() - cpu, 2),
                      merge_rss_before_mib=rss, merge_peak_mib=peak_mib(), words=merged["words"])
reset_peak()
rss, started, cpu = rss_mib(), time.perf_counter(), time.process_time()
pagefind_index.finish_bundle(docs, bundle, rewritten=not STOCK)  # as the build does
files = [p for p in bundle.rglob("*") if p.is_file()]
result.update(rewrite_s=round(time.perf_counter() - started, 2), rewrite_cpu_s=round(time.process_time() - cpu, 2),
              rewrite_rss_before_mib=rss, rewrite_peak_mib=peak_mib(),
              bundle_mib=round(sum(p.stat().st_size for p in files) / 2**20, 1), files=len(files),
              index_chunks=len(list((bundle / "index").iterdir())))
print(json.dumps(result))
"""
)


def pagefind_build(
    documents_folder: Path, site: Path, piece_pages: int | None = None, stock: bool = False
) -> dict[str, Any]:
    """The browser index as the build makes it (``pagefind_index.index_pages``, then the bundle
    re-written), step by step in a child process: the documents' pages, Pagefind's runs (wall and
    CPU seconds; the largest peak RSS of a run, VmHWM sampled every 250 ms, and the children's
    ``ru_maxrss``), the merge of the
    pieces' bundles and the re-write (wall and CPU seconds; the Python process's peak RSS during
    each, and its RSS before it: VmHWM reset through ``/proc/self/clear_refs``)."""
    from pipeline.search.pagefind.index import PIECE_PAGES

    return run_child(
        BROWSER, str(documents_folder), str(site), str(piece_pages or PIECE_PAGES), stock=stock
    )


def _part(url: str) -> str:
    """What a request under ``/pagefind/`` is: code, wasm, meta, index, fragment, filter, …"""
    name = url.split("?")[0].rsplit("/pagefind/", 1)[1]
    if "/" in name:
        return name.split("/")[0]
    if name.endswith(".pf_meta"):
        return "pf_meta"
    if name.endswith(".meta.json"):
        return "meta.json"
    if name.startswith("wasm."):
        return "wasm"
    return name


TEXT = (".js", ".json", ".html", ".css")


def _sizes(site: Path, url: str) -> tuple[int, int]:
    """A requested file's bytes as served and as sent compressed: text files gzip-compressed
    (level 6, as web servers do); Pagefind's own files are gzip streams already and count as-is."""
    path = site / url.split("?")[0].split("/", 3)[3]
    body = path.read_bytes() if path.is_file() else b""
    return len(body), len(gzip.compress(body, 6)) if path.suffix in TEXT else len(body)


class _Watch:
    """The requests a page makes under ``/pagefind/``, and whether some are still under way."""

    def __init__(self, page: Any) -> None:
        self.seen: list[str] = []
        self.pending: set[Any] = set()
        page.on("request", self._started)
        page.on("requestfinished", lambda request: self.pending.discard(request))
        page.on("requestfailed", lambda request: self.pending.discard(request))
        # An error answer whose body the page never reads (search.js asking for the meta.json a
        # stock bundle does not have) never "finishes": it is done when it is answered.
        page.on(
            "response",
            lambda response: (
                self.pending.discard(response.request) if response.status >= 400 else None
            ),
        )

    def _started(self, request: Any) -> None:
        if "/pagefind/" in request.url:
            self.seen.append(request.url)
            self.pending.add(request)


def _query_bytes(page: Any, watch: _Watch, site: Path, query: str) -> dict[str, Any]:
    """Type ``query``, wait for its results and until the network has been quiet for 0.5 s
    (what the query still loads after they show counts too); the bytes of every request since
    the previous query (for a first query: since the page was opened)."""
    began = time.perf_counter()
    page.fill("#search-q", query)
    page.press("#search-q", "Enter")
    page.wait_for_function(
        "q => { const t = document.querySelector('#search-status').textContent;"
        " return t.includes('“' + q + '”') && !t.includes('正在'); }",
        arg=query,
    )
    shown = time.perf_counter() - began
    quiet_since = time.perf_counter()
    while time.perf_counter() - quiet_since < 0.5:
        page.wait_for_timeout(50)
        if watch.pending:
            quiet_since = time.perf_counter()
    sizes = [(url, *_sizes(site, url)) for url in watch.seen]
    watch.seen.clear()
    parts: dict[str, list[int]] = {}
    for url, _raw, gz in sizes:
        part = parts.setdefault(_part(url), [0, 0])
        part[0] += 1
        part[1] += gz
    return {
        "query": query,
        "bytes": sum(s[1] for s in sizes),
        "bytes_gzip": sum(s[2] for s in sizes),
        "requests": len(sizes),
        "parts": {k: {"requests": v[0], "bytes_gzip": v[1]} for k, v in sorted(parts.items())},
        "seconds": round(shown, 2),
        "status": page.locator("#search-status").inner_text(),
        "shown": page.locator("#search-results > li").count(),
    }


def browser_bytes(site: Path, demo_site: Path, every_query_first: bool = False) -> dict[str, Any]:
    """The demo's search page and theme with this size's bundle; bytes per query in Chromium:
    BYTES_QUERIES one after the other in one page (a first query, then next ones), and with
    ``every_query_first`` each query of the relevance set as the first query of a fresh browser
    context (nothing cached)."""
    from playwright.sync_api import sync_playwright

    from pipeline.ops.serve import make_server
    from pipeline.search.relevance import load_cases

    for part in ("search.html", "theme"):
        target = site / part
        if target.is_dir():
            shutil.rmtree(target)
        (shutil.copytree if (demo_site / part).is_dir() else shutil.copyfile)(
            demo_site / part, target
        )
    server = make_server(site, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    result: dict[str, Any] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            watch = _Watch(page)
            page.goto(f"{base}/search.html")
            result["queries"] = [_query_bytes(page, watch, site, query) for query in BYTES_QUERIES]
            if every_query_first:
                firsts = []
                for case in load_cases(RELEVANCE):
                    context = browser.new_context()
                    page = context.new_page()
                    watch = _Watch(page)
                    page.goto(f"{base}/search.html")
                    firsts.append(_query_bytes(page, watch, site, case.query))
                    context.close()
                sizes = sorted(q["bytes_gzip"] for q in firsts)
                result["every_query_first"] = {
                    "queries": len(sizes),
                    "median_gzip": sizes[len(sizes) // 2],
                    "max_gzip": sizes[-1],
                    "over_150kb": sum(1 for b in sizes if b >= 150_000),
                    "largest": [
                        (q["query"], q["bytes_gzip"])
                        for q in sorted(firsts, key=lambda q: -q["bytes_gzip"])[:5]
                    ],
                    "all": firsts,
                }
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return result


def change_one_percent(data: Path, out: Path) -> dict[str, int]:
    """A next release: 1% of the items renamed, 10 removed, 10 added (copies under new codes)."""
    shutil.copytree(data, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("files"))
    items = json.loads((out / "items.json").read_text(encoding="utf-8"))
    step = max(1, len(items) // max(1, len(items) // 100))
    changed = 0
    for i in range(0, len(items), step):
        items[i]["name"] = items[i]["name"] + "（调整）"
        changed += 1
    removed = items[-10:]
    items = items[:-10]
    added = [
        dict(
            item,
            impl_code=item["impl_code"][:-3] + "9" + item["impl_code"][-2:],
            name=item["name"] + "（新增）",
        )
        for item in removed
    ]
    (out / "items.json").write_text(json.dumps(items + added, ensure_ascii=False), encoding="utf-8")
    return {"renamed": changed, "removed": len(removed), "added": len(added)}


RELEASE_DATA = (
    PREAMBLE
    + """
from bench.scale_export import write_scaled_export
from pipeline.build import validate_export
from pipeline.release.data import write_release_data
export, data = Path(sys.argv[1]), Path(sys.argv[2])
write_scaled_export(export, int(sys.argv[3]))
catalogue, report = validate_export(str(export))
write_release_data(data, catalogue, report)
print(json.dumps({"items": len(catalogue.items)}))
"""
)


def release_data(n: int, work: Path) -> Path:
    """The scaled export's release data, made in a child process: the benchmark's own process
    stays small, so that the children's memory is theirs."""
    export, data = work / "export", work / "data"
    if not (data / "items.json").is_file():
        run_child(RELEASE_DATA, str(export), str(data), str(n))
    return data


def bench_size(
    n: int, work: Path, demo_site: Path, piece_pages: int | None = None
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    data = release_data(n, work)
    search, site = work / "search", work / "site"
    shutil.rmtree(search, ignore_errors=True)
    result: dict[str, Any] = {"items": n}
    result["documents"] = run_child(DOCUMENTS, str(data), str(search))
    print(f"[{n}] documents: {result['documents']}", flush=True)
    result["server_full"] = run_child(SERVER, str(search), "-", "related")
    print(f"[{n}] server index: {result['server_full']}", flush=True)
    result["browser"] = pagefind_build(search, site, piece_pages)
    print(f"[{n}] browser index: {result['browser']}", flush=True)
    result["latency"] = run_child(LATENCY, str(search), str(RELEVANCE))
    print(f"[{n}] latency: {result['latency']}", flush=True)
    if demo_site.is_dir():
        result["bytes"] = browser_bytes(site, demo_site)
        print(f"[{n}] bytes: {result['bytes']}", flush=True)
    # The next release: incremental update against a full rebuild of the same documents.
    next_data, next_search = work / "data-next", work / "search-next"
    result["change"] = change_one_percent(data, next_data)
    for folder in (next_search, work / "search-full"):
        shutil.rmtree(folder, ignore_errors=True)
        run_child(DOCUMENTS, str(next_data), str(folder))
    result["server_incremental"] = run_child(SERVER, str(next_search), str(search), "no-related")
    result["server_rebuild"] = run_child(SERVER, str(work / "search-full"), "-", "no-related")
    print(
        f"[{n}] incremental: {result['server_incremental']} vs full: {result['server_rebuild']}",
        flush=True,
    )
    return result


def demo_search_site(work: Path) -> Path:
    """The demo site built from this checkout (for the search page and theme, so always built
    anew: a copy from an earlier run could hold an older search.js)."""
    site = work / "demo-site"
    shutil.rmtree(site, ignore_errors=True)
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
    return site / "current" / "site"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| items | documents s | Whoosh full s (peak MiB) | related s | Pagefind s (peak MiB) | "
        "incremental s (re-indexed) vs full s | query CPU p50/p95 ms (wall) | first query KB gz (raw) | next query KB gz |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lat = r["latency"]["cold"]
        first = r.get("bytes", {}).get("queries", [{}])
        nxt = first[1:] if len(first) > 1 else [{}]
        rows.append(
            f"| {r['items']:,} | {r['documents']['seconds']} | {r['server_full']['index_s']} "
            f"({r['server_full']['peak_mib']}) | {r['server_full']['related_s']} | "
            f"{r['browser']['index_s']} ({r['browser']['peak_mib']}) | "
            f"{r['server_incremental']['index_s']} ({r['server_incremental']['reindexed']}) vs "
            f"{r['server_rebuild']['index_s']} | {lat['cpu_p50_ms']}/{lat['cpu_p95_ms']} "
            f"({lat['wall_p50_ms']}/{lat['wall_p95_ms']}) | "
            f"{first[0].get('bytes_gzip', 0) / 1000:.0f} ({first[0].get('bytes', 0) / 1000:.0f}) | "
            f"{max(q.get('bytes_gzip', 0) for q in nxt) / 1000:.0f} |"
        )
    return "\n".join(rows)


def browser_only(sizes: list[int], workdir: Path, piece_pages: int | None) -> int:
    """``--browser-only``: the browser index of each size's search documents (made once)."""
    records = []
    for n in sizes:
        work = workdir / f"n{n}"
        work.mkdir(parents=True, exist_ok=True)
        search = work / "search"
        if not (search / "documents.json").is_file():
            run_child(DOCUMENTS, str(release_data(n, work)), str(search))
        record = {
            "items": n,
            "loadavg": os.getloadavg(),
            **pagefind_build(search, work / "site", piece_pages),
        }
        records.append(record)
        print(json.dumps(record), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"search-browser-{stamp}.json").write_text(
        json.dumps(
            {
                "started": stamp,
                "command": " ".join(sys.argv),
                "nproc": os.cpu_count(),
                "results": records,
            },
            ensure_ascii=False,
            indent=1,
        ),
        "utf-8",
    )
    return 0


def compare_stock(sizes: list[int], workdir: Path, rounds: int) -> int:
    """``--compare-stock``: what the re-writes of Whoosh's and Pagefind's internals buy, against
    what a Whoosh or Pagefind this code does not know gets (``pipeline/search/whoosh_fast.py``,
    ``pipeline/search/pagefind/rewrite.py``): for each size, the server index written by the
    fast writer and by Whoosh's own (``rounds`` times each, alternated: the machine is shared),
    query latency with and without the block reader of postings, and the browser index as the
    build makes it (pieces, merge, re-write) and as Pagefind makes it (one run), with the bytes a
    browser downloads for the same queries from each bundle."""
    demo_site = demo_search_site(workdir)
    records = []
    for n in sizes:
        work = workdir / f"n{n}"
        work.mkdir(parents=True, exist_ok=True)
        search = work / "search"
        if not (search / "documents.json").is_file():
            run_child(DOCUMENTS, str(release_data(n, work)), str(search))
        record: dict[str, Any] = {"items": n, "loadavg_before": os.getloadavg()}
        for label in ("ours", "stock") * rounds:
            server = run_child(SERVER, str(search), "-", "no-related", stock=label == "stock")
            record.setdefault(f"server_{label}", []).append(server)
            print(f"[{n}] server index {label}: {server}", flush=True)
        for label in ("ours", "stock"):
            latency = run_child(LATENCY, str(search), str(RELEVANCE), stock=label == "stock")
            record[f"latency_{label}"] = latency
            print(f"[{n}] latency {label}: {latency}", flush=True)
        for label in ("ours", "stock"):
            site = work / f"site-{label}"
            browser = pagefind_build(search, site, stock=label == "stock")
            record[f"browser_{label}"] = browser
            print(f"[{n}] browser index {label}: {browser}", flush=True)
            if demo_site.is_dir():
                record[f"bytes_{label}"] = browser_bytes(site, demo_site)
                print(
                    f"[{n}] bytes {label}: "
                    f"{[(q['query'], q['bytes_gzip']) for q in record[f'bytes_{label}']['queries']]}",
                    flush=True,
                )
        record["loadavg_after"] = os.getloadavg()
        records.append(record)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (OUT / f"search-stock-{stamp}.json").write_text(
        json.dumps(
            {
                "started": stamp,
                "command": " ".join(sys.argv),
                "nproc": os.cpu_count(),
                "results": records,
            },
            ensure_ascii=False,
            indent=1,
        ),
        "utf-8",
    )
    print(stock_table(records))
    return 0


def twice(search: Path, workdir: Path) -> int:
    """``--twice SEARCH``: the browser index of the search documents in ``SEARCH`` built twice
    with the re-write and twice as a Pagefind it does not know gets it (stock): how many files
    differ between the two builds of each."""
    from pipeline.search.pagefind.index import build_browser_index
    from pipeline.search.steps import read_documents

    documents = read_documents(search)

    def tree(folder: Path) -> dict[str, bytes]:
        return {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    for label, version in (("ours", "1.5.2"), ("stock", "stock")):
        a, b = (
            tree(
                build_browser_index(
                    documents, workdir / f"twice-{label}-{n}", pagefind_version=version
                )
            )
            for n in (1, 2)
        )
        differ = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
        print(f"{label}: {len(differ)} of {len(a)} files differ: {differ[:5]}")
    return 0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def stock_table(records: list[dict[str, Any]]) -> str:
    rows = [
        "| items | Whoosh writer: ours / stock (s wall, peak MiB) | query p50/p95 ms CPU: ours / stock "
        "| Pagefind: ours (runs + merge + re-write) / stock (s wall, peak MiB) "
        "| first query KB gz: ours / stock | next queries KB gz: ours / stock |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        server = {
            label: (
                f"{_median([x['index_s'] for x in r[f'server_{label}']])}"
                + (
                    f" ({_median([x['index_cpu_s'] for x in r[f'server_{label}']])} CPU)"
                    if "index_cpu_s" in r[f"server_{label}"][0]
                    else ""
                ),
                _median([x["peak_mib"] for x in r[f"server_{label}"]]),
            )
            for label in ("ours", "stock")
        }
        lat = {label: r[f"latency_{label}"]["cold"] for label in ("ours", "stock")}
        browser = {}
        for label in ("ours", "stock"):
            b = r[f"browser_{label}"]
            seconds = b["index_s"] + b.get("merge_s", 0) + b["rewrite_s"]
            browser[label] = (round(seconds, 1), max(b["peak_mib"], b.get("merge_peak_mib", 0)))
        first = {
            label: r.get(f"bytes_{label}", {}).get("queries", [{}]) for label in ("ours", "stock")
        }
        rows.append(
            f"| {r['items']:,} | {server['ours'][0]} s, {server['ours'][1]} / "
            f"{server['stock'][0]} s, {server['stock'][1]} | "
            f"{lat['ours']['cpu_p50_ms']}/{lat['ours']['cpu_p95_ms']} / "
            f"{lat['stock']['cpu_p50_ms']}/{lat['stock']['cpu_p95_ms']} | "
            f"{browser['ours'][0]} s, {browser['ours'][1]} / {browser['stock'][0]} s, "
            f"{browser['stock'][1]} | "
            f"{first['ours'][0].get('bytes_gzip', 0) / 1000:.0f} / "
            f"{first['stock'][0].get('bytes_gzip', 0) / 1000:.0f} | "
            f"{sum(q.get('bytes_gzip', 0) for q in first['ours'][1:]) / 1000:.0f} / "
            f"{sum(q.get('bytes_gzip', 0) for q in first['stock'][1:]) / 1000:.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench-search"
    )
    parser.add_argument(
        "--bytes-only",
        action="store_true",
        help="only measure browser bytes again, on the bundles of an earlier run",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="with --bytes-only: also measure the demo site's own bundle",
    )
    parser.add_argument(
        "--every-query-first",
        action="store_true",
        help="with --bytes-only: also each query of tests/relevance.yaml as a first "
        "query (a fresh browser context each; ~2 minutes per size)",
    )
    parser.add_argument(
        "--browser-only",
        action="store_true",
        help="only the browser index (Pagefind, the merge of its pieces, the re-write), "
        "on the workdir's search documents (made if missing)",
    )
    parser.add_argument(
        "--piece-pages",
        type=int,
        default=None,
        help="pages per Pagefind run (default: pagefind_index.PIECE_PAGES)",
    )
    parser.add_argument(
        "--compare-stock",
        action="store_true",
        help="what the Whoosh and Pagefind re-writes buy: each size built with them and as a "
        "Whoosh / Pagefind this code does not know gets it (Whoosh's writer, one Pagefind run)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --compare-stock: Whoosh rounds")
    parser.add_argument(
        "--twice",
        type=Path,
        metavar="SEARCH",
        help="build the browser index of SEARCH's documents twice, with and without the "
        "re-write, and count the files that differ",
    )
    args = parser.parse_args(argv)
    if args.twice:
        return twice(args.twice, args.workdir)
    if args.compare_stock:
        return compare_stock(args.items, args.workdir, args.rounds)
    if args.browser_only:
        return browser_only(args.items, args.workdir, args.piece_pages)
    demo_site = demo_search_site(args.workdir)
    if args.bytes_only:
        sizes: list[tuple[str, Path]] = [("demo", demo_site)] if args.demo else []
        sizes += [(f"{n:,}", args.workdir / f"n{n}" / "site") for n in args.items]
        records = []
        for label, site in sizes:
            if label == "demo":  # measured on a copy: browser_bytes puts the page and theme in
                site = args.workdir / "demo-bytes"
                shutil.rmtree(site, ignore_errors=True)
                shutil.copytree(demo_site / "pagefind", site / "pagefind")
            measured = browser_bytes(site, demo_site, args.every_query_first)
            records.append({"items": label, **measured})
            for q in measured["queries"]:
                parts = ", ".join(
                    f"{k} {v['bytes_gzip'] / 1000:.1f}" for k, v in q["parts"].items()
                )
                print(
                    f"  {label} {q['query']}: {q['bytes_gzip'] / 1000:.1f} KB gz "
                    f"({q['bytes'] / 1000:.1f} KB raw, {q['requests']} requests): {parts}"
                )
            if "every_query_first" in measured:
                every = measured["every_query_first"]
                print(
                    f"  {label} every relevance query as a first query: median "
                    f"{every['median_gzip'] / 1000:.1f} KB gz, max {every['max_gzip'] / 1000:.1f} KB, "
                    f"{every['over_150kb']} of {every['queries']} over 150 KB; largest: {every['largest']}"
                )
        OUT.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (OUT / f"search-bytes-{stamp}.json").write_text(
            json.dumps(
                {"started": stamp, "command": " ".join(sys.argv), "results": records},
                ensure_ascii=False,
                indent=1,
            ),
            "utf-8",
        )
        return 0
    results = []
    for n in args.items:
        results.append(bench_size(n, args.workdir / f"n{n}", demo_site, args.piece_pages))
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "started": stamp,
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "nproc": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "results": results,
    }
    (OUT / f"search-{stamp}.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=1), "utf-8"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
