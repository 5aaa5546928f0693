"""Write a synthetic contract export of N items for benchmarks.

    .venv/bin/python bench/scale_export.py --items 20000 --out /tmp/export-20000

Items are copies of template items: the bundled demo export (``examples/demo-export``) when it
exists, otherwise a set of varied items built from ``tests/fixtures.py``. Every copy gets a new
unique ``impl_code`` / ``basic_code`` and a new name (the template's name, a 宝山 street or town
and a serial, so names stay Chinese and varied), and copies are spread over the template's
departments. Departments, files and life events are kept as they are (life events point at the
first copy of the items they name). Items are written one file per item (``items/000000.json``
…) so that the pipeline reads them as a stream; the manifest carries the counts and the sha256
of every file. The output is deterministic: the same arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEMO_EXPORT = ROOT / "examples" / "demo-export"

STREETS = (
    "友谊路街道",
    "吴淞街道",
    "张庙街道",
    "罗店镇",
    "大场镇",
    "杨行镇",
    "月浦镇",
    "罗泾镇",
    "顾村镇",
    "高境镇",
    "庙行镇",
    "淞南镇",
    "宝山城市工业园区",
)


def as_json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# ---------------------------------------------------------------- templates


def demo_templates(export: Path) -> dict[str, Any]:
    """Departments, items, life events and files of an existing export (any layout)."""
    from pipeline.extract.folder import FolderSource

    source = FolderSource(export)
    manifest = source.read_manifest()
    records = {
        entity: [r.data for r in source.iter_records(entity)]
        for entity in ("departments", "items", "life_events", "files")
    }
    file_bytes = {}
    files_dir = export / "files"
    if files_dir.is_dir():
        for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
            file_bytes[path.relative_to(export).as_posix()] = path.read_bytes()
    return {
        "source": str(export.relative_to(ROOT) if export.is_relative_to(ROOT) else export),
        "exported_at": manifest.get("exported_at"),
        "system": manifest.get("system"),
        "file_bytes": file_bytes,
        **records,
    }


FALLBACK_DEPARTMENTS = (
    "上海市宝山区市场监督管理局",
    "上海市宝山区卫生健康委员会",
    "上海市宝山区民政局",
    "上海市宝山区人力资源和社会保障局",
    "上海市宝山区教育局",
    "上海市宝山区规划和自然资源局",
    "上海市宝山区建设和管理委员会",
    "上海市宝山区生态环境局",
    "上海市宝山区交通委员会",
    "上海市宝山区商务委员会",
    "上海市宝山区文化和旅游局",
    "上海市宝山区农业农村委员会",
    "上海市宝山区应急管理局",
    "上海市公安局宝山分局",
    "上海市宝山区司法局",
    "上海市宝山区水务局",
)

# (name, item_type, audiences, themes, case_type, promised days, charged)
FALLBACK_ITEMS = (
    (
        "食品经营许可（新办）",
        "licensing",
        ["enterprise", "natural_person"],
        ["准营准办"],
        "promise",
        10,
        False,
    ),
    (
        "公共场所卫生许可",
        "licensing",
        ["enterprise"],
        ["准营准办", "卫生健康"],
        "promise",
        7,
        False,
    ),
    (
        "最低生活保障审核确认",
        "confirmation",
        ["natural_person"],
        ["社会救助"],
        "promise",
        20,
        False,
    ),
    ("就业困难人员认定", "confirmation", ["natural_person"], ["就业创业"], "promise", 5, False),
    (
        "民办学校设立审批",
        "licensing",
        ["social_organisation", "enterprise"],
        ["教育"],
        "promise",
        60,
        False,
    ),
    (
        "建设工程规划许可证核发",
        "licensing",
        ["enterprise", "public_institution"],
        ["工程建设"],
        "promise",
        15,
        True,
    ),
    ("建筑工程施工许可证核发", "licensing", ["enterprise"], ["工程建设"], "promise", 3, False),
    (
        "建设项目环境影响报告表审批",
        "licensing",
        ["enterprise"],
        ["生态环境", "工程建设"],
        "promise",
        15,
        False,
    ),
    (
        "道路货物运输经营许可",
        "licensing",
        ["enterprise", "natural_person"],
        ["交通出行", "准营准办"],
        "promise",
        10,
        False,
    ),
    ("单用途预付卡发卡企业备案", "other_power", ["enterprise"], ["商贸流通"], "instant", 0, False),
    ("营业性演出审批", "licensing", ["enterprise"], ["文化旅游"], "promise", 3, False),
    ("农村村民宅基地审批", "licensing", ["natural_person"], ["农业农村"], "promise", 20, False),
    (
        "危险化学品经营许可证核发",
        "licensing",
        ["enterprise"],
        ["安全生产", "准营准办"],
        "promise",
        20,
        True,
    ),
    ("居民身份证换领", "public_service", ["natural_person"], ["户籍证件"], "promise", 15, True),
    ("法律援助申请审查", "confirmation", ["natural_person"], ["法律服务"], "promise", 7, False),
    ("取水许可", "licensing", ["enterprise", "public_institution"], ["水务"], "promise", 20, False),
    (
        "医疗机构执业登记",
        "licensing",
        ["enterprise", "social_organisation"],
        ["卫生健康", "准营准办"],
        "promise",
        30,
        False,
    ),
    (
        "高龄老人医疗护理计划补贴",
        "payment",
        ["natural_person"],
        ["养老服务", "社会救助"],
        "promise",
        15,
        False,
    ),
    (
        "对生产经营单位安全生产的行政检查",
        "inspection",
        ["enterprise"],
        ["安全生产"],
        "promise",
        30,
        False,
    ),
    ("见义勇为人员奖励", "award", ["natural_person"], ["社会治安"], "promise", 30, False),
)


def fallback_templates() -> dict[str, Any]:
    """Varied items built from tests/fixtures.py when the demo export is not there."""
    from tests.fixtures import EXPORTED_AT, MINIMAL_PDF, department, item

    departments = [department(n, name) for n, name in enumerate(FALLBACK_DEPARTMENTS, start=1)]
    codes = [d["code"] for d in departments]
    items = []
    for n, (name, kind, audiences, themes, case_type, days, charged) in enumerate(
        FALLBACK_ITEMS, 1
    ):
        changes: dict[str, Any] = {
            "item_type": kind,
            "audiences": audiences,
            "themes": themes,
            "case_type": case_type,
            "promised_limit": {"value": days, "unit": "working_days"},
            "statutory_limit": {"value": max(days * 2, 20), "unit": "working_days"},
            "aliases": [name[:4]],
            "conditions": "".join(
                f"<p>{k}. 申请人应当符合《{name}》办理规定的第 {k} 项条件，"
                "并对所提交材料的真实性负责。</p>"
                for k in range(1, 2 + n % 5)
            ),
            "materials": [
                {
                    "name": f"{name}申请表",
                    "necessity": "required",
                    "copies": 1,
                    "kind": "form",
                    "medium": "paper",
                    "blank_form_file_id": "F0001",
                }
            ]
            + [
                {
                    "name": f"申请材料{k}（营业执照、身份证明等）",
                    "necessity": ("required", "optional", "deferrable")[k % 3],
                    "copies": 1 + k % 2,
                    "source": ("applicant", "government")[k % 2],
                }
                for k in range(1, 3 + n % 6)
            ],
            "faq": [
                {
                    "question": f"办理{name}需要多长时间？",
                    "answer": f"<p>承诺 {days} 个工作日内办结，特殊情况除外。</p>",
                }
            ]
            if n % 2
            else [],
        }
        if case_type == "instant":
            changes["promised_limit"] = {"value": 0, "unit": "working_days"}
        if charged:
            changes.update(
                is_charged=True,
                fees=[
                    {
                        "name": "工本费",
                        "standard": "每证 20 元",
                        "amount_cny": 20,
                        "basis": "沪价费〔2019〕5号",
                    }
                ],
            )
        items.append(item(n, codes[n % len(codes)], name, **changes))
    events = [
        {
            "code": "LE001",
            "name": "开办餐饮店",
            "description": "从办照到开业。",
            "audiences": ["enterprise"],
            "steps": [
                {"title": "办理食品经营许可", "items": [items[0]["impl_code"]]},
                {
                    "title": "办理公共场所卫生许可",
                    "items": [items[1]["impl_code"]],
                    "optional": True,
                },
            ],
        }
    ]
    return {
        "source": "tests/fixtures.py",
        "exported_at": EXPORTED_AT,
        "system": {"name": "基准测试审批系统", "version": "1.0"},
        "departments": departments,
        "items": items,
        "life_events": events,
        "files": [
            {
                "file_id": "F0001",
                "title": "空白申请表",
                "filename": "F0001.pdf",
                "media_type": "application/pdf",
                "size_bytes": len(MINIMAL_PDF),
                "sha256": hashlib.sha256(MINIMAL_PDF).hexdigest(),
            }
        ],
        "file_bytes": {"files/F0001.pdf": MINIMAL_PDF},
    }


def load_templates(source: str | None) -> dict[str, Any]:
    if source == "fixtures":
        return fallback_templates()
    export = Path(source) if source else DEMO_EXPORT
    if (export / "manifest.json").is_file():
        return demo_templates(export)
    if source:
        raise SystemExit(f"scale_export: no export at {export}")
    return fallback_templates()


# ---------------------------------------------------------------- scaling


def scaled_items(templates: dict[str, Any], n: int) -> Iterator[dict[str, Any]]:
    """Item ``serial`` (0 … n-1) is template ``serial % T`` in cycle ``serial // T``, moved to
    the department ``cycle`` places after its own."""
    items, departments = templates["items"], [d["code"] for d in templates["departments"]]
    position = {code: k for k, code in enumerate(departments)}
    for serial in range(n):
        template = items[serial % len(items)]
        cycle = serial // len(items)
        record = copy.deepcopy(template)
        home = position.get(template.get("department_code"), serial % len(departments))
        code = departments[(home + cycle) % len(departments)]
        record["department_code"] = code
        record["impl_code"] = new_impl_code(code, serial)
        record["basic_code"] = f"B{serial:011d}"
        if record.get("handle_item_code"):
            record["handle_item_code"] = f"H{serial:011d}"
        record["name"] = f"{template['name']}（{STREETS[serial % len(STREETS)]}·{serial + 1}号）"
        if cycle and "joint_departments" in record:
            record["joint_departments"] = [c for c in record["joint_departments"] if c != code]
        yield record


def new_impl_code(department_code: str, serial: int) -> str:
    """28 characters of ``[0-9A-Z]``, as the contract profile requires (20–40)."""
    return f"{department_code}{serial:08d}01"


def first_copy_codes(templates: dict[str, Any]) -> dict[str, str]:
    """Template impl_code → the impl_code of its copy in cycle 0."""
    mapping = {}
    copies = scaled_items(templates, len(templates["items"]))
    for template, record in zip(templates["items"], copies, strict=True):
        mapping[template["impl_code"]] = record["impl_code"]
    return mapping


def write_scaled_export(out: Path, n_items: int, source: str | None = None) -> dict[str, Any]:
    templates = load_templates(source)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sha: dict[str, str] = {}

    def put(relative: str, data: bytes) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sha[relative] = hashlib.sha256(data).hexdigest()

    put("departments.json", as_json(templates["departments"]))
    (out / "items").mkdir()
    for serial, record in enumerate(scaled_items(templates, n_items)):
        put(f"items/{serial:06d}.json", as_json(record))
    codes = first_copy_codes(templates) if n_items >= len(templates["items"]) else {}
    events = copy.deepcopy(templates["life_events"])
    for event in events:
        for step in event.get("steps", []):
            step["items"] = [codes[c] for c in step.get("items", []) if c in codes]
    put("life_events.json", as_json(events))
    put("files.json", as_json(templates["files"]))
    for relative, data in templates["file_bytes"].items():
        put(relative, data)
    manifest = {
        "export_id": f"bench-{n_items}",
        "exported_at": templates["exported_at"],
        "system": templates["system"] or {"name": "基准测试审批系统"},
        "schema_version": "1",
        "counts": {
            "departments": len(templates["departments"]),
            "items": n_items,
            "life_events": len(events),
            "files": len(templates["files"]),
        },
        "sha256": dict(sorted(sha.items())),
    }
    (out / "manifest.json").write_bytes(as_json(manifest))
    return {
        "out": str(out),
        "items": n_items,
        "template_source": templates["source"],
        "template_items": len(templates["items"]),
        "departments": len(templates["departments"]),
        "life_events": len(events),
        "files": len(templates["files"]),
        "bytes": sum((out / r).stat().st_size for r in sha)
        + (out / "manifest.json").stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, required=True, help="number of items to write")
    parser.add_argument("--out", type=Path, required=True, help="export folder (replaced)")
    parser.add_argument(
        "--from",
        dest="source",
        default=None,
        help="template export folder (default examples/demo-export if present, "
        "else tests/fixtures.py); 'fixtures' forces the fixtures",
    )
    args = parser.parse_args(argv)
    if args.items < 1:
        parser.error("--items must be at least 1")
    print(json.dumps(write_scaled_export(args.out, args.items, args.source), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
