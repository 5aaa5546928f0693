"""Expand item families (demo.common.family) into contract items, and roughen some of them the
way real upstream data is rough (Word-pasted HTML, missing optional elements)."""

import re
from datetime import date, datetime, timedelta

from demo.departments import BY_KEY

TYPE_NO = {
    "licensing": 1,
    "expropriation": 4,
    "payment": 5,
    "inspection": 6,
    "confirmation": 7,
    "award": 8,
    "adjudication": 9,
    "other_power": 10,
    "public_service": 20,
}
ONLINE_BASE = "https://zwdt.sh.gov.cn/govPortals/bsfw/item/"
DEFAULTS = {
    "themes": [],
    "aliases": [],
    "prohibitions": None,
    "supervision": None,
    "case_type": "promise",
    "statutory": (20, "working_days"),
    "promised": (10, "working_days"),
    "special": [],
    "forms": ["window", "online_pc", "mobile"],
    "depth": "handle",
    "visits": 0,
    "visits_reason": None,
    "fees": [],
    "pay_online": None,
    "result": ("certificate", None, None, None),
    "post": "科长",
    "unit": None,
    "quantity": None,
    "intermediary": [],
    "faq": [],
    "joint": [],
    "level": "county",
    "nature": "statutory",
    "status": "in_force",
    "steps": None,
    "reviewer": "承办科室审核人员",
    "decider": "科长",
    "review_note": None,
    "effective": None,
    "name_en": None,
}
DECISIONS = {
    "licensing": "作出准予许可或者不予许可的书面决定；不予许可的，说明理由，并告知依法申请行政复议或者提起行政诉讼的权利",
    "confirmation": "作出予以确认（登记）或者不予确认的决定，不予确认的书面说明理由",
    "payment": "核定给付对象和给付标准，作出给付或者不予给付的决定",
    "expropriation": "核定应缴金额，出具缴款通知书",
    "award": "作出奖励决定，确定奖励等级和金额",
    "adjudication": "在查明事实、分清责任的基础上作出裁决",
    "other_power": "作出同意、备案或者不予办理的决定",
    "public_service": "作出办理或者不予办理的决定",
}
SUPERVISION = {
    "licensing": "<p>通过“双随机、一公开”抽查、信用风险分类监管和投诉举报核查，对被许可人从事许可事项的活动实施监督检查；发现不再具备许可条件的，责令限期整改，逾期不改的依法撤销或者吊销许可。</p>",
    "confirmation": "<p>对登记（确认）事项实施事后核查；以欺骗等不正当手段取得登记的，依法予以撤销，并记入公共信用信息服务平台。</p>",
    "payment": "<p>对给付对象实行动态管理，定期核查家庭经济状况和资格条件；不再符合条件的及时停发，以虚报、隐瞒、伪造等手段骗取待遇的，依法追回并记入信用记录。</p>",
    "expropriation": "<p>征收资金全额缴入国库，实行收支两条线管理，接受财政、审计部门监督。</p>",
    "award": "<p>奖励资金纳入财政预算管理，奖励结果依法公示，接受社会监督；以虚假举报骗取奖励的，依法追回。</p>",
    "adjudication": "<p>裁决文书依法送达并公开；当事人对裁决不服的，可以依法申请行政复议或者提起行政诉讼。</p>",
    "inspection": "<p>检查结果依法公示并归集至公共信用信息服务平台；发现违法行为的，依法移送处理。</p>",
    "other_power": "<p>对备案（办理）事项实施事中事后监管，发现违法行为的，依法处理并向社会公开。</p>",
    "public_service": "<p>办理情况纳入“好差评”评价，差评事项由区政务服务管理部门督促整改并回访。</p>",
}


def limit(spec) -> dict:
    value, unit = spec[:2]
    result = {"value": value, "unit": unit}
    if len(spec) > 2:
        result["note"] = spec[2]
    return result


def _numbered(steps: list[dict]) -> list[dict]:
    return [{"order": i, **s} for i, s in enumerate(steps, start=1)]


