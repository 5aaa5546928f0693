"""Mapping profiles turn an upstream's own names and codes into the contract's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build, validate_export
from pipeline.cli import main
from pipeline.contract.models import Audience, CaseType, Item, ItemType, LimitUnit
from pipeline.errors import ConfigurationError
from pipeline.extract.folder import FolderSource
from pipeline.outcomes.cases import connect, ingest_cases
from pipeline.validate.catalogue import build_catalogue
from pipeline.validate.mapping import MappingProfile, Rules, load_profile
from pipeline.validate.problems import Report
from tests.fixtures import case, credit_code, write_export

DEPT = credit_code(7)

UPSTREAM_DEPARTMENT = {
    "ORG_CODE": DEPT,
    "ORG_NAME": "上海市宝山区卫生健康委员会",
    "AREA_CODE": "310113",
    "ORG_PHONE": "021-56690000",
}
UPSTREAM_ITEM = {
    "TASK_CODE": f"{DEPT}400012301",
    "CATALOG_CODE": "000172008000",
    "TASK_VERSION": 2,
    "TASK_STATE": "1",
    "TASK_NAME": "公共场所卫生许可（新办）",
    "KEYWORDS": "开美容院,开宾馆",
    "TASK_TYPE": "01",
    "DEPT_CODE": DEPT,
    "DEPT_TYPE": "1",
    "USE_LEVEL": "4",
    "SERVICE_OBJECT": "2,5",
    "THEME_TYPE": "准营准办,医疗卫生",
    "BY_LAW": [{"LAW_NAME": "《公共场所卫生管理条例》", "LAW_ITEM": "第八条", "LAW_TYPE": "1"}],
    "ACCEPT_CONDITION": "<p>有固定的经营场所。</p>",
    "MATERIALS": [
        {
            "MATERIAL_NAME": "卫生许可申请书",
            "IS_NEED": "1",
            "MATERIAL_FORM": "3",
            "SOURCE_TYPE": "1",
            "PAGE_NUM": 1,
        }
    ],
    "PROCESS": [
        {
            "STEP_ORDER": 1,
            "STEP_NAME": "受理",
            "STEP_ACTOR": "窗口",
            "STEP_LIMIT": {"LIMIT_NUM": 1, "LIMIT_UNIT": "1"},
        }
    ],
    "PROJECT_TYPE": "2",
    "ANTICIPATE_LIMIT": {"LIMIT_NUM": 20, "LIMIT_UNIT": "1"},
    "PROMISE_LIMIT": {"LIMIT_NUM": 5, "LIMIT_UNIT": "1"},
    "HANDLE_TYPE": "1,2",
    "LIMIT_SCENE_NUM": 1,
    "LIMIT_SCENE_EXPLAIN": "现场核查",
    "IS_CHARGE": "0",
    "RESULT": {"RESULT_TYPE": "1", "RESULT_NAME": "卫生许可证"},
    "LINK_WAY": {"LINK_PHONES": "021-56690000,021-56690001"},
    "SUPERVISE_WAY": {"SUPERVISE_PHONES": "12345"},
    "UPDATE_DATE": "2026-09-30T10:00:00+08:00",
}


def test_gbt39046_profile_maps_names_and_numeric_codes():
    profile = load_profile("gbt39046")
    model = Item.model_validate(profile.apply("items", UPSTREAM_ITEM))
    assert model.item_type is ItemType.licensing and model.case_type is CaseType.promise
    assert model.audiences == [Audience.enterprise]  # 企业法人 and 非法人企业 both map to it
    assert model.aliases == ["开美容院", "开宾馆"]
    assert model.promised_limit.unit is LimitUnit.working_days and model.promised_limit.value == 5
    assert model.consult.phones == ["021-56690000", "021-56690001"]
    assert model.legal_bases[0].article == "第八条" and model.legal_bases[0].role.value == "setting"
    assert model.materials[0].medium.value == "both"
    assert model.process_steps[0].time_limit.value == 1


def test_an_unmapped_code_is_reported_with_the_upstream_value(tmp_path):
    bad = dict(UPSTREAM_ITEM, TASK_TYPE="02", SERVICE_OBJECT="2")  # 行政处罚: not an approval item
    good = dict(UPSTREAM_ITEM, SERVICE_OBJECT="1,2")
    export = write_export(
        tmp_path / "x",
        [UPSTREAM_DEPARTMENT],
        [good]
        + [dict(good, TASK_CODE=f"{DEPT}4000{n:04d}01") for n in range(1, 10)]
        + [dict(bad, TASK_CODE=f"{DEPT}400099901")],
    )
    _, report = validate_export(str(export), "gbt39046", limits=None)
    assert [(p.record_id, p.field, p.value) for p in report.problems] == [
        (f"{DEPT}400099901", "item_type", "02")
    ]


def test_a_gbt39046_export_builds_a_site(tmp_path):
    item = dict(UPSTREAM_ITEM, SERVICE_OBJECT="1,2")
    export = write_export(tmp_path / "x", [UPSTREAM_DEPARTMENT], [item])
    run_build(BuildOptions(export=str(export), site_dir=tmp_path / "site", profile="gbt39046"))
    page = (tmp_path / "site/current/site/items" / f"{item['TASK_CODE']}.html").read_text("utf-8")
    assert "<h1>公共场所卫生许可（新办）</h1>" in page and "承诺件" in page


def test_the_identity_profile_changes_nothing():
    assert load_profile("contract").apply("items", {"a": 1}) == {"a": 1}


@pytest.mark.parametrize(
    "text, message",
    [
        ("entities: {items: {renames: {}}}", "只允许键"),
        ("nonsense: 1", "顶层只允许键"),
        ("entities: [", "不是有效的 YAML"),
    ],
)
def test_bad_profiles_are_refused_at_start(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigurationError, match=message):
        load_profile(str(path))


def test_the_per_source_impl_code_pattern_is_enforced(tmp_path):
    item = dict(UPSTREAM_ITEM, SERVICE_OBJECT="1,2", TASK_CODE="abc-1")
    export = write_export(tmp_path / "x", [UPSTREAM_DEPARTMENT], [item])
    _, report = validate_export(str(export), "gbt39046", limits=None)
    assert [(p.field, p.value) for p in report.problems] == [("impl_code", "abc-1")]


# ------------------------------------------------------------------ cases and evaluations
# The profile applies to the bulk entities too, in DuckDB. The twin exports below are written
# by hand-made tables (not by inverting the profile), so a wrong rename or code in the profile
# fails here as well as a mapping that is not applied.

GBT_CASE_NAMES = {
    "case_id": "PROJID",
    "impl_code": "TASK_CODE",
    "item_version": "TASK_VERSION",
    "department_code": "DEPT_CODE",
    "applicant_type": "APPLYER_TYPE",
    "applicant_name": "APPLYER_NAME",
    "applicant_id_type": "APPLYER_PAGE_TYPE",
    "applicant_id_number": "APPLYER_PAGE_CODE",
    "applicant_phone": "APPLYER_MOBILE",
    "applicant_address": "APPLYER_ADDRESS",
    "street_code": "TOWN_CODE",
    "channel": "APPLY_FROM",
    "submitted_at": "APPLY_TIME",
    "accepted_at": "ACCEPT_TIME",
    "promised_due_at": "PROMISE_TIME",
    "completed_at": "FINISH_TIME",
    "status": "HANDLE_STATE",
    "result": "RESULT_CODE",
    "special_procedure_days": "SPECIAL_DAYS",
    "result_reason": "HANDLE_OPINION",
    "updated_at": "UPDATE_TIME",
}
GBT_CASE_CODES = {
    "applicant_type": {"natural_person": "1", "enterprise": "2", "public_institution": "3"},
    "channel": {"window": "1", "online_pc": "2", "mobile": "3", "post": "4"},
    "status": {
        "submitted": "0",
        "accepted": "1",
        "in_progress": "2",
        "completed": "3",
        "not_accepted": "4",
        "withdrawn": "5",
        "transferred": "6",
    },
    "result": {"granted": "1", "denied": "2", "not_accepted": "3", "withdrawn": "4"},
}
GBT_EVALUATION_NAMES = {
    "case_id": "PROJID",
    "rated_at": "EVALUATE_TIME",
    "channel": "EVALUATE_CHANNEL",
    "level": "EVALUATE_LEVEL",
    "comment": "EVALUATE_CONTENT",
}
GBT_EVALUATION_CODES = {
    "level": {5: "1", 4: "2", 3: "3", 2: "4", 1: "5"},  # 1 = 非常满意 upstream
    "channel": {"window": "1", "online_pc": "2", "mobile": "3", "kiosk": "4", "sms": "5"},
}

IMPL = UPSTREAM_ITEM["TASK_CODE"]
TWIN_CASES = [
    case(
        "G01",
        IMPL,
        DEPT,
        "2026-03-02T09:00",
        accepted_at="2026-03-02T10:00",
        completed_at="2026-03-05T15:00",
        promised_due_at="2026-03-09T17:00",
    ),
    case(
        "G02",
        IMPL,
        DEPT,
        "2026-03-03T09:00",
        accepted_at="2026-03-03T10:00",
        completed_at="2026-03-20T15:00",
        result="denied",
        result_reason="申请材料不齐全",
    ),
    case(
        "G03",
        IMPL,
        DEPT,
        "2026-03-04T09:00",
        completed_at="2026-03-04T17:00",
        status="not_accepted",
        result="not_accepted",
        applicant_type="enterprise",
        channel="online_pc",
        applicant_name="上海某某餐饮有限公司",
    ),
    case(
        "G04",
        IMPL,
        DEPT,
        "2026-04-01T09:00",
        accepted_at="2026-04-01T10:00",
        completed_at="2026-04-03T10:00",
        status="withdrawn",
        result="withdrawn",
        channel="mobile",
    ),
    case(
        "G05",
        IMPL,
        DEPT,
        "2026-04-07T09:00",
        accepted_at="2026-04-07T10:00",
        status="in_progress",
        result=None,
        street_code="310113005",
    ),
    case("G06", IMPL, DEPT, "2026-04-08T09:00", status="submitted", result=None),
    case(
        "G07",
        IMPL,
        DEPT,
        "2026-05-06T09:00",
        accepted_at="2026-05-06T10:00",
        completed_at="2026-05-18T15:00",
        special_procedure_days=2,
        applicant_type="public_institution",
        channel="post",
    ),
    case(
        "G08",
        IMPL,
        DEPT,
        "2026-05-07T09:00",
        accepted_at="2026-05-07T10:00",
        status="transferred",
        result=None,
    ),
    case(
        "G09",
        IMPL,
        DEPT,
        "2026-05-11T09:00",
        accepted_at="2026-05-11T09:30",
        completed_at="2026-05-12T11:00",
        item_version=2,
    ),
    case(
        "G10",
        IMPL,
        DEPT,
        "2026-05-12T09:00",
        accepted_at="2026-05-12T09:30",
        completed_at="2026-05-13T11:00",
        applicant_type="enterprise",
    ),
]
TWIN_EVALUATIONS = [
    {"case_id": "G01", "rated_at": "2026-06-01T10:00:00+08:00", "channel": "window", "level": 5},
    {"case_id": "G01", "rated_at": "2026-06-09T10:00:00+08:00", "channel": "online_pc", "level": 4},
    {"case_id": "G02", "rated_at": "2026-06-02T10:00:00+08:00", "channel": "sms", "level": 1},
    {"case_id": "G03", "rated_at": "2026-06-03T10:00:00Z", "channel": "mobile", "level": 2},
    {"case_id": "G04", "rated_at": "2026-06-04T10:00:00+08:00", "channel": "kiosk", "level": 3},
    {"case_id": "G07", "rated_at": "2026-06-05T10:00:00+08:00", "level": 5, "comment": "很好"},
    {"case_id": "G09", "rated_at": "2026-06-06T10:00:00+08:00", "channel": "window", "level": 5},
]


def in_dialect(record: dict, names: dict[str, str], codes: dict[str, dict]) -> dict:
    return {names[k]: codes.get(k, {}).get(v, v) for k, v in record.items()}


def gbt_export(
    root: Path, cases: list[dict], evaluations: list[dict], cases_in_dialect: bool = True
) -> Path:
    """The export in the gbt39046 dialect; with ``cases_in_dialect=False`` its cases keep the
    contract's names and codes (as the 安吉县 example writes them: the profile had no cases)."""
    return write_export(
        root,
        [UPSTREAM_DEPARTMENT],
        [dict(UPSTREAM_ITEM, SERVICE_OBJECT="1,2")],
        cases=[in_dialect(c, GBT_CASE_NAMES, GBT_CASE_CODES) for c in cases]
        if cases_in_dialect
        else cases,
        evaluations=[
            in_dialect(e, GBT_EVALUATION_NAMES, GBT_EVALUATION_CODES) for e in evaluations
        ],
    )


