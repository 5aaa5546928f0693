"""Validate: each raw record becomes a contract model or yields problems.

Problems name the entity, the record (its key, or where it was read when the key itself is
bad), the field (a dotted path such as ``materials.2.name``), a message in Chinese and an
excerpt of the offending value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pipeline.contract.models import CLEANED, DROPPED, ENTITY_KEYS, ENTITY_MODELS, Contract
from pipeline.contract.sanitise import INVISIBLE_CHARS, needs_cleaning
from pipeline.extract import RawRecord
from pipeline.validate.mapping import MappingProfile
from pipeline.validate.problems import Problem, excerpt

logger = logging.getLogger(__name__)
_SHOWN_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")

MESSAGES = {
    "missing": "缺少必填字段",
    "string_too_long": "文本过长（上限 {max_length} 字符）",
    "string_too_short": "不能为空",
    "too_short": "至少需要 {min_length} 项",
    "string_pattern_mismatch": "格式不符（应匹配 {pattern}）",
    "enum": "不是允许的代码值（允许：{expected}）",
    "literal_error": "不是允许的值（允许：{expected}）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "dict_type": "应为对象",
    "url_scheme": "网址只允许 http 或 https",
    "url_parsing": "不是有效的网址",
    "datetime_parsing": "不是有效的 ISO 8601 日期时间",
    "datetime_from_date_parsing": "不是有效的 ISO 8601 日期时间",
    "timezone_aware": "日期时间必须带时区（如 +08:00）",
    "date_parsing": "不是有效的 ISO 8601 日期",
    "date_from_datetime_parsing": "不是有效的 ISO 8601 日期",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "必须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
}


def _message(error: ErrorDetails) -> str:
    template = MESSAGES.get(error["type"])
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if template is None:
        return error["msg"]
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return error["msg"]


def record_id(entity: str, data: Any, where: str) -> str:
    key = ENTITY_KEYS[entity]
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, (str, int)) and str(value).strip():
        return excerpt(str(value))
    return where


def problems_from(
    exc: ValidationError, entity: str, rid: str, raw: RawRecord, department: str
) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        field = ".".join(str(p) for p in error["loc"]) or "（整条记录）"
        value = "" if error["type"] == "missing" else excerpt(error.get("input"))
        if not error["loc"]:
            value = ""
        yield Problem(entity, rid, field, _message(error), value, "error", raw.where, department)


def validate_record(
    raw: RawRecord, profile: MappingProfile
) -> tuple[Contract | None, list[Problem]]:
    """Map one raw record through the profile and validate it against the contract."""
    data = profile.apply(raw.entity, raw.data)
    rid = record_id(raw.entity, data, raw.where)
    department = str(data.get("department_code", "")) if isinstance(data, dict) else ""
    if not isinstance(data, dict):
        return None, [
            Problem(
                raw.entity,
                rid,
                "（整条记录）",
                "记录必须是 JSON 对象",
                excerpt(data),
                "error",
                raw.where,
            )
        ]
    context: dict[str, Any] = {}
    try:
        model = ENTITY_MODELS[raw.entity].model_validate(data, context=context)
    except ValidationError as exc:
        return None, list(problems_from(exc, raw.entity, rid, raw, department))
    extra = list(_profile_checks(raw, model, profile, rid, department))
    if extra:
        return None, extra
    dropped = context.get(DROPPED, [])
    warnings = [_dropped(raw, data, path, rid, department) for path in dropped]
    if context.get(CLEANED):
        warnings += _cleaned_text(raw, data, rid, department, skip=set(dropped))
    return model, warnings


def _dropped(raw: RawRecord, data: dict, path: str, rid: str, department: str) -> Problem:
    """The warning for a list entry dropped as empty once cleaned (``aliases.2``)."""
    name, index = path.rsplit(".", 1)
    value = str(data[name][int(index)])
    shown = _SHOWN_INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    message = "为空或只含不可见字符，已删除此项"
    return Problem(raw.entity, rid, path, message, excerpt(shown), "warning", raw.where, department)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}.{index}")


def _cleaned_text(
    raw: RawRecord, data: dict, rid: str, department: str, skip: set[str]
) -> Iterator[Problem]:
    """A warning per text field that lost invisible characters or was NFC-normalised (only
    for the records whose validation said so: most records are never walked), but those in
    ``skip`` (dropped, and reported so)."""
    for path, value in _strings(data, ""):
        why = needs_cleaning(value)
        if not why or path in skip:
            continue
        logger.warning(
            "text=cleaned entity=%s record=%s field=%s chars=%s", raw.entity, rid, path, why
        )
        removed = "NFC" != why
        message = (
            f"含不可见的方向控制或零宽字符（{why.removesuffix(' NFC')}），已移除"
            if removed
            else "已规范化为 Unicode NFC 形式"
        )
        shown = _SHOWN_INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
        yield Problem(
            raw.entity, rid, path, message, excerpt(shown), "warning", raw.where, department
        )


def _profile_checks(
    raw: RawRecord, model: Contract, profile: MappingProfile, rid: str, department: str
) -> Iterator[Problem]:
    pattern = profile.impl_code_pattern
    code = getattr(model, "impl_code", None)
    if raw.entity == "items" and pattern and code and not pattern.fullmatch(code):
        yield Problem(
            "items",
            rid,
            "impl_code",
            f"实施编码不符合本数据源的格式（{pattern.pattern}）",
            excerpt(code),
            "error",
            raw.where,
            department,
        )
