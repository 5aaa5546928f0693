"""The export contract (v1) as typed models.

Every entity and field of the approval system's export (see ``docs/export-contract.md``)
is declared here once. ``docs/export-contract.schema.json`` and ``docs/openapi.json`` are
generated from these models (``approvals contract``), so the schema that data providers test
against is the one the pipeline validates with.

Rich-text fields are sanitised while they are validated (``RichText``): no unsanitised upstream
HTML exists past this module. Plain-text fields are stripped of control characters and bounded
in length, so one 5 MB field becomes a problem on one record, not a 5 MB page.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.contract.credit_code import is_valid_credit_code
from pipeline.contract.sanitise import (
    INVISIBLE_CHARS,
    clean_text_noting,
    needs_cleaning,
    sanitise_rich_text,
)

SCHEMA_VERSION = "1"
MAX_TEXT_CHARS = 4_000
MAX_RICH_CHARS = 100_000

_UNSAFE_IN_FILE_NAME = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{INVISIBLE_CHARS}]")
"""Control characters (``\\n`` in a name became a header line), line separators, bidi controls
(U+202E shows ``fdp.exe`` as ``exe.pdf``) and zero-width characters: refused in file names."""
CLEANED = "cleaned"
"""The validation context's key that a text validator sets when it removed invisible characters
or normalised (``model_validate(data, context={})``): the caller reports which fields."""
DROPPED = "dropped"
"""The validation context's key listing the paths of list entries dropped as empty once cleaned
(an alias of invisible characters only): the caller reports each as a warning."""


def _note(info: ValidationInfo) -> None:
    if info.context is not None:
        info.context[CLEANED] = True


def _plain(value: str, info: ValidationInfo) -> str:
    cleaned, changed = clean_text_noting(value)
    if changed:
        _note(info)
    return cleaned


def _rich(value: str, info: ValidationInfo) -> str:
    if needs_cleaning(value):
        _note(info)
    return sanitise_rich_text(value)


def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("不能为空")
    return value


Text = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT_CHARS),
    AfterValidator(_plain),
    AfterValidator(_not_empty),
]
RichText = Annotated[
    str,
    StringConstraints(max_length=MAX_RICH_CHARS),
    AfterValidator(_rich),
]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_.-]{1,64}$")]
"""An identifier that is also safe as a file name: letters, digits, ``_ . -``."""


def _not_a_folder_name(value: str) -> str:
    if value.startswith("."):
        raise ValueError("文件编号不能以 . 开头（. 和 .. 指向上级目录，其余是隐藏目录）")
    return value


FileId = Annotated[Code, AfterValidator(_not_a_folder_name)]
"""A file's id, the folder of its download (``files/<file_id>/``): a ``Code`` that is neither
``.`` nor ``..`` nor hidden."""


def _drop_empty(value: list[str], info: ValidationInfo) -> list[str]:
    """The list without the entries left empty by cleaning, each one noted (see ``DROPPED``)."""
    if all(value):
        return value
    if info.context is not None:
        prefix = info.field_name
        info.context.setdefault(DROPPED, []).extend(
            f"{prefix}.{index}" for index, entry in enumerate(value) if not entry
        )
    return [entry for entry in value if entry]


Alias = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT_CHARS),
    AfterValidator(_plain),
]
"""An entry of a list of plain texts that may lose one (an alias): like ``Text``, but one that is
empty once cleaned is dropped with a warning (``_drop_empty``) instead of failing the record."""
ImplCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$")]
Url = Annotated[HttpUrl, Field(description="http or https URL")]


def _number(value: Decimal) -> int | float:
    """Decimals are JSON numbers in the release data (integers stay integers)."""
    return int(value) if value == value.to_integral_value() else float(value)


Number = PlainSerializer(_number, return_type=int | float, when_used="json")


def _credit_code(value: str) -> str:
    if not is_valid_credit_code(value):
        raise ValueError("不是有效的统一社会信用代码（GB 32100 校验位不符）")
    return value


CreditCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
    AfterValidator(_credit_code),
]


class Contract(BaseModel):
    """Base of every contract model: unknown upstream fields are ignored (the mapping profile
    names what we read), values are validated strictly enough to be published."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


