"""Changes in Chinese, as a reader wants them: 承诺办结时限：10 → 5（缩短）, 新增申请材料「…」."""

from __future__ import annotations

from typing import Any

from pipeline.contract.sanitise import rich_text_to_plain
from pipeline.labels import LABELS

FIELD_LABELS: dict[str, str] = {
    "name": "事项名称",
    "name_en": "英文名称",
    "aliases": "别名",
    "status": "状态",
    "item_type": "事项类型",
    "basic_code": "基本编码",
    "handle_item_code": "业务办理项编码",
    "department_code": "实施主体",
    "department_nature": "实施主体性质",
    "joint_departments": "联办机构",
    "level": "行使层级",
    "audiences": "服务对象",
    "themes": "主题",
    "conditions": "受理条件",
    "prohibitions": "禁止性要求",
    "case_type": "办件类型",
    "statutory_limit": "法定办结时限",
    "promised_limit": "承诺办结时限",
    "handle_forms": "办理形式",
    "online_url": "网上办理地址",
    "online_depth": "网上办理深度",
    "visits_required": "到现场次数",
    "visits_reason": "到现场原因",
    "is_charged": "是否收费",
    "pay_online": "网上支付",
    "result": "办理结果",
    "responsible": "审批责任岗位",
    "window": "办理窗口",
    "consult": "咨询方式",
    "complaint": "投诉方式",
    "supervision_measures": "监管措施",
    "quantity_limit": "数量限制",
    "effective_from": "实施日期",
    "materials": "申请材料",
    "fees": "收费项目",
    "legal_bases": "法律依据",
    "process_steps": "办理步骤",
    "special_procedures": "特别程序",
    "intermediary_services": "中介服务",
    "faq": "常见问题",
}
PART_LABELS: dict[str, str] = {
    "value": "",
    "unit": "单位",
    "note": "说明",
    "amount_cny": "金额（元）",
    "standard": "收费标准",
    "basis": "依据",
    "reducible": "可否减免",
    "necessity": "必要性",
    "kind": "类型",
    "medium": "载体",
    "copies": "份数",
    "source": "来源",
    "acceptance_standard": "受理标准",
    "blank_form_file_id": "空白表格",
    "sample_file_id": "示例样表",
    "legal_basis": "设定依据",
    "notes": "备注",
    "title": "名称",
    "doc_no": "文号",
    "article": "条款",
    "issuer": "制定机关",
    "effective_date": "施行日期",
    "role": "依据类型",
    "url": "地址",
    "order": "序号",
    "name": "名称",
    "actor": "承办人",
    "time_limit": "时限",
    "description": "说明",
    "max_days": "最长天数",
    "type": "类型",
    "validity": "有效期",
    "address": "地址",
    "hours": "时间",
    "phone": "电话",
    "phones": "电话",
    "map_url": "地图",
    "unit_": "单位",
    "post": "岗位",
    "question": "问题",
    "answer": "回答",
}
CODE_LABELS: dict[str, str] = {
    "status": "status",
    "item_type": "item_type",
    "audiences": "audience",
    "department_nature": "department_nature",
    "level": "level",
    "case_type": "case_type",
    "handle_forms": "handle_form",
    "online_depth": "online_depth",
    "unit": "limit_unit",
    "role": "legal_role",
    "necessity": "necessity",
    "kind": "material_kind",
    "medium": "medium",
    "source": "material_source",
    "type": "result_type",
}
KIND_WORDS = {"added": "新增", "removed": "删除", "abolished": "取消", "changed": "变更"}
EVENT_WORDS = {"added": "新增", "removed": "下线", "abolished": "取消", "changed": "变更"}
MAX_CHARS = 160


def field_label(path: str, key: str | None = None) -> str:
    """``fees.amount_cny`` + 工本费 → 收费项目「工本费」的金额（元）."""
    head, _, rest = path.partition(".")
    label = FIELD_LABELS.get(head, head)
    if key is not None:
        label += f"「{key}」"
    parts = [PART_LABELS.get(p, p) for p in rest.split(".")] if rest else []
    parts = [p for p in parts if p]
    if not parts:
        return label
    return (
        label
        + ("的" if key is not None else "（")
        + "·".join(parts)
        + ("" if key is not None else "）")
    )


def shown(value: Any, path: str = "") -> str:
    """A value for reading: codes as their Chinese labels, HTML as text, long text cut."""
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    kind = CODE_LABELS.get(path.rsplit(".", 1)[-1])
    names = LABELS.get(kind, {}) if kind else {}
    if isinstance(value, list):
        return "、".join(shown(v, path) for v in value) or "（无）"
    if isinstance(value, dict):
        return "；".join(f"{PART_LABELS.get(k, k) or k}：{shown(v, k)}" for k, v in value.items())
    text = names.get(value, rich_text_to_plain(str(value)) if "<" in str(value) else str(value))
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + "……"


def direction(change: dict[str, Any]) -> str:
    """缩短/延长 for limits, 提高/降低 for amounts."""
    old, new = change.get("old"), change.get("new")
    if not isinstance(old, int | float) or not isinstance(new, int | float) or old == new:
        return ""
    if change["field"].endswith(("limit.value", "time_limit.value", "max_days")):
        return "（缩短）" if new < old else "（延长）"
    return "（降低）" if new < old else "（提高）"


def describe(change: dict[str, Any]) -> str:
    field, kind, key = change["field"], change["change"], change.get("key")
    if key is not None and kind in ("added", "removed") and "." not in field:
        return f"{KIND_WORDS[kind]}{FIELD_LABELS.get(field, field)}「{key}」"
    label = field_label(field, key)
    if kind == "added":
        return f"{label}：新增为 {shown(change.get('new'), field)}"
    if kind == "removed":
        return f"{label}：删除（原为 {shown(change.get('old'), field)}）"
    return f"{label}：{shown(change.get('old'), field)} → {shown(change.get('new'), field)}{direction(change)}"


def event_title(event: dict[str, Any], aspects: list[str]) -> str:
    if event["kind"] == "changed":
        return f"【变更】{event['name']}：{'、'.join(aspects) or '其他信息'}"
    return f"【{EVENT_WORDS[event['kind']]}】{event['name']}"


SCHEMA_WORDS = {
    "table_added": "新增表",
    "table_removed": "删除表",
    "field_added": "新增字段",
    "field_removed": "删除字段",
    "field_type_changed": "字段类型变更",
    "field_order_changed": "字段顺序变更",
}


def describe_schema(change: dict[str, Any]) -> str:
    text = f"{SCHEMA_WORDS[change['change']]}：{change['table']}"
    if "field" in change:
        text += f".{change['field']}"
    if change["change"] == "field_type_changed":
        text += f"（{change['old']} → {change['new']}）"
    elif change["change"] == "field_added":
        text += f"（{change['new']}）"
    return text
