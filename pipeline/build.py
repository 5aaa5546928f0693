"""The build: an explicit, ordered list of steps (a test pins the order)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.catalogue import Catalogue, Limits, build_catalogue, check_export
from pipeline.errors import ConfigurationError, ExportBroken
from pipeline.extract import open_source
from pipeline.mapping import load_profile
from pipeline.outcomes.run import OutcomeSettings, OutcomesResult, has_cases, process_outcomes
from pipeline.problems import Report
from pipeline.publish import discard, live_release, new_staging, publish
from pipeline.release import dump_json, file_sink, write_release_data

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


@dataclass
class BuildResult:
    release_id: str = ""
    report: Report = field(default_factory=Report)
    timings: dict[str, float] = field(default_factory=dict)
    pages: int = 0
    outcomes: OutcomesResult | None = None


def validate_export(export: str, profile: str = "contract", limits: Limits | None = Limits(),
                    **source_options: Any) -> tuple[Catalogue, Report]:
    """Extract and validate only (``approvals validate``); file bytes are checked, not kept.
    With ``limits=None`` a broken export still returns its report instead of raising."""
    report = Report()
    source = open_source(export, **source_options)
    catalogue = build_catalogue(source, load_profile(profile), report, lambda file, data: None)
    if limits is not None:
        check_export(catalogue, report, limits)
    return catalogue, report


def render_site(data_dir: Path, output_dir: Path, settings_file: Path) -> None:
    from pelican import Pelican
    from pelican.settings import read_settings

    if not settings_file.is_file():
        raise ConfigurationError(f"找不到 Pelican 配置文件 {settings_file}")
    settings = read_settings(str(settings_file), override={
        "OUTPUT_PATH": str(output_dir),
        "APPROVALS_RELEASE_DATA": str(data_dir),
    })
    Pelican(settings).run()


def check_site(site: Path, catalogue: Catalogue) -> int:
    """The built site has the home page and one guide page per published item."""
    pages = len(list((site / "items").glob("*.html")))
    if not (site / "index.html").is_file() or pages != len(catalogue.items):
        raise ExportBroken(f"站点检查失败：事项页面 {pages} 个，应为 {len(catalogue.items)} 个")
    return pages


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
    source: Any = None
    catalogue: Catalogue | None = None

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
    if not has_cases(ctx.catalogue):
        return
    previous = ctx.live / "state" if ctx.live and (ctx.live / "state").is_dir() else None
    ctx.result.outcomes = process_outcomes(ctx.source, ctx.catalogue, previous, ctx.staging,
                                           ctx.options.outcomes, ctx.result.report)


def step_write_release_data(ctx: BuildContext) -> None:
    write_release_data(ctx.data, ctx.catalogue, ctx.result.report)


def step_render_site(ctx: BuildContext) -> None:
    render_site(ctx.data, ctx.site, ctx.options.settings_file)


def step_check_site(ctx: BuildContext) -> None:
    ctx.result.pages = check_site(ctx.site, ctx.catalogue)


def step_privacy_gate(ctx: BuildContext) -> None:
    privacy_gate(ctx.staging, ctx.catalogue, ctx.result.outcomes)


def step_publish(ctx: BuildContext) -> None:
    (ctx.staging / "report.json").write_text(dump_json(ctx.result.report.as_dict()), encoding="utf-8")
    ctx.result.release_id = publish(ctx.staging, ctx.options.site_dir, release_base_id(ctx.catalogue))


STEPS: tuple[tuple[str, Callable[[BuildContext], None]], ...] = (
    ("extract_and_validate", step_extract_and_validate),
    ("outcomes", step_outcomes),
    ("write_release_data", step_write_release_data),
    ("render_site", step_render_site),
    ("check_site", step_check_site),
    ("privacy_gate", step_privacy_gate),
    ("publish", step_publish),
)
"""The build, in order. A test pins the names; each step is a function of the context."""


def run_build(options: BuildOptions) -> BuildResult:
    """Run STEPS in order. On any error the staging folder is removed and the live site is
    untouched."""
    result = BuildResult()
    ctx = BuildContext(options, new_staging(options.site_dir), live_release(options.site_dir), result)
    try:
        for name, step in STEPS:
            started = time.perf_counter()
            step(ctx)
            result.timings[name] = round(time.perf_counter() - started, 3)
            logger.info("step=%s seconds=%.3f", name, result.timings[name])
    except BaseException:
        discard(ctx.staging)
        raise
    return result


def _with_updated_since(options: BuildOptions, live: Path | None) -> dict[str, Any]:
    """Against the export API, ask only for cases changed since the live release's export."""
    source_options = dict(options.source_options)
    manifest = live / "data" / "manifest.json" if live else None
    if options.export.startswith(("http://", "https://")) and manifest and manifest.is_file():
        source_options.setdefault("updated_since", json.loads(manifest.read_text("utf-8"))["exported_at"])
    return source_options


def privacy_gate(staging: Path, catalogue: Catalogue, outcomes: OutcomesResult | None) -> None:
    """Scan every published file (site and data) for personal identifiers; any hit refuses."""
    from pipeline.pii import PiiScanner

    scanner = PiiScanner(outcomes.intake.personal_values if outcomes else set(), public_numbers(catalogue))
    for part in ("site", "data"):
        scanner.check(staging / part)


def public_numbers(catalogue: Catalogue) -> set[str]:
    """Numbers the site publishes on purpose: departments' and windows' phones, codes."""
    allowed = {"12345"}
    for department in catalogue.departments.values():
        allowed |= {department.code, *(filter(None, [department.phone]))}
    for item in catalogue.items.values():
        allowed |= set(item.consult.phones) | set(item.complaint.phones)
        if item.window and item.window.phone:
            allowed.add(item.window.phone)
    return allowed


def summary(result: BuildResult) -> str:
    return json.dumps({"release": result.release_id, "pages": result.pages,
                       "kept": dict(result.report.kept), "errors": len(result.report.errors),
                       "warnings": len(result.report.warnings), "timings": result.timings},
                      ensure_ascii=False)