# ---------------------------------------------------------------- code lists


class ItemType(str, Enum):
    licensing = "licensing"
    confirmation = "confirmation"
    payment = "payment"
    inspection = "inspection"
    award = "award"
    adjudication = "adjudication"
    expropriation = "expropriation"
    other_power = "other_power"
    public_service = "public_service"


class Audience(str, Enum):
    natural_person = "natural_person"
    enterprise = "enterprise"
    public_institution = "public_institution"
    social_organisation = "social_organisation"
    government = "government"
    other_org = "other_org"


class ItemStatus(str, Enum):
    in_force = "in_force"
    suspended = "suspended"
    abolished = "abolished"


class DepartmentNature(str, Enum):
    statutory = "statutory"
    authorised = "authorised"
    entrusted = "entrusted"


class Level(str, Enum):
    national = "national"
    provincial = "provincial"
    municipal = "municipal"
    county = "county"
    township = "township"
    village = "village"


class CaseType(str, Enum):
    instant = "instant"
    promise = "promise"


class HandleForm(str, Enum):
    window = "window"
    online_pc = "online_pc"
    mobile = "mobile"
    post = "post"


class OnlineDepth(str, Enum):
    consult = "consult"
    receive = "receive"
    pre_review = "pre_review"
    accept = "accept"
    handle = "handle"
    deliver = "deliver"


class LimitUnit(str, Enum):
    working_days = "working_days"
    calendar_days = "calendar_days"
    months = "months"


class LegalRole(str, Enum):
    setting = "setting"
    implementing = "implementing"
    fee = "fee"


class Necessity(str, Enum):
    required = "required"
    optional = "optional"
    deferrable = "deferrable"


class MaterialKind(str, Enum):
    certificate = "certificate"
    form = "form"
    other = "other"


class Medium(str, Enum):
    paper = "paper"
    electronic = "electronic"
    both = "both"


class MaterialSource(str, Enum):
    applicant = "applicant"
    government = "government"


class ResultType(str, Enum):
    certificate = "certificate"
    approval_document = "approval_document"
    filing = "filing"
    other = "other"


class CaseChannel(str, Enum):
    window = "window"
    online_pc = "online_pc"
    mobile = "mobile"
    post = "post"
    other = "other"


class CaseStatus(str, Enum):
    submitted = "submitted"
    accepted = "accepted"
    in_progress = "in_progress"
    completed = "completed"
    not_accepted = "not_accepted"
    withdrawn = "withdrawn"
    transferred = "transferred"


class CaseResult(str, Enum):
    granted = "granted"
    denied = "denied"
    not_accepted = "not_accepted"
    withdrawn = "withdrawn"


class EvaluationChannel(str, Enum):
    window = "window"
    online_pc = "online_pc"
    mobile = "mobile"
    post = "post"
    other = "other"
    phone = "phone"
    sms = "sms"
    kiosk = "kiosk"


# ---------------------------------------------------------------- departments


class Department(Contract):
    """实施主体."""

    code: CreditCode
    name: Text
    short_name: Text | None = None
    name_en: Text | None = None
    parent_code: CreditCode | None = None
    region_code: Annotated[str, StringConstraints(pattern=r"^[1-8][0-9]{5}$")]
    address: Text | None = None
    phone: Text | None = None
    office_hours: Text | None = None
    website: Url | None = None


# ---------------------------------------------------------------- item parts


class Limit(Contract):
    value: Annotated[Decimal, Field(ge=0, le=3650), Number]
    unit: LimitUnit
    note: Text | None = None


class LegalBasis(Contract):
    title: Text
    doc_no: Text | None = None
    article: Text | None = None
    issuer: Text | None = None
    effective_date: date | None = None
    role: LegalRole
    url: Url | None = None