def contract_export(root: Path, cases: list[dict], evaluations: list[dict]) -> Path:
    """The same export in the contract's names and codes (its catalogue mapped in Python, as
    the catalogue always was)."""
    profile = load_profile("gbt39046")
    return write_export(
        root,
        [profile.apply("departments", UPSTREAM_DEPARTMENT)],
        [profile.apply("items", dict(UPSTREAM_ITEM, SERVICE_OBJECT="1,2"))],
        cases=cases,
        evaluations=evaluations,
    )


def build(export: Path, site: Path, capsys, *options: str) -> tuple[int, str]:
    """``approvals build`` in this process: its exit code and what it printed on stderr."""
    code = main(["build", "--export", str(export), "--site", str(site), "--k", "2", *options])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("cases_in_dialect", [True, False], ids=["gbt-cases", "contract-cases"])
def test_a_gbt39046_export_publishes_the_statistics_of_its_contract_twin(
    tmp_path, capsys, cases_in_dialect
):
    twin = contract_export(tmp_path / "contract", TWIN_CASES, TWIN_EVALUATIONS)
    upstream = gbt_export(tmp_path / "gbt", TWIN_CASES, TWIN_EVALUATIONS, cases_in_dialect)
    assert json.loads((upstream / "evaluations.jsonl").read_text("utf-8").splitlines()[0]) == {
        "PROJID": "G01",
        "EVALUATE_TIME": "2026-06-01T10:00:00+08:00",
        "EVALUATE_CHANNEL": "1",
        "EVALUATE_LEVEL": "1",  # 非常满意
    }
    code, err = build(twin, tmp_path / "s1", capsys)
    assert code == 0, err
    code, err = build(upstream, tmp_path / "s2", capsys, "--profile", "gbt39046")
    assert code == 0, err
    published = (tmp_path / "s2/current/data/outcomes.json").read_bytes()
    assert published == (tmp_path / "s1/current/data/outcomes.json").read_bytes()
    report = json.loads((tmp_path / "s2/current/report.json").read_text("utf-8"))
    assert (report["kept"]["cases"], report["errors"]) == (len(TWIN_CASES), 0)
    overall = next(r for r in json.loads(published)["satisfaction"] if r["level"] == "overall")
    assert [overall[f"level_{n}"] for n in range(1, 6)] == [1, 1, 1, 1, 3]


