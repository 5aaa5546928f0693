"""Outcomes benchmark: N cases ingested, validated, accumulated, aggregated and anonymised.

    .venv/bin/python bench/bench_outcomes.py --cases 200000 10000000

For each N, synthetic cases over the demo catalogue's items are written as JSONL by DuckDB
itself (generating 10 million cases in Python would take a quarter of an hour), then a child
process runs the outcomes stage — ``ingest_cases`` (bulk checks, accumulation), the working-day
statistics and the anonymiser — and reports its wall time and peak memory (ru_maxrss). The PII
gate's collection of personal values is left out (it is a per-release scan, measured with the
build). Results go to bench/out/outcomes.json and stdout; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATALOGUE = ROOT / "examples" / "demo-export"
OUT = ROOT / "bench" / "out"


def write_cases(folder: Path, n: int) -> None:
    """Synthetic cases in the contract's shape, 24 months up to 2026-11-20, JSONL by DuckDB."""
    import duckdb

    items = [
        i
        for i in json.loads((CATALOGUE / "items.json").read_text("utf-8"))
        if i["status"] == "in_force"
    ]
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE it (n INTEGER, impl_code VARCHAR, department_code VARCHAR, promised INTEGER)"
    )
    con.executemany(
        "INSERT INTO it VALUES (?, ?, ?, ?)",
        [
            (n_, i["impl_code"], i["department_code"], int(i["promised_limit"]["value"]))
            for n_, i in enumerate(items)
        ],
    )
    con.execute(f"""COPY (
      WITH c AS (SELECT range AS r, hash(range) AS h FROM range({n})),
      d AS (SELECT c.r, c.h, it.*, DATE '2024-11-21' + CAST(c.h % 730 AS INTEGER) AS day,
                   (c.h >> 20) % 100 AS roll FROM c JOIN it ON it.n = c.h % {len(items)})
      SELECT 'BS' || lpad(CAST(r AS VARCHAR), 10, '0') AS case_id, impl_code, 1 AS item_version,
        department_code,
        CASE WHEN roll < 55 THEN 'natural_person' ELSE 'enterprise' END AS applicant_type,
        '张' || CAST(h % 9973 AS VARCHAR) AS applicant_name,
        '1' || lpad(CAST(h % 10000000000 AS VARCHAR), 10, '3') AS applicant_phone,
        '31011300' || CAST(h % 10 AS VARCHAR) AS street_code,
        CASE WHEN roll % 3 = 0 THEN 'window' ELSE 'online_pc' END AS channel,
        strftime(day, '%Y-%m-%d') || 'T10:00:00+08:00' AS submitted_at,
        strftime(day, '%Y-%m-%d') || 'T11:00:00+08:00' AS accepted_at,
        strftime(day + CAST((h >> 8) % (promised + 3) AS INTEGER), '%Y-%m-%d') || 'T16:00:00+08:00' AS completed_at,
        CASE WHEN roll < 3 THEN 'not_accepted' WHEN roll < 5 THEN 'withdrawn' ELSE 'completed' END AS status,
        CASE WHEN roll < 3 THEN 'not_accepted' WHEN roll < 5 THEN 'withdrawn' WHEN roll < 8 THEN 'denied' ELSE 'granted' END AS result,
        CASE WHEN roll < 8 THEN '材料不齐全，申请人张某电话1390000' || CAST(h % 10000 AS VARCHAR) END AS result_reason,
        strftime(day + CAST((h >> 8) % (promised + 3) AS INTEGER), '%Y-%m-%d') || 'T16:00:00+08:00' AS updated_at
      FROM d) TO '{folder / "cases.jsonl"}' (FORMAT json)""")


def run_child(folder: Path) -> dict:
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
from datetime import datetime
from pathlib import Path
from pipeline.extract.folder import FolderSource
from pipeline.validate.mapping import load_profile
from pipeline.validate.problems import Report
from pipeline.validate.catalogue import build_catalogue
from pipeline.outcomes.cases import connect, ingest_cases
from pipeline.outcomes.statistics import StatisticsSettings, compute_statistics
from pipeline.outcomes.anonymise import anonymise_cases
from pipeline.outcomes.workdays import WorkdayCalendar
catalogue = build_catalogue(FolderSource({str(CATALOGUE)!r}), load_profile('contract'), Report(), lambda f, d: None)
source = FolderSource({str(folder)!r})
started, cpu0 = time.perf_counter(), time.process_time()
con = connect()
intake = ingest_cases(con, source, catalogue.items, None, Report(), collect_personal=False)
ingested, cpu1 = time.perf_counter(), time.process_time()
stats = compute_statistics(con, catalogue.items, WorkdayCalendar(), datetime.fromisoformat('2026-11-25T23:30:00+08:00'), StatisticsSettings())
aggregated, cpu2 = time.perf_counter(), time.process_time()
result = anonymise_cases(con, stats['months'], 5, b'k' * 32)
done, cpu3 = time.perf_counter(), time.process_time()
print(json.dumps({{"cases": intake.read, "accepted": intake.accepted, "ingest_s": round(ingested - started, 2),
  "statistics_s": round(aggregated - ingested, 2), "anonymise_s": round(done - aggregated, 2),
  "total_s": round(done - started, 2),
  "cpu_s": {{"ingest": round(cpu1 - cpu0, 1), "statistics": round(cpu2 - cpu1, 1), "anonymise": round(cpu3 - cpu2, 1)}}, "published": result.published, "suppressed": result.suppressed,
  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[200_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/approvals-bench-outcomes"))
    args = parser.parse_args()
    results = []
    for n in args.cases:
        folder = args.work / f"{n}"
        started = time.perf_counter()
        if not (folder / "cases.jsonl").is_file():
            write_cases(folder, n)
        generated = round(time.perf_counter() - started, 1)
        row = {
            "n": n,
            "generate_s": generated,
            "jsonl_mb": round((folder / "cases.jsonl").stat().st_size / 1e6),
            **run_child(folder),
        }
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "outcomes.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
