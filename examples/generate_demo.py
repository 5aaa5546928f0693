#!/usr/bin/env python3
"""(Re)generate ``examples/demo-export/``: a realistic export of 宝山区 (310113) in the export
contract's folder layout — manifest, departments, items, life events, files and their bytes.

Deterministic and stdlib-only (plus the project's own ``pipeline.contract.credit_code``): no clock, one
``random.Random(20261125)``, fixed zip timestamps. The folder is deleted and recreated on every
run, and two runs produce byte-identical files. The data lives in ``examples/demo/``.

    .venv/bin/python examples/generate_demo.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
sys.dont_write_bytecode = True  # no __pycache__ inside examples/

from demo import (  # noqa: E402
    assemble,
    items_civil,
    items_construction,
    items_environment,
    items_health,
    items_market,
    items_other,
    items_social,
)
from demo.departments import DEPARTMENTS  # noqa: E402
from demo.files import build_files  # noqa: E402
from demo.life_events import LIFE_EVENTS  # noqa: E402

ITEM_MODULES = [
    items_market,
    items_health,
    items_social,
    items_civil,
    items_construction,
    items_environment,
    items_other,
]
SEED = 20261125
EXPORT_ID = "demo-2026-11-25"
EXPORTED_AT = "2026-11-25T23:30:00+08:00"
PRIVATE_DEPARTMENT_KEYS = ("key", "window", "unit")
IMPL_CODE = re.compile(r"^[0-9A-Z]{20,40}$")
MESSY_SHARE = 0.15
NO_SUPERVISION_SHARE = 0.15
NO_NATURE_SHARE = 0.08


def build_items(rng: random.Random) -> list[dict]:
    items = []
    for module in ITEM_MODULES:
        for spec in module.FAMILIES:
            items += assemble.expand(spec, rng)
    n = len(items)
    # Word-pasted rich text on ~15% of the items.
    for index in sorted(rng.sample(range(n), round(n * MESSY_SHARE))):
        item = items[index]
        item["conditions"] = assemble.wordify(item["conditions"], rng)
        for field in ("prohibitions", "supervision_measures"):
            if field in item and rng.random() < 0.5:
                item[field] = assemble.wordify(item[field], rng)
        item["_messy"] = True
    # Optional disclosure elements left empty upstream, so department scores differ.
    for index in rng.sample(range(n), round(n * NO_SUPERVISION_SHARE)):
        items[index].pop("supervision_measures", None)
    for index in rng.sample(range(n), round(n * NO_NATURE_SHARE)):
        items[index].pop("department_nature", None)
    return items


def resolve_life_events(items: list[dict]) -> list[dict]:
    by_name = {i["name"]: i for i in items}
    events = []
    for event in LIFE_EVENTS:
        steps = []
        for step in event["steps"]:
            codes = []
            for name in step["items"]:
                item = by_name.get(name)
                assert item is not None, f"{event['code']}: no item named {name}"
                assert item["status"] == "in_force", f"{event['code']}: {name} is {item['status']}"
                codes.append(item["impl_code"])
            steps.append({**step, "items": codes})
        events.append({**event, "steps": steps})
    return events


def check(
    departments: list[dict], items: list[dict], files: list[dict], events: list[dict]
) -> None:
    codes = [i["impl_code"] for i in items]
    assert len(set(codes)) == len(codes), "impl_code repeated"
    assert all(IMPL_CODE.fullmatch(c) for c in codes), "impl_code format"
    names = [i["name"] for i in items]
    assert len(set(names)) == len(names), [n for n, c in Counter(names).items() if c > 1]
    assert all(re.fullmatch(r"\d{12}", i["basic_code"]) for i in items)
    known_files = {f["file_id"] for f in files}
    used = set()
    for item in items:
        for material in item["materials"]:
            used.update(v for k, v in material.items() if k.endswith("file_id"))
        if "sample_file_id" in item["result"]:
            used.add(item["result"]["sample_file_id"])
        assert not item["is_charged"] or item["fees"], item["name"]
        assert item["visits_required"] == 0 or item.get("visits_reason"), item["name"]
        assert item["materials"] or item["case_type"] == "instant", item["name"]
    assert used <= known_files, f"unknown files {sorted(used - known_files)}"
    assert known_files <= used, f"files nobody refers to {sorted(known_files - used)}"
    dept_codes = {d["code"] for d in departments}
    assert all(i["department_code"] in dept_codes for i in items)
    assert all(set(i.get("joint_departments", [])) <= dept_codes for i in items)


def as_json(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "demo-export")
    out = parser.parse_args(argv).out

    rng = random.Random(SEED)
    departments = [
        {k: v for k, v in d.items() if k not in PRIVATE_DEPARTMENT_KEYS} for d in DEPARTMENTS
    ]
    items = build_items(rng)
    messy = sum(bool(i.pop("_messy", False)) for i in items)
    events = resolve_life_events(items)
    built = build_files()
    file_records = [
        {**record, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for record, _, data in built
    ]
    check(departments, items, file_records, events)

    if out.exists():
        shutil.rmtree(out)
    (out / "files").mkdir(parents=True)
    written: dict[str, bytes] = {
        "departments.json": as_json(departments),
        "items.json": as_json(items),
        "life_events.json": as_json(events),
        "files.json": as_json(file_records),
    }
    for record, extension, data in built:
        written[f"files/{record['file_id']}{extension}"] = data
    for relative, data in written.items():
        (out / relative).write_bytes(data)
    manifest = {
        "export_id": EXPORT_ID,
        "exported_at": EXPORTED_AT,
        "system": {"name": "宝山区网上行政审批系统", "version": "5.2"},
        "schema_version": "1",
        "counts": {
            "departments": len(departments),
            "items": len(items),
            "life_events": len(events),
            "files": len(file_records),
            "cases": 0,
            "evaluations": 0,
        },
        "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(written.items())},
    }
    (out / "manifest.json").write_bytes(as_json(manifest))

    types = Counter(i["item_type"] for i in items)
    audiences = Counter(a for i in items for a in i["audiences"])
    statuses = Counter(i["status"] for i in items)
    print(
        f"{out}: {len(departments)} departments, {len(items)} items, {len(events)} life events, "
        f"{len(file_records)} files"
    )
    print("  item_type:", dict(sorted(types.items())))
    print("  audiences:", dict(sorted(audiences.items())))
    print(
        "  status:",
        dict(sorted(statuses.items())),
        f"charged: {sum(i['is_charged'] for i in items)}, Word-pasted HTML: {messy}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
