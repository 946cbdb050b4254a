"""An application as the engine sees it: its input, its status, its events and notifications.

These models cross the Temporal boundary (workflow input, query result, activity input) and
are what the read model stores, so they carry no behaviour beyond validation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.actors import Actor, SignoffRole
from domain.calendar import CalendarSnapshot
from domain.clock import Clock
from domain.events import Event, Notification
from domain.fields import FieldValue
from domain.identifiers import credit_code_problem, id_number_problem
from domain.issuing import IssuedLicence
from domain.matter import Channel, Connector, MatterDefinition, SpecialProcedureKind
from domain.states import ApplicationState, SlaLevel, StepState


class Applicant(BaseModel):
    """申请人: a person identified by ID number or a company by its credit code."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(default=None, description="居民身份证号码 (persons)")
    credit_code: str | None = Field(default=None, description="统一社会信用代码 (companies)")
    phone: str = Field(
        pattern=r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$", description="手机号码或固定电话（区号-号码）"
    )

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return _checked(value, id_number_problem)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        return _checked(value, credit_code_problem)

    @model_validator(mode="after")
    def _one_identifier(self) -> Applicant:
        if bool(self.id_number) == bool(self.credit_code):
            raise ValueError("请填写身份证号码（个人）或统一社会信用代码（企业），二者填一项")
        return self

    @property
    def kind(self) -> Literal["person", "company"]:
        return "person" if self.id_number else "company"


def _checked(value: str | None, problem_of: Callable[[str], str | None]) -> str | None:
    if not value:
        return None
    value = value.strip().upper()
    problem = problem_of(value)
    if problem:
        raise ValueError(problem)
    return value


class MaterialSource(StrEnum):
    upload = "upload"  # 上传
    licence = "licence"  # 电子证照库
    sharing = "sharing"  # 数据共享
    paper = "paper"  # 窗口纸质材料

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]


_SOURCE_LABELS = {
    MaterialSource.upload: "上传",
    MaterialSource.licence: "电子证照",
    MaterialSource.sharing: "数据共享",
    MaterialSource.paper: "纸质材料",
}


class MaterialReceipt(BaseModel):
    code: str
    source: MaterialSource
    ref: str = Field(default="", max_length=500, description="file id, licence no., share ref")
    digest: str = Field(default="", description="a licence's content digest, pinned")
    verified: bool = Field(
        default=False,
        description="obtained by the centre itself (a licence found valid in the library, "
        "data sharing): the applicant did not have to bring it (免提交)",
    )


class Tolerance(BaseModel):
    """容缺受理 as the window decides it: the materials accepted missing, and whether the
    applicant signed the commitment to hand them in (容缺承诺书)."""

    missing: list[str] = Field(default_factory=list, max_length=50)
    signed: bool = False


# The engine generation new workflows start under (`ApplicationInput.engine`); each keeps
# the behaviour it started with, so histories replay as recorded (MatterWorkflow.run):
# 1 every change before it on without patched(); 2 an action written once the server has
# recorded it; 3 an SMS sent by the write that records it; 4 a returned step's cards to
# those who reroute it; 5 an opinion-only step deemed approved on its own clock; 6 秒批's
# licence facts cited by number and digest, and none read for an empty holder; every
# department action on a staged step its current stage's; 7 a reminder written when it falls
# due, not with the next event, a completed application's deadlines kept as they were, and
# a pause begun once a clock has run out not moving its deadline.
ENGINE = 7


