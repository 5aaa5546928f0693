"""The published tables: one per entity, stable column names and order, rows sorted by key.

Rich text (conditions, prohibitions, supervision measures) is published as plain text in the
tables; ``items.nested.json`` keeps the sanitised HTML as the export contract describes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.contract.models import (
    ALLOWED_MEDIA_TYPES,
    Audience,
    CaseChannel,
    CaseResult,
    CaseType,
    DepartmentNature,
    Item,
    ItemStatus,
    ItemType,
    LegalRole,
    Level,
    Limit,
    LimitUnit,
    MaterialKind,
    MaterialSource,
    Medium,
    Necessity,
    OnlineDepth,
    ResultType,
)
from pipeline.contract.sanitise import rich_text_to_plain
from pipeline.datasets.schema import (
    LIST_SEPARATOR,
    ForeignKey,
    Table,
    coded,
    codes,
    col,
    listed,
    text,
)
from pipeline.release.data import ReleaseData

CREDIT_CODE = r"[0-9A-HJ-NPQRTUWXY]{18}"
MONTH_OR_STAR = r"[0-9]{4}-[0-9]{2}|\*"


@dataclass
class DatasetSource:
    """What the tables are made of: one release's data, and where pages are on the web."""

    release: ReleaseData
    base_url: str

    @property
    def outcomes(self) -> dict[str, Any]:
        """Read by the outcome tables only, which are made only when the release has outcomes."""
        assert self.release.outcomes is not None, "an outcome table without outcomes"
        return self.release.outcomes

    @property
    def cases_parquet(self) -> Path:
        return self.release.root / "cases" / "anonymised_cases.parquet"

    def page(self, path: str) -> str:
        return f"{self.base_url}/{path}"


def joined(values: Iterable[Any]) -> str | None:
    out = LIST_SEPARATOR.join(str(getattr(v, "value", v)) for v in values)
    return out or None


def plain(html: str | None) -> str | None:
    return rich_text_to_plain(html) or None if html else None


def value(code: Any) -> Any:
    return getattr(code, "value", code)


def limit_parts(limit: Limit | None) -> tuple[Decimal | None, str | None]:
    return (limit.value, limit.unit.value) if limit else (None, None)


def url(value_: Any) -> str | None:
    return str(value_) if value_ else None


def items_in_order(source: DatasetSource) -> list[Item]:
    return [source.release.items[k] for k in sorted(source.release.items)]


# ---------------------------------------------------------------- catalogue rows


def department_rows(source: DatasetSource) -> Iterator[tuple]:
    for code in sorted(source.release.departments):
        d = source.release.departments[code]
        yield (
            d.code,
            d.name,
            d.short_name,
            d.name_en,
            d.parent_code,
            d.region_code,
            d.address,
            d.phone,
            d.office_hours,
            url(d.website),
            source.page(f"departments/{d.code}.html"),
        )


def item_rows(source: DatasetSource) -> Iterator[tuple]:
    for i in items_in_order(source):
        window, result = i.window, i.result
        yield (
            i.impl_code,
            i.basic_code,
            i.handle_item_code,
            i.version,
            i.status.value,
            i.name,
            i.name_en,
            joined(i.aliases),
            i.item_type.value,
            i.department_code,
            value(i.department_nature),
            joined(i.joint_departments),
            value(i.level),
            joined(i.audiences),
            joined(i.themes),
            plain(i.conditions),
            plain(i.prohibitions),
            i.case_type.value,
            *limit_parts(i.statutory_limit),
            *limit_parts(i.promised_limit),
            joined(i.handle_forms),
            url(i.online_url),
            value(i.online_depth),
            i.visits_required,
            i.visits_reason,
            i.is_charged,
            i.pay_online,
            result.type.value,
            result.name,
            result.validity,
            window.address if window else None,
            window.hours if window else None,
            joined(i.consult.phones),
            joined(i.complaint.phones),
            i.quantity_limit,
            plain(i.supervision_measures),
            i.effective_from,
            i.updated_at,
            source.page(f"items/{i.impl_code}.html"),
        )


