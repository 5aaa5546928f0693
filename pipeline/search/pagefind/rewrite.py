"""What the build does to Pagefind's bundle besides running Pagefind — only on the Pagefind
versions it was written against.

Two modules re-encode Pagefind's own files, and so depend on its bundle format, which Pagefind
may change in any release:

* :mod:`~pipeline.search.pagefind.merge` merges the bundles of runs over pieces of the pages
  into the bundle one run writes, so that Pagefind's memory does not grow with the site (one
  run held 2.1 GB at 20,000 pages);
* :mod:`~pipeline.search.pagefind.bundle` re-writes the bundle: reproducible (Pagefind writes
  some files in hash-map order) and small for a first query (the page list given compactly,
  index chunks cut smaller).

What they buy is measured in docs/benchmarks.md ("Search", "What the re-writes buy"). They run
only when the installed Pagefind binary (``pagefind_extended --version``) is one of
:data:`SUPPORTED_VERSIONS`, the versions whose files they were checked against. On any other
version (or one that cannot be read) the build makes a **stock bundle** — one Pagefind run over
all the pages, left as Pagefind wrote it (only its unused interfaces removed) — and logs a
warning: search works as Pagefind's own does, the first query downloads more, Pagefind needs
~100 KiB of memory per page, and the bundle is no longer byte-identical from one build to the
next. A Pagefind upgrade never fails the build. To support a new version: run
``tests/test_pagefind_bundle.py`` and ``tests/test_pagefind_merge.py`` with it (the re-written
bundle must hold what Pagefind wrote and find the same pages with the same scores; the merged
bundle must be the single run's, byte for byte), then add it here.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

from pipeline.search.pagefind.bundle import UnexpectedFormat, rewrite_bundle
from pipeline.search.pagefind.merge import merge_bundles
from pipeline.workers import dies_with_this_process

__all__ = [
    "SUPPORTED_VERSIONS",
    "UnexpectedFormat",
    "binary_version",
    "check",
    "merge_bundles",
    "rewrite_bundle",
    "supported",
]

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("1.5.2",)
"""The Pagefind versions whose bundle format :mod:`.bundle` and :mod:`.merge` were checked on."""


def binary_version(binary: Path) -> str:
    """The version a Pagefind binary reports (``pagefind 1.5.2`` → ``1.5.2``); ``""`` if it
    reports none."""
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=dies_with_this_process(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = re.search(r"\bpagefind\s+v?([0-9][0-9A-Za-z.+-]*)", done.stdout)
    return found.group(1) if found and done.returncode == 0 else ""


def supported(version: str) -> bool:
    return version in SUPPORTED_VERSIONS


def check(version: str) -> bool:
    """:func:`supported`, with a warning that the build makes a stock bundle when it is not."""
    if supported(version):
        return True
    logger.warning(
        "event=pagefind_unsupported version=%s supported=%s fallback=stock_bundle "
        "(Pagefind %s 未经本程序验证：浏览器搜索索引改用 Pagefind 原样的输出——一次处理全部页面、"
        "不合并、不改写；搜索照常可用，但首次搜索下载更多、建索引占用更多内存、"
        "且每次构建的索引文件不再逐字节相同。请安装 pagefind[extended]==%s，"
        "或验证后把新版本加入 pipeline/search/pagefind/rewrite.py)",
        version or "unknown",
        ",".join(SUPPORTED_VERSIONS),
        version or "（版本未知）",
        SUPPORTED_VERSIONS[-1],
    )
    return False