class ApplicationInput(BaseModel):
    """What a `MatterWorkflow` starts from: the application and the rules pinned to it."""

    application_no: str
    engine: int = Field(
        default=0,
        description="the engine generation the workflow started under (ENGINE when created "
        "now). Histories recorded before it existed read 0: their workflow asks "
        "workflow.patched() for each change made since, as it did when they were recorded",
    )
    matter: MatterDefinition
    calendar: CalendarSnapshot
    applicant: Applicant
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[MaterialReceipt] = Field(default_factory=list)
    channel: Channel
    delivery: Literal["pickup", "express"] = "pickup"
    delivery_address: str | None = Field(default=None, max_length=300)
    accepted_by: Actor
    needs_acceptance: bool = Field(
        default=False,
        description="submitted online: the window accepts it (受理) before any clock starts; "
        "False when accepted in person (accepted_by is the clerk)",
    )
    query_code_digest: str = Field(
        default="", description="HMAC of the applicant's query code; never the code itself"
    )
    connectors: dict[str, Connector] = Field(
        default_factory=dict,
        description="the departments' connectors, as they were on submission",
    )
    local_region: str | None = Field(
        default=None,
        max_length=12,
        description="the township's or village's region whose agent (代办员) accepted it; its "
        "statistics count it there (None: accepted, or applied for, at a centre)",
    )
    refusal: str | None = Field(
        default=None,
        description="不予受理 decided at the window on the spot, with this reason: the case "
        "records the refusal and closes; no clock ever starts",
    )
    tolerance: Tolerance | None = Field(
        default=None, description="容缺受理 decided at the window on the spot (walk-in)"
    )
    commitment_signed: bool = Field(
        default=False,
        description="告知承诺制 chosen by the applicant, with the matter's commitment signed: "
        "decided at acceptance on it, then verified",
    )


# --- status ---------------------------------------------------------------------------


class ExtensionRequest(BaseModel):
    """A department's request for more time, waiting for a supervisor's decision."""

    working_days: int
    reason: str
    requested_by: Actor
    requested_at: datetime


class TaskPush(BaseModel):
    """A task pushed to its department's own system, retried until it acknowledges it."""

    due: datetime = Field(description="still unacknowledged then, the step's card rises")
    acknowledged_at: datetime | None = None
    alarmed: bool = False

    @property
    def label(self) -> str:
        if self.acknowledged_at:
            return "部门系统已接收"
        return "推送失败，重试中" if self.alarmed else "推送中"


class Signoff(BaseModel):
    """One stage of a staged step passed (or the step sent back from it), with the opinion."""

    stage: str
    stage_name: str
    actor: Actor
    at: datetime
    opinion: str
    sent_back: bool = Field(default=False, description="sent back one stage, for `opinion`")


class AutoVerdict(BaseModel):
    """秒批: what the step's rules made of the facts when it opened."""

    decided: bool
    decision: Literal["approve", "reject"] | None = None
    rule_no: int | None = Field(default=None, description="1 for the first rule")
    rule: str | None = None
    reason: str = ""
    facts: dict[str, Any] = Field(
        default_factory=dict, description="exactly the facts the deciding rule read"
    )
    why_not: list[str] = Field(
        default_factory=list, description="undecided: why each rule tried did not decide"
    )


class StepStatus(BaseModel):
    code: str
    name: str
    department: str
    needs: list[str] = Field(default_factory=list)
    state: StepState = StepState.waiting
    sla_level: SlaLevel = SlaLevel.green
    opened_at: datetime | None = None
    deadline: datetime | None = None
    deadline_provisional: bool = False
    paused: bool = False
    working_days_left: float | None = None
    extension_days: int = 0
    extension_request: ExtensionRequest | None = None
    reminded: bool = Field(default=False, description="the day-before reminder was sent")
    push: TaskPush | None = Field(
        default=None, description="the task's push to the department's own system"
    )
    claimed_by: Actor | None = None
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    result: dict[str, FieldValue] = Field(default_factory=dict)
    reason: str | None = None
    clock: Clock | None = None
    returned_reason: str | None = Field(
        default=None, description="退单: why its last department sent it back"
    )
    stage: str | None = Field(
        default=None, description="a staged step's current sign-off stage (its code)"
    )
    stage_name: str | None = None
    stage_role: SignoffRole | None = Field(
        default=None, description="who may act on it now: the current stage's role"
    )
    signoffs: list[Signoff] = Field(default_factory=list, description="stages passed, in order")
    auto_pending: bool = Field(
        default=False, description="秒批: its rules are being applied; nobody may act yet"
    )
    auto: AutoVerdict | None = None


# The step code of a correction the window asks before acceptance (no step opened yet).
BEFORE_ACCEPTANCE = ""


