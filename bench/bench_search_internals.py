"""What each piece of ``pipeline/search/whoosh_fast.py`` buys (not part of ``make test``).

    .venv/bin/python bench/bench_search_internals.py --search /tmp/bench-search/n20000/search --rounds 3

On the search documents of an earlier ``bench/bench_search.py`` run (``--search``: its
``n<items>/search`` folder), each in a fresh process and alternated round by round (the machine
is shared: CPU seconds are the figure to compare):

* **the writer**: a full build of the server index with Whoosh's own writer (``stock``), with
  :class:`~pipeline.search.whoosh_fast.FastWriter` (``fast``), and with the fast writer less one
  of its four pieces — ``TermPool`` (Whoosh's ``PostingPool`` instead), ``_Lengths`` (Whoosh's
  per-posting length reads), ``_JiebaText`` (Whoosh's per-token generators), ``_Remembered``
  (every value indexed anew): CPU and wall seconds, peak RSS (``VmHWM``);
* **the posting reader**: every term of the queries of ``tests/relevance.yaml`` (in all the
  fields the queries search) read once, as the index reads a term it has not cached, a posting
  block at a time from ``W3LeafMatcher``'s private fields (the reader ``whoosh_fast.py`` had
  until this measurement showed it saved nothing; kept here to repeat it) and with Whoosh's
  ``all_ids()`` (CPU seconds for all the terms, and the number of postings read).

Results go to ``bench/out/search-internals-<time>.json`` and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WRITERS = ("stock", "fast", "no_term_pool", "no_lengths", "no_jieba_text", "no_remembered")

PREAMBLE = """
import json, sys, time
from pathlib import Path
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
"""

WRITER = (
    PREAMBLE
    + """
import shutil
from whoosh.writing import PostingPool
from pipeline.search import whoosh_fast
from pipeline.search.server_write import build_server_index
from pipeline.search.steps import read_documents
from pipeline.search.synonyms import load_synonyms
variant = sys.argv[3]
if variant == "no_term_pool":
    whoosh_fast.TermPool = PostingPool
elif variant == "no_lengths":
    whoosh_fast._Lengths = lambda reader: reader
elif variant == "no_jieba_text":
    del whoosh_fast._JiebaText.index
elif variant == "no_remembered":
    whoosh_fast.REMEMBERED = 0
docs = read_documents(Path(sys.argv[1]))
target = Path(sys.argv[2])
shutil.rmtree(target, ignore_errors=True)
synonyms = load_synonyms()
started, cpu = time.perf_counter(), time.process_time()
build_server_index(docs, target, synonyms, whoosh_version="stock" if variant == "stock" else None)
print(json.dumps({"variant": variant, "cpu_s": round(time.process_time() - cpu, 2),
                  "wall_s": round(time.perf_counter() - started, 2), "peak_mib": peak_mib()}))
"""
)

READER = (
    PREAMBLE
    + """
from whoosh import index
from pipeline.search.relevance import load_cases
from pipeline.search.server_index import INDEX_DIR
from pipeline.search.server_plan import plan_query
from pipeline.search.synonyms import load_synonyms
from pipeline.search.text import normalise
folder, blocks = Path(sys.argv[1]), sys.argv[3] == "blocks"
def leaf_ids(reader, fieldname, text):
    # The block reader that was pipeline/search/whoosh_fast.leaf_ids until this measurement:
    # a term's documents a posting block at a time, from W3LeafMatcher's private fields.
    matcher = reader.postings(fieldname, text)
    inner = getattr(matcher, "child", matcher)
    if not blocks:
        return list(matcher.all_ids())
    ids = []
    while inner.is_active():
        if inner._ids is None:
            inner._read_ids()
        ids.extend(inner._ids[inner._i :])
        inner._next_block()
    return ids
synonyms = load_synonyms()
terms = set()
for case in load_cases(Path(sys.argv[2])):
    plan = plan_query(normalise(case.query), synonyms)
    for clause in [c for g in plan.groups for c in g.clauses] + plan.bonus:
        terms.update((clause.field, word) for word in clause.words)
ix = index.open_dir(folder / INDEX_DIR)
with ix.searcher() as searcher:
    leaves = [s.reader() for s, _ in searcher.leaf_searchers()]
    postings = 0
    cpu = time.process_time()
    for field, text in sorted(terms):
        for reader in leaves:
            if (field, text) in reader:
                postings += len(leaf_ids(reader, field, text))
    cpu = time.process_time() - cpu
print(json.dumps({"reader": sys.argv[3], "terms": len(terms), "postings": postings,
                  "cpu_s": round(cpu, 3), "peak_mib": peak_mib()}))
"""
)


def child(code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--search", type=Path, required=True, help="a bench n<items>/search folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", nargs="+", default=list(WRITERS), choices=WRITERS)
    args = parser.parse_args(argv)
    target = args.search.parent / "search-internals"
    writes: dict[str, list[dict[str, Any]]] = {}
    reads: dict[str, list[dict[str, Any]]] = {}
    for round_ in range(args.rounds):
        for variant in args.writers:
            result = child(WRITER, str(args.search), str(target), variant)
            writes.setdefault(variant, []).append(result)
            print(f"round {round_} writer {result}", flush=True)
        for reader in ("blocks", "all_ids"):
            result = child(READER, str(target), str(ROOT / "tests" / "relevance.yaml"), reader)
            reads.setdefault(reader, []).append(result)
            print(f"round {round_} reader {result}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "started": stamp,
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "documents": len(json.loads((args.search / "documents.json").read_text("utf-8"))),
        "nproc": os.cpu_count(),
        "loadavg_after": os.getloadavg(),
        "writers": writes,
        "readers": reads,
    }
    (OUT / f"search-internals-{stamp}.json").write_text(json.dumps(record, indent=1), "utf-8")
    print(f"{record['documents']} documents, median of {args.rounds} rounds")
    print("| writer | CPU s | wall s | peak MiB |\n|---|---|---|---|")
    for variant, results in writes.items():
        print(
            f"| {variant} | {median([r['cpu_s'] for r in results])} | "
            f"{median([r['wall_s'] for r in results])} | "
            f"{median([r['peak_mib'] for r in results])} |"
        )
    print("| postings read | terms | postings | CPU s |\n|---|---|---|---|")
    for reader, results in reads.items():
        print(
            f"| {reader} | {results[0]['terms']} | {results[0]['postings']} | "
            f"{median([r['cpu_s'] for r in results])} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