def _steps(item_type: str, o: dict) -> list[dict]:
    if o["steps"]:
        return _numbered(o["steps"])
    if o["case_type"] == "instant":
        return [
            {
                "order": 1,
                "name": "申请",
                "actor": "申请人",
                "description": "通过“一网通办”平台或者到窗口提交申请",
            },
            {
                "order": 2,
                "name": "受理",
                "actor": "窗口受理人员",
                "time_limit": {"value": 0, "unit": "working_days", "note": "当场办结"},
                "description": "材料齐全、符合法定形式的当场受理并办结",
            },
            {
                "order": 3,
                "name": "送达",
                "actor": "窗口工作人员",
                "description": "当场出具办理结果，或者推送至申请人“随申办”账户",
            },
        ]
    value, unit = o["promised"][:2]
    if item_type == "inspection":
        return _numbered(
            [
                {
                    "name": "确定检查对象",
                    "actor": "监管科室",
                    "description": "按年度检查计划、风险等级和“双随机”抽取结果确定检查对象和检查人员",
                },
                {
                    "name": "现场检查",
                    "actor": "执法人员（不少于两人）",
                    "time_limit": {"value": 1, "unit": "working_days"},
                    "description": "出示执法证件，检查相关证照、场所和台账，制作检查记录",
                },
                {
                    "name": "决定",
                    "actor": o["decider"],
                    "time_limit": limit(o["promised"]),
                    "description": "作出检查结论；发现问题的责令限期整改，涉嫌违法的依法立案查处",
                },
                {
                    "name": "送达",
                    "actor": "执法人员",
                    "description": "检查结果告知被检查人，并在规定时间内向社会公示",
                },
            ]
        )
    if item_type == "expropriation":
        return _numbered(
            [
                {
                    "name": "申报",
                    "actor": "缴费义务人",
                    "description": "如实申报应缴事项；随水费征收的由供水企业代征",
                },
                {
                    "name": "核定",
                    "actor": o["reviewer"],
                    "time_limit": limit(o["promised"]),
                    "description": "核定计征依据和应缴金额",
                },
                {"name": "决定", "actor": o["decider"], "description": DECISIONS[item_type]},
                {
                    "name": "缴纳",
                    "actor": "缴费义务人",
                    "description": "通过“一网通办”或者银行缴纳，非税收入全额缴入国库",
                },
            ]
        )
    if unit == "working_days":
        accept = 1 if value >= 2 else 0
        decide = 1 if value >= 3 else 0
        review = {"value": value - accept - decide, "unit": unit}
    else:
        accept = decide = 1
        review = {"value": value, "unit": unit, "note": "含受理、决定时间"}
    if o["review_note"]:
        review["note"] = o["review_note"]
    review_name = "审理" if item_type == "adjudication" else "审查"
    return [
        {
            "order": 1,
            "name": "申请",
            "actor": "申请人",
            "description": "通过“一网通办”平台或者窗口提交申请材料",
        },
        {
            "order": 2,
            "name": "受理",
            "actor": "窗口受理人员",
            "time_limit": {"value": accept, "unit": "working_days"},
            "description": "材料齐全、符合法定形式的予以受理；材料不全的，一次性告知需要补正的全部内容",
        },
        {
            "order": 3,
            "name": review_name,
            "actor": o["reviewer"],
            "time_limit": review,
            "description": "对申请材料的实质内容进行审查，需要现场核查的，指派两名以上工作人员核查",
        },
        {
            "order": 4,
            "name": "决定",
            "actor": o["decider"],
            "time_limit": {"value": decide, "unit": "working_days"},
            "description": DECISIONS.get(item_type, DECISIONS["public_service"]),
        },
        {
            "order": 5,
            "name": "送达",
            "actor": "窗口工作人员",
            "time_limit": {"value": 10, "unit": "working_days", "note": "自作出决定之日起"},
            "description": "窗口领取，或者免费邮寄送达；电子证照同步推送",
        },
    ]


def _stamp(rng) -> tuple[int, str, str]:
    """version, updated_at, effective_from (effective on or before the update)."""
    version = rng.randint(1, 12)
    updated = datetime(2025, 1, 6) + timedelta(
        days=rng.randint(0, 683), minutes=rng.randint(510, 1110)
    )
    effective = date(2017, 1, 1) + timedelta(
        days=rng.randint(0, (updated.date() - date(2017, 1, 1)).days)
    )
    return version, updated.strftime("%Y-%m-%dT%H:%M:00+08:00"), effective.isoformat()


