"""A matter (事项) and the departments that handle its steps: the vocabulary of definitions.

The model is domain language shared by the workflow, the API and the loaders. Reading YAML
into it is `definitions`' job: this schema is stage one of validation (shape and types), and
`definitions.catalogue` is stage two (meaning across fields and files). A definition is
pinned, whole, into every application accepted under it, so these models are also part of
the workflow's input.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from domain.actors import SignoffRole
from domain.regions import RegionLevel

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
# A value of an application, named where it lives: `applicant.id`, `applicant.name`,
# `form.<field>` or `<step>.<result field>`; for prefilling a form also `identity.<claim>`
# and `licence.<licence type>.<field>` (see domain.references).
ValueRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,2}$", max_length=100)
]

# Art 42 of the Administrative Licensing Law: an extension adds at most 10 working days to a
# 20-day limit, or 15 to a 45-day joint handling limit (联合办理, more than one department).
# No definition may promise more.
MAX_EXTENSION_DAYS_BY_LAW = 10
MAX_EXTENSION_DAYS_JOINT = 15


# A matter's versions take effect on calendar days in China: from midnight, Beijing time.
LIFECYCLE_ZONE = ZoneInfo("Asia/Shanghai")
# A definition that says nothing of its lifecycle was added long before any application.
IN_FORCE_SINCE = date(2000, 1, 1)


ApplicantType = Literal["person", "company"]
APPLICANT_TYPES: tuple[ApplicantType, ...] = ("person", "company")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Kind(StrEnum):
    immediate = "immediate"  # 即办件: accepted and finished the same day
    promised = "promised"  # 承诺件: finished by a promised date


class Channel(StrEnum):
    online = "online"  # 网上办 (web portal)
    mobile = "mobile"  # 掌上办 (mobile)
    window = "window"  # 窗口办 (service hall window)

    @property
    def label(self) -> str:
        return {"online": "网上办", "mobile": "掌上办", "window": "窗口办"}[self.value]


class MatterStatus(StrEnum):
    """What a version of a matter does to it (事项动态管理: 新增、变更、暂停、取消)."""

    added = "added"  # 新增
    changed = "changed"  # 变更
    suspended = "suspended"  # 暂停: listed, but no new applications
    cancelled = "cancelled"  # 取消: gone from the catalogue

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def offered(self) -> bool:
        """New applications are taken."""
        return self in (MatterStatus.added, MatterStatus.changed)


_STATUS_LABELS = {
    MatterStatus.added: "新增",
    MatterStatus.changed: "变更",
    MatterStatus.suspended: "暂停",
    MatterStatus.cancelled: "取消",
}


class OnOverdue(StrEnum):
    escalate = "escalate"
    deem_approved = "deem_approved"  # 逾期未反馈视为同意: opinion-only steps


class FieldType(StrEnum):
    text = "text"
    textarea = "textarea"
    number = "number"
    date = "date"
    select = "select"
    phone = "phone"
    id_number = "id_number"
    credit_code = "credit_code"


class FieldSpec(Strict):
    """A field an applicant fills in, or a result a department enters when it approves."""

    code: Code
    label: str
    type: FieldType = FieldType.text
    required: bool = True
    options: list[str] = Field(default_factory=list)
    help: str = ""
    prefill: ValueRef | None = Field(
        default=None,
        description="秒填: for a signed-in applicant, the value is taken from identity.<claim> "
        "or licence.<licence type>.<field>",
    )
    applicants_own: bool = Field(
        default=False,
        description="an id_number or credit_code field that names the applicant itself (the "
        "taxpayer of a tax clearance): refused unless it is the applicant's own identifier",
    )


class MaterialSpec(Strict):
    code: Code
    name: str
    required: bool = True
    licence_type: Code | None = Field(
        default=None, description="an electronic licence of this type replaces the material"
    )
    shared: bool = Field(
        default=False, description="obtainable by data sharing: never asked of the applicant"
    )
    holder: ValueRef = Field(
        default="applicant.id",
        description="whose licence replaces the material: the applicant, or a form field "
        "holding an ID number or credit code (an agent's, a legal representative's)",
    )
    matches: dict[Code, ValueRef] = Field(
        default_factory=dict,
        description="licence field -> the application's value it must equal (a title "
        "certificate's unit_no: form.unit_no): the licence cited or found must be the one "
        "of what the application is about, not only the holder's",
    )


class WarningPolicy(Strict):
    """When a clock turns yellow. The defaults here are the one place they are set."""

    yellow_share: float = Field(default=0.8, gt=0, lt=1, description="share of the time limit used")
    yellow_days_left: float | None = Field(
        default=None, gt=0, description="or: at most this many working days left"
    )


class SpecialProcedureKind(StrEnum):
    """特别程序 (行政许可法 Art 45): their time does not count toward the limits."""

    hearing = "hearing"  # 听证
    inspection = "inspection"  # 检验
    testing = "testing"  # 检测
    appraisal = "appraisal"  # 鉴定
    expert_review = "expert_review"  # 专家评审

    @property
    def label(self) -> str:
        return _SPECIAL_LABELS[self]


_SPECIAL_LABELS = {
    SpecialProcedureKind.hearing: "听证",
    SpecialProcedureKind.inspection: "检验",
    SpecialProcedureKind.testing: "检测",
    SpecialProcedureKind.appraisal: "鉴定",
    SpecialProcedureKind.expert_review: "专家评审",
}


class ToleratedMissing(Strict):
    """容缺受理: the window may accept with these minor materials missing, against the
    applicant's signed commitment to hand them in within `days` working days of acceptance
    (never beyond the promised deadline); past that, unanswered, the application ends."""

    materials: list[Code] = Field(min_length=1, description="codes of the matter's materials")
    days: int = Field(ge=1, description="working days from acceptance to hand them in")


class CommitmentSpec(Strict):
    """告知承诺制: the applicant may choose to be decided on a written commitment (`text`,
    what they sign); every step is then decided at acceptance on it, and each step's
    department verifies the commitment (核查) within `verification_days` working days."""

    text: str = Field(min_length=1, max_length=2000, description="承诺书: what the applicant signs")
    verification_days: int = Field(ge=1, le=60, description="核查: working days from the decision")


class StageSpec(Strict):
    """A sign-off level of a step inside its department (承办 → 审核 → 批准), passed by a
    member of the department holding `role`."""

    code: Code
    name: str
    role: SignoffRole


# A fact a 秒批 rule reads: `form.<field>`, `applicant.<id|name|phone>`, `<step>.<result
# field>` of a step this one needs, `licence.<type>` (the holder has a valid licence of that
# type in the library) or `licence.<type>.<field>` (a field of that licence).
FactRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,2}$", max_length=100)
]
RuleValue = StrictStr | StrictInt | StrictFloat


class RuleOp(StrEnum):
    eq = "eq"
    ne = "ne"
    lt = "lt"
    le = "le"
    gt = "gt"
    ge = "ge"
    in_ = "in"  # one of a list of values
    present = "present"  # the fact exists (a form field filled in, a valid licence held)
    absent = "absent"

    @property
    def takes(self) -> str:
        """What its `value` is: a scalar, a list, or nothing."""
        if self in (RuleOp.present, RuleOp.absent):
            return "none"
        return "list" if self is RuleOp.in_ else "scalar"


class Condition(Strict):
    """One test of a rule on one fact: `{fact: form.gas_demand, op: le, value: 50}`."""

    fact: FactRef
    op: RuleOp
    value: RuleValue | list[RuleValue] | None = None
    holder: ValueRef = Field(
        default="applicant.id",
        description="licence facts: whose licence (the applicant, or a form field holding "
        "an ID number or credit code)",
    )


class AutoRule(Strict):
    """If every condition holds, the step is decided as `decide` says, for `reason`."""

    name: str = Field(min_length=1, max_length=60)
    when: list[Condition] = Field(min_length=1)
    decide: Literal["approve", "reject"]
    reason: str = Field(min_length=1, max_length=500)
    result: dict[Code, RuleValue] = Field(
        default_factory=dict, description="approving: result fields given as values"
    )
    result_from: dict[Code, ValueRef] = Field(
        default_factory=dict,
        description="approving: result fields taken from the application (form.<field>, "
        "<step>.<field>, applicant.<value>)",
    )


class AutoDecision(Strict):
    """秒批: rules tried in order when the step opens; the first whose conditions all hold
    decides. When none does (or a fact it needs is missing) the step goes to people."""

    rules: list[AutoRule] = Field(min_length=1)


class StepSpec(Strict):
    code: Code
    name: str
    department: Code
    limit_days: int = Field(ge=0, description="working days from the step opening")
    needs: list[Code] = Field(default_factory=list)
    on_overdue: OnOverdue = OnOverdue.escalate
    special_procedures: list[SpecialProcedureKind] = Field(
        default_factory=list, description="特别程序 the department may start on this step"
    )
    result_fields: list[FieldSpec] = Field(default_factory=list)
    stages: list[StageSpec] = Field(
        default_factory=list,
        description="sign-off levels inside the department (承办 → 审核 → 批准); none: "
        "anyone of the department decides",
    )
    auto: AutoDecision | None = Field(default=None, description="秒批: rules that decide it")


class LicenceIssue(Strict):
    """A licence the application issues when it is granted, built from its values."""

    licence_type: Code
    number: ValueRef = Field(description="usually a result field: <step>.<field>")
    holder_id: ValueRef = "applicant.id"
    holder_name: ValueRef = "applicant.name"
    fields: dict[Code, ValueRef] = Field(
        default_factory=dict, description="licence field -> where its value comes from"
    )
    supersedes: Code | None = Field(
        default=None,
        description="换发: a material of this matter whose licence, cited from the library, "
        "this one replaces (the seller's certificate at a transfer): revoked when this one "
        "is issued, in the same transaction, and restored if the decision is undone",
    )


class LevelImplementation(Strict):
    """One level's line of the matter's 实施清单: it is handled there, by that level's branch
    of each department (当涂县市场监管局 for 市场监管局), within that level's promised limit."""

    level: RegionLevel
    promised_limit_days: int | None = Field(
        default=None, ge=0, description="this level's promise (the matter's when not given)"
    )
    departments: dict[Code, Code] = Field(
        default_factory=dict,
        description="a department that has no branch at this level -> who handles its steps "
        "there (the city's own department, usually: a utility serves the whole city)",
    )


