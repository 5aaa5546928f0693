"""The build: an explicit, ordered list of steps (a test pins the order)."""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from blinker import Signal

from pipeline.canonical_json import dump_json
from pipeline.config import DEFAULTS
from pipeline.errors import BuildLocked, NothingChanged
from pipeline.extract import open_source
from pipeline.gates.anonymity import anonymity_gate
from pipeline.gates.manifest import Limits, check_case_counts, check_export
from pipeline.gates.privacy import privacy_gate
from pipeline.gates.shrink import GateSettings, shrink_guard
from pipeline.gates.site import check_site, site_smoke_check
from pipeline.outcomes.run import OutcomeSettings, OutcomesResult, has_cases, process_outcomes
from pipeline.progress import StepProgress
from pipeline.release.data import ReleaseData, file_sink, write_release_data
from pipeline.release.lock import HeldLock, build_lock
from pipeline.release.publish import (
    discard,
    discard_dead_stagings,
    link_unchanged,
    live_release,
    new_staging,
    prune,
    publish,
)
from pipeline.search.steps import step_browser_search_index, step_search_index
from pipeline.site.render import render_site
from pipeline.validate.catalogue import Catalogue, build_catalogue
from pipeline.validate.mapping import load_profile
from pipeline.validate.problems import Report
from pipeline.workers import workers_in_use

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS = PROJECT_ROOT / "pelicanconf.py"


@dataclass
class BuildOptions:
    export: str
    site_dir: Path
    profile: str = "contract"
    settings_file: Path = DEFAULT_SETTINGS
    limits: Limits = field(default_factory=Limits)
    outcomes: OutcomeSettings = field(default_factory=OutcomeSettings)
    source_options: dict[str, Any] = field(default_factory=dict)
    gates: GateSettings = field(default_factory=GateSettings)
    keep_releases: int = DEFAULTS["keep_releases"]
    workers: int = 0
    """Processes for the parallel parts (``pipeline.workers``): 0 automatic, 1 none."""
    if_changed: bool = False
    progress: bool = False


@dataclass
class BuildResult:
    release_id: str = ""
    report: Report = field(default_factory=Report)
    timings: dict[str, float] = field(default_factory=dict)
    pages: int = 0
    outcomes: OutcomesResult | None = None
    linked_files: int = 0
    pruned: list[str] = field(default_factory=list)
    shrink_overridden: list[str] = field(default_factory=list)


def validate_export(
    export: str, profile: str = "contract", limits: Limits | None = Limits(), **source_options: Any
) -> tuple[Catalogue, Report]:
    """Extract and validate only (``approvals validate``); file bytes are checked, not kept.
    With ``limits=None`` a broken export still returns its report instead of raising."""
    report = Report()
    source = open_source(export, **source_options)
    catalogue = build_catalogue(source, load_profile(profile), report, lambda file, data: None)
    if limits is not None:
        check_export(catalogue, report, limits)
    return catalogue, report


def release_base_id(catalogue: Catalogue) -> str:
    stamp = catalogue.manifest.exported_at.strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{catalogue.manifest.export_id}"


@dataclass
class BuildContext:
    """What the steps share: each step reads what earlier steps left here."""

    options: BuildOptions
    staging: Path
    live: Path | None
    result: BuildResult
    lock: HeldLock | None = None
    """The build lock, confirmed still to guard the site before the publish."""
    source: Any = None
    catalogue: Catalogue | None = None
    release: ReleaseData | None = None
    """The release data, written by ``write_release_data`` and shared by the later steps (one
    copy of the models in memory, not one per step)."""

    @property
    def built_catalogue(self) -> Catalogue:
        """The catalogue, for the steps after ``extract_and_validate`` (which builds it)."""
        assert self.catalogue is not None, "extract_and_validate runs first"
        return self.catalogue

    @property
    def data(self) -> Path:
        return self.staging / "data"

    @property
    def site(self) -> Path:
        return self.staging / "site"


def step_extract_and_validate(ctx: BuildContext) -> None:
    ctx.source = open_source(ctx.options.export, **_with_updated_since(ctx.options, ctx.live))
    profile = load_profile(ctx.options.profile)
    ctx.catalogue = build_catalogue(ctx.source, profile, ctx.result.report, file_sink(ctx.data))
    check_export(ctx.catalogue, ctx.result.report, ctx.options.limits)


