"""Shared pytest fixtures.

Browser fixtures (used by ``tests/test_browser.py``, marker ``browser``): the site is built once per
session with the real CLI — from ``$APPROVALS_BROWSER_EXPORT`` if set, else the bundled demo
export when it exists, else a small export written by ``tests.fixtures.small_export`` — served by
``pipeline.ops.serve.make_server`` on a free port, and driven by one headless Debian Chromium
(``/usr/bin/chromium``; Playwright never downloads a browser). Playwright is imported lazily, so tests that do not use these fixtures need none of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_EXPORT = PROJECT_ROOT / "examples" / "demo-export"
CHROMIUM = Path(os.environ.get("APPROVALS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class BuiltSite:
    """A site built by ``approvals build`` and served over HTTP for the session."""

    export: Path
    site_dir: Path  # the --site directory (releases/ and current)
    base_url: str = ""
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    departments: dict[str, dict[str, Any]] = field(default_factory=dict)
    life_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The published web root, ``<site>/current/site``."""
        return self.site_dir / "current" / "site"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")


def _demo_export_ready() -> bool:
    # The manifest is written last, so a half-generated demo export is not picked up.
    return (DEMO_EXPORT / "manifest.json").is_file()


def _read_records(path: Path, key: str) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    return {record[key]: record for record in json.loads(path.read_text(encoding="utf-8"))}


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltSite]:
    """Build the site once with the real CLI and serve it on 127.0.0.1:<free port>."""
    from pipeline.ops.serve import make_server

    work = tmp_path_factory.mktemp("browser-site")
    if os.environ.get("APPROVALS_BROWSER_EXPORT"):  # e.g. a real export, to try the theme on it
        export = Path(os.environ["APPROVALS_BROWSER_EXPORT"])
    elif _demo_export_ready():
        export = DEMO_EXPORT
    else:
        from tests.fixtures import small_export

        export = small_export(work / "export")
    site_dir = work / "site"
    command = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "build",
        "--export",
        str(export),
        "--site",
        str(site_dir),
    ]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(
            f"approvals build failed ({done.returncode}) for {export}:\n"
            f"{done.stdout}\n{done.stderr}",
            pytrace=False,
        )

    data = site_dir / "current" / "data"
    site = BuiltSite(export=export, site_dir=site_dir)
    published = (
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((site.root / "items").glob("*.json"))
    )
    site.items = {
        record["impl_code"]: record
        for record in published
        if isinstance(record, dict) and "impl_code" in record
    }
    site.departments = _read_records(data / "departments.json", "code")
    site.life_events = _read_records(data / "life_events.json", "code")
    site.files = _read_records(data / "files.json", "file_id")

    server = make_server(site_dir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session (Debian's, never a downloaded one)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not executable.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (run `make system-test-deps`)")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Any]:
    """A factory for fresh browser contexts (isolated cookies/cache), closed after the test."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("locale", "zh-CN")
        options.setdefault("timezone_id", "Asia/Shanghai")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