class Implementation(Strict):
    """实施清单: at which levels the matter is handled, and where else it is accepted on
    behalf (代收代办) and forwarded to the nearest level above that handles it. Without it a
    matter is handled and accepted at the city only."""

    levels: list[LevelImplementation] = Field(min_length=1)
    accepted_at: list[RegionLevel] = Field(
        default_factory=list, description="levels that accept on behalf (代收代办) and forward"
    )

    def at(self, level: RegionLevel) -> LevelImplementation | None:
        return next((line for line in self.levels if line.level is level), None)


class MatterDefinition(Strict):
    code: Code
    name: str
    version: int = Field(ge=1)
    status: MatterStatus = Field(
        default=MatterStatus.added, description="what this version does to the matter"
    )
    effective_from: date = Field(
        default=IN_FORCE_SINCE, description="the day this version takes effect (Beijing time)"
    )
    kind: Kind
    description: str = ""
    keywords: list[str] = Field(
        default_factory=list, description="what people type to find it (开公司 for 企业开办)"
    )
    legal_basis: str = ""
    legal_limit_days: int = Field(ge=0)
    promised_limit_days: int = Field(ge=0)
    lead_department: Code
    applicant_types: list[ApplicantType] = Field(default_factory=lambda: list(APPLICANT_TYPES))
    channels: list[Channel] = Field(min_length=1)
    fee: str = "不收费"
    materials: list[MaterialSpec] = Field(default_factory=list)
    form: list[FieldSpec] = Field(default_factory=list)
    warning: WarningPolicy = WarningPolicy()
    supplement_pauses_clock: bool = True
    # 补正期限: the working days the applicant has to answer a correction notice; past them
    # the application is terminated (终止). None: the notice waits for as long as it takes.
    correction_answer_days: int | None = Field(
        default=None, ge=1, description="working days for the applicant's answer to 补正"
    )
    max_extension_days: int = Field(default=0, ge=0)
    tolerated_missing: ToleratedMissing | None = Field(
        default=None, description="容缺受理: minor materials the window may accept missing"
    )
    commitment: CommitmentSpec | None = Field(
        default=None, description="告知承诺制: decided at acceptance on a written commitment"
    )
    steps: list[StepSpec] = Field(min_length=1)
    issues: list[LicenceIssue] = Field(
        default_factory=list, description="licences a granted application issues (证照生成)"
    )
    # 行政许可法 Art 44: the licence reaches the applicant within ten (working) days of the
    # decision. The hand-over at the window or by post stops this clock.
    delivery_limit_days: int = Field(default=10, ge=0)
    implementation: Implementation | None = Field(
        default=None, description="实施清单: levels, their departments and limits; 代收代办"
    )

    def step(self, code: str) -> StepSpec:
        for s in self.steps:
            if s.code == code:
                return s
        raise KeyError(code)