def legal_basis_rows(source: DatasetSource) -> Iterator[tuple]:
    for i in items_in_order(source):
        for n, b in enumerate(i.legal_bases, 1):
            yield (
                i.impl_code,
                n,
                b.title,
                b.doc_no,
                b.article,
                b.issuer,
                b.effective_date,
                b.role.value,
                url(b.url),
            )


def published_file(source: DatasetSource, file_id: str | None) -> str | None:
    return file_id if file_id in source.release.files else None


def material_rows(source: DatasetSource) -> Iterator[tuple]:
    for i in items_in_order(source):
        for n, m in enumerate(i.materials, 1):
            yield (
                i.impl_code,
                n,
                m.name,
                m.necessity.value,
                value(m.kind),
                value(m.medium),
                m.copies,
                value(m.source),
                m.acceptance_standard,
                published_file(source, m.blank_form_file_id),
                published_file(source, m.sample_file_id),
                m.legal_basis,
                m.notes,
            )


def fee_rows(source: DatasetSource) -> Iterator[tuple]:
    for i in items_in_order(source):
        for n, f in enumerate(i.fees, 1):
            yield (i.impl_code, n, f.name, f.standard, f.amount_cny, f.basis, f.reducible)


def step_rows(source: DatasetSource) -> Iterator[tuple]:
    for i in items_in_order(source):
        for n, s in enumerate(i.process_steps, 1):
            yield (
                i.impl_code,
                n,
                s.order,
                s.name,
                s.actor,
                *limit_parts(s.time_limit),
                s.description,
            )


def life_event_rows(source: DatasetSource) -> Iterator[tuple]:
    for code in sorted(source.release.life_events):
        e = source.release.life_events[code]
        yield (
            e.code,
            e.name,
            e.description,
            joined(e.audiences),
            source.page(f"life-events/{e.code}.html"),
        )


def life_event_step_rows(source: DatasetSource) -> Iterator[tuple]:
    for code in sorted(source.release.life_events):
        for n, s in enumerate(source.release.life_events[code].steps, 1):
            yield (code, n, s.title, s.description, joined(s.items), s.optional, s.group)


def file_rows(source: DatasetSource) -> Iterator[tuple]:
    for file_id in sorted(source.release.files):
        f = source.release.files[file_id]
        yield (
            f.file_id,
            f.title,
            f.filename,
            f.media_type,
            f.size_bytes,
            f.sha256,
            source.page(f"files/{f.file_id}/{f.filename}"),
        )


# ---------------------------------------------------------------- outcome rows

MEASURE_COLUMNS = (
    ("received", "申请件数"),
    ("accepted", "受理件数"),
    ("completed", "办结件数"),
    ("granted", "准予许可件数"),
    ("denied", "不予许可件数"),
    ("not_accepted", "不予受理件数"),
    ("withdrawn", "撤回件数"),
    ("open", "未办结件数"),
    ("on_time", "按时办结件数"),
    ("overdue", "逾期件数"),
    ("within_statutory", "法定时限内办结件数"),
)
RATE_COLUMNS = (
    ("completion_rate", "办结率"),
    ("on_time_rate", "按时办结率"),
    ("grant_rate", "准予率"),
)


def rate(x: float | None) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def measures(row: dict[str, Any]) -> tuple:
    return (
        *(row[m] for m, _ in MEASURE_COLUMNS),
        row["median_days"],
        row["p90_days"],
        *(rate(row[r]) for r, _ in RATE_COLUMNS),
        joined(row["suppressed"]),
    )


def monthly_item_rows(source: DatasetSource) -> Iterator[tuple]:
    rows = [r for r in source.outcomes["monthly"] if r["level"] == "item"]
    for r in sorted(rows, key=lambda r: (r["impl_code"], r["department_code"], r["month"])):
        yield (r["impl_code"], r["department_code"], r["month"], *measures(r))


def monthly_department_rows(source: DatasetSource) -> Iterator[tuple]:
    rows = [r for r in source.outcomes["monthly"] if r["level"] == "department"]
    for r in sorted(rows, key=lambda r: (r["department_code"], r["month"])):
        yield (r["department_code"], r["month"], *measures(r))


