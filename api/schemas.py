"""Request and response bodies of the JSON API (what /docs shows)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
)

from domain.actors import Role, SignoffRole
from domain.application import Applicant, MaterialSource, SuppliedItem
from domain.events import EventKind
from domain.fields import MAX_TEXT, FieldValue
from domain.licences import HolderKind, LicenceStatus
from domain.matter import (
    ApplicantType,
    Channel,
    CommitmentSpec,
    FieldSpec,
    Kind,
    MaterialSpec,
    MatterStatus,
    SpecialProcedureKind,
    StepSpec,
    ToleratedMissing,
)
from domain.matter import Code as DepartmentCode
from domain.ratings import RatingLevel
from domain.reason import Reason, Remark
from domain.regions import RegionLevel
from domain.states import ApplicationState, SlaLevel, StepState


class ApiModel(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)


# --- errors and health ---------------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error the API answers (any 4xx or 5xx status)."""

    error: str = Field(
        description="what went wrong, for programs: invalid_input, unauthorized, forbidden, "
        "not_found, conflict, too_many_requests, engine_unavailable, …"
    )
    message: str = Field(description="in Chinese, to be shown to people as it is")
    details: Any = Field(
        description="422: `[{field, reason}]` for each field; otherwise null or what the "
        "message refers to (e.g. the application a retried submission may already have)"
    )


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, bool] = Field(description="database, temporal: reachable or not")


# --- bounds on what clients send ------------------------------------------------------------
#
# Every string, number, list and map a client sends has a declared bound, checked before
# anything else (422 naming the field): nothing unbounded reaches the database or the engine.

# Task ids are 32-bit integer columns (PostgreSQL's integer).
DB_INT_MAX = 2_147_483_647
# A number in a form or a result: exact in every JSON client (JavaScript's safe integers).
NUMBER_MAX = 2**53 - 1
FIELD_CODE_MAX = 40
FIELDS_MAX = 100


def _field_value(value: str | int | float) -> str | int | float:
    """One check for every kind of field value, so a refusal names the field once."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"内容过长（最多{MAX_TEXT}字）")
    elif not math.isfinite(value) or abs(value) > NUMBER_MAX:
        raise ValueError("数值超出范围")
    return value


# A day in a query (YYYY-MM-DD): bounded in the OpenAPI document as every input is.
Day = Annotated[date, WithJsonSchema({"type": "string", "format": "date", "maxLength": 10})]

FieldValueIn = Annotated[
    StrictStr | StrictInt | StrictFloat,
    AfterValidator(_field_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_TEXT},
                {"type": "integer", "minimum": -NUMBER_MAX, "maximum": NUMBER_MAX},
                {"type": "number", "minimum": -NUMBER_MAX, "maximum": NUMBER_MAX},
            ],
            "description": "a JSON number for `number` fields, otherwise a string",
        }
    ),
]
FieldCode = Annotated[str, StringConstraints(max_length=FIELD_CODE_MAX)]
FieldValuesIn = Annotated[
    dict[FieldCode, FieldValueIn | None], Field(max_length=FIELDS_MAX, description="by field code")
]
Code = Annotated[str, StringConstraints(max_length=40)]
ItemText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ApplicantIn(Applicant):
    """The applicant as a client sends it: the domain's checks, with bounded lengths."""

    id_number: str | None = Field(
        default=None, max_length=18, description="居民身份证号码 (persons)"
    )
    credit_code: str | None = Field(
        default=None, max_length=18, description="统一社会信用代码 (companies)"
    )
    phone: str = Field(
        max_length=20,
        pattern=r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$",
        description="手机号码或固定电话（区号-号码）",
    )


class SuppliedItemIn(SuppliedItem):
    """One item of a correction notice, answered."""

    item: str = Field(max_length=200, description="the item as the notice names it")
    ref: str = Field(default="", max_length=500, description="an uploaded file's reference")
    note: str = Field(default="", max_length=MAX_TEXT)


# --- catalogue ---------------------------------------------------------------------------


