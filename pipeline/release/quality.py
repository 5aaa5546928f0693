"""Disclosure completeness: how many of the seed article's ten public elements each item fills.

The elements (审批权限、审批内容、审批依据、审批条件、审批时限、审批程序、审批方式、审批责任岗位、
收费标准、监管措施) are checked by ``ELEMENT_CHECKS``; the methodology page states the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pipeline.contract.models import Item
from pipeline.contract.sanitise import rich_text_to_plain
from pipeline.validate.catalogue import Catalogue
from pipeline.validate.problems import Report

ELEMENTS: dict[str, str] = {
    "authority": "审批权限（实施主体及其性质）",
    "content": "审批内容（审批结果名称）",
    "basis": "审批依据（法律法规，至少一条注明条款）",
    "conditions": "审批条件（受理条件全文）",
    "time_limit": "审批时限（法定与承诺时限）",
    "procedure": "审批程序（办理步骤及其承办人）",
    "method": "审批方式（办理形式及窗口地址或网办入口）",
    "responsible_post": "审批责任岗位",
    "fees": "收费标准（不收费，或每项收费的标准与依据）",
    "supervision": "监管措施",
}

ELEMENT_CHECKS: dict[str, Callable[[Item], bool]] = {
    "authority": lambda i: i.department_nature is not None,
    "content": lambda i: bool(i.result.name),
    "basis": lambda i: any(b.article for b in i.legal_bases),
    "conditions": lambda i: len(rich_text_to_plain(i.conditions)) >= 10,
    "time_limit": lambda i: i.statutory_limit is not None and i.promised_limit is not None,
    "procedure": lambda i: all(s.actor for s in i.process_steps),
    "method": lambda i: bool((i.window and i.window.address) or i.online_url),
    "responsible_post": lambda i: bool(i.responsible and i.responsible.post),
    "fees": lambda i: not i.is_charged or all(f.basis for f in i.fees),
    "supervision": lambda i: bool(
        i.supervision_measures and rich_text_to_plain(i.supervision_measures)
    ),
}


def item_gaps(item: Item) -> list[str]:
    """The elements this item does not disclose, in the seed's order."""
    return [name for name, check in ELEMENT_CHECKS.items() if not check(item)]


def completeness(catalogue: Catalogue, report: Report) -> dict[str, Any]:
    """Per department: items, score (share of elements filled over its items), problems, and
    the gaps item by item. Deterministic ordering (department code, impl_code)."""
    problems_by_department: dict[str, int] = defaultdict(int)
    for problem in report.problems:
        if problem.department_code:
            problems_by_department[problem.department_code] += 1
    for (_, _, department), count in report.not_shown.items():
        if department:
            problems_by_department[department] += count
    departments = []
    for code in sorted(catalogue.departments):
        items = sorted(catalogue.items_of(code), key=lambda i: i.impl_code)
        gaps = {i.impl_code: item_gaps(i) for i in items}
        filled = sum(len(ELEMENTS) - len(g) for g in gaps.values())
        possible = len(ELEMENTS) * len(items)
        by_element = {e: sum(e not in g for g in gaps.values()) for e in ELEMENTS}
        departments.append(
            {
                "code": code,
                "items": len(items),
                "score": round(filled / possible, 4) if possible else None,
                "filled_by_element": by_element,
                "problems": problems_by_department.get(code, 0),
                "gaps": [
                    {"impl_code": k, "name": catalogue.items[k].name, "missing": v}
                    for k, v in gaps.items()
                    if v
                ],
            }
        )
    return {"elements": ELEMENTS, "departments": departments}