def satisfaction_rows(source: DatasetSource) -> Iterator[tuple]:
    months = source.outcomes["months"][-12:]
    order = {"overall": 0, "department": 1, "item": 2}
    rows = sorted(
        source.outcomes["satisfaction"],
        key=lambda r: (order[r["level"]], r["department_code"], r["impl_code"]),
    )
    for r in rows:
        yield (
            r["level"],
            r["department_code"] or None,
            r["impl_code"] or None,
            months[0],
            months[-1],
            r["ratings"],
            *(r[f"level_{n}"] for n in range(1, 6)),
            rate(r["satisfaction_rate"]),
            r["suppressed"],
        )


def case_rows(source: DatasetSource) -> Iterator[tuple]:
    import duckdb

    con = duckdb.connect()
    try:
        cursor = con.execute(
            f"SELECT {', '.join(c.name for c in ANONYMISED_CASES.columns)} "
            "FROM read_parquet(?) ORDER BY row_id",
            [str(source.cases_parquet)],
        )
        while batch := cursor.fetchmany(8192):
            yield from batch
    finally:
        con.close()


# ---------------------------------------------------------------- declarations

IMPL = text("impl_code", "实施编码", "事项的实施编码，见 items 表。", required=True)
POSITION = col(
    "position", "integer", "序号", "在该事项中的顺序，从 1 开始。", required=True, minimum=1
)
LIMIT_UNITS = codes(LimitUnit)
ITEM_FK = ForeignKey(("impl_code",), "items", ("impl_code",))
PAGE = text("url", "网页地址", "本站上的页面。")

DEPARTMENTS = Table(
    "departments",
    "实施主体（部门）",
    "实施审批事项的部门和机构，每个一行。",
    (
        text("code", "统一社会信用代码", required=True, pattern=CREDIT_CODE),
        text("name", "名称", required=True),
        text("short_name", "简称"),
        text("name_en", "英文名称"),
        text("parent_code", "上级机构统一社会信用代码", pattern=CREDIT_CODE),
        text(
            "region_code",
            "行政区划代码",
            "GB/T 2260 六位代码。",
            required=True,
            pattern=r"[1-8][0-9]{5}",
        ),
        text("address", "办公地址"),
        text("phone", "联系电话"),
        text("office_hours", "办公时间"),
        text("website", "网站"),
        PAGE,
    ),
    ("code",),
    rows=department_rows,
)

ITEMS = Table(
    "items",
    "审批事项",
    "每个实施清单事项一行：主要字段。法律依据、材料、收费和流程各有一张表；"
    "嵌套的完整记录见 items.nested.json。",
    (
        text("impl_code", "实施编码", required=True),
        text("basic_code", "基本编码", required=True),
        text("handle_item_code", "业务办理项编码"),
        col("version", "integer", "版本号", required=True, minimum=0),
        coded("status", "状态", ItemStatus, "status", required=True),
        text("name", "事项名称", required=True),
        text("name_en", "英文名称"),
        listed("aliases", "别名", "群众常用的叫法。"),
        coded("item_type", "事项类型", ItemType, "item_type", required=True),
        text(
            "department_code",
            "实施主体编码",
            "统一社会信用代码，见 departments 表。",
            required=True,
        ),
        coded("department_nature", "实施主体性质", DepartmentNature, "department_nature"),
        listed("joint_departments", "联办机构编码", "统一社会信用代码。"),
        coded("level", "行使层级", Level, "level"),
        listed("audiences", "服务对象", "代码：natural_person=个人、enterprise=企业等。"),
        listed("themes", "主题", ""),
        text("conditions", "受理条件", "纯文本（网页上的格式已去除）。", required=True),
        text("prohibitions", "禁止性要求", "纯文本。"),
        coded("case_type", "办件类型", CaseType, "case_type", required=True),
        col(
            "statutory_limit_value",
            "decimal",
            "法定办结时限",
            "单位见 statutory_limit_unit。",
            required=True,
            minimum=0,
            precision=(9, 2),
        ),
        coded("statutory_limit_unit", "法定时限单位", LIMIT_UNITS, "limit_unit", required=True),
        col(
            "promised_limit_value",
            "decimal",
            "承诺办结时限",
            "单位见 promised_limit_unit。",
            required=True,
            minimum=0,
            precision=(9, 2),
        ),
        coded("promised_limit_unit", "承诺时限单位", LIMIT_UNITS, "limit_unit", required=True),
        listed(
            "handle_forms",
            "办理形式",
            "代码：window=窗口办理、online_pc=网上办理、mobile=移动端办理、post=快递申请。",
        ),
        text("online_url", "网上办理地址"),
        coded("online_depth", "网上办理深度", OnlineDepth, "online_depth"),
        col("visits_required", "integer", "到现场次数", required=True, minimum=0, unit="次"),
        text("visits_reason", "到现场原因"),
        col("is_charged", "boolean", "是否收费", required=True),
        col("pay_online", "boolean", "是否支持网上支付"),
        coded("result_type", "办理结果类型", ResultType, "result_type", required=True),
        text("result_name", "办理结果名称"),
        text("result_validity", "结果有效期"),
        text("window_address", "办理地点"),
        text("window_hours", "办理时间"),
        listed("consult_phones", "咨询电话", ""),
        listed("complaint_phones", "投诉电话", ""),
        text("quantity_limit", "数量限制"),
        text("supervision_measures", "监管措施", "纯文本。"),
        col("effective_from", "date", "实施日期"),
        col("updated_at", "datetime", "更新时间", "审批系统中最后修改的时间。", required=True),
        PAGE,
    ),
    ("impl_code",),
    (ForeignKey(("department_code",), "departments", ("code",)),),
    rows=item_rows,
)