class MatterSummary(ApiModel):
    code: str
    name: str
    version: int
    kind: Kind
    promised_limit_days: int
    legal_limit_days: int
    lead_department: str
    lead_department_name: str
    channels: list[Channel]
    materials_count: int
    status: MatterStatus = Field(description="the version's lifecycle: 新增, 变更, 暂停, 取消")
    status_label: str
    effective_from: date = Field(description="the day this version took effect")


class CatalogueEntryView(MatterSummary):
    """An entry of the catalogue: a matter as one region lists it, at one level."""

    base_code: str = Field(description="the matter it lists (of the base list, or hand-made)")
    region_code: str
    region_name: str = Field(description="马鞍山市当涂县姑孰镇")
    level: RegionLevel
    level_label: str
    department: str
    department_name: str
    agency: str = Field(description="who handles it there")
    keywords: list[str]
    online: bool = Field(description="可网上办理 (online or on a phone)")
    demo: bool = Field(description="demonstration data: no guide, cannot be applied for")
    guide_url: str | None = Field(description="its guide (办事指南), for a hand-made matter")


class MatterPage(ApiModel):
    """One page of the catalogue, the best matches first, and how many there are in all."""

    items: list[CatalogueEntryView]
    total: int
    page: int
    page_size: int
    pages: int


class StepGuide(StepSpec):
    department_name: str


class DepartmentRef(ApiModel):
    code: str
    name: str


class MatterGuide(MatterSummary):
    """办事指南."""

    description: str
    legal_basis: str
    fee: str
    applicant_types: list[ApplicantType]
    materials: list[MaterialSpec]
    form: list[FieldSpec]
    steps: list[StepGuide]
    departments: list[DepartmentRef]
    supplement_pauses_clock: bool
    max_extension_days: int
    tolerated_missing: ToleratedMissing | None = Field(
        default=None, description="容缺受理: minor materials the window may accept missing"
    )
    commitment: CommitmentSpec | None = Field(
        default=None, description="告知承诺制: the commitment an applicant may choose to sign"
    )


# --- applications ------------------------------------------------------------------------


class MaterialIn(ApiModel):
    code: Code
    source: MaterialSource
    ref: str = Field(default="", max_length=500)


class SubmissionIn(ApiModel):
    matter_code: Code
    applicant: ApplicantIn
    form: FieldValuesIn = Field(default_factory=dict)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=100)
    channel: Literal["online", "mobile", "window"] = "online"
    delivery: Literal["pickup", "express"] = "pickup"
    delivery_address: str | None = Field(default=None, max_length=300)
    commitment_signed: bool = Field(
        default=False,
        description="告知承诺制: the applicant chose it and signed the matter's commitment; "
        "decided at acceptance on it, then verified by the departments",
    )


class OnlineSubmissionIn(SubmissionIn):
    """Online or on mobile: to the city's centre, or to a county's as the catalogue lists the
    matter there."""

    region_code: str | None = Field(
        default=None,
        pattern=r"^\d{6}$",
        max_length=6,
        description="办理地: the county-level division whose centre it is made to (its six "
        "digits begin the application number, its window accepts it, its departments handle "
        "it as the matter's implementation says); the city's centre when absent",
    )


class ToleranceIn(ApiModel):
    """容缺受理: materials accepted missing, on the applicant's signed commitment."""

    missing: list[Code] = Field(default_factory=list, max_length=50)
    signed: bool = Field(default=False, description="the applicant signed the 容缺承诺书")


class WindowSubmissionIn(SubmissionIn):
    """At the window: the clerk accepts (受理) or refuses (不予受理, with a reason)."""

    channel: Literal["online", "mobile", "window"] = "window"
    decision: Literal["accept", "refuse"] = "accept"
    reason: Remark = Field(default="", description="required to refuse")
    tolerance: ToleranceIn | None = Field(default=None, description="容缺受理")


class AcceptIn(ApiModel):
    """受理 of an application submitted online, with materials accepted missing (容缺受理)."""

    tolerance: ToleranceIn | None = None


class MissingMaterialsIn(ApiModel):
    """容缺材料补齐: the materials accepted missing, handed in (uploaded files by the
    applicant; paper at the window)."""

    materials: list[MaterialIn] = Field(min_length=1, max_length=50)