def test_an_unknown_status_code_is_a_rejected_case_naming_case_field_and_value(tmp_path, capsys):
    unknown = dict(TWIN_CASES[0], case_id="G11", status="8")  # HANDLE_STATE "8": no such code
    export = gbt_export(tmp_path / "gbt", [*TWIN_CASES, unknown], [])
    assert (
        json.loads((export / "cases.jsonl").read_text("utf-8").splitlines()[-1])["HANDLE_STATE"]
        == "8"
    )
    code, err = build(export, tmp_path / "site", capsys, "--profile", "gbt39046")
    assert code == 0, err
    assert "[error] cases G11 · status — 不是允许的代码值：8" in err
    report = json.loads((tmp_path / "site/current/report.json").read_text("utf-8"))
    assert report["kept"]["cases"] == len(TWIN_CASES)
    assert [(p["entity"], p["record_id"], p["field"], p["value"]) for p in report["problems"]] == [
        ("cases", "G11", "status", "8")
    ]


@pytest.mark.parametrize(
    "rules, key",
    [
        ("{rename: {'PROJID\"); DROP TABLE items; --': case_id}}", ".cases.rename"),
        ("{rename: {PROJID: 'case_id\" FROM x --'}}", ".cases.rename.PROJID"),
        ("{rename: {PROJID: case_no}}", ".cases.rename.PROJID"),
        ("{codes: {'status\"': {'1': completed}}}", '.cases.codes.status"'),
        ("{split: {status: ','}}", ".cases.split"),
    ],
)
def test_a_hostile_case_profile_is_exit_5_naming_the_key(tmp_path, capsys, rules, key):
    profile = tmp_path / "hostile.yaml"
    profile.write_text(f"name: hostile\nentities:\n  cases: {rules}\n", "utf-8")
    export = contract_export(tmp_path / "contract", TWIN_CASES, [])  # builds with the old code
    code, err = build(export, tmp_path / "site", capsys, "--profile", str(profile))
    assert code == 5, err
    assert f"映射配置 {profile}{key}" in err, err
    assert not (tmp_path / "site/current").exists()


