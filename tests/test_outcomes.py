"""Outcomes: statistics against a hand-checked fixture (National Day 2025 and its 调休 included),
bulk validation, accumulation across nights, suppression, and the anonymised records' rules
checked independently of the code that enforces them."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build
from pipeline.errors import ExportBroken
from pipeline.extract.folder import FolderSource
from pipeline.outcomes.cases import connect, ingest_cases
from pipeline.outcomes.run import OutcomeSettings
from pipeline.outcomes.statistics import StatisticsSettings, compute_statistics, suppress
from pipeline.outcomes.workdays import WorkdayCalendar
from pipeline.validate.catalogue import build_catalogue
from pipeline.validate.mapping import load_profile
from pipeline.validate.problems import Report
from tests.fixtures import case, department, item, write_export

DEPT = department(1, "上海市宝山区市场监督管理局")
CODE = DEPT["code"]
ITEM = item(
    1,
    CODE,
    "食品经营许可（新办）",
    promised_limit={"value": 5, "unit": "working_days"},
    statutory_limit={"value": 10, "unit": "working_days"},
)
IMPL = ITEM["impl_code"]

# National Day 2025: 10-01..10-08 rest; Sunday 09-28 and Saturday 10-11 are working days.
HAND_CHECKED = [
    # 09-26 → 10-09: working days 09-28, 09-29, 09-30, 10-09 = 4 → on time (≤ 5)
    case(
        "C1",
        IMPL,
        CODE,
        "2025-09-26T10:00",
        accepted_at="2025-09-26T11:00",
        completed_at="2025-10-09T15:00",
    ),
    # 09-26 → 10-13: 09-28, 09-29, 09-30, 10-09, 10-10, 10-11, 10-13 = 7 → late, within statutory
    case(
        "C2",
        IMPL,
        CODE,
        "2025-09-26T10:30",
        accepted_at="2025-09-26T11:00",
        completed_at="2025-10-13T15:00",
    ),
    # 09-01 → 09-03: 09-02, 09-03 = 2 → on time; denied
    case(
        "C3",
        IMPL,
        CODE,
        "2025-09-01T09:00",
        accepted_at="2025-09-01T10:00",
        completed_at="2025-09-03T15:00",
        result="denied",
    ),
    # not accepted the same day
    case(
        "C4",
        IMPL,
        CODE,
        "2025-09-10T09:00",
        completed_at="2025-09-10T17:00",
        status="not_accepted",
        result="not_accepted",
    ),
    # 09-15 → 09-25: 8 working days − 3 days of special procedure = 5 → on time
    case(
        "C5",
        IMPL,
        CODE,
        "2025-09-15T09:00",
        accepted_at="2025-09-15T10:00",
        completed_at="2025-09-25T15:00",
        special_procedure_days=3,
    ),
    # withdrawn after acceptance
    case(
        "C6",
        IMPL,
        CODE,
        "2025-09-22T09:00",
        accepted_at="2025-09-22T10:00",
        completed_at="2025-09-24T15:00",
        status="withdrawn",
        result="withdrawn",
    ),
    # October cohort: still open at the export (2026-11-25), long past the limit → overdue
    case(
        "C7",
        IMPL,
        CODE,
        "2025-10-27T09:00",
        accepted_at="2025-10-27T10:00",
        status="in_progress",
        result=None,
    ),
]


def statistics_of(export: Path, k: int = 1) -> dict:
    source, report = FolderSource(export), Report()
    catalogue = build_catalogue(source, load_profile("contract"), report, lambda f, d: None)
    con = connect()
    ingest_cases(con, source, catalogue.items, None, report)
    return compute_statistics(
        con,
        catalogue.items,
        WorkdayCalendar(),
        catalogue.manifest.exported_at,
        StatisticsSettings(k=k),
    )


def row(stats: dict, level: str, month: str) -> dict:
    return next(r for r in stats["monthly"] if r["level"] == level and r["month"] == month)


def test_statistics_match_a_hand_checked_fixture(tmp_path):
    export = write_export(tmp_path / "x", [DEPT], [ITEM], cases=HAND_CHECKED)
    stats = statistics_of(export)
    september = row(stats, "item", "2025-09")
    expected = {
        "received": 6,
        "accepted": 5,
        "completed": 4,
        "granted": 3,
        "denied": 1,
        "not_accepted": 1,
        "withdrawn": 1,
        "open": 0,
        "on_time": 3,
        "overdue": 1,
        "within_statutory": 4,
        "median_days": 4,
        "p90_days": 7,
        "completion_rate": 0.8,
        "on_time_rate": 0.75,
        "grant_rate": 0.75,
    }
    assert {k: september[k] for k in expected} == expected
    october = row(stats, "item", "2025-10")
    assert (october["received"], october["open"], october["overdue"]) == (1, 1, 1)
    assert row(stats, "department", "2025-09")["received"] == 6
    assert row(stats, "overall", "2025-09")["received"] == 6
    assert stats["compression"][IMPL] == 0.5
    assert stats["months"][0] == "2024-11" and stats["months"][-1] == "2026-10"


def test_the_current_month_is_not_published(tmp_path):
    current = case(
        "C9",
        IMPL,
        CODE,
        "2026-11-03T09:00",
        accepted_at="2026-11-03T10:00",
        completed_at="2026-11-04T10:00",
    )
    export = write_export(tmp_path / "x", [DEPT], [ITEM], cases=[*HAND_CHECKED, current])
    stats = statistics_of(export)
    assert "2026-11" not in stats["months"]
    assert not [r for r in stats["monthly"] if r["month"] == "2026-11"]


def test_suppression_hides_small_cells_and_their_complement():
    base = {
        "received": 40,
        "accepted": 38,
        "completed": 35,
        "granted": 30,
        "denied": 3,
        "not_accepted": 0,
        "withdrawn": 7,
        "open": 0,
        "on_time": 30,
        "overdue": 5,
        "within_statutory": 35,
        "median_days": 4,
        "p90_days": 9,
    }
    out = suppress(base, 5)
    assert out["denied"] is None and out["withdrawn"] is None  # 3 < 5, then the next smallest
    assert out["granted"] == 30 and out["suppressed"] == ["denied", "withdrawn"]
    small = suppress(dict(base, received=4), 5)
    assert (
        small["received"] is None and small["median_days"] is None and small["on_time_rate"] is None
    )


def test_bad_cases_are_counted_by_reason_and_personal_fields_never_kept(tmp_path):
    bad = [
        dict(HAND_CHECKED[0], case_id="B1", channel="pigeon"),
        dict(HAND_CHECKED[0], case_id="B2", submitted_at="2025-09-26 10:00"),
        dict(HAND_CHECKED[0], case_id="B3", impl_code="NOPE"),
        dict(HAND_CHECKED[0], case_id="B4", channel="fax"),
    ]
    export = write_export(tmp_path / "x", [DEPT], [ITEM], cases=[*HAND_CHECKED, *bad])
    source, report = FolderSource(export), Report()
    catalogue = build_catalogue(source, load_profile("contract"), report, lambda f, d: None)
    con = connect()
    intake = ingest_cases(con, source, catalogue.items, None, report)
    assert (intake.read, intake.accepted) == (11, 7)
    assert intake.rejected_by_reason == {
        "channel: 不是允许的代码值": 2,
        "impl_code: 事项不在本次导出的事项清单中": 1,
        "submitted_at: 缺少或不是带时区的 ISO 8601 日期时间": 1,
    }
    columns = {c[0] for c in con.execute("DESCRIBE cases").fetchall()}
    assert not columns & {
        "applicant_name",
        "applicant_id_number",
        "applicant_phone",
        "applicant_address",
        "result_reason",
    }
    assert {"王小明", "13812345678", "310113199001011234"} <= intake.personal_values.keys()


def test_cases_accumulate_across_nights(tmp_path):
    site = tmp_path / "site"
    first = write_export(tmp_path / "n1", [DEPT], [ITEM], cases=HAND_CHECKED, export_id="night-1")
    run_build(BuildOptions(export=str(first), site_dir=site, outcomes=OutcomeSettings(k=2)))
    # The next night carries only what changed: C7 completed, one new case.
    delta = [
        dict(
            HAND_CHECKED[6],
            status="completed",
            result="granted",
            completed_at="2025-10-29T10:00:00+08:00",
            updated_at="2026-11-26T09:00:00+08:00",
        ),
        case(
            "C8",
            IMPL,
            CODE,
            "2025-10-28T09:00",
            accepted_at="2025-10-28T10:00",
            completed_at="2025-10-30T10:00",
        ),
    ]
    second = write_export(
        tmp_path / "n2",
        [DEPT],
        [ITEM],
        cases=delta,
        export_id="night-2",
        exported_at="2026-11-26T23:30:00+08:00",
    )
    run_build(BuildOptions(export=str(second), site_dir=site, outcomes=OutcomeSettings(k=2)))
    stats = json.loads((site / "current/data/outcomes.json").read_text("utf-8"))
    october = row(stats, "item", "2025-10")
    assert (october["received"], october["completed"], october["open"]) == (2, 2, 0)
    assert row(stats, "item", "2025-09")["received"] == 6  # September kept from the first night


def test_manifest_case_count_must_match(tmp_path):
    export = write_export(
        tmp_path / "x",
        [DEPT],
        [ITEM],
        cases=HAND_CHECKED,
        counts={"departments": 1, "items": 1, "life_events": 0, "files": 1, "cases": 9},
    )
    with pytest.raises(ExportBroken, match="cases: manifest 声明 9 条，导出中实际 7 条"):
        run_build(BuildOptions(export=str(export), site_dir=tmp_path / "site"))


# ------------------------------------------------------------------ anonymised records

ADVERSE = {"denied", "not_accepted", "withdrawn"}
QUASI = (
    "impl_code",
    "department_code",
    "applicant_type",
    "channel",
    "street_code",
    "submitted_month",
    "closed_month",
)


def check_rules(rows: list[dict], k: int) -> list[str]:
    """Independent of pipeline.outcomes.anonymise: group the published rows and test both rules."""
    with_result, without = defaultdict(int), defaultdict(set)
    for r in rows:
        key = tuple(r[q] for q in QUASI)
        with_result[(*key, r["result"])] += 1
        without[key].add(r["result"])
    broken = [f"k: {key} has {n}" for key, n in with_result.items() if n < k]
    broken += [f"adverse: {key}" for key, results in without.items() if results <= ADVERSE]
    return broken


@pytest.fixture(scope="module")
def generated_site(tmp_path_factory):
    import subprocess
    import sys

    from tests.fixtures import small_export

    root = tmp_path_factory.mktemp("gen")
    catalogue = small_export(root / "catalogue", n_items=12)
    subprocess.run(
        [
            sys.executable,
            "examples/generate_cases.py",
            "--catalogue",
            str(catalogue),
            "--out",
            str(root / "export"),
            "--cases",
            "30000",
        ],
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
    )
    run_build(BuildOptions(export=str(root / "export"), site_dir=root / "site"))
    return root


def read_published(site: Path) -> list[dict]:
    with (site / "current/site/data/latest/csv/anonymised_cases.csv").open(
        encoding="utf-8"
    ) as handle:
        return list(csv.DictReader(handle))


def test_published_case_records_meet_both_rules(generated_site):
    rows = read_published(generated_site / "site")
    assert len(rows) > 10_000
    assert check_rules(rows, 5) == []
    assert {r["result"] for r in rows} >= {"granted", "denied", "withdrawn", "not_accepted"}
    metadata = json.loads(
        (generated_site / "site/current/site/data/latest/anonymised_cases.metadata.json").read_text(
            "utf-8"
        )
    )
    assert metadata["k"] == 5 and metadata["published_records"] == len(rows)
    assert (
        metadata["eligible_records"]
        == metadata["published_records"] + metadata["suppressed_records"]
    )


def test_the_rule_checker_itself_catches_breaches():
    row_ = {q: "x" for q in QUASI}
    assert check_rules([dict(row_, result="granted")] * 4, 5) == [
        f"k: {tuple(['x'] * 7 + ['granted'])} has 4"
    ]
    assert check_rules([dict(row_, result="denied")] * 5, 5) == [f"adverse: {tuple(['x'] * 7)}"]


def test_no_identifier_or_raw_reason_is_published(generated_site):
    header = (
        (generated_site / "site/current/site/data/latest/csv/anonymised_cases.csv")
        .read_text("utf-8")
        .splitlines()[0]
    )
    assert header == (
        "row_id,closed_month,submitted_month,department_code,impl_code,applicant_type,channel,"
        "street_code,result,working_days,on_time,reason_category,generalisation_level"
    )
    export_ids = {
        json.loads(line)["case_id"]
        for p in (generated_site / "export/cases").glob("*.jsonl")
        for line in p.read_text("utf-8").splitlines()[:50]
    }
    published = (
        generated_site / "site/current/site/data/latest/csv/anonymised_cases.csv"
    ).read_text("utf-8")
    assert not any(case_id in published for case_id in export_ids)


def test_a_night_with_one_more_day_keeps_earlier_months_stable(generated_site, tmp_path):
    import shutil

    export = tmp_path / "export"
    shutil.copytree(generated_site / "export", export)
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["exported_at"] = "2026-12-01T23:30:00+08:00"  # one more day: November closes
    manifest["export_id"] = "next-night"
    (export / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    run_build(BuildOptions(export=str(export), site_dir=generated_site / "site"))
    after = read_published(generated_site / "site")
    before = read_published_release(generated_site / "site", first=True)

    def by_month(rows):
        out = defaultdict(list)
        for r in rows:
            out[r["closed_month"]].append(tuple(v for k, v in sorted(r.items()) if k != "row_id"))
        return {m: sorted(v) for m, v in out.items()}

    old, new = by_month(before), by_month(after)
    shared = set(old) & set(new)
    assert len(shared) >= 23 and "2026-11" in new and "2026-11" not in old
    assert all(old[m] == new[m] for m in shared)
    assert not set(r["row_id"] for r in before) & set(r["row_id"] for r in after)


def read_published_release(site: Path, first: bool) -> list[dict]:
    releases = sorted(p for p in (site / "releases").iterdir() if not p.name.startswith("."))
    path = (releases[0] if first else releases[-1]) / "site/data/latest/csv/anonymised_cases.csv"
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_release_leaking_an_applicant_value_is_refused_and_nothing_changes(tmp_path):
    from pipeline.gates.privacy.scanner import PiiFound

    site = tmp_path / "site"
    run_build(
        BuildOptions(
            export=str(write_export(tmp_path / "ok", [DEPT], [ITEM], cases=HAND_CHECKED)),
            site_dir=site,
        )
    )
    live = (site / "current").readlink()
    leaky = dict(ITEM, faq=[{"question": "谁办过？", "answer": "<p>例如王小明已办结。</p>"}])
    export = write_export(tmp_path / "leak", [DEPT], [leaky], cases=HAND_CHECKED, export_id="leaky")
    with pytest.raises(PiiFound) as caught:
        run_build(BuildOptions(export=str(export), site_dir=site))
    assert f"items/{IMPL}.html" in str(caught.value) and "王小明" not in str(caught.value)
    assert (site / "current").readlink() == live
    assert len([p for p in (site / "releases").iterdir()]) == 1


def test_an_identity_number_in_upstream_text_is_refused(tmp_path):
    leaky = dict(ITEM, conditions="<p>联系人身份证 11010519491231002X，手机 13912345678。</p>")
    export = write_export(tmp_path / "x", [DEPT], [leaky])
    from pipeline.gates.privacy.scanner import PiiFound

    with pytest.raises(PiiFound, match="身份证"):
        run_build(BuildOptions(export=str(export), site_dir=tmp_path / "site"))
