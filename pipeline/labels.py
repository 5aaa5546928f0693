"""Chinese labels for the contract's codes, as the public reads them."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.contract.models import Limit

LABELS: dict[str, dict[str, str]] = {
    "item_type": {
        "licensing": "行政许可",
        "confirmation": "行政确认",
        "payment": "行政给付",
        "inspection": "行政检查",
        "award": "行政奖励",
        "adjudication": "行政裁决",
        "expropriation": "行政征收",
        "other_power": "其他行政权力",
        "public_service": "公共服务",
    },
    "audience": {
        "natural_person": "个人",
        "enterprise": "企业",
        "public_institution": "事业单位",
        "social_organisation": "社会组织",
        "government": "政府机关",
        "other_org": "其他组织",
    },
    "status": {"in_force": "在用", "suspended": "暂停办理", "abolished": "已取消"},
    "department_nature": {
        "statutory": "法定机关",
        "authorised": "授权组织",
        "entrusted": "受委托组织",
    },
    "level": {
        "national": "国家级",
        "provincial": "省级",
        "municipal": "市级",
        "county": "区县级",
        "township": "乡镇（街道）级",
        "village": "村（社区）级",
    },
    "case_type": {"instant": "即办件", "promise": "承诺件"},
    "handle_form": {
        "window": "窗口办理",
        "online_pc": "网上办理",
        "mobile": "移动端办理",
        "post": "快递申请",
    },
    "online_depth": {
        "consult": "网上咨询",
        "receive": "网上收件",
        "pre_review": "网上预审",
        "accept": "网上受理",
        "handle": "网上办理",
        "deliver": "全程网办（结果送达）",
    },
    "limit_unit": {"working_days": "个工作日", "calendar_days": "个自然日", "months": "个月"},
    "legal_role": {"setting": "设定依据", "implementing": "实施依据", "fee": "收费依据"},
    "necessity": {"required": "必要", "optional": "非必要", "deferrable": "容缺后补"},
    "material_kind": {"certificate": "证照", "form": "表格文书", "other": "其他"},
    "medium": {"paper": "纸质", "electronic": "电子", "both": "纸质或电子"},
    "material_source": {"applicant": "申请人自备", "government": "政府部门核发"},
    "result_type": {
        "certificate": "证照",
        "approval_document": "批文",
        "filing": "备案",
        "other": "其他",
    },
}

AUDIENCE_ORDER = list(LABELS["audience"])
ITEM_TYPE_ORDER = list(LABELS["item_type"])
LABEL_KIND_BY_ENUM = {
    "ItemType": "item_type",
    "Audience": "audience",
    "ItemStatus": "status",
    "DepartmentNature": "department_nature",
    "Level": "level",
    "CaseType": "case_type",
    "HandleForm": "handle_form",
    "OnlineDepth": "online_depth",
    "LimitUnit": "limit_unit",
    "LegalRole": "legal_role",
    "Necessity": "necessity",
    "MaterialKind": "material_kind",
    "Medium": "medium",
    "MaterialSource": "material_source",
    "ResultType": "result_type",
}


_MEMBER_LABELS: dict[tuple[type, Enum, str | None], str] = {}
"""(enum, member, kind) → label: a guide page asks for ~50 labels, of a few dozen members. (The
enum is in the key: members of two enums with the same value are equal strings.)"""


def label(value: Enum | str | None, kind: str | None = None) -> str:
    """The Chinese label of a code (an Enum member knows its own list)."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        key = (type(value), value, kind)
        found = _MEMBER_LABELS.get(key)
        if found is None:
            code = value.value
            found = LABELS.get(kind or LABEL_KIND_BY_ENUM[type(value).__name__], {}).get(
                code, str(code)
            )
            _MEMBER_LABELS[key] = found
        return found
    return LABELS.get(kind or "", {}).get(value, str(value))


def format_limit(limit: Limit | None) -> str:
    if limit is None:
        return ""
    if limit.value == 0:
        return "即时办结"
    value = int(limit.value) if limit.value == limit.value.to_integral_value() else limit.value
    return f"{value} {label(limit.unit)}"