class VerificationIn(ApiModel):
    """核查结果 (告知承诺制): the commitment kept (passed) or not, and what was found."""

    passed: bool
    findings: Reason


class Receipt(ApiModel):
    """受理回执: what the applicant needs to follow the application."""

    application_no: str
    query_code: str
    state: ApplicationState
    matter_code: str
    matter_name: str
    received_at: datetime
    accepted_at: datetime | None = Field(description="None until the window accepts it")
    acceptance_due: datetime | None = Field(description="accepted by law if not decided by then")
    promised_deadline: datetime | None
    deadline_provisional: bool
    status_url: str


class RefusalNotice(ApiModel):
    """不予受理 at the window: on record with its reason; the applicant can look it up."""

    application_no: str
    query_code: str
    state: Literal[ApplicationState.not_accepted] = ApplicationState.not_accepted
    reason: str
    status_url: str


class StepView(ApiModel):
    code: str
    name: str
    department: str
    department_name: str
    state: StepState
    state_label: str
    sla_level: SlaLevel
    opened_at: datetime | None
    deadline: datetime | None
    deadline_provisional: bool
    paused: bool
    decided_at: datetime | None
    result: dict[str, FieldValue] = Field(default_factory=dict)
    reason: str | None = None
    push: str | None = Field(
        default=None, description="the task's push to its department's own system, if it has one"
    )
    stage_name: str | None = Field(
        default=None, description="分级签署: the level the step waits at (承办, 审核, 批准)"
    )


class CorrectionReason(ApiModel):
    step_code: str
    reason: str


class SuppliedView(ApiModel):
    """One item of an answer to a correction notice: an upload (`ref`: `upload:…`, opened at
    /files/… by staff who may see the application), paper at the window, or a note."""

    item: str
    source: str
    ref: str
    note: str


class CorrectionView(ApiModel):
    notice_no: int
    opened_at: datetime
    items: list[str]
    reasons: list[CorrectionReason]
    answered_at: datetime | None = None
    answer_due: datetime | None = Field(
        default=None, description="补正期限: unanswered by then, the application is terminated"
    )
    supplied: list[SuppliedView] = Field(default_factory=list, description="the answer")


class NextAction(ApiModel):
    code: Literal[
        "supply_correction", "supply_missing", "wait", "collect_result", "receive_express", "none"
    ] = Field(
        description="supply_missing: materials accepted missing (容缺受理) are owed by a deadline"
    )
    text: str


class RatingIn(ApiModel):
    level: RatingLevel
    reason: Remark = Field(default="", description="required for a bad rating")


class RatingView(ApiModel):
    level: RatingLevel
    label: str
    reason: str
    rated_at: datetime
    follow_up_due: datetime | None
    followed_up_at: datetime | None


class HandoverIn(ApiModel):
    method: Literal["window", "express"]
    ref: str = Field(default="", max_length=100, description="express tracking no. or signer")


class PendingApplication(ApiModel):
    """An application submitted online, waiting for the window's decision on acceptance."""

    application_no: str
    matter_code: str
    matter_name: str
    applicant_name: str
    applicant_phone: str
    channel: str
    received_at: datetime
    acceptance_due: datetime | None


class AcceptanceRefusalIn(ApiModel):
    reason: Reason


class HandoverItem(ApiModel):
    application_no: str
    matter_name: str
    applicant_name: str
    applicant_phone: str
    delivery: str
    delivery_address: str | None
    completed_at: datetime | None


class HandoverView(ApiModel):
    method: str
    ref: str | None
    at: datetime
    by: str | None


class LicenceIssued(ApiModel):
    """A licence the granted application issued (or could not)."""

    type: str
    type_name: str
    number: str
    issued: bool
    problem: str | None = None
    verify_url: str | None = None
    revoked: bool = Field(
        default=False,
        description="revoked in the library because the decision was undone (撤销, or 终止 "
        "after the grant): its verify page shows it 已注销",
    )
    replaced: str | None = Field(
        default=None,
        description="换发: the number of the licence this one replaced, revoked with its issue "
        "(valid again if the decision is undone)",
    )