def step_outcomes(ctx: BuildContext) -> None:
    if not has_cases(ctx.built_catalogue):
        return
    previous = ctx.live / "state" if ctx.live and (ctx.live / "state").is_dir() else None
    ctx.result.outcomes = process_outcomes(
        ctx.source,
        ctx.built_catalogue,
        previous,
        ctx.staging,
        ctx.options.outcomes,
        ctx.result.report,
        load_profile(ctx.options.profile),
    )
    check_case_counts(ctx.built_catalogue, ctx.result.outcomes.intake, ctx.options.limits)


def step_write_release_data(ctx: BuildContext) -> None:
    ctx.release = write_release_data(ctx.data, ctx.built_catalogue, ctx.result.report)


def step_history(ctx: BuildContext) -> None:
    from pipeline.history.run import run_history

    run_history(ctx.data, ctx.live, ctx.release)


def step_datasets(ctx: BuildContext) -> None:
    from pipeline.datasets.run import dataset_settings, publish_datasets

    publish_datasets(
        ctx.data,
        ctx.site,
        ctx.live,
        dataset_settings(ctx.options.settings_file),
        release=ctx.release,
    )


def step_render_site(ctx: BuildContext) -> None:
    render_site(ctx.data, ctx.site, ctx.options.settings_file, release=ctx.release)


def step_check_site(ctx: BuildContext) -> None:
    ctx.result.pages = check_site(ctx.site, ctx.built_catalogue)


def step_check_datasets(ctx: BuildContext) -> None:
    from pipeline.gates.datasets import check_datasets

    check_datasets(ctx.site)


def step_gates(ctx: BuildContext) -> None:
    ctx.result.shrink_overridden = shrink_guard(ctx.live, ctx.staging, ctx.options.gates)
    anonymity_gate(ctx.staging, ctx.options.outcomes.k)
    site_smoke_check(ctx.site, sorted(ctx.built_catalogue.items))


def step_privacy_gate(ctx: BuildContext) -> None:
    privacy_gate(ctx.staging, ctx.built_catalogue, ctx.result.outcomes, ctx.live)


def step_publish(ctx: BuildContext) -> None:
    from pipeline.ops.status import report_sections

    report = {**ctx.result.report.as_dict(), "shrink_overridden": ctx.result.shrink_overridden}
    report |= report_sections(
        report,
        list(ctx.result.timings),
        ctx.result.shrink_overridden,
        ctx.result.outcomes is not None,
        ctx.live is None,
    )
    ctx.result.linked_files = link_unchanged(ctx.staging, ctx.live)
    (ctx.staging / "report.json").write_text(dump_json(report), encoding="utf-8")
    if ctx.lock is not None:
        ctx.lock.confirm()  # its file deleted: another build may be running — never publish
    ctx.result.release_id = publish(
        ctx.staging, ctx.options.site_dir, release_base_id(ctx.built_catalogue)
    )


STEPS: tuple[tuple[str, Callable[[BuildContext], None]], ...] = (
    ("extract_and_validate", step_extract_and_validate),
    ("outcomes", step_outcomes),
    ("write_release_data", step_write_release_data),
    ("history", step_history),
    ("datasets", step_datasets),
    ("search_index", step_search_index),
    ("render_site", step_render_site),
    ("browser_search_index", step_browser_search_index),
    ("check_site", step_check_site),
    ("check_datasets", step_check_datasets),
    ("gates", step_gates),
    ("privacy_gate", step_privacy_gate),
    ("publish", step_publish),
)
"""The build, in order. A test pins the names; each step is a function of the context."""


@contextmanager
def gc_threshold(threshold: tuple[int, int, int]) -> Iterator[None]:
    """``gc.set_threshold(*threshold)`` for the duration, the previous threshold restored after."""
    before = gc.get_threshold()
    gc.set_threshold(*threshold)
    try:
        yield
    finally:
        gc.set_threshold(*before)