def test_a_name_that_reaches_sql_unchecked_is_refused_there(tmp_path):
    """The last line: a profile made in code, past ``load_profile``'s checks, still cannot put a
    quote into the SQL of the case intake."""
    export = contract_export(tmp_path / "contract", TWIN_CASES, [])
    source, report = FolderSource(export), Report()
    catalogue = build_catalogue(source, load_profile("gbt39046"), report, lambda f, d: None)
    sneaked = MappingProfile("x", None, {"cases": Rules(rename={'PROJID" FROM x --': "case_id"})})
    con = connect()
    with pytest.raises(ConfigurationError, match="不是简单标识符"):
        ingest_cases(con, source, catalogue.items, None, report, profile=sneaked)
    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raw_cases'"
    ).fetchone() == (0,)


def test_the_privacy_gate_gets_the_applicants_of_a_gbt39046_export(tmp_path):
    """The personal values the privacy gate looks for are read under the upstream's names."""
    export = gbt_export(tmp_path / "gbt", TWIN_CASES, TWIN_EVALUATIONS)
    source, report = FolderSource(export), Report()
    profile = load_profile("gbt39046")
    catalogue = build_catalogue(source, profile, report, lambda f, d: None)
    intake = ingest_cases(connect(), source, catalogue.items, None, report, profile=profile)
    assert (intake.accepted, intake.evaluations_read) == (len(TWIN_CASES), len(TWIN_EVALUATIONS))
    assert {"王小明", "13812345678", "310113199001011234", "上海市宝山区友谊路1号"} <= (
        intake.personal_values.keys()
    )
    assert "上海某某餐饮有限公司" not in intake.personal_values  # an enterprise's name is public