ITEM_LEGAL_BASES = Table(
    "item_legal_bases",
    "事项的法律依据",
    "每个事项的每条设定、实施或收费依据一行。",
    (
        IMPL,
        POSITION,
        text("title", "法律法规名称", required=True),
        text("doc_no", "文号"),
        text("article", "条款"),
        text("issuer", "制定机关"),
        col("effective_date", "date", "施行日期"),
        coded("role", "依据类型", LegalRole, "legal_role", required=True),
        text("url", "原文地址"),
    ),
    ("impl_code", "position"),
    (ITEM_FK,),
    rows=legal_basis_rows,
)

FILE_FK = "文件编号，见 files 表；只在文件已发布时给出。"
ITEM_MATERIALS = Table(
    "item_materials",
    "事项的申请材料",
    "每个事项的每份申请材料一行。",
    (
        IMPL,
        POSITION,
        text("name", "材料名称", required=True),
        coded("necessity", "必要性", Necessity, "necessity", required=True),
        coded("kind", "材料类型", MaterialKind, "material_kind"),
        coded("medium", "载体", Medium, "medium"),
        col("copies", "integer", "份数", minimum=0, unit="份"),
        coded("source", "来源", MaterialSource, "material_source"),
        text("acceptance_standard", "受理标准"),
        text("blank_form_file_id", "空白表格", FILE_FK),
        text("sample_file_id", "示例样表", FILE_FK),
        text("legal_basis", "设定依据"),
        text("notes", "备注"),
    ),
    ("impl_code", "position"),
    (
        ITEM_FK,
        ForeignKey(("blank_form_file_id",), "files", ("file_id",)),
        ForeignKey(("sample_file_id",), "files", ("file_id",)),
    ),
    rows=material_rows,
)

ITEM_FEES = Table(
    "item_fees",
    "事项的收费",
    "每个收费事项的每个收费项目一行（不收费的事项没有行）。",
    (
        IMPL,
        POSITION,
        text("name", "收费项目", required=True),
        text("standard", "收费标准", required=True),
        col(
            "amount_cny",
            "decimal",
            "金额",
            "按件固定收费时的金额。",
            minimum=0,
            unit="元",
            precision=(14, 2),
        ),
        text("basis", "收费依据"),
        col("reducible", "boolean", "是否可减免"),
    ),
    ("impl_code", "position"),
    (ITEM_FK,),
    rows=fee_rows,
)

ITEM_STEPS = Table(
    "item_steps",
    "事项的办理流程",
    "每个事项的每个办理步骤一行。",
    (
        IMPL,
        POSITION,
        col(
            "step_order", "integer", "步骤编号", "审批系统中的步骤序号。", required=True, minimum=0
        ),
        text("name", "步骤名称", required=True),
        text("actor", "承办人"),
        col(
            "time_limit_value",
            "decimal",
            "步骤时限",
            "单位见 time_limit_unit。",
            minimum=0,
            precision=(9, 2),
        ),
        coded("time_limit_unit", "步骤时限单位", LIMIT_UNITS, "limit_unit"),
        text("description", "说明"),
    ),
    ("impl_code", "position"),
    (ITEM_FK,),
    rows=step_rows,
)