BUILD_GC_THRESHOLD = (50_000, 50, 1000)
"""The collector's thresholds while ``approvals build`` runs (``cmd_build`` applies them with
:func:`gc_threshold`). A build keeps millions of small, long-lived objects (models, rows, pages);
with the default young-generation threshold (700) they are collected over and over. Measured
with bench/bench_gc.py at 5,000 items: the build process's GC time 2.6 → 0.5 CPU-s (no full
collection left), peak memory +1 MiB; the whole-build gain (~3%) was below the shared machine's
noise (docs/benchmarks.md)."""


def run_build(options: BuildOptions) -> BuildResult:
    """Run STEPS in order under the build lock. On any error the staging folder is removed and
    the live site is untouched; after a publish, releases beyond ``keep_releases`` are pruned."""
    with build_lock(options.site_dir) as lock, workers_in_use(options.workers):
        discard_dead_stagings(options.site_dir)  # a killed build's files must not fill the disk
        if options.if_changed:
            refuse_if_unchanged(options)
        result = BuildResult()
        ctx = BuildContext(
            options, new_staging(options.site_dir), live_release(options.site_dir), result, lock
        )
        progress = StepProgress(len(STEPS), enabled=options.progress)
        try:
            for name, step in STEPS:
                _run_step(name, step, ctx, progress)
        except Exception as exc:
            discard(ctx.staging)
            lost = lock.lost()  # a step failed because another build removed its folder?
            if lost and not isinstance(exc, BuildLocked):
                raise lock.error(lost) from exc
            raise
        except BaseException:
            discard(ctx.staging)
            raise
        finally:
            progress.close()
        result.pruned = prune(options.site_dir, options.keep_releases)
    return result


step_starting = Signal(
    doc="Sent by ``run_build`` before each step, the step's name as the sender. Nothing in the "
    "pipeline listens; the fault and admin tests connect a listener that holds the build at a "
    "step (tests/hooks/sitecustomize.py).",
)


def _run_step(
    name: str, step: Callable[[BuildContext], None], ctx: BuildContext, progress: StepProgress
) -> None:
    step_starting.send(name)
    progress.start(name)
    started = time.perf_counter()
    step(ctx)
    ctx.result.timings[name] = round(time.perf_counter() - started, 3)
    progress.done(name, ctx.result.timings[name])


def refuse_if_unchanged(options: BuildOptions) -> None:
    """``--if-changed``: the export's manifest names the export already live — the same
    ``export_id`` and the same ``exported_at`` instant. The instants are compared, not the
    texts: the release keeps the time as the contract's model writes it (``…T23:30:00+08:00``),
    so an export saying ``…T23:30:00.000+08:00`` was never found unchanged."""
    live = live_release(options.site_dir)
    manifest = live / "data" / "manifest.json" if live else None
    if not manifest or not manifest.is_file():
        return
    before = json.loads(manifest.read_text("utf-8"))
    now = open_source(options.export, **options.source_options).read_manifest()
    instant = _instant(now.get("exported_at"))
    same_export = (
        before.get("export_id") is not None and now.get("export_id") == before["export_id"]
    )
    if same_export and instant is not None and instant == _instant(before.get("exported_at")):
        raise NothingChanged(f"导出 {before['export_id']} 已是线上版本，未构建")


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 time with its offset, parsed (None for anything else: never the same)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _with_updated_since(options: BuildOptions, live: Path | None) -> dict[str, Any]:
    """Against the export API, ask only for cases changed since the live release's export."""
    source_options = dict(options.source_options)
    manifest = live / "data" / "manifest.json" if live else None
    if options.export.startswith(("http://", "https://")) and manifest and manifest.is_file():
        source_options.setdefault(
            "updated_since", json.loads(manifest.read_text("utf-8"))["exported_at"]
        )
    return source_options


def summary(result: BuildResult) -> str:
    return json.dumps(
        {
            "release": result.release_id,
            "pages": result.pages,
            "kept": dict(result.report.kept),
            "errors": result.report.error_count,
            "warnings": result.report.warning_count,
            "timings": result.timings,
            "linked_unchanged_files": result.linked_files,
            "pruned": result.pruned,
            "shrink_overridden": result.shrink_overridden,
        },
        ensure_ascii=False,
    )
