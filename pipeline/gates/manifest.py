"""The manifest gate: an export that is broken as a whole is refused, not published.

The record counts must equal the manifest's (a truncated or half-copied export), and no entity
may have more than ``max_invalid_share`` of its records invalid (one bad item does not sink the
release; a broken export does) — cases too, once at least :data:`MIN_REJECTED_CASES` of them
are rejected. The checksums are checked while extracting, before any record is trusted
(``pipeline.validate.catalogue.check_checksums``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import DEFAULTS
from pipeline.contract.models import CATALOGUE_ENTITIES, Manifest
from pipeline.errors import ExportBroken
from pipeline.outcomes.cases import CaseIntake
from pipeline.validate.catalogue import Catalogue
from pipeline.validate.problems import Report

MIN_REJECTED_CASES = 20
"""Rejected cases below this many never refuse the export: a night's export may carry only the
cases that changed, and two bad cases among seven are 29% but no broken export."""


@dataclass(frozen=True)
class Limits:
    """Thresholds past which the export counts as broken."""

    max_invalid_share: float = DEFAULTS["max_invalid_share"]


def check_counts(manifest: Manifest, report: Report) -> None:
    wrong = [
        f"{entity}: manifest 声明 {manifest.counts[entity]} 条，导出中实际 {report.read[entity]} 条"
        for entity in CATALOGUE_ENTITIES
        if entity in manifest.counts and manifest.counts[entity] != report.read[entity]
    ]
    if wrong:
        raise ExportBroken(
            "导出记录数与 manifest 不符（导出不完整？），拒绝发布：\n  " + "\n  ".join(wrong)
        )


def check_invalid_share(report: Report, limits: Limits) -> None:
    for entity in CATALOGUE_ENTITIES:
        share = report.invalid_share(entity)
        if share > limits.max_invalid_share:
            raise ExportBroken(
                f"{entity}: {report.read[entity] - report.kept[entity]} / {report.read[entity]} 条记录无效"
                f"（{share:.0%}，上限 {limits.max_invalid_share:.0%}），拒绝发布。问题示例：\n  "
                + "\n  ".join(str(p) for p in report.errors if p.entity == entity)[:2000]
            )


def check_export(catalogue: Catalogue, report: Report, limits: Limits) -> None:
    """Refuse a broken export: counts off the manifest, or too many invalid records."""
    check_counts(catalogue.manifest, report)
    check_invalid_share(report, limits)


def check_case_counts(
    catalogue: Catalogue, intake: CaseIntake, limits: Limits | None = None
) -> None:
    """Refuse an export whose cases or evaluations are not as many as its manifest says or,
    with ``limits``, too many of whose cases are invalid."""
    expected = catalogue.manifest.counts.get("cases")
    if expected is not None and expected != intake.read:
        raise ExportBroken(
            f"cases: manifest 声明 {expected} 条，导出中实际 {intake.read} 条——导出不完整，拒绝发布"
        )
    expected = catalogue.manifest.counts.get("evaluations")
    if expected is not None and expected != intake.evaluations_read:
        raise ExportBroken(
            f"evaluations: manifest 声明 {expected} 条，导出中实际 {intake.evaluations_read} 条——导出不完整，拒绝发布"
        )
    if limits is not None:
        check_case_share(intake, limits)


def check_case_share(intake: CaseIntake, limits: Limits) -> None:
    """More than ``max_invalid_share`` of the export's cases rejected (and at least
    :data:`MIN_REJECTED_CASES`): a night of cases that all fail one check is a broken export,
    not a quiet night."""
    rejected = intake.read - intake.accepted
    share = rejected / intake.read if intake.read else 0.0
    if share <= limits.max_invalid_share or rejected < MIN_REJECTED_CASES:
        return
    reasons = sorted(intake.rejected_by_reason.items(), key=lambda pair: (-pair[1], pair[0]))
    shown = "\n  ".join(f"{reason}：{count} 条" for reason, count in reasons[:10])
    raise ExportBroken(
        f"cases: {rejected} / {intake.read} 条办件无效（{share:.0%}，上限 "
        f"{limits.max_invalid_share:.0%}），拒绝发布。原因：\n  {shown}"
    )