class CorrectionRequest(BaseModel):
    step_code: str = Field(description="the asking step's; BEFORE_ACCEPTANCE: the window's")
    items: list[str]
    reason: str
    requested_by: Actor
    requested_at: datetime


class SuppliedItem(BaseModel):
    item: str
    source: MaterialSource = MaterialSource.upload
    ref: str = ""
    note: str = ""


class CorrectionNotice(BaseModel):
    """一次性告知: every open request of every step, in one notice to the applicant."""

    notice_no: int
    opened_at: datetime
    requests: list[CorrectionRequest]
    answered_at: datetime | None = None
    supplied: list[SuppliedItem] = Field(default_factory=list)
    cancelled: bool = Field(default=False, description="the case closed before an answer")
    # 补正期限 (matters with `correction_answer_days`): a ledger like every other clock, so a
    # new calendar moves the deadline exactly; it restarts with each request the notice takes
    # in, so the applicant always has the whole period for the last thing asked.
    answer_clock: Clock | None = None
    answer_due: datetime | None = None

    @property
    def open(self) -> bool:
        return self.answered_at is None and not self.cancelled

    @property
    def items(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.requests:
            for item in r.items:
                seen.setdefault(item, None)
        return list(seen)


class SupervisionOrder(BaseModel):
    """督办单: a supervisor's written order on a late step; the department answers in writing
    within `answer_days` working days. Its card is its own: yellow as its deadline nears (the
    matter's warning policy), red once it passes unanswered."""

    order_no: int
    step_code: str
    department: str
    issued_by: Actor
    issued_at: datetime
    demand: str
    answer_days: int
    clock: Clock
    due: datetime | None = None
    sla_level: SlaLevel = SlaLevel.green
    answer: str | None = None
    answered_by: Actor | None = None
    answered_at: datetime | None = None
    cancelled: bool = Field(default=False, description="the case closed before an answer")

    @property
    def open(self) -> bool:
        return self.answered_at is None and not self.cancelled


class SpecialProcedure(BaseModel):
    """特别程序 (Art 45) on a step: the working days it needs are its own budget (a ledger
    clock with its own card); while it runs the step's and the matter's clocks stand still."""

    procedure_no: int
    step_code: str
    kind: SpecialProcedureKind
    working_days: int
    reason: str
    started_by: Actor
    started_at: datetime
    clock: Clock
    due: datetime | None = None
    sla_level: SlaLevel = SlaLevel.green
    outcome: str | None = None
    ended_by: Actor | None = None
    ended_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


class OutstandingMaterial(BaseModel):
    code: str
    name: str
    supplied: MaterialReceipt | None = None
    supplied_at: datetime | None = None
    supplied_by: Actor | None = None


class OutstandingMaterials(BaseModel):
    """容缺受理: the materials accepted missing, the applicant's signed promise to hand them in
    by `due` (a ledger clock of the matter's days from acceptance, capped at the promised
    limit), its card (yellow by the warning policy); past it, unanswered, the application is
    terminated. The result is not handed over while any is outstanding."""

    materials: list[OutstandingMaterial]
    accepted_by: Actor
    accepted_at: datetime
    clock: Clock
    due: datetime | None = None
    sla_level: SlaLevel = SlaLevel.green
    completed_at: datetime | None = None
    lapsed_at: datetime | None = None
    cancelled: bool = Field(default=False, description="the case closed otherwise")

    @property
    def open(self) -> bool:
        return self.completed_at is None and self.lapsed_at is None and not self.cancelled

    @property
    def missing(self) -> list[OutstandingMaterial]:
        return [m for m in self.materials if m.supplied is None]


class Verification(BaseModel):
    """核查 (告知承诺制): the department of a step decided on the applicant's commitment checks
    it within its own limit (a ledger clock and card); failed, the decision is revoked."""

    step_code: str
    department: str
    opened_at: datetime
    clock: Clock
    due: datetime | None = None
    sla_level: SlaLevel = SlaLevel.green
    passed: bool | None = None
    findings: str | None = None
    verified_by: Actor | None = None
    verified_at: datetime | None = None
    cancelled: bool = Field(default=False, description="the decision ended otherwise")

    @property
    def open(self) -> bool:
        return self.verified_at is None and not self.cancelled


class Revocation(BaseModel):
    """The decision undone after the grant (a failed verification: 撤销; a 容缺 deadline
    missed: 终止), and the licences it issued revoked in the library."""

    state: ApplicationState
    reason: str
    at: datetime
    by: Actor
    licences_revoked: bool = Field(default=False, description="the library has revoked them")


class Delivery(BaseModel):
    """送达 (行政许可法 Art 44): the result reaches the applicant within the delivery limit,
    counted from the decision; the hand-over at the window or by post stops the clock."""

    clock: Clock
    deadline: datetime | None = None
    sla_level: SlaLevel = SlaLevel.green
    method: Literal["window", "express"] | None = None
    ref: str | None = None
    handed_over_at: datetime | None = None
    handed_over_by: Actor | None = None

    @property
    def done(self) -> bool:
        return self.handed_over_at is not None


class ApplicationStatus(BaseModel):
    application_no: str
    matter_code: str
    matter_name: str
    matter_version: int
    state: ApplicationState
    sla_level: SlaLevel = SlaLevel.green
    received_at: datetime | None = None  # None in histories recorded before 收件 existed
    accepted_at: datetime | None = None
    acceptance_due: datetime | None = Field(
        default=None, description="while received: accepted by law if not decided by then"
    )
    promised_deadline: datetime | None = None
    legal_deadline: datetime | None = None
    deadline_provisional: bool = False
    paused: bool = False
    working_days_left: float | None = None
    extension_days: int = 0
    steps: list[StepStatus]
    corrections: list[CorrectionNotice] = Field(default_factory=list)
    orders: list[SupervisionOrder] = Field(default_factory=list, description="督办单")
    special_procedures: list[SpecialProcedure] = Field(
        default_factory=list, description="特别程序 (Art 45)"
    )
    completed_at: datetime | None = None
    outcome_reason: str | None = None
    calendar_code: str
    calendar_version: str
    promised_clock: Clock | None = None
    legal_clock: Clock | None = None
    delivery: Delivery | None = None
    licences: list[IssuedLicence] = Field(
        default_factory=list, description="licences the granted application issued"
    )
    outstanding: OutstandingMaterials | None = Field(
        default=None, description="容缺受理: materials accepted missing, owed by a deadline"
    )
    on_commitment: bool = Field(default=False, description="告知承诺制: decided on a commitment")
    verifications: list[Verification] = Field(default_factory=list, description="核查 (告知承诺)")
    revocation: Revocation | None = Field(
        default=None, description="the decision undone after the grant, licences revoked"
    )
    revision: int = 0

    def step(self, code: str) -> StepStatus:
        for s in self.steps:
            if s.code == code:
                return s
        raise KeyError(code)

    @property
    def received(self) -> datetime:
        """When the application arrived (older histories only recorded acceptance)."""
        arrived = self.received_at or self.accepted_at
        assert arrived is not None, "an application is received or accepted when it starts"
        return arrived

    @property
    def correction(self) -> CorrectionNotice | None:
        """The open correction notice, if the applicant owes one."""
        last = self.corrections[-1] if self.corrections else None
        return last if last and last.open else None

    @property
    def overdue_steps(self) -> list[str]:
        return [
            s.code for s in self.steps if s.sla_level.rank >= SlaLevel.red.rank and s.state.active
        ]


class Projection(BaseModel):
    """One transition for the read model: the new status, its events and notifications.

    `application` is sent with the first projection only; the rows it fills never change.
    """

    status: ApplicationStatus
    application: ApplicationInput | None = None
    calendar: CalendarSnapshot | None = Field(
        default=None, description="sent when the calendar changed after acceptance"
    )
    events: list[Event] = Field(default_factory=list)
    notifications: list[Notification] = Field(default_factory=list)
    send_sms: list[str] = Field(
        default_factory=list,
        description="the notifications (by id) sent by SMS once written, a first try each "
        "(engine 3); the write answers with those it left unsent",
    )
