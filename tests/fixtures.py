"""Small, valid contract exports built in code, for tests that change one thing at a time."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.contract.credit_code import credit_check_char, org_code_check_char

EXPORTED_AT = "2026-11-25T23:30:00+08:00"
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def credit_code(serial: int) -> str:
    """A valid 统一社会信用代码 of a government body in district 310113."""
    org8 = f"{serial:08d}"
    org = org8 + org_code_check_char(org8)
    first17 = "11310113" + org
    return first17 + credit_check_char(first17)


def department(serial: int, name: str) -> dict[str, Any]:
    return {
        "code": credit_code(serial),
        "name": name,
        "region_code": "310113",
        "address": "上海市宝山区密山路5号",
        "phone": "021-56731234",
        "office_hours": "周一至周五 9:00-17:00",
    }


def item(
    serial: int, department_code: str, name: str = "食品经营许可（新办）", **changes: Any
) -> dict[str, Any]:
    record = {
        "impl_code": f"{department_code}4000{serial:04d}01",
        "basic_code": f"{serial:012d}",
        "version": 3,
        "status": "in_force",
        "name": name,
        "aliases": ["开饭店"],
        "item_type": "licensing",
        "department_code": department_code,
        "department_nature": "statutory",
        "audiences": ["enterprise", "natural_person"],
        "themes": ["准营准办"],
        "legal_bases": [
            {
                "title": "《中华人民共和国食品安全法》",
                "article": "第三十五条",
                "role": "setting",
                "doc_no": "主席令第二十一号",
            }
        ],
        "conditions": "<p>申请人应当具有与经营的食品品种、数量相适应的经营场所。</p>",
        "materials": [
            {
                "name": "食品经营许可申请书",
                "necessity": "required",
                "copies": 1,
                "blank_form_file_id": "F0001",
            }
        ],
        "process_steps": [
            {"order": 1, "name": "申请", "actor": "申请人"},
            {"order": 2, "name": "受理", "actor": "窗口受理人员"},
            {"order": 3, "name": "决定", "actor": "科长"},
        ],
        "case_type": "promise",
        "statutory_limit": {"value": 20, "unit": "working_days"},
        "promised_limit": {"value": 10, "unit": "working_days"},
        "handle_forms": ["window", "online_pc"],
        "online_url": "https://zwdt.sh.gov.cn/item/1",
        "online_depth": "handle",
        "visits_required": 0,
        "is_charged": False,
        "result": {"type": "certificate", "name": "食品经营许可证"},
        "responsible": {"post": "科长"},
        "window": {"address": "上海市宝山区密山路5号一楼", "hours": "周一至周五 9:00-17:00"},
        "consult": {"phones": ["021-56731234"]},
        "complaint": {"phones": ["12345"]},
        "supervision_measures": "<p>实施日常监督检查。</p>",
        "updated_at": "2026-10-01T09:00:00+08:00",
    }
    record.update(copy.deepcopy(changes))
    return record


def life_event(code: str, items: list[str]) -> dict[str, Any]:
    return {
        "code": code,
        "name": "开办餐饮店",
        "description": "从办照到开业。",
        "audiences": ["enterprise"],
        "steps": [
            {"title": "办理营业执照", "items": items[:1]},
            {"title": "办理许可", "items": items[1:], "optional": True},
        ],
    }


def write_export(
    root: Path,
    departments: list,
    items: list,
    files: dict[str, bytes] | None = None,
    life_events: list | None = None,
    *,
    items_layout: str = "array",
    counts: dict[str, int] | None = None,
    raw: dict[str, bytes] | None = None,
    cases: list[dict] | None = None,
    evaluations: list[dict] | None = None,
    export_id: str = "test-export",
    exported_at: str = EXPORTED_AT,
) -> Path:
    """Write a folder export with a correct manifest (unless ``counts`` overrides it). ``raw``
    replaces a list file's bytes after the checksums are taken, to model truncation."""
    root.mkdir(parents=True, exist_ok=True)
    files = {"F0001": MINIMAL_PDF} if files is None else files
    file_records = [
        {
            "file_id": fid,
            "title": f"表格 {fid}",
            "filename": f"{fid}.pdf",
            "media_type": "application/pdf",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for fid, data in files.items()
    ]
    written: dict[str, bytes] = {}

    def put(relative: str, data: bytes) -> None:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
        written[relative] = data

    def as_json(value: Any) -> bytes:
        return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    put("departments.json", as_json(departments))
    if items_layout == "array":
        put("items.json", as_json(items))
    else:
        for index, record in enumerate(items):
            put(f"items/{index:05d}.json", as_json(record))
    put("life_events.json", as_json(life_events or []))
    put("files.json", as_json(file_records))
    for fid, data in files.items():
        put(f"files/{fid}.pdf", data)
    for name, records in (("cases.jsonl", cases), ("evaluations.jsonl", evaluations)):
        if records is not None:
            put(
                name,
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8"),
            )
    manifest = {
        "export_id": export_id,
        "exported_at": exported_at,
        "system": {"name": "测试审批系统", "version": "1.0"},
        "schema_version": "1",
        "counts": counts
        or {
            "departments": len(departments),
            "items": len(items),
            "life_events": len(life_events or []),
            "files": len(files),
            "cases": len(cases or []),
            "evaluations": len(evaluations or []),
        },
        "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(written.items())},
    }
    (root / "manifest.json").write_bytes(as_json(manifest))
    for relative, data in (raw or {}).items():
        (root / relative).write_bytes(data)
    return root


def small_export(root: Path, n_items: int = 3, **options: Any) -> Path:
    departments = [
        department(1, "上海市宝山区市场监督管理局"),
        department(2, "上海市宝山区卫生健康委员会"),
    ]
    codes = [d["code"] for d in departments]
    items = [item(i, codes[i % 2], f"测试事项{i}号") for i in range(1, n_items + 1)]
    events = (
        [life_event("LE001", [items[0]["impl_code"], items[1]["impl_code"]])] if n_items > 1 else []
    )
    return write_export(root, departments, items, life_events=events, **options)


def case(
    case_id: str, impl_code: str, department_code: str, submitted: str, **fields: Any
) -> dict[str, Any]:
    """A case record; times are local (+08:00) ISO strings, e.g. "2025-09-26T10:00"."""

    def at(value: str | None) -> str | None:
        return None if value is None else (value if len(value) > 16 else value + ":00") + "+08:00"

    record = {
        "case_id": case_id,
        "impl_code": impl_code,
        "item_version": 1,
        "department_code": department_code,
        "applicant_type": "natural_person",
        "applicant_name": "王小明",
        "applicant_id_number": "310113199001011234",
        "applicant_phone": "13812345678",
        "applicant_address": "上海市宝山区友谊路1号",
        "street_code": "310113003",
        "channel": "window",
        "submitted_at": at(submitted),
        "status": "completed",
        "result": "granted",
    }
    for name, value in fields.items():
        record[name] = at(value) if name.endswith("_at") else value
    record.setdefault("updated_at", record.get("completed_at") or record["submitted_at"])
    return {k: v for k, v in record.items() if v is not None}


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative POSIX path → bytes): a snapshot to compare releases."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