class OwedMaterialView(ApiModel):
    """A material accepted missing (容缺受理), and whether it was handed in."""

    code: str
    name: str
    handed_in: bool = Field(description="handed in (uploaded by the applicant, or at the window)")
    handed_in_at: datetime | None = Field(default=None, description="when it was handed in")
    source: MaterialSource | None = Field(default=None, description="how it was handed in")
    handed_in_by: str | None = Field(default=None, description="who recorded it")


class OutstandingView(ApiModel):
    """容缺受理通知书: the materials accepted missing on the applicant's signed commitment, owed
    by `due`; past it with any still missing, the application is terminated (终止), and after
    a grant its licences are revoked. The result is not handed over while any is owed."""

    materials: list[OwedMaterialView] = Field(description="every material accepted missing")
    missing: list[str] = Field(description="names of those still owed")
    accepted_at: datetime = Field(description="受理 with them missing")
    accepted_by: str = Field(description="the clerk who accepted")
    due: datetime | None = Field(description="补齐期限: the end of office hours of its last day")
    sla_level: SlaLevel = Field(description="the deadline's card (yellow as it nears)")
    open: bool = Field(description="still owed: neither all handed in, nor lapsed, nor cancelled")
    completed_at: datetime | None = Field(description="all handed in then")
    lapsed_at: datetime | None = Field(description="the deadline passed with some still owed")
    cancelled: bool = Field(description="the application ended otherwise (nothing owed now)")


class VerificationView(ApiModel):
    """核查 (告知承诺制): a step decided on the applicant's commitment, verified by its
    department by `due`; failed, the decision is revoked (已撤销) with its licences."""

    step_code: str
    step_name: str
    department: str
    department_name: str
    opened_at: datetime = Field(description="the decision on the commitment: the clock starts")
    due: datetime | None = Field(description="核查期限: the end of office hours of its last day")
    sla_level: SlaLevel = Field(description="the verification's own card")
    outcome: Literal["pending", "passed", "failed", "cancelled"] = Field(
        description="pending: still to verify; cancelled: the decision ended otherwise"
    )
    outcome_label: str = Field(description="核查中, 核查通过, 核查不符, 已取消")
    findings: str | None = Field(default=None, description="what the department found")
    verified_by: str | None = None
    verified_at: datetime | None = None


class RevocationView(ApiModel):
    """The granted decision undone: 撤销 (a failed verification) or 终止 (materials accepted
    missing not handed in by their deadline), with the licences it issued revoked."""

    state: ApplicationState = Field(description="revoked (已撤销) or terminated (已终止)")
    state_label: str
    reason: str = Field(description="why, as the applicant was told")
    at: datetime = Field(description="when the decision was undone")
    by: str = Field(description="who undid it (the verifying officer, or 系统 at a deadline)")
    licences_revoked: bool = Field(
        description="the library has revoked the licences (false for a moment after `at`)"
    )
    licences: list[LicenceIssued] = Field(
        default_factory=list, description="the licences the decision issued, now revoked"
    )


class ApplicationView(ApiModel):
    """An application as its applicant sees it (status polling)."""

    application_no: str
    matter_code: str
    matter_name: str
    state: ApplicationState
    state_label: str
    sla_level: SlaLevel
    channel: Channel
    delivery: str
    applicant_name: str
    received_at: datetime
    accepted_at: datetime | None
    acceptance_due: datetime | None
    promised_deadline: datetime | None
    deadline_provisional: bool
    paused: bool
    completed_at: datetime | None
    outcome_reason: str | None
    steps: list[StepView]
    correction: CorrectionView | None
    next_action: NextAction
    handover: HandoverView | None = None
    rating: RatingView | None = None
    licences: list[LicenceIssued] = Field(default_factory=list)
    delivery_deadline: datetime | None = Field(
        default=None, description="granted: by when the result reaches the applicant (Art 44)"
    )
    outstanding: OutstandingView | None = Field(
        default=None, description="容缺受理: the materials accepted missing, owed by a deadline"
    )
    on_commitment: bool = Field(
        default=False, description="告知承诺制: decided at acceptance on the signed commitment"
    )
    verifications: list[VerificationView] = Field(
        default_factory=list, description="核查 of each step decided on the commitment"
    )
    revocation: RevocationView | None = Field(
        default=None, description="the decision undone after the grant, licences revoked"
    )


