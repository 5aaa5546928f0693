"""Mapping profiles turn an upstream's own names and codes into the contract's."""

from __future__ import annotations

import pytest

from pipeline.build import BuildOptions, run_build, validate_export
from pipeline.contract.models import Audience, CaseType, Item, ItemType, LimitUnit
from pipeline.errors import ConfigurationError
from pipeline.validate.mapping import load_profile
from tests.fixtures import credit_code, write_export

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