class Connector(Strict):
    """A department's own back-office system, which receives its tasks when they open."""

    kind: Literal["webhook"] = "webhook"
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)]
    alarm_after_minutes: int = Field(
        default=60, ge=1, description="a push still failing after this long raises the card"
    )


def lifecycle_day(at: datetime | date) -> date:
    """The calendar day in China of an instant (a date is taken as it is)."""
    if isinstance(at, datetime):
        return at.astimezone(LIFECYCLE_ZONE).date()
    return at


def version_in_force(
    versions: Sequence[MatterDefinition], at: datetime | date
) -> MatterDefinition | None:
    """The version that took effect last on or before `at` (None before the first one).

    `versions` are one matter's, oldest first, their `effective_from` increasing."""
    day = lifecycle_day(at)
    found = None
    for version in versions:
        if version.effective_from <= day:
            found = version
    return found


class Department(Strict):
    code: Code
    name: str
    head_title: str = Field(default="科室负责人", description="who a red card escalates to first")
    connector: Connector | None = None
    branches: bool = Field(
        default=False,
        description="has a branch in every county-level division (当涂县市场监管局), derived "
        "with the county's name and code: amr_340521",
    )
    region: str | None = Field(
        default=None, description="a branch's county code; None for the city's department"
    )


class DepartmentList(Strict):
    departments: list[Department] = Field(min_length=1)