class Material(Contract):
    name: Text
    necessity: Necessity
    kind: MaterialKind | None = None
    medium: Medium | None = None
    copies: Annotated[int, Field(ge=0, le=100)] | None = None
    source: MaterialSource | None = None
    acceptance_standard: Text | None = None
    blank_form_file_id: Code | None = None
    sample_file_id: Code | None = None
    legal_basis: Text | None = None
    notes: Text | None = None


class Step(Contract):
    order: Annotated[int, Field(ge=0, le=1000)]
    name: Text
    actor: Text | None = None
    time_limit: Limit | None = None
    description: Text | None = None


class Fee(Contract):
    name: Text
    standard: Text
    amount_cny: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2), Number] | None = (
        None
    )
    basis: Text | None = None
    reducible: bool | None = None


class SpecialProcedure(Contract):
    name: Text
    max_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    basis: Text | None = None


class Result(Contract):
    type: ResultType
    name: Text | None = None
    sample_file_id: Code | None = None
    validity: Text | None = None


class Responsible(Contract):
    unit: Text | None = None
    post: Text | None = None
    name: Text | None = None


class Window(Contract):
    address: Text | None = None
    hours: Text | None = None
    phone: Text | None = None
    map_url: Url | None = None


class Channel(Contract):
    """咨询 or 投诉 channel."""

    phones: list[Text] = []
    address: Text | None = None
    url: Url | None = None


class IntermediaryService(Contract):
    name: Text
    basis: Text | None = None


class Faq(Contract):
    question: Text
    answer: RichText


# ---------------------------------------------------------------- items


class Item(Contract):
    """事项: one row of the 实施清单."""

    impl_code: ImplCode
    basic_code: Code
    handle_item_code: Code | None = None
    version: Annotated[int, Field(ge=0)]
    status: ItemStatus
    name: Text
    name_en: Text | None = None
    aliases: Annotated[list[Alias], AfterValidator(_drop_empty)] = []
    item_type: ItemType
    department_code: CreditCode
    department_nature: DepartmentNature | None = None
    joint_departments: list[CreditCode] = []
    level: Level | None = None
    audiences: Annotated[list[Audience], Field(min_length=1)]
    themes: list[Text] = []
    legal_bases: Annotated[list[LegalBasis], Field(min_length=1)]
    conditions: RichText
    prohibitions: RichText | None = None
    materials: list[Material]
    process_steps: Annotated[list[Step], Field(min_length=1)]
    case_type: CaseType
    statutory_limit: Limit
    promised_limit: Limit
    special_procedures: list[SpecialProcedure] = []
    handle_forms: Annotated[list[HandleForm], Field(min_length=1)]
    online_url: Url | None = None
    online_depth: OnlineDepth | None = None
    visits_required: Annotated[int, Field(ge=0, le=20)]
    visits_reason: Text | None = None
    is_charged: bool
    fees: list[Fee] = []
    pay_online: bool | None = None
    result: Result
    responsible: Responsible | None = None
    window: Window | None = None
    consult: Channel
    complaint: Channel
    supervision_measures: RichText | None = None
    quantity_limit: Text | None = None
    intermediary_services: list[IntermediaryService] = []
    faq: list[Faq] = []
    effective_from: date | None = None
    updated_at: AwareDatetime

    @field_validator("audiences", "handle_forms")
    @classmethod
    def _first_of_each(cls, values: list) -> list:
        """Repeats collapse (two upstream codes often map to one contract code, e.g. 企业法人
        and 非法人企业 → enterprise); the order is kept."""
        return list(dict.fromkeys(values))

    @model_validator(mode="after")
    def _contract_rules(self) -> Item:
        if self.is_charged and not self.fees:
            raise ValueError("is_charged 为 true 时必须给出 fees（收费项目）")
        if self.visits_required > 0 and not self.visits_reason:
            raise ValueError("visits_required 大于 0 时必须说明 visits_reason（到现场原因）")
        if not self.materials and self.case_type is not CaseType.instant:
            raise ValueError("materials 只有即办件（case_type=instant）可以为空")
        promised, statutory = self.promised_limit, self.statutory_limit
        if promised.unit == statutory.unit and promised.value > statutory.value:
            raise ValueError(f"承诺时限（{promised.value}）不得超过法定时限（{statutory.value}）")
        return self

    def file_ids(self) -> list[str]:
        """Every file this item refers to, in page order."""
        ids = []
        for material in self.materials:
            ids += [i for i in (material.blank_form_file_id, material.sample_file_id) if i]
        if self.result.sample_file_id:
            ids.append(self.result.sample_file_id)
        return ids


