"""Hostile and broken exports: the exact problem is reported, nothing executable reaches a page,
and a broken export publishes nothing (the last good site stays live)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, run_build, validate_export
from pipeline.cli import main
from pipeline.errors import ApprovalsError, ExportBroken
from tests.fixtures import case, department, item, small_export, tree_bytes, write_export

DEPARTMENT = department(1, "上海市宝山区市场监督管理局")
CODE = DEPARTMENT["code"]


def export_with(tmp_path: Path, *items: dict, **options) -> Path:
    return write_export(tmp_path / "export", [DEPARTMENT], list(items), **options)


def problems_of(export: Path):
    _, report = validate_export(str(export), limits=None)
    return report.problems


def only_problem(export: Path):
    problems = problems_of(export)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_script_and_javascript_links_never_reach_a_page(tmp_path):
    hostile = item(
        1,
        CODE,
        "食品经营许可<script>alert(1)</script>",
        conditions='<p onclick="alert(1)">条件<script>alert("x")</script>'
        '<a href="javascript:alert(1)">点我</a><a href="https://zwdt.sh.gov.cn/">办事</a>'
        '<img src=x onerror=alert(1)><iframe src="https://evil.example"></iframe></p>',
        supervision_measures='<style>body{display:none}</style><p style="color:red">监管</p>',
        aliases=['"><svg onload=alert(1)>'],
        faq=[
            {
                "question": "<b>问</b>",
                "answer": '<p><a href="data:text/html,<script>alert(1)</script>">答</a></p>',
            }
        ],
    )
    site = tmp_path / "site"
    run_build(BuildOptions(export=str(export_with(tmp_path, hostile)), site_dir=site))
    live = site / "current" / "site"
    page = (live / f"items/{hostile['impl_code']}.html").read_text("utf-8")
    assert '<a href="https://zwdt.sh.gov.cn/" rel="noopener noreferrer nofollow">办事</a>' in page
    for path in live.rglob("*"):
        if path.suffix not in {".html", ".json"}:
            continue
        text = path.read_text("utf-8")
        for tag, body in re.findall(r"(<script[^>]*>)(.*?)</script>", text, re.S):
            if tag == '<script type="application/ld+json">':
                assert "<" not in body, path  # JSON-LD escapes < as \u003c
            else:  # only our own files, never inline code
                assert re.fullmatch(
                    r'<script (?:type="module" )?src="/(?:theme/js|pagefind)/[\w./-]+"(?: defer)?>',
                    tag,
                ), (path, tag)
                assert body.strip() == "", path
        assert text.count("<script") == len(re.findall(r"<script[^>]*>.*?</script>", text, re.S)), (
            path
        )
        assert "javascript:" not in text, path
        assert "onerror" not in text and "onclick" not in text and "<iframe" not in text, path
        assert "<svg" not in text and "data:text/html" not in text, path
    assert "<h1>食品经营许可alert(1)</h1>" in page  # tags are stripped from plain text


def test_file_name_with_dotdot_is_refused_and_nothing_escapes(tmp_path):
    export = export_with(tmp_path, item(1, CODE))
    files = json.loads((export / "files.json").read_text("utf-8"))
    files[0]["filename"] = "../../evil.pdf"
    (export / "files.json").write_text(json.dumps(files, ensure_ascii=False), "utf-8")
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["sha256"]["files.json"] = hashlib.sha256(
        (export / "files.json").read_bytes()
    ).hexdigest()
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    problems = problems_of(export)
    assert [(p.entity, p.record_id, p.field) for p in problems if p.severity == "error"] == [
        ("files", "F0001", "filename")
    ]
    assert "路径" in problems[0].message and problems[0].value == "../../evil.pdf"
    with pytest.raises(ExportBroken, match="files: 1 / 1"):
        run_build(BuildOptions(export=str(export), site_dir=tmp_path / "site"))
    assert not list(tmp_path.rglob("evil.pdf"))


def test_wrong_type_is_reported_with_record_field_and_value(tmp_path):
    good, bad = item(1, CODE), item(2, CODE, visits_required="两次")
    export = export_with(tmp_path, good, *[item(i, CODE) for i in range(3, 12)], bad)
    problem = only_problem(export)
    assert (problem.entity, problem.record_id, problem.field) == (
        "items",
        bad["impl_code"],
        "visits_required",
    )
    assert problem.message == "应为整数" and problem.value == "两次"


def test_missing_required_field(tmp_path):
    bad = item(2, CODE)
    del bad["conditions"]
    export = export_with(tmp_path, bad, *[item(i, CODE) for i in range(3, 13)])
    problem = only_problem(export)
    assert (problem.record_id, problem.field, problem.message) == (
        bad["impl_code"],
        "conditions",
        "缺少必填字段",
    )


def test_enum_value_outside_the_code_list(tmp_path):
    bad = item(2, CODE, item_type="行政许可")
    export = export_with(tmp_path, bad, *[item(i, CODE) for i in range(3, 13)])
    problem = only_problem(export)
    assert problem.field == "item_type" and problem.value == "行政许可"
    assert problem.message.startswith("不是允许的代码值")


def test_duplicate_codes_keep_the_first(tmp_path):
    first = item(1, CODE, "第一条")
    second = item(1, CODE, "第二条")
    export = export_with(tmp_path, first, second, *[item(i, CODE) for i in range(3, 13)])
    problem = only_problem(export)
    assert (problem.field, problem.message) == ("impl_code", "编码重复：只保留第一条")
    catalogue, _ = validate_export(str(export))
    assert catalogue.items[first["impl_code"]].name == "第一条"


def test_promised_limit_may_not_exceed_statutory(tmp_path):
    bad = item(2, CODE, promised_limit={"value": 30, "unit": "working_days"})
    export = export_with(tmp_path, bad, *[item(i, CODE) for i in range(3, 13)])
    problem = only_problem(export)
    assert problem.field == "（整条记录）"
    assert problem.message == "承诺时限（30）不得超过法定时限（20）"


def test_invalid_credit_code(tmp_path):
    bad_department = dict(DEPARTMENT, code=CODE[:-1] + ("0" if CODE[-1] != "0" else "1"))
    export = write_export(tmp_path / "export", [DEPARTMENT, bad_department], [item(1, CODE)])
    problems = problems_of(export)
    assert [(p.entity, p.field) for p in problems] == [("departments", "code")]
    assert "校验位" in problems[0].message


def test_five_megabyte_field_is_one_problem_with_a_short_excerpt(tmp_path):
    bad = item(2, CODE, name="食" * 5_000_000)
    export = export_with(tmp_path, bad, *[item(i, CODE) for i in range(3, 13)])
    problem = only_problem(export)
    assert problem.field == "name" and problem.message == "文本过长（上限 4000 字符）"
    assert problem.value.endswith("…（共 5000000 字符）") and len(problem.value) < 120


def test_truncated_file_is_refused_naming_the_file(tmp_path):
    export = small_export(tmp_path / "export", n_items=5)
    data = (export / "items.json").read_bytes()
    (export / "items.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportBroken) as caught:
        validate_export(str(export))
    message = str(caught.value)
    assert "items.json: sha256 不符" in message and f"{len(data) // 2} 字节" in message


def test_truncated_json_without_checksum_names_file_and_position(tmp_path):
    export = small_export(tmp_path / "export", n_items=5)
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    del manifest["sha256"]["items.json"]
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    data = (export / "items.json").read_bytes()
    (export / "items.json").write_bytes(data[:200])
    with pytest.raises(ExportBroken, match=r"items.json: JSON 无法解析（第 \d+ 行"):
        validate_export(str(export))


def test_gbk_encoded_export_is_refused(tmp_path):
    export = small_export(tmp_path / "export")
    text = (export / "departments.json").read_text("utf-8")
    (export / "departments.json").write_bytes(text.encode("gbk"))
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["sha256"]["departments.json"] = hashlib.sha256(text.encode("gbk")).hexdigest()
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ExportBroken, match="departments.json: 不是 UTF-8 编码"):
        validate_export(str(export))


def test_manifest_counts_must_match(tmp_path):
    export = small_export(
        tmp_path / "export",
        n_items=3,
        counts={"departments": 2, "items": 4, "life_events": 1, "files": 1},
    )
    with pytest.raises(ExportBroken, match="items: manifest 声明 4 条，导出中实际 3 条"):
        validate_export(str(export))


def test_file_content_must_match_its_declared_type(tmp_path):
    export = small_export(tmp_path / "export", files={"F0001": b"MZ\x90\x00 not a pdf"})
    problems = problems_of(export)
    files_problems = [p for p in problems if p.entity == "files"]
    assert [(p.record_id, p.field) for p in files_problems] == [("F0001", "content")]
    assert files_problems[0].message == "文件内容不是声明的类型 application/pdf"


def test_too_many_invalid_items_refuses_the_export(tmp_path):
    items = [item(i, CODE) for i in range(1, 11)]
    items[0]["item_type"] = "nope"
    items[1]["item_type"] = "nope"
    export = export_with(tmp_path, *items)
    with pytest.raises(ExportBroken, match=r"items: 2 / 10 条记录无效（20%，上限 10%）"):
        validate_export(str(export))


@pytest.mark.parametrize("breakage", ["truncate", "counts", "invalid_share", "bad_settings"])
def test_a_broken_export_publishes_nothing(tmp_path, breakage):
    site = tmp_path / "site"
    good = small_export(tmp_path / "good", n_items=4)
    first = run_build(BuildOptions(export=str(good), site_dir=site))
    before_link, before_tree = (site / "current").readlink(), tree_bytes(site)
    bad = small_export(tmp_path / "bad", n_items=4)
    options = BuildOptions(export=str(bad), site_dir=site)
    if breakage == "truncate":
        (bad / "items.json").write_bytes((bad / "items.json").read_bytes()[:100])
    elif breakage == "counts":
        small_export(
            bad, n_items=4, counts={"departments": 2, "items": 9, "life_events": 1, "files": 1}
        )
    elif breakage == "invalid_share":
        data = json.loads((bad / "items.json").read_text("utf-8"))
        for record in data:
            record["item_type"] = "nope"
        write_export(bad, json.loads((bad / "departments.json").read_text("utf-8")), data)
    else:
        options.settings_file = tmp_path / "missing-pelicanconf.py"
    with pytest.raises(ApprovalsError):
        run_build(options)
    assert (site / "current").readlink() == before_link
    assert tree_bytes(site) == before_tree
    assert sorted(p.name for p in (site / "releases").iterdir()) == [first.release_id]


# ------------------------------------------------------------------ hostile folders (#13)

IMPL = item(1, CODE)["impl_code"]
CASES = [
    case(f"C{n}", IMPL, CODE, f"2025-09-{n:02d}T10:00", completed_at=f"2025-09-{n:02d}T15:00")
    for n in range(1, 8)
]


def reseal(export: Path) -> Path:
    """The manifest's checksums recomputed over the export's files as they are now (the
    upstream signs whatever it dropped, hostile names included)."""
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["sha256"] = {
        p.relative_to(export).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(export.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.name != "manifest.json" and "'" not in p.name
    }
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return export


def cases_export(root: Path, cases: list[dict] | None = None, **options) -> Path:
    """An export whose cases are in ``cases/2025-09.jsonl`` (the monthly layout)."""
    export = write_export(root, [DEPARTMENT], [item(1, CODE)], cases=cases or CASES, **options)
    (export / "cases").mkdir()
    (export / "cases.jsonl").rename(export / "cases" / "2025-09.jsonl")
    return reseal(export)


def build_cli(export: Path, site: Path, capsys) -> tuple[int, str]:
    """``approvals build`` in this process: its exit code and what it printed on stderr (an
    uncaught exception — a traceback — fails the test by itself)."""
    code = main(["build", "--export", str(export), "--site", str(site)])
    return code, capsys.readouterr().err


INJECTED_NAMES = [
    "o'brien.jsonl",
    "2025-09.jsonl'], columns={'case_id':'VARCHAR'}); COPY (SELECT 42 AS x) TO 'pwned.csv'; "
    "SELECT * FROM read_json(['a.jsonl",
    "x.jsonl']); CREATE TABLE leak AS SELECT * FROM read_text('..' || chr(47) || 'secret'); "
    "SELECT * FROM read_json(['x.jsonl",
]


@pytest.mark.parametrize("name", INJECTED_NAMES, ids=["quote", "copy-to", "read-text"])
def test_a_case_file_name_carrying_sql_is_refused_and_runs_nothing(
    tmp_path, monkeypatch, capsys, name
):
    export = cases_export(tmp_path / "export")
    (export / "cases" / name).write_text(json.dumps(CASES[0]) + "\n", "utf-8")
    elsewhere = tmp_path / "cwd"  # DuckDB writes relative paths here
    elsewhere.mkdir()
    (tmp_path / "secret").write_text("secret-of-the-machine", "utf-8")
    monkeypatch.chdir(elsewhere)
    code, err = build_cli(export, tmp_path / "site", capsys)
    assert code == 3, err
    assert "文件名不符合导出约定" in err and repr(name) in err
    assert list(elsewhere.iterdir()) == []
    assert not (tmp_path / "site" / "current").exists()


def test_paths_reach_duckdb_as_parameters_not_sql(tmp_path):
    """A quote in the folders the admin chose (export and site) is data, not SQL: the build
    reads the cases, stores them, checks them and publishes, twice (the shrink guard reads the
    live store)."""
    export = cases_export(tmp_path / "the export's; COPY")
    site = tmp_path / "o'site"
    for _ in range(2):
        result = run_build(BuildOptions(export=str(export), site_dir=site))
        assert result.outcomes.intake.accepted == len(CASES)
    assert (site / "current" / "state" / "cases.parquet").is_file()


def test_a_case_file_linked_out_of_the_export_is_not_read(tmp_path, capsys):
    export = cases_export(tmp_path / "export")
    outside = tmp_path / "outside.jsonl"
    outside.write_text("".join(json.dumps(c) + "\n" for c in CASES), "utf-8")
    (export / "cases" / "2025-10.jsonl").symlink_to(outside)
    code, err = build_cli(export, tmp_path / "site", capsys)
    assert code == 3, err
    assert "cases/2025-10.jsonl: 是指向导出目录之外的符号链接" in err


def test_an_item_file_linked_out_of_the_export_is_not_read(tmp_path):
    export = export_with(tmp_path, item(1, CODE), items_layout="files")
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(item(2, CODE)), "utf-8")
    (export / "items" / "00001.json").symlink_to(outside)
    with pytest.raises(ExportBroken, match=r"items/00001.json: 是指向导出目录之外的符号链接"):
        validate_export(str(export))


def test_a_link_inside_the_export_is_followed(tmp_path):
    export = cases_export(tmp_path / "export")
    (export / "archive").mkdir()
    (export / "cases" / "2025-09.jsonl").rename(export / "archive" / "2025-09.jsonl")
    (export / "cases" / "2025-09.jsonl").symlink_to("../archive/2025-09.jsonl")
    result = run_build(BuildOptions(export=str(reseal(export)), site_dir=tmp_path / "site"))
    assert result.outcomes.intake.accepted == len(CASES)


def test_a_downloadable_file_linked_out_of_the_export_is_refused(tmp_path):
    """(Held before #13 too: ``safe_join`` resolves links; kept as a guard.)"""
    export = export_with(tmp_path, item(1, CODE))
    outside = tmp_path / "outside.pdf"
    outside.write_bytes((export / "files" / "F0001.pdf").read_bytes())
    (export / "files" / "F0001.pdf").unlink()
    (export / "files" / "F0001.pdf").symlink_to(outside)
    with pytest.raises(ExportBroken, match=r"不能离开输出目录）：'files/F0001.pdf'"):
        validate_export(str(export))


# ------------------------------------------------------------------ errors an admin can act on


def test_json_nested_100000_deep_is_exit_3_naming_file_and_line(tmp_path, capsys):
    export = export_with(tmp_path, item(1, CODE))
    deep = "[" + "[" * 100_000 + "]" * 100_000 + "]"
    text = "[\n" + json.dumps(item(1, CODE), ensure_ascii=False) + ',\n{"aliases": ' + deep + "}\n]"
    (export / "items.json").write_text(text, "utf-8")
    code, err = build_cli(reseal(export), tmp_path / "site", capsys)
    assert code == 3, err
    assert "items.json: JSON 嵌套过深（第 3 行第 " in err and "超过 100 层" in err


def test_a_case_field_nested_100000_deep_is_one_rejected_case(tmp_path):
    """DuckDB reads a nested value of a VARCHAR column as its JSON text: the case is rejected
    for what that text is, with a problem, and the rest publish."""
    deep = "[" * 100_000 + "]" * 100_000
    lines = [json.dumps(c) for c in CASES]
    lines[4] = lines[4].replace('"case_id": "C5"', f'"case_id": {deep}')
    lines[5] = lines[5].replace('"street_code": "310113003"', f'"street_code": {deep}')
    export = cases_export(tmp_path / "export")
    (export / "cases" / "2025-09.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    result = run_build(BuildOptions(export=str(reseal(export)), site_dir=tmp_path / "site"))
    assert result.outcomes.intake.accepted == len(CASES) - 2
    assert result.outcomes.intake.rejected_by_reason == {
        "case_id: 办件编号超过 64 字符": 1,
        "street_code: 不是有效的街道代码（只允许字母、数字和 _ . -，至多 64 个）": 1,
    }


def test_a_bad_line_in_a_long_case_file_is_named_by_its_real_number(tmp_path, capsys):
    """DuckDB reports the line after the bad one, and does not count blank lines."""
    lines = [json.dumps(dict(CASES[n % 7], case_id=f"L{n}")) for n in range(6000)]
    lines[2000] = lines[2001] = lines[2002] = ""  # blank lines before the bad one
    lines[4321] = lines[4321][:-1]  # line 4322: the closing brace lost
    export = cases_export(tmp_path / "export")
    (export / "cases" / "2025-09.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    code, err = build_cli(reseal(export), tmp_path / "site", capsys)
    assert code == 3, err
    assert "cases/2025-09.jsonl 第 4322 行：JSON 无法解析" in err, err


def test_a_case_line_that_is_not_an_object_is_named(tmp_path, capsys):
    export = cases_export(tmp_path / "export")
    with (export / "cases" / "2025-09.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('["C8", "not", "an", "object"]\n')
    code, err = build_cli(reseal(export), tmp_path / "site", capsys)
    assert code == 3, err
    assert "cases/2025-09.jsonl 第 8 行：不是 JSON 对象" in err


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Windows tools (Notepad, .NET's UTF8Encoding, Excel's "UTF-8 CSV") write a BOM; RFC 8259
    lets a parser ignore it, and it carries no data: refusing a whole night for it helps no one."""
    export = cases_export(tmp_path / "export")
    for relative in ("items.json", "departments.json", "cases/2025-09.jsonl", "manifest.json"):
        path = export / relative
        if relative == "manifest.json":
            reseal(export)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = run_build(BuildOptions(export=str(export), site_dir=tmp_path / "site"))
    assert result.report.kept["items"] == 1 and result.outcomes.intake.accepted == len(CASES)


# ------------------------------------------------------------------ text and names from upstream

INVISIBLE = ["\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff", "\u200f"]


def test_bidi_and_zero_width_characters_never_reach_a_page_and_are_reported(tmp_path):
    hostile = item(
        1,
        CODE,
        "食品\u202e经营\u200b许可",
        aliases=["开\u2066饭店\u2069"],
        themes=["准营\u200d准办"],
        conditions="<p>条件&#x202E;一\u200b</p>",
        materials=[
            {"name": "申请书\ufeff", "necessity": "required", "blank_form_file_id": "F0001"}
        ],
    )
    site = tmp_path / "site"
    result = run_build(BuildOptions(export=str(export_with(tmp_path, hostile)), site_dir=site))
    live = site / "current"
    for path in live.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json", ".csv", ".xml", ".atom", ".txt"}:
            text = path.read_text("utf-8", errors="replace").removeprefix("\ufeff")  # Excel CSV
            assert not [c for c in INVISIBLE if c in text], path
    page = (live / f"site/items/{hostile['impl_code']}.html").read_text("utf-8")
    assert "<h1>食品经营许可</h1>" in page
    warnings = {(p.record_id, p.field): p for p in result.report.warnings}
    name = warnings[(hostile["impl_code"], "name")]
    assert name.message == "含不可见的方向控制或零宽字符（U+202E U+200B），已移除"
    assert name.value == "食品\\u202e经营\\u200b许可"
    assert {"aliases.0", "themes.0", "conditions", "materials.0.name"} <= {f for _, f in warnings}


def test_text_is_nfc_normalised(tmp_path):
    decomposed = "Cafe\u0301 登记"  # é as e + combining acute
    catalogue, report = validate_export(str(export_with(tmp_path, item(1, CODE, decomposed))))
    assert catalogue.items[item(1, CODE)["impl_code"]].name == "Café 登记"
    assert [(p.field, p.message) for p in report.warnings] == [
        ("name", "已规范化为 Unicode NFC 形式")
    ]


def test_a_name_of_only_invisible_characters_is_empty(tmp_path):
    bad = item(2, CODE, "\u200b\u202e")
    export = export_with(tmp_path, bad, *[item(i, CODE) for i in range(3, 13)])
    problem = only_problem(export)
    assert (problem.record_id, problem.field, problem.message) == (
        bad["impl_code"],
        "name",
        "不能为空",
    )


@pytest.mark.parametrize(
    "filename",
    [
        "表格\r\nSet-Cookie: a=b.pdf",
        "表格\n.pdf",
        "申请表\u202efdp.exe",
        "申\u200b请表.pdf",
        "x\x85.pdf",
    ],
    ids=["crlf-header", "newline", "rlo", "zero-width", "c1-control"],
)
def test_a_file_name_with_control_bidi_or_zero_width_characters_is_refused(tmp_path, filename):
    export = export_with(tmp_path, item(1, CODE))
    files = json.loads((export / "files.json").read_text("utf-8"))
    files[0]["filename"] = filename
    (export / "files.json").write_text(json.dumps(files, ensure_ascii=False), "utf-8")
    reseal(export)
    problems = problems_of(export)
    assert [(p.entity, p.record_id, p.field, p.severity) for p in problems] == [
        ("files", "F0001", "filename", "error"),
        ("items", item(1, CODE)["impl_code"], "materials", "warning"),  # the page stays
    ]
    assert "控制字符、方向控制字符或零宽字符" in problems[0].message