LIFE_EVENTS = Table(
    "life_events",
    "一件事",
    "把几个事项串起来办的“一件事”，每个一行。",
    (
        text("code", "编码", required=True),
        text("name", "名称", required=True),
        text("description", "说明"),
        listed("audiences", "服务对象", "代码，同 items.audiences。"),
        PAGE,
    ),
    ("code",),
    rows=life_event_rows,
)

LIFE_EVENT_STEPS = Table(
    "life_event_steps",
    "一件事的步骤",
    "每件“一件事”的每个步骤一行。",
    (
        text("life_event_code", "一件事编码", required=True),
        POSITION,
        text("title", "步骤名称", required=True),
        text("description", "说明"),
        listed("impl_codes", "涉及事项的实施编码", "见 items 表。"),
        col("optional", "boolean", "是否可选", required=True),
        text("step_group", "可替代步骤组"),
    ),
    ("life_event_code", "position"),
    (ForeignKey(("life_event_code",), "life_events", ("code",)),),
    rows=life_event_step_rows,
)

FILES = Table(
    "files",
    "表格与样表文件",
    "可下载的空白表格、示例样表和结果样本，每个文件一行。",
    (
        text("file_id", "文件编号", required=True),
        text("title", "标题", required=True),
        text("filename", "文件名", required=True),
        coded("media_type", "文件类型", tuple(sorted(ALLOWED_MEDIA_TYPES)), required=True),
        col("size_bytes", "integer", "大小", required=True, minimum=1, unit="字节"),
        text("sha256", "SHA-256 校验值", required=True, pattern="[0-9a-f]{64}"),
        text("url", "下载地址", required=True),
    ),
    ("file_id",),
    rows=file_rows,
)

COUNT: dict[str, Any] = dict(minimum=0, unit="件")


def measure_columns() -> tuple:
    counts = tuple(col(name, "integer", title, **COUNT) for name, title in MEASURE_COLUMNS)
    days = (
        col(
            "median_days",
            "integer",
            "办理用时中位数",
            "办结件的工作日数。",
            minimum=0,
            unit="工作日",
        ),
        col(
            "p90_days",
            "integer",
            "办理用时 90 分位数",
            "办结件的工作日数。",
            minimum=0,
            unit="工作日",
        ),
    )
    rates = tuple(
        col(name, "decimal", title, "0–1 之间的比例。", minimum=0, maximum=1, precision=(5, 4))
        for name, title in RATE_COLUMNS
    )
    hidden = listed("suppressed", "隐藏的指标", "因件数少于 k 而不公布的指标名。")
    return (*counts, *days, *rates, hidden)


MONTH = col("month", "yearmonth", "申请月份", "按申请提交的月份统计。", required=True)
STATISTICS_NOTE = "空值表示因件数过少而隐藏（见 suppressed 与方法说明）。"

MONTHLY_ITEM_STATISTICS = Table(
    "monthly_item_statistics",
    "事项月度办理统计",
    "每个事项每个已结束月份的办件统计。" + STATISTICS_NOTE,
    (IMPL, text("department_code", "办件所属部门编码", required=True), MONTH, *measure_columns()),
    ("impl_code", "department_code", "month"),
    (ITEM_FK,),
    rows=monthly_item_rows,
    outcome=True,
    coverage="months",
)

MONTHLY_DEPARTMENT_STATISTICS = Table(
    "monthly_department_statistics",
    "部门月度办理统计",
    "每个部门每个已结束月份的办件统计。" + STATISTICS_NOTE,
    (text("department_code", "部门编码", required=True), MONTH, *measure_columns()),
    ("department_code", "month"),
    rows=monthly_department_rows,
    outcome=True,
    coverage="months",
)