# ---------------------------------------------------------------- files, life events


ALLOWED_MEDIA_TYPES = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}
MAX_FILE_BYTES = 20 * 1024 * 1024

MediaType = Literal[
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "image/jpeg",
    "image/png",
]


class File(Contract):
    file_id: FileId
    title: Text
    filename: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    media_type: MediaType
    size_bytes: Annotated[int, Field(gt=0, le=MAX_FILE_BYTES)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @field_validator("filename")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        if (
            "/" in value
            or "\\" in value
            or value in {".", ".."}
            or value.startswith(".")
            or _UNSAFE_IN_FILE_NAME.search(value)
        ):
            raise ValueError("文件名不能包含路径（/ \\ ..）、控制字符、方向控制字符或零宽字符")
        return unicodedata.normalize("NFC", value)

    @property
    def extension(self) -> str:
        return ALLOWED_MEDIA_TYPES[self.media_type]


class LifeEventStep(Contract):
    title: Text
    description: Text | None = None
    items: list[ImplCode] = []
    optional: bool = False
    group: Text | None = None


class LifeEvent(Contract):
    code: Code
    name: Text
    description: Text | None = None
    audiences: list[Audience] = []
    steps: Annotated[list[LifeEventStep], Field(min_length=1)]


# ---------------------------------------------------------------- cases (outcomes work)


class Case(Contract):
    """办件. Personal fields are read so that they can be dropped and scanned for; never
    published."""

    case_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    impl_code: ImplCode
    item_version: Annotated[int, Field(ge=0)]
    department_code: CreditCode
    applicant_type: Audience
    applicant_name: str | None = None
    applicant_id_type: str | None = None
    applicant_id_number: str | None = None
    applicant_phone: str | None = None
    applicant_address: str | None = None
    street_code: Code | None = None
    channel: CaseChannel
    submitted_at: AwareDatetime
    accepted_at: AwareDatetime | None = None
    promised_due_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    status: CaseStatus
    result: CaseResult | None = None
    special_procedure_days: Annotated[int, Field(ge=0)] | None = None
    result_reason: str | None = None
    updated_at: AwareDatetime


class Evaluation(Contract):
    """好差评. Published only as aggregates."""

    case_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    rated_at: AwareDatetime
    channel: EvaluationChannel | None = None
    level: Annotated[int, Field(ge=1, le=5)]
    comment: str | None = None


# ---------------------------------------------------------------- manifest


class SystemInfo(Contract):
    name: Text
    version: Text | None = None


class Manifest(Contract):
    export_id: Code
    exported_at: AwareDatetime
    system: SystemInfo
    schema_version: Literal["1"]
    counts: dict[str, Annotated[int, Field(ge=0)]]
    sha256: dict[str, Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = {}


ENTITY_MODELS: dict[str, type[Contract]] = {
    "departments": Department,
    "items": Item,
    "life_events": LifeEvent,
    "files": File,
    "cases": Case,
    "evaluations": Evaluation,
}
"""Entity name (as in the manifest's ``counts``) → model."""

ENTITY_KEYS: dict[str, str] = {
    "departments": "code",
    "items": "impl_code",
    "life_events": "code",
    "files": "file_id",
    "cases": "case_id",
    "evaluations": "case_id",
}
"""The field that names a record in problem reports."""

CATALOGUE_ENTITIES = ("departments", "files", "items", "life_events")