class SupplyIn(ApiModel):
    items: list[SuppliedItemIn] = Field(min_length=1, max_length=100)
    note: Remark = ""


class WithdrawIn(ApiModel):
    reason: Remark = ""


# --- department tasks --------------------------------------------------------------------


class ExtensionRequestView(ApiModel):
    """A department's pending request for more time."""

    working_days: int
    reason: str
    requested_by: str
    requested_at: datetime


class TaskView(ApiModel):
    id: int
    application_no: str
    matter_code: str
    matter_name: str
    step_code: str
    step_name: str
    department: str
    state: StepState
    state_label: str
    sla_level: SlaLevel
    deadline: datetime | None
    deadline_provisional: bool
    paused: bool
    working_days_left: float | None
    claimed_by: str | None
    accepted_at: datetime
    result_fields: list[FieldSpec]
    extension_request: ExtensionRequestView | None = Field(
        default=None, description="the department's request for more time, while pending"
    )
    stage: StageView | None = Field(
        default=None, description="分级签署: the stage the task waits at (None: no stages)"
    )
    verification: VerificationView | None = Field(
        default=None,
        description="告知承诺制: this step's verification (核查) by its department, if decided "
        "on the commitment; while `pending` the department records it",
    )
    outstanding: OutstandingView | None = Field(
        default=None, description="容缺受理: the application's materials accepted missing"
    )
    revocation: RevocationView | None = Field(
        default=None, description="the application's decision undone after the grant"
    )


class StageView(ApiModel):
    """The sign-off stage a task waits at, and who may act on it."""

    code: str
    name: str
    role: SignoffRole
    role_label: str
    number: int = Field(description="1 for the first stage")
    of: int = Field(description="how many stages the step has")
    last: bool = Field(description="the stage that approves or rejects")


class SignoffView(ApiModel):
    stage: str
    stage_name: str
    by: str
    at: datetime
    opinion: str
    sent_back: bool


class AutoVerdictView(ApiModel):
    """秒批: what the step's rules decided, with the rule and the facts it read."""

    decided: bool
    decision: Literal["approve", "reject"] | None
    rule_no: int | None
    rule: str | None
    reason: str
    facts: dict[str, Any]
    why_not: list[str]


class ApplicantView(ApiModel):
    name: str
    kind: ApplicantType
    id: str = Field(description="ID number or credit code")
    phone: str


class MaterialView(ApiModel):
    code: str
    name: str
    required: bool
    source: MaterialSource
    ref: str


class SpecialKindView(ApiModel):
    """A kind of 特别程序 the step's definition allows its department to start."""

    kind: SpecialProcedureKind
    label: str


class SpecialProcedureView(ApiModel):
    """特别程序 (Art 45) on a step: its own budget of working days, due date and card."""

    procedure_no: int
    kind: SpecialProcedureKind
    kind_label: str
    working_days: int
    reason: str
    started_by: str
    started_at: datetime
    due: datetime | None
    sla_level: SlaLevel
    outcome: str | None
    ended_by: str | None
    ended_at: datetime | None
    open: bool


class OrderView(ApiModel):
    """督办单 on a step: what the supervisor asked, by when it is answered, its own card."""

    order_no: int
    department: str
    demand: str
    answer_days: int
    issued_by: str
    issued_at: datetime
    due: datetime | None
    sla_level: SlaLevel
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    open: bool
    cancelled: bool = Field(description="the case closed before the order was answered")


class TaskDetail(TaskView):
    applicant: ApplicantView
    form: dict[str, FieldValue]
    form_labels: dict[str, str]
    materials: list[MaterialView]
    corrections: list[CorrectionView]
    result: dict[str, FieldValue]
    reason: str | None
    extension_days: int
    signoffs: list[SignoffView] = Field(
        default_factory=list, description="分级签署: the stages signed, in order"
    )
    auto: AutoVerdictView | None = Field(default=None, description="秒批: the rules' verdict")
    special_kinds: list[SpecialKindView] = Field(
        default_factory=list, description="特别程序: the kinds the step's definition allows"
    )
    special_procedures: list[SpecialProcedureView] = Field(
        default_factory=list, description="特别程序 on this step, in order (the open one last)"
    )
    orders: list[OrderView] = Field(default_factory=list, description="督办单 on this step")


