"""What changed: two releases built from two exports that differ in known ways give a changelog,
item histories and feed entries that say exactly that and no more; schema changes are announced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build
from pipeline.gates.shrink import GateSettings
from pipeline.history.diff import diff_item, diff_schema
from pipeline.outcomes.run import OutcomeSettings
from tests.fixtures import case, department, item, write_export

DEPTS = [department(1, "上海市宝山区市场监督管理局"), department(2, "上海市宝山区卫生健康委员会")]
A, B = DEPTS[0]["code"], DEPTS[1]["code"]
FEE = {"name": "工本费", "standard": "每证 10 元", "amount_cny": 10}
BEFORE = [
    item(1, A, "食品经营许可（新办）", is_charged=True, fees=[FEE]),
    item(2, A, "食品经营许可（变更）"),
    item(3, B, "医疗机构执业登记"),
    item(4, B, "放射诊疗许可"),
    item(6, A, "小餐饮登记"),
]
NEXT_DAY = {"version": 4, "updated_at": "2026-11-26T10:00:00+08:00"}
AFTER = [
    dict(BEFORE[0], fees=[dict(FEE, amount_cny=20)], **NEXT_DAY),  # a fee changed
    dict(
        BEFORE[1],
        materials=[
            *BEFORE[1]["materials"],
            {"name": "营业执照", "necessity": "required", "copies": 1},
        ],
        **NEXT_DAY,
    ),  # a material added
    dict(
        BEFORE[2], promised_limit={"value": 5, "unit": "working_days"}, **NEXT_DAY
    ),  # a limit shortened
    dict(BEFORE[3], status="abolished", **NEXT_DAY),  # abolished
    BEFORE[4],  # unchanged
    item(5, B, "母婴保健技术服务执业许可"),  # added
]
CODES = [i["impl_code"] for i in AFTER]


def night(root: Path, items: list, day: str, **options) -> Path:
    return write_export(
        root,
        DEPTS,
        items,
        export_id=f"night-{day}",
        exported_at=f"2026-11-{day}T23:30:00+08:00",
        **options,
    )


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("history")
    site = root / "site"
    run_build(BuildOptions(export=str(night(root / "n1", BEFORE, "25")), site_dir=site))
    run_build(BuildOptions(export=str(night(root / "n2", AFTER, "26")), site_dir=site))
    return site / "current"


def changes(release: Path) -> dict:
    return json.loads((release / "data/history/changes.json").read_text("utf-8"))


def test_changelog_says_exactly_what_changed(two_releases):
    entry = changes(two_releases)
    assert entry["id"] == "2026-11-26" and entry["previous"]["version"] == "2026-11-25"
    events = {e["impl_code"]: (e["kind"], e["changes"]) for e in entry["items"]}
    assert events == {
        CODES[0]: (
            "changed",
            [
                {
                    "field": "fees.amount_cny",
                    "change": "changed",
                    "key": "工本费",
                    "old": 10,
                    "new": 20,
                }
            ],
        ),
        CODES[1]: (
            "changed",
            [
                {
                    "field": "materials",
                    "change": "added",
                    "key": "营业执照",
                    "new": {"name": "营业执照", "necessity": "required", "copies": 1},
                }
            ],
        ),
        CODES[2]: (
            "changed",
            [{"field": "promised_limit.value", "change": "changed", "old": 10, "new": 5}],
        ),
        CODES[3]: (
            "abolished",
            [{"field": "status", "change": "changed", "old": "in_force", "new": "abolished"}],
        ),
        CODES[5]: ("added", []),
    }
    assert entry["schema"] == []
    assert entry["summary"] == {
        "added": 1,
        "removed": 0,
        "abolished": 1,
        "changed": 3,
        "schema": 0,
        "aspects": {"收费": 1, "申请材料": 1, "办理时限": 1},
    }
    assert (
        entry["text"]
        == "新增 1 个事项；取消 1 个事项；1 个事项的收费变更；1 个事项的申请材料变更；1 个事项的办理时限变更。"
    )


def test_changelog_is_published_with_the_release(two_releases):
    published = json.loads((two_releases / "site/data/latest/changes.json").read_text("utf-8"))
    assert published == changes(two_releases)
    log = json.loads((two_releases / "data/history/changelog.json").read_text("utf-8"))
    assert [e["id"] for e in log["entries"]] == ["2026-11-25", "2026-11-26"] and log["entries"][0][
        "baseline"
    ]


def test_release_page_says_it_in_words(two_releases):
    html = (two_releases / "site/changes/2026-11-26.html").read_text("utf-8")
    for text in (
        "新增（1 个事项）",
        "取消（1 个事项）",
        "变更（3 个事项）",
        "收费项目「工本费」的金额（元）：10 → 20（提高）",
        "新增申请材料「营业执照」",
        "承诺办结时限：10 → 5（缩短）",
        "状态：在用 → 已取消",
        "版本 3 → 4",
    ):
        assert text in html, text
    assert "小餐饮登记" not in html and "下线" not in html
    index = (two_releases / "site/releases.html").read_text("utf-8")
    assert 'href="/changes/2026-11-26.html"' in index and "首次发布，收录 5 个事项。" in index


def test_item_history_lists_each_version_and_nothing_else(two_releases):
    limit = (two_releases / f"site/changes/items/{CODES[2]}.html").read_text("utf-8")
    assert limit.count("<li>承诺办结时限") == 1 and "承诺办结时限：10 → 5（缩短）" in limit
    assert "2026-11-25 起收录" in limit and "/data/releases/2026-11-26/items.nested.json" in limit
    unchanged = (two_releases / f"site/changes/items/{CODES[4]}.html").read_text("utf-8")
    assert "自收录以来没有变化" in unchanged
    added = (two_releases / f"site/changes/items/{CODES[5]}.html").read_text("utf-8")
    assert "2026-11-26 起收录" in added
    page = (two_releases / f"site/items/{CODES[2]}.html").read_text("utf-8")
    assert f'href="/changes/items/{CODES[2]}.html"' in page


def test_feeds_parse_and_hold_one_entry_per_change(two_releases):
    import feedparser

    everything = feedparser.parse((two_releases / "site/feeds/changes.atom").read_bytes())
    assert not everything.bozo and everything.version == "atom10"
    titles = sorted(e.title for e in everything.entries)
    assert titles == sorted(
        [
            "【变更】食品经营许可（新办）：收费",
            "【变更】食品经营许可（变更）：申请材料",
            "【变更】医疗机构执业登记：办理时限",
            "【取消】放射诊疗许可",
            "【新增】母婴保健技术服务执业许可",
        ]
    )
    assert all(
        e.updated == "2026-11-26T23:30:00+08:00"
        and e.id.startswith("tag:approvals.example.gov.cn,2026-11-26:")
        for e in everything.entries
    )
    assert everything.feed.title and everything.feed.author and everything.feed.updated
    fee = next(e for e in everything.entries if "收费" in e.title)
    assert "10 → 20" in fee.summary and fee.link.endswith(f"/changes/items/{CODES[0]}.html")
    market = feedparser.parse((two_releases / f"site/feeds/departments/{A}.atom").read_bytes())
    health = feedparser.parse((two_releases / f"site/feeds/departments/{B}.atom").read_bytes())
    assert not market.bozo and not health.bozo
    assert len(market.entries) == 2 and len(health.entries) == 3


def test_same_export_again_logs_no_change(tmp_path):
    site = tmp_path / "site"
    export = night(tmp_path / "n1", BEFORE, "25")
    run_build(BuildOptions(export=str(export), site_dir=site))
    run_build(BuildOptions(export=str(export), site_dir=site))
    entry = changes(site / "current")
    assert (
        entry["id"] == "2026-11-25.2"
        and entry["items"] == []
        and entry["text"] == "与上一版相比没有变化。"
    )
    feed = (site / "current/site/feeds/changes.atom").read_text("utf-8")
    assert "<entry>" not in feed


def test_an_item_gone_from_the_export_is_reported_removed(tmp_path):
    site = tmp_path / "site"
    run_build(BuildOptions(export=str(night(tmp_path / "n1", BEFORE, "25")), site_dir=site))
    run_build(
        BuildOptions(
            export=str(night(tmp_path / "n2", BEFORE[:4], "26")),
            site_dir=site,
            gates=GateSettings(allow_shrink=True),
        )
    )  # 5 → 4 items is past the shrink guard
    entry = changes(site / "current")
    assert [(e["kind"], e["name"]) for e in entry["items"]] == [("removed", "小餐饮登记")]
    assert entry["text"] == "下线 1 个事项。"


def test_a_schema_change_is_announced(tmp_path):
    site = tmp_path / "site"
    run_build(BuildOptions(export=str(night(tmp_path / "n1", BEFORE, "25")), site_dir=site))
    cases = [
        case(
            f"C{n}",
            BEFORE[0]["impl_code"],
            A,
            "2025-09-01T10:00",
            accepted_at="2025-09-01T11:00",
            completed_at="2025-09-03T15:00",
        )
        for n in range(6)
    ]
    run_build(
        BuildOptions(
            export=str(night(tmp_path / "n2", BEFORE, "26", cases=cases)),
            site_dir=site,
            outcomes=OutcomeSettings(k=2),
        )
    )
    entry = changes(site / "current")
    assert entry["items"] == []
    assert {c["table"] for c in entry["schema"] if c["change"] == "table_added"} == {
        "anonymised_cases",
        "monthly_item_statistics",
        "monthly_department_statistics",
        "satisfaction",
    }
    assert "数据结构变更 4 处" in entry["text"]
    html = (site / "current/site/changes/2026-11-26.html").read_text("utf-8")
    assert "新增表：anonymised_cases" in html


def test_schema_diff_finds_renamed_and_retyped_columns():
    old = {"items": [["impl_code", "string"], ["name", "string"], ["fee", "integer"]]}
    new = {"items": [["impl_code", "string"], ["title", "string"], ["fee", "number"]]}
    assert diff_schema(old, new) == [
        {"table": "items", "change": "field_added", "field": "title", "new": "string"},
        {"table": "items", "change": "field_removed", "field": "name", "old": "string"},
        {
            "table": "items",
            "change": "field_type_changed",
            "field": "fee",
            "old": "integer",
            "new": "number",
        },
    ]
    assert diff_schema(None, new) == [] and diff_schema(new, new) == []


def test_item_diff_ignores_version_and_keys_lists_by_name():
    old = item(
        1,
        A,
        materials=[
            {"name": "甲", "necessity": "required"},
            {"name": "乙", "necessity": "optional"},
        ],
    )
    new = dict(
        old,
        version=9,
        updated_at="2027-01-01T00:00:00+08:00",
        materials=[
            {"name": "乙", "necessity": "required"},
            {"name": "甲", "necessity": "required"},
        ],
    )
    assert diff_item(old, new) == [
        {
            "field": "materials.necessity",
            "change": "changed",
            "key": "乙",
            "old": "optional",
            "new": "required",
        }
    ]


def test_changes_from_the_builds_memory_equal_those_from_the_folders(two_releases, tmp_path):
    """The build hands the history step its item models; reading the folders gives the same."""
    import shutil

    from pipeline.history.run import run_history
    from pipeline.release.data import load_release_data

    live = two_releases.parent / sorted(p.name for p in two_releases.parent.iterdir())[0]
    assert live.resolve() != two_releases.resolve()
    outputs = []
    for in_memory in (False, True):
        data = tmp_path / f"data-{in_memory}"
        shutil.copytree(two_releases / "data", data, ignore=shutil.ignore_patterns("history"))
        run_history(data, live, load_release_data(data) if in_memory else None)
        outputs.append((data / "history" / "changes.json").read_bytes())
    assert outputs[0] == outputs[1] and b'"changed"' in outputs[0]
