"""``approvals search QUERY --site DIR``: the live release's server index from the command line.

The command's parser and function live here; ``pipeline/cli.py`` registers them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline.errors import BadSearchRequest
from pipeline.search.api import (
    MAX_PAGE_SIZE,
    MAX_QUERY_CHARS,
    SearchRequest,
    SearchService,
    department_names,
    type_labels,
)


def add_search_command(commands: Any, default_site: str = "site") -> None:
    search = commands.add_parser(
        "search",
        help="用服务器搜索索引查找事项（同 /api/search）",
        description="在 SITE/current 的搜索索引中查找事项与“一件事”",
    )
    search.add_argument(
        "query", metavar="QUERY", help=f"搜索词（最多 {MAX_QUERY_CHARS} 个字符），如 开饭店、yyzz"
    )
    search.add_argument(
        "--site", default=default_site, type=Path, help="网站目录（默认 %(default)s）"
    )
    search.add_argument(
        "--department",
        action="append",
        default=[],
        help="只看某个部门（全称、简称或统一社会信用代码；可重复）",
    )
    search.add_argument(
        "--type",
        action="append",
        default=[],
        dest="item_type",
        help="只看某类事项（如 行政许可、公共服务、一件事，或 licensing 等代码；可重复）",
    )
    search.add_argument(
        "--limit",
        type=int,
        default=10,
        help=f"最多显示多少个结果（1–{MAX_PAGE_SIZE}，默认 %(default)s）",
    )
    search.add_argument("--json", action="store_true", help="输出 JSON（每个结果带 impl_code）")


def _request(args: argparse.Namespace, service: SearchService) -> SearchRequest:
    query = args.query.strip()
    if not query or len(query) > MAX_QUERY_CHARS:
        raise BadSearchRequest(f"搜索词应为 1 到 {MAX_QUERY_CHARS} 个字符")
    if not 1 <= args.limit <= MAX_PAGE_SIZE:
        raise BadSearchRequest(f"--limit 应在 1 到 {MAX_PAGE_SIZE} 之间")
    filters: dict[str, list[str]] = {}
    departments = service.departments() if args.department else []
    if args.department:
        filters["department"] = [
            n for v in args.department for n in department_names(v, departments)
        ]
    if args.item_type:
        filters["type"] = [t for v in args.item_type for t in type_labels(v)]
    return SearchRequest(query, filters, 1, args.limit)


def _line(number: int, result: dict[str, Any]) -> str:
    parts = [result["name"]]
    if result["kind"] == "life_event":
        parts.append("一件事")
    else:
        parts += [
            p
            for p in (
                result["department"],
                f"承诺 {result['limit']}" if result["limit"] else "",
                result["fee"],
                "暂停办理" if result["status"] == "suspended" else "",
            )
            if p
        ]
    code = f"\n    {result['url']}" + (
        f"  实施编码 {result['impl_code']}" if "impl_code" in result else ""
    )
    return f"{number:>2}. {' · '.join(parts)}{code}"


def cmd_search(args: argparse.Namespace) -> int:
    service = SearchService(args.site)
    try:
        answer = service.search(_request(args, service))
    finally:
        service.close()
    if args.json:
        print(json.dumps(answer["results"], ensure_ascii=False, indent=1))
        return 0
    if not answer["results"]:
        print(f"没有找到与“{args.query}”相关的事项。")
        return 0
    print(f"找到 {answer['total']} 个结果，显示前 {len(answer['results'])} 个：")
    for number, result in enumerate(answer["results"], 1):
        print(_line(number, result))
    return 0