def expand(spec: dict, rng) -> list[dict]:
    dept = BY_KEY[spec["dept"]]
    dept_index = list(BY_KEY).index(spec["dept"]) + 1
    basic = f"{TYPE_NO[spec['item_type']]:02d}{dept_index:03d}{spec['no']:03d}0000"
    items = []
    for number, variant in enumerate(spec["variants"], start=1):
        o = {
            **DEFAULTS,
            **spec["options"],
            **{k: v for k, v in variant.items() if k not in ("suffix", "mats")},
        }
        unknown = set(o) - set(DEFAULTS) - {"conditions", "audiences", "legal_bases", "name", "vno"}
        assert not unknown, (spec["name"], unknown)
        item_type = spec["item_type"]
        number = o.get("vno", number)
        impl = f"{dept['code']}4000{spec['no']:03d}{number:02d}"
        if o.get("name"):
            name = o["name"]
        elif variant["suffix"]:
            name = f"{spec['name']}（{variant['suffix']}）"
        else:
            name = spec["name"]
        forms = list(o["forms"])
        online = any(f in ("online_pc", "mobile") for f in forms)
        version, updated, effective = _stamp(rng)
        rtype, rname, validity, sample = o["result"]
        result = {"type": rtype}
        if rname:
            result["name"] = rname
        if sample:
            result["sample_file_id"] = sample
        if validity:
            result["validity"] = validity
        window = {"address": dept["window"], "hours": dept["office_hours"], "phone": dept["phone"]}
        item = {
            "impl_code": impl,
            "basic_code": basic,
            **({"handle_item_code": f"{impl}{number:03d}"} if len(spec["variants"]) > 1 else {}),
            "version": version,
            "status": o["status"],
            "name": name,
            **({"name_en": o["name_en"]} if o["name_en"] else {}),
            "aliases": list(o["aliases"]),
            "item_type": item_type,
            "department_code": dept["code"],
            "department_nature": o["nature"],
            "joint_departments": [BY_KEY[k]["code"] for k in o["joint"]],
            "level": o["level"],
            "audiences": list(o.get("audiences") or spec["audiences"]),
            "themes": list(o["themes"]),
            "legal_bases": list(o.get("legal_bases") or spec["legal_bases"]),
            "conditions": o.get("conditions") or spec["conditions"],
            "prohibitions": o["prohibitions"],
            "materials": [dict(spec["pool"][k]) for k in variant["mats"]],
            "process_steps": _steps(item_type, o),
            "case_type": o["case_type"],
            "statutory_limit": limit(o["statutory"]),
            "promised_limit": limit(o["promised"]),
            "special_procedures": [
                dict(zip(("name", "max_days", "basis"), s, strict=True)) for s in o["special"]
            ],
            "handle_forms": forms,
            "online_url": ONLINE_BASE + impl if online else None,
            "online_depth": o["depth"] if online else "consult",
            "visits_required": o["visits"],
            "visits_reason": o["visits_reason"],
            "is_charged": bool(o["fees"]),
            "fees": list(o["fees"]),
            "pay_online": o["pay_online"],
            "result": result,
            "responsible": {
                "unit": f"{dept['short_name']}{o['unit'] or dept['unit']}",
                "post": o["post"],
            },
            "window": window,
            "consult": {
                "phones": [dept["phone"]],
                "address": dept["window"],
                "url": ONLINE_BASE + impl if online else dept["website"],
            },
            "complaint": {
                "phones": ["12345", "021-5678" + dept["phone"][-4:].replace("1", "2", 1)],
                "address": "上海市宝山区密山路5号 宝山区行政服务中心 “办不成事”反映窗口",
            },
            "supervision_measures": o["supervision"] or SUPERVISION[item_type],
            "quantity_limit": o["quantity"],
            "intermediary_services": [
                dict(zip(("name", "basis"), s, strict=True)) for s in o["intermediary"]
            ],
            "faq": [{"question": q, "answer": a} for q, a in o["faq"]],
            "effective_from": o["effective"] or effective,
            "updated_at": updated,
        }
        items.append(_prune(item))
    return items


def _prune(item: dict) -> dict:
    """Absent, not null or empty, for optional fields nobody filled (as exports usually do)."""
    keep_empty = {"materials"}
    return {k: v for k, v in item.items() if v is not None and (v != [] or k in keep_empty)}


# ---------------------------------------------------------------- Word-pasted HTML

_BLOCK = re.compile(r"<(p|li)>(.*?)</\1>", re.S)
MSO_P = (
    '<p class="MsoNormal" style="text-indent:21.0pt;mso-char-indent-count:2.0;line-height:150%">'
)
SPAN = '<span style="font-size:10.5pt;line-height:150%;font-family:宋体;mso-ascii-font-family:Calibri">'


def wordify(html: str, rng) -> str:
    """Rewrite clean HTML as a Word paste: MsoNormal paragraphs, inline styles, &nbsp;, stray
    <font> and <o:p>, list items flattened to numbered paragraphs, a bold lead-in."""
    out = []
    number = 0
    for index, (tag, text) in enumerate(_BLOCK.findall(html)):
        if tag == "li":
            number += 1
            text = f"{number}．{text}"
        if index == 0 and "：" in text[:14]:
            head, tail = text.split("：", 1)
            text = f"<b>{head}：</b>{tail}"
        if rng.random() < 0.4:
            text = text.replace("，", "，&nbsp;", 1)
        if rng.random() < 0.3:
            text = f'<font face="仿宋_GB2312">{text}</font>'
        out.append(f"{MSO_P}{SPAN}{text}<o:p></o:p></span></p>")
    out.append(
        '<p class="MsoNormal"><span lang="EN-US" style="font-size:10.5pt"><o:p>&nbsp;</o:p></span></p>'
    )
    return "\r\n".join(out)