class StagePassIn(ApiModel):
    """分级签署: the opinion of the stage passed on to the next."""

    opinion: Reason


class StageSendBackIn(ApiModel):
    """Why the step goes back one stage."""

    reason: Reason


class AcceptanceCorrectionIn(ApiModel):
    """受理前补正告知: everything the applicant must correct, at once (一次性告知)."""

    items: list[ItemText] = Field(min_length=1, max_length=50, description="what to correct")
    reason: Reason


class DecisionIn(ApiModel):
    decision: Literal["approve", "reject", "request_supplement"]
    result: FieldValuesIn = Field(default_factory=dict, description="approve: the result fields")
    reason: Remark = Field(default="", description="reject and request_supplement: required")
    items: list[ItemText] = Field(
        default_factory=list, max_length=50, description="request_supplement: what to supply"
    )
    comment: Remark = ""


# --- supervision -------------------------------------------------------------------------


class SupervisedApplication(ApiModel):
    application_no: str
    matter_code: str
    matter_name: str
    state: ApplicationState
    state_label: str
    sla_level: SlaLevel
    applicant_name: str
    channel: Channel
    received_at: datetime
    accepted_at: datetime | None
    promised_deadline: datetime | None
    completed_at: datetime | None
    overdue_steps: list[str]
    overdue_step_names: list[str]
    temporal_url: str


class TimelineEvent(ApiModel):
    seq: int
    at: datetime
    kind: EventKind
    label: str = Field(description="the kind, in Chinese")
    actor: str
    actor_role: Role
    step_code: str | None
    payload: dict[str, Any]


class DepartmentFigures(ApiModel):
    department: str
    department_name: str
    open: int
    open_by_card: dict[str, int] = Field(
        default_factory=dict, description="the open steps by card (green, yellow, red, …)"
    )
    overdue: int
    completed: int
    on_time: int
    on_time_rate: float | None


class CatalogueFigures(ApiModel):
    """The seed's service-list figures, from the definitions."""

    matters: int
    online_share: float = Field(description="网上可办率: matters that can be applied for online")
    average_promised_limit_days: float = Field(description="平均承诺时限")
    average_materials: float = Field(description="平均申请材料 (asked of the applicant)")


class Overview(ApiModel):
    open_by_sla: dict[str, int]
    applications_by_state: dict[str, int]
    by_channel: dict[str, int]
    departments: list[DepartmentFigures]
    completed: int
    completed_on_time: int
    on_time_rate: float | None
    materials_total: int
    materials_not_asked: int = Field(
        description="免提交: verified by the centre itself (a valid licence, data sharing)"
    )
    ratings: dict[str, int]
    bad_reviews_pending: int
    bad_reviews_overdue: int
    deliveries_pending: int = Field(description="granted, the result not yet handed over")
    deliveries_overdue: int = Field(description="of those, past the delivery limit (Art 44)")
    online_share: float | None = Field(description="share of applications made online or on mobile")
    catalogue: CatalogueFigures


class StatisticsFigures(ApiModel):
    """The seed's statistics of a region (and what lies under it), level and period. Rates are
    between 0 and 1 (None when there is nothing to divide by). Each figure's definition is
    in docs/domain.md ("Statistics") and beside it on /supervision/statistics."""

    applications: int = Field(description="办件量: applications received in the period")
    online_available_rate: float | None = Field(description="网上可办率 (the catalogue)")
    one_network_rate: float | None = Field(description="一网通办率")
    fully_online_rate: float | None = Field(description="全程网办率")
    one_window_rate: float | None = Field(description="一窗受理率")
    at_most_one_visit_rate: float | None = Field(description="最多跑一次率")
    average_promised_days: float | None = Field(description="平均承诺时限, working days")
    average_materials: float | None = Field(description="平均申请材料数 (the catalogue)")
    on_time_rate: float | None = Field(description="按时办结率")
    early_rate: float | None = Field(description="提前办结率")
    ratings: dict[RatingLevel, int] = Field(description="好差评: applications by rating level")


