"""The build: an explicit, ordered list of steps (a test pins the order)."""

from __future__ import annotations

import json
import logging
import time
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

STEPS = ("extract_and_validate", "outcomes", "write_release_data", "render_site", "check_site",
         "privacy_gate", "publish")


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


def run_build(options: BuildOptions) -> BuildResult:
    """extract → validate → release data → site → checks → publish. On any error the staging
    folder is removed and the live site is untouched."""
    result = BuildResult()
    live = live_release(options.site_dir)
    staging = new_staging(options.site_dir)
    try:
        source = open_source(options.export, **_with_updated_since(options, live))
        catalogue = _timed(result, "extract_and_validate", lambda: _extract(source, options, staging, result))
        result.outcomes = _timed(result, "outcomes", lambda: _outcomes(source, catalogue, live, staging, options, result))
        _timed(result, "write_release_data",
               lambda: write_release_data(staging / "data", catalogue, result.report))
        _timed(result, "render_site",
               lambda: render_site(staging / "data", staging / "site", options.settings_file))
        result.pages = _timed(result, "check_site", lambda: check_site(staging / "site", catalogue))
        _timed(result, "privacy_gate", lambda: privacy_gate(staging, catalogue, result.outcomes))
        (staging / "report.json").write_text(dump_json(result.report.as_dict()), encoding="utf-8")
        result.release_id = _timed(result, "publish", lambda: publish(
            staging, options.site_dir, release_base_id(catalogue)))
    except BaseException:
        discard(staging)
        raise
    return result


def _extract(source, options: BuildOptions, staging: Path, result: BuildResult) -> Catalogue:
    profile = load_profile(options.profile)
    catalogue = build_catalogue(source, profile, result.report, file_sink(staging / "data"))
    check_export(catalogue, result.report, options.limits)
    return catalogue


def _with_updated_since(options: BuildOptions, live: Path | None) -> dict[str, Any]:
    """Against the export API, ask only for cases changed since the live release's export."""
    source_options = dict(options.source_options)
    manifest = live / "data" / "manifest.json" if live else None
    if options.export.startswith(("http://", "https://")) and manifest and manifest.is_file():
        source_options.setdefault("updated_since", json.loads(manifest.read_text("utf-8"))["exported_at"])
    return source_options


def _outcomes(source, catalogue: Catalogue, live: Path | None, staging: Path, options: BuildOptions,
              result: BuildResult) -> OutcomesResult | None:
    if not has_cases(catalogue):
        return None
    previous = live / "state" if live and (live / "state").is_dir() else None
    return process_outcomes(source, catalogue, previous, staging, options.outcomes, result.report)


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


def _timed(result: BuildResult, step: str, action):
    started = time.perf_counter()
    value = action()
    result.timings[step] = round(time.perf_counter() - started, 3)
    logger.info("step=%s seconds=%.3f", step, result.timings[step])
    return value


def summary(result: BuildResult) -> str:
    return json.dumps({"release": result.release_id, "pages": result.pages,
                       "kept": dict(result.report.kept), "errors": len(result.report.errors),
                       "warnings": len(result.report.warnings), "timings": result.timings},
                      ensure_ascii=False)
