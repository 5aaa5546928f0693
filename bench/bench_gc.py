"""What ``BUILD_GC_THRESHOLD`` buys: ``approvals build`` with Python's default GC threshold and
with the build's, on the same export, interleaved.

    .venv/bin/python bench/bench_gc.py --items 5000 --rounds 3

Each run is a child process running ``pipeline.cli.main`` with ``gc.callbacks`` timing every
collection (CPU time of the build's own process, per generation; the forked render processes
are not counted). The default-threshold runs set ``pipeline.build.BUILD_GC_THRESHOLD`` to
``gc.get_threshold()`` before the build, so both variants run the same code. Peak RSS is the
child's ``ru_maxrss`` from ``wait4``; CPU time is the child's user + system time (its forked
processes included). Results: ``bench/out/bench_gc-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scale_export import write_scaled_export  # noqa: E402

OUT_DIR = ROOT / "bench" / "out"

PROBE = r"""
import gc, json, sys, time
import pipeline.build
if sys.argv[1] == "default":
    pipeline.build.BUILD_GC_THRESHOLD = gc.get_threshold()
spent, counts, began = [0.0, 0.0, 0.0], [0, 0, 0], [0.0]
def timed(phase, info):
    if phase == "start":
        began[0] = time.process_time()
    else:
        spent[info["generation"]] += time.process_time() - began[0]
        counts[info["generation"]] += 1
gc.callbacks.append(timed)
from pipeline.cli import main
code = main(sys.argv[2:])
print("BENCH_GC " + json.dumps({"exit": code, "gc_cpu_s": [round(s, 3) for s in spent],
                                "collections": counts, "threshold": pipeline.build.BUILD_GC_THRESHOLD}))
"""


def run_once(variant: str, export: Path, work: Path) -> dict[str, Any]:
    site = work / f"site-{variant}"
    shutil.rmtree(site, ignore_errors=True)
    log = work / f"{variant}.log"
    os.sync()
    load = float(Path("/proc/loadavg").read_text().split()[0])
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                PROBE,
                variant,
                "build",
                "--export",
                str(export),
                "--site",
                str(site),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    text = log.read_text("utf-8", errors="replace")
    line = next((x for x in text.splitlines() if x.startswith("BENCH_GC ")), None)
    if line is None:
        raise RuntimeError(f"{variant}: exit {os.waitstatus_to_exitcode(status)}\n{text[-2000:]}")
    probe = json.loads(line.split(" ", 1)[1])
    return {
        "variant": variant,
        **probe,
        "gc_cpu_total_s": round(sum(probe["gc_cpu_s"]), 3),
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "loadavg_before": load,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--from", dest="source", default=None, help="template export")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-gc-"))
    work.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    try:
        print(f"== writing a {args.items}-item export …", file=sys.stderr, flush=True)
        export = work / "export"
        shutil.rmtree(export, ignore_errors=True)
        write_scaled_export(export, args.items, args.source)
        runs = []
        for round_ in range(1, args.rounds + 1):
            for variant in ("default", "build"):
                run = run_once(variant, export, work)
                runs.append({"round": round_, **run})
                print(
                    f"round {round_} {variant:<7} threshold {tuple(run['threshold'])}: "
                    f"GC {run['gc_cpu_total_s']:.2f} CPU-s {run['collections']}, "
                    f"build {run['cpu_s']:.1f} CPU-s {run['wall_s']:.1f} s, "
                    f"peak {run['peak_rss_mib']:.1f} MiB, load {run['loadavg_before']}",
                    flush=True,
                )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    report = {"started": started.isoformat(timespec="seconds"), "items": args.items, "runs": runs}
    (OUT_DIR / f"bench_gc-{stamp}.json").write_text(json.dumps(report, indent=1), "utf-8")
    print(f"results: bench/out/bench_gc-{stamp}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