class ReviewView(ApiModel):
    """A bad review and its follow-up (差评整改)."""

    application_no: str
    matter_name: str
    applicant_name: str
    level: RatingLevel
    label: str
    reason: str
    rated_at: datetime
    follow_up_due: datetime | None
    followed_up_at: datetime | None
    followed_up_by: str | None
    follow_up_note: str | None


class FollowUpIn(ApiModel):
    note: Reason


class ExtensionRefusalIn(ApiModel):
    reason: Reason


class ReturnIn(ApiModel):
    """退单: why the step is not the department's business."""

    reason: Reason


class RerouteIn(ApiModel):
    """改派: the department that takes the returned step over."""

    department: DepartmentCode
    reason: Remark = ""


class OrderIn(ApiModel):
    """督办单: the days the department has for its written answer, and what is demanded."""

    working_days: int = Field(ge=1, le=10)
    demand: Reason


class OrderAnswerIn(ApiModel):
    answer: Reason


class SpecialIn(ApiModel):
    """特别程序 (Art 45): its kind, the working days it needs, and why."""

    kind: SpecialProcedureKind
    working_days: int = Field(ge=1, le=60)
    reason: Reason


class SpecialEndIn(ApiModel):
    outcome: Reason


class ExtensionIn(ApiModel):
    working_days: int = Field(ge=1, le=60)
    reason: Reason


class Me(ApiModel):
    username: str
    display_name: str
    role: Role
    department: str | None


class TokenOut(ApiModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# --- electronic licences -----------------------------------------------------------------


class LicenceVerification(ApiModel):
    """What a licence's QR code shows anyone: a person's name masked."""

    number: str
    type: str
    type_name: str
    holder_name: str = Field(description="a person's name masked (张*); an organisation's in full")
    holder_kind: HolderKind
    issuer: str
    issued_on: date
    valid_until: date | None = Field(description="None: long-term")
    status: LicenceStatus


class LicenceDetail(LicenceVerification):
    """A licence in full: for its holder, and for staff with a reason to see it."""

    holder_name_full: str
    holder_id: str
    fields: dict[str, FieldValue]
    field_labels: dict[str, str]
    application_no: str | None = Field(description="the application that issued it, if any")
    digest: str
    revoked_at: datetime | None = None
    revoke_reason: str | None = None
    pinned_digest: str | None = Field(
        default=None, description="opened from an application: the digest it pinned"
    )


class RevocationIn(ApiModel):
    reason: Reason


# --- staff inbox -------------------------------------------------------------------------


class InboxMessage(ApiModel):
    id: str
    application_no: str
    at: datetime
    kind: str
    subject: str
    body: str
    recipient: str
    read: bool


class Inbox(ApiModel):
    unread: int
    messages: list[InboxMessage]


class ReadIn(ApiModel):
    ids: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        default=None, max_length=500, description="the messages to mark read; none: all"
    )


class Marked(ApiModel):
    marked: int


# --- the event feed and deliveries -------------------------------------------------------


class FeedPage(ApiModel):
    """Events as CloudEvents 1.0 (structured JSON), in feed order; `next` resumes after them."""

    events: list[dict[str, Any]]
    next: int = Field(description="pass as `after` to continue; the same when nothing is new")


class SmsFigures(ApiModel):
    pending: int
    sent: int
    failed: int


class UndeliveredMessage(ApiModel):
    id: str
    application_no: str
    at: datetime
    kind: str
    text: str
    state: str
    attempts: int
    last_error: str | None


class FailingPush(ApiModel):
    task_id: int
    application_no: str
    step_name: str
    department: str
    attempts: int
    error: str | None


class SubscriptionView(ApiModel):
    id: int
    url: str
    types: list[str]
    delivered: int
    last_delivered_at: datetime | None
    failing: bool = Field(description="failing for longer than the configured time")
    failing_since: datetime | None
    last_error: str | None
    behind: int = Field(description="events placed in the feed and not yet sent")


class DeliveryReport(ApiModel):
    sms: SmsFigures
    undelivered: list[UndeliveredMessage]
    pushes_failing: list[FailingPush]
    subscriptions: list[SubscriptionView]