SATISFACTION = Table(
    "satisfaction",
    "满意度（好差评）",
    "近 12 个已结束月份的评价次数与各等级次数：全区、每个部门、每个事项各一行。" + STATISTICS_NOTE,
    (
        coded(
            "level",
            "统计范围",
            ("overall", "department", "item"),
            required=True,
            description="overall=全区；department=部门；item=事项。",
        ),
        text("department_code", "部门编码"),
        text("impl_code", "实施编码"),
        col("period_start", "yearmonth", "起始月份", required=True),
        col("period_end", "yearmonth", "结束月份", required=True),
        col("ratings", "integer", "评价次数", required=True, minimum=0, unit="次"),
        *(
            col(f"level_{n}", "integer", f"{n} 星评价次数", label, minimum=0, unit="次")
            for n, label in enumerate(("非常不满意", "不满意", "基本满意", "满意", "非常满意"), 1)
        ),
        col(
            "satisfaction_rate",
            "decimal",
            "满意度",
            "（满意 + 非常满意）÷ 评价次数。",
            minimum=0,
            maximum=1,
            precision=(5, 4),
        ),
        col(
            "suppressed", "boolean", "是否隐藏", "评价少于 k 次时各等级次数不公布。", required=True
        ),
    ),
    rows=satisfaction_rows,
    outcome=True,
    coverage="months",
)

APPLICANT_TYPES = (*codes(Audience), "person", "organisation")
CHANNELS = (*codes(CaseChannel), "online", "offline")
ANONYMISED_CASES = Table(
    "anonymised_cases",
    "匿名化办件记录",
    "在已结束月份办结的办件，每件一行，不含任何直接标识；准标识符逐级泛化，"
    "每个组合至少由 k 条记录共享且不会全部为不利结果。",
    (
        text("row_id", "行号", "每次发布随机生成，不能跨版本关联。", required=True),
        text("closed_month", "办结月份", "YYYY-MM。", required=True, pattern=r"[0-9]{4}-[0-9]{2}"),
        text(
            "submitted_month",
            "申请月份",
            "YYYY-MM；泛化后为 *。",
            required=True,
            pattern=MONTH_OR_STAR,
        ),
        text("department_code", "部门编码", required=True),
        text("impl_code", "实施编码", "泛化后为 *。", required=True),
        coded(
            "applicant_type",
            "申请人类型",
            APPLICANT_TYPES,
            "audience",
            required=True,
            description="泛化后为 person（个人）或 organisation（单位）。",
        ),
        coded(
            "channel",
            "申请渠道",
            CHANNELS,
            required=True,
            description="window=窗口、online_pc=网上、mobile=移动端、post=快递、other=其他；泛化后为 online/offline。",
        ),
        text("street_code", "街镇代码", "泛化后为 *。", required=True),
        coded(
            "result",
            "办理结果",
            codes(CaseResult),
            description="granted=准予许可、denied=不予许可、not_accepted=不予受理、withdrawn=撤回。",
        ),
        col("working_days", "integer", "办理用时", "工作日。", minimum=0, unit="工作日"),
        col("on_time", "boolean", "是否按时办结"),
        text("reason_category", "不予许可或不予受理的原因类别"),
        col(
            "generalisation_level",
            "integer",
            "泛化级别",
            "0 = 未泛化 … 4 = 事项合并到部门。",
            required=True,
            minimum=0,
            maximum=4,
        ),
    ),
    ("row_id",),
    rows=case_rows,
    outcome=True,
    coverage="months",
)

TABLES: tuple[Table, ...] = (
    DEPARTMENTS,
    FILES,
    ITEMS,
    ITEM_LEGAL_BASES,
    ITEM_MATERIALS,
    ITEM_FEES,
    ITEM_STEPS,
    LIFE_EVENTS,
    LIFE_EVENT_STEPS,
    ANONYMISED_CASES,
    MONTHLY_ITEM_STATISTICS,
    MONTHLY_DEPARTMENT_STATISTICS,
    SATISFACTION,
)
"""Every table, in dependency order (a referenced table comes before the tables referring to it)."""


def tables_for(has_outcomes: bool) -> tuple[Table, ...]:
    return tuple(t for t in TABLES if has_outcomes or not t.outcome)


def tables_in(data: Path) -> tuple[Table, ...]:
    """The tables of a release-data folder: the outcome tables only when it has outcomes."""
    return tables_for((data / "outcomes.json").is_file())
