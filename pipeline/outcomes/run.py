"""The outcomes stage of a build: cases in → statistics → anonymised records → files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.canonical_json import write_json
from pipeline.config import DEFAULTS
from pipeline.extract import ExportSource
from pipeline.outcomes.anonymise import AnonymisationResult, anonymise_cases, row_id_key
from pipeline.outcomes.cases import CaseIntake, connect, ingest_cases, save_store
from pipeline.outcomes.statistics import StatisticsSettings, compute_statistics
from pipeline.outcomes.workdays import WorkdayCalendar
from pipeline.validate.catalogue import Catalogue
from pipeline.validate.mapping import MappingProfile
from pipeline.validate.problems import Report


@dataclass(frozen=True)
class OutcomeSettings:
    k: int = DEFAULTS["k"]
    lag_days: int = DEFAULTS["lag_days"]
    months: int = 24
    holidays_file: Path | None = None
    memory_limit: str = "1500MB"


@dataclass
class OutcomesResult:
    intake: CaseIntake = field(default_factory=CaseIntake)
    statistics: dict[str, Any] = field(default_factory=dict)
    anonymisation: AnonymisationResult | None = None


def has_cases(catalogue: Catalogue) -> bool:
    return catalogue.manifest.counts.get("cases", 0) > 0


def process_outcomes(
    source: ExportSource,
    catalogue: Catalogue,
    previous_state: Path | None,
    staging: Path,
    settings: OutcomeSettings,
    report: Report,
    profile: MappingProfile | None = None,
) -> OutcomesResult:
    """Writes ``staging/state/`` (the accumulated store), ``staging/data/outcomes.json`` (the
    suppressed statistics) and ``staging/data/cases/`` (anonymised records + metadata).
    ``profile`` maps the cases' and evaluations' names and codes (default: the contract's)."""
    con = connect(memory_limit=settings.memory_limit)
    try:
        intake = ingest_cases(con, source, catalogue.items, previous_state, report, profile=profile)
        save_store(con, staging / "state")
        calendar = WorkdayCalendar(settings.holidays_file)
        stats_settings = StatisticsSettings(
            k=settings.k, months=settings.months, lag_days=settings.lag_days
        )
        statistics = compute_statistics(
            con, catalogue.items, calendar, catalogue.manifest.exported_at, stats_settings
        )
        key = row_id_key(catalogue.manifest.export_id, catalogue.manifest.sha256)
        anonymisation = anonymise_cases(con, statistics["months"], settings.k, key)
        statistics["anonymisation"] = anonymisation.metadata()
        write_anonymised(con, staging / "data" / "cases", anonymisation)
    finally:
        con.close()
    write_json(staging / "data" / "outcomes.json", statistics)
    return OutcomesResult(intake, statistics, anonymisation)


def write_anonymised(con, folder: Path, result: AnonymisationResult) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # ORDER BY in the COPY itself: DuckDB's parallel CSV writer does not keep the table's order
    # (two builds of the demo export wrote the same rows in different orders).
    ordered = "(SELECT * FROM anonymised_cases ORDER BY row_id)"
    con.execute(
        f"COPY {ordered} TO ? (HEADER, DELIMITER ',')", [str(folder / "anonymised_cases.csv")]
    )
    con.execute(
        f"COPY {ordered} TO ? (FORMAT parquet, COMPRESSION zstd)",
        [str(folder / "anonymised_cases.parquet")],
    )
    (folder / "anonymised_cases.metadata.json").write_text(
        json.dumps(result.metadata(), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
