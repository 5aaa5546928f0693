"""Compact constructors for the item modules: a *family* is one item with its handling variants
(新办／变更／延续／注销 …); demo.assemble expands each family into contract items.

    family("SCJG", 1, "食品经营许可", "licensing", ["enterprise"], [L("spaq", "第三十五条")],
           "<p>…</p>", pool={"app": M("申请书", blank="F0001")},
           variants=[V("新办", "app id"), V("注销", "app", promised=1)])
"""

from demo.laws import LAWS

FORM_WORDS = ("申请书", "申请表", "登记表", "审核表", "声明书", "承诺书", "申领表", "授权书")
STANDARDS = {
    "form": "填写完整、字迹清晰，申请人签字（盖章）",
    "certificate": "在有效期内，原件核验；已归集电子证照的免于提交",
    "other": "内容真实、完整、有效，复印件由申请人签字（盖章）确认与原件一致",
}


def L(key: str, article: str | None = None, role: str = "setting", **extra) -> dict:
    """A legal basis from the registry in demo.laws."""
    title, doc_no, issuer, effective = LAWS[key]
    basis = {"title": title}
    if doc_no:
        basis["doc_no"] = doc_no
    if article:
        basis["article"] = article
    if issuer:
        basis["issuer"] = issuer
    if effective:
        basis["effective_date"] = effective
    basis["role"] = role
    basis.update(extra)
    return basis


def M(
    name: str,
    nec: str = "required",
    *,
    kind: str | None = None,
    medium: str = "paper",
    copies: int | None = 1,
    source: str = "applicant",
    std: str | None = None,
    blank: str | None = None,
    sample: str | None = None,
    basis: str | None = None,
    notes: str | None = None,
) -> dict:
    """A material (申请材料)."""
    if kind is None:
        kind = "form" if any(w in name for w in FORM_WORDS) else "other"
    material = {"name": name, "necessity": nec, "kind": kind, "medium": medium}
    if copies is not None:
        material["copies"] = copies
    material["source"] = source
    material["acceptance_standard"] = std or STANDARDS[kind]
    for key, value in (
        ("blank_form_file_id", blank),
        ("sample_file_id", sample),
        ("legal_basis", basis),
        ("notes", notes),
    ):
        if value:
            material[key] = value
    return material


def F(
    name: str,
    standard: str,
    amount: float | None = None,
    basis: str | None = None,
    reducible: bool | None = None,
) -> dict:
    """A fee (收费项目)."""
    fee = {"name": name, "standard": standard}
    if amount is not None:
        fee["amount_cny"] = amount
    if basis:
        fee["basis"] = basis
    if reducible is not None:
        fee["reducible"] = reducible
    return fee


def V(suffix: str | None, mats: str, **overrides) -> dict:
    """A variant: name suffix (None: the family name alone), the pool keys of its materials
    (space separated, in order), and any family option it overrides (promised=5, …)."""
    return {"suffix": suffix, "mats": mats.split(), **overrides}


def family(
    dept: str,
    no: int,
    name: str,
    item_type: str,
    audiences: list[str],
    laws: list[dict],
    conditions: str,
    *,
    pool: dict | None = None,
    variants: list[dict] | None = None,
    **options,
) -> dict:
    """One item family. ``options`` are any item options (see demo.assemble.DEFAULTS)."""
    pool = pool or {}
    if not variants:
        variants = [V(None, " ".join(pool))]
    return {
        "dept": dept,
        "no": no,
        "name": name,
        "item_type": item_type,
        "audiences": audiences,
        "legal_bases": laws,
        "conditions": conditions,
        "pool": pool,
        "variants": variants,
        "options": options,
    }


def ol(*clauses: str, lead: str | None = None) -> str:
    """Conditions as an ordered list, optionally after a lead paragraph."""
    items = "".join(f"<li>{c}</li>" for c in clauses)
    return (f"<p>{lead}</p>" if lead else "") + f"<ol>{items}</ol>"


def p(*paragraphs: str) -> str:
    return "".join(f"<p>{x}</p>" for x in paragraphs)


# ---------------------------------------------------------------- materials many items share

ID = M(
    "申请人有效身份证件",
    kind="certificate",
    medium="both",
    source="government",
    std="居民身份证、港澳台居民居住证等有效身份证件，原件核验；已关联电子证照的免于提交",
    notes="可通过“随申码”调用电子证照",
)
LICENCE = M(
    "营业执照",
    kind="certificate",
    medium="electronic",
    source="government",
    copies=None,
    std="通过电子证照库调取，免于提交",
)
AGENT = M(
    "授权委托书及受托人身份证件",
    "optional",
    kind="other",
    medium="paper",
    std="委托他人办理的提供；委托书载明委托事项、权限和期限，委托人签字（盖章）",
)
LEGAL_REP = M(
    "法定代表人（负责人）身份证件",
    kind="certificate",
    medium="both",
    source="government",
    std="原件核验；已关联电子证照的免于提交",
)
PREMISES = M(
    "经营场所使用证明",
    kind="other",
    medium="both",
    std="不动产权证书或租赁合同；租赁的，租期不少于一年",
    notes="已通过不动产登记信息共享的，免于提交不动产权证书",
)
HOUSEHOLD = M(
    "户口簿", kind="certificate", medium="paper", source="government", std="本人户口页原件核验"
)
BANK = M(
    "本人社会保障卡或银行账户信息",
    kind="other",
    medium="both",
    std="账户户名与申请人一致",
    notes="已开通社保卡金融功能的，免于提交",
)
# inspections: what the inspected unit shows, and what it sends back afterwards
SHOW_LICENCE = M(
    "被检查单位营业执照或者其他主体资格证明",
    kind="certificate",
    medium="both",
    copies=0,
    source="government",
    std="现场核验，已归集电子证照的无需出示",
)
RECTIFY = M(
    "整改情况报告",
    "optional",
    std="载明问题、整改措施和完成情况，附整改前后照片",
    notes="检查发现问题并责令整改的，在整改期限届满后提交",
)
