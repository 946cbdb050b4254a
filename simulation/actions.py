"""The actions a scenario can take: one entry each, naming the workflow update it sends, the
fields it needs, and how its input is built.

A new procedure's action is one more entry in `ACTIONS`. A builder raises `Refused` for what
the API would refuse before the engine is asked (a result field that does not fit, a
supplement that is not the one asked for); the workflow's validator has the last word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from temporalio.workflow import UpdateMethodMultiParam

from domain.actions import (
    AcceptInput,
    ApproveInput,
    CalendarChangedInput,
    ClaimInput,
    ExtendInput,
    ExtensionRefusalInput,
    ExtensionRequestInput,
    HandOverInput,
    MissingMaterialsInput,
    OrderAnswerInput,
    RefuseAcceptanceInput,
    RejectInput,
    ReleaseInput,
    RerouteInput,
    ReturnStepInput,
    SpecialProcedureEndInput,
    SpecialProcedureInput,
    StagePassInput,
    StageSendBackInput,
    SupervisionOrderInput,
    SupplementRequestInput,
    SupplyInput,
    VerificationInput,
    WithdrawInput,
)
from domain.actors import Actor, Role
from domain.application import (
    ApplicationStatus,
    MaterialReceipt,
    MaterialSource,
    SuppliedItem,
    Tolerance,
)
from domain.calendar import CalendarSnapshot
from domain.fields import clean_fields, fields_problems
from domain.matter import MatterDefinition, SpecialProcedureKind
from domain.reason import reason_problem
from simulation.values import result_values
from workflows.matter import MatterWorkflow

if TYPE_CHECKING:
    from simulation.scenario import ScenarioAction

CLERK = Actor(id="sim-clerk", name="综合窗口（模拟）", role=Role.clerk)
APPLICANT = Actor(id="sim-applicant", name="申请人（模拟）", role=Role.applicant)
SUPERVISOR = Actor(id="sim-supervisor", name="电子监察（模拟）", role=Role.supervisor)


class Refused(Exception):
    """The action is refused before it reaches the engine, as the API would refuse it."""


@dataclass(frozen=True)
class Acting:
    """What a builder may look at: the entry, the case as it stands, the matter."""

    action: ScenarioAction
    status: ApplicationStatus
    matter: MatterDefinition
    calendar: CalendarSnapshot  # the centre's calendar as the run built it
    token: str  # unique to this run: licence numbers made up for results must be unique

    @property
    def step(self) -> str:
        assert self.action.step is not None  # `needs` has made sure
        return self.action.step

    @property
    def staff(self) -> Actor:
        """A member of the department the step is with now (the same one claims, releases
        and decides; after a re-route, the new one)."""
        step = self.status.step(self.step)
        department = step.department
        role = step.stage_role
        if role is None:
            return Actor(
                id=f"sim-{department}", name=f"{department}经办人（模拟）", role=Role.staff,
                department=department,
            )  # fmt: skip
        # 分级签署: the level the step waits at, one person per level.
        return Actor(
            id=f"sim-{department}-{role.value}", name=f"{department}{role.label}人（模拟）",
            role=Role.staff, department=department, signoff_role=role,
        )  # fmt: skip

    def reason(self, missing: str, default: str | None = None) -> str:
        """The entry's reason, checked as the API checks it (`missing` says what it is for)."""
        text = self.action.reason if self.action.reason is not None else default
        problem = reason_problem(text or "", missing)
        if problem:
            raise Refused(problem)
        return (text or "").strip()


@dataclass(frozen=True)
class ActionKind:
    update: UpdateMethodMultiParam[[MatterWorkflow, Any], ApplicationStatus]  # e.g. .approve
    build: Callable[[Acting], BaseModel]
    needs: tuple[str, ...] = ()  # fields the scenario entry must give
    open_only: bool = True  # refused once the application is decided, as the API does


def _approve(a: Acting) -> ApproveInput:
    spec = a.matter.step(a.step).result_fields
    given = a.action.result or {}
    result = result_values(spec, a.token, a.step) | given
    problems = fields_problems(spec, result)
    if problems:
        raise Refused("；".join(f"result.{k}: {v}" for k, v in problems.items()))
    return ApproveInput(
        step_code=a.step, actor=a.staff, result=clean_fields(spec, result), comment=a.action.comment
    )


def _supply(a: Acting) -> SupplyInput:
    """All the items of the open notice, unless the entry names them (then they must match)."""
    notice = a.status.correction
    if notice is None:
        raise Refused("当前没有需要补正的事项")
    given = a.action.items if a.action.items is not None else notice.items
    missing = [i for i in notice.items if i not in given]
    extra = [i for i in given if i not in notice.items]
    if missing:
        raise Refused(f"补正材料不全，还缺：{'、'.join(missing)}")
    if extra:
        raise Refused(f"以下内容不在补正告知中：{'、'.join(extra)}")
    return SupplyInput(
        actor=APPLICANT, items=[SuppliedItem(item=i) for i in given], note=a.action.note
    )


def _supplement(a: Acting) -> SupplementRequestInput:
    items = [i.strip() for i in a.action.items or [] if i.strip()]
    if not items:
        raise Refused("请列明需要补正的材料或内容")
    reason = a.reason("补正告知必须说明理由", default="材料不全，请补正")
    return SupplementRequestInput(step_code=a.step, actor=a.staff, items=items, reason=reason)


def _answer_order(a: Acting) -> OrderAnswerInput:
    order = next((o for o in a.status.orders if o.step_code == a.step and o.open), None)
    if order is None:
        raise Refused("该环节没有尚未答复的督办单")
    answer = a.reason("督办答复必须书面说明办理情况")
    return OrderAnswerInput(step_code=a.step, actor=a.staff, order_no=order.order_no, answer=answer)


def _hand_over(a: Acting) -> HandOverInput:
    if a.action.method == "express" and not a.action.ref:
        raise Refused("邮寄送达须填写快递单号")
    return HandOverInput(actor=CLERK, method=a.action.method, ref=a.action.ref)


def _accept(a: Acting) -> AcceptInput:
    """受理; with `items`, 容缺受理 of those materials, the applicant's commitment signed."""
    if not a.action.items:
        return AcceptInput(actor=CLERK)
    return AcceptInput(actor=CLERK, tolerance=Tolerance(missing=a.action.items, signed=True))


def _supply_missing(a: Acting) -> MissingMaterialsInput:
    """容缺材料补齐, uploaded by the applicant: every owed material unless `items` names some."""
    owed = a.status.outstanding
    if owed is None or not owed.open:
        raise Refused("该办件没有待补齐的容缺材料")
    codes = a.action.items if a.action.items is not None else [m.code for m in owed.missing]
    return MissingMaterialsInput(
        actor=APPLICANT,
        materials=[
            MaterialReceipt(code=c, source=MaterialSource.upload, ref="simulated") for c in codes
        ],
    )


def _verify(a: Acting) -> VerificationInput:
    findings = a.reason("核查结果必须写明核查情况")
    return VerificationInput(
        step_code=a.step, actor=a.staff, passed=bool(a.action.passed), findings=findings
    )


ACTIONS: dict[str, ActionKind] = {
    # the window's decision on an application submitted online (`items`: 容缺受理)
    "accept": ActionKind(MatterWorkflow.accept, _accept),
    "refuse_acceptance": ActionKind(
        MatterWorkflow.refuse_acceptance,
        lambda a: RefuseAcceptanceInput(actor=CLERK, reason=a.reason("不予受理必须说明理由")),
        needs=("reason",),
    ),
    # the departments
    "claim": ActionKind(
        MatterWorkflow.claim, lambda a: ClaimInput(step_code=a.step, actor=a.staff), ("step",)
    ),
    "release": ActionKind(
        MatterWorkflow.release, lambda a: ReleaseInput(step_code=a.step, actor=a.staff), ("step",)
    ),
    "approve": ActionKind(MatterWorkflow.approve, _approve, needs=("step",)),
    "reject": ActionKind(
        MatterWorkflow.reject,
        lambda a: RejectInput(
            step_code=a.step, actor=a.staff, reason=a.reason("不予通过必须说明理由")
        ),
        needs=("step", "reason"),
    ),
    "request_supplement": ActionKind(
        MatterWorkflow.request_supplement, _supplement, needs=("step", "items")
    ),
    "request_extension": ActionKind(
        MatterWorkflow.request_extension,
        lambda a: ExtensionRequestInput(
            step_code=a.step,
            actor=a.staff,
            working_days=a.action.days or 0,
            reason=a.reason("延期申请必须说明理由"),
        ),
        needs=("step", "days", "reason"),
    ),
    # 退单: the department the step is with sends it back as not its business
    "return_step": ActionKind(
        MatterWorkflow.return_step,
        lambda a: ReturnStepInput(
            step_code=a.step, actor=a.staff, reason=a.reason("退单必须说明理由")
        ),
        needs=("step", "reason"),
    ),
    # 特别程序 (`kind`: its kind, `days` it needs, `reason`), and its end (`reason`:
    # the outcome)
    "special_procedure_start": ActionKind(
        MatterWorkflow.start_special,
        lambda a: SpecialProcedureInput(
            step_code=a.step,
            actor=a.staff,
            kind=a.action.kind or SpecialProcedureKind.hearing,  # `needs` has made sure
            working_days=a.action.days or 0,
            reason=a.reason("启动特别程序必须说明理由"),
        ),
        needs=("step", "kind", "days", "reason"),
    ),
    "special_procedure_end": ActionKind(
        MatterWorkflow.end_special,
        lambda a: SpecialProcedureEndInput(
            step_code=a.step, actor=a.staff, outcome=a.reason("结束特别程序必须写明结果")
        ),
        needs=("step", "reason"),
    ),
    # 分级签署: the stage the step waits at is passed (`reason`: its opinion) or, after the
    # first, sends the step back one stage (`reason`), by a person of that stage's level
    "pass_stage": ActionKind(
        MatterWorkflow.pass_stage,
        lambda a: StagePassInput(
            step_code=a.step, actor=a.staff, opinion=a.reason("签署意见必须填写", default="同意")
        ),
        needs=("step",),
    ),
    "send_back_stage": ActionKind(
        MatterWorkflow.send_back_stage,
        lambda a: StageSendBackInput(
            step_code=a.step, actor=a.staff, reason=a.reason("退回上一级必须说明理由")
        ),
        needs=("step", "reason"),
    ),
    # the applicant
    "supply": ActionKind(MatterWorkflow.supply_supplement, _supply),
    "withdraw": ActionKind(
        MatterWorkflow.withdraw,
        lambda a: WithdrawInput(actor=APPLICANT, reason=(a.action.reason or "").strip()),
    ),
    # supervision
    "extend": ActionKind(
        MatterWorkflow.extend,
        lambda a: ExtendInput(
            step_code=a.step,
            actor=SUPERVISOR,
            working_days=a.action.days or 0,
            reason=a.reason("延期必须说明理由"),
        ),
        needs=("step", "days", "reason"),
    ),
    "refuse_extension": ActionKind(
        MatterWorkflow.refuse_extension,
        lambda a: ExtensionRefusalInput(
            step_code=a.step, actor=SUPERVISOR, reason=a.reason("不予延期必须说明理由")
        ),
        needs=("step", "reason"),
    ),
    # 改派: a supervisor gives a returned step to `department`
    "reroute": ActionKind(
        MatterWorkflow.reroute,
        lambda a: RerouteInput(
            step_code=a.step,
            actor=SUPERVISOR,
            department=a.action.department or "",
            reason=(a.action.reason or "").strip(),
        ),
        needs=("step", "department"),
    ),
    # 督办单 on a late step (`days` for the written answer, `reason` the demand) ...
    "order": ActionKind(
        MatterWorkflow.order,
        lambda a: SupervisionOrderInput(
            step_code=a.step,
            actor=SUPERVISOR,
            working_days=a.action.days or 0,
            demand=a.reason("督办单必须写明督办要求"),
        ),
        needs=("step", "days", "reason"),
    ),
    # ... and the department's written answer (`reason`) to the step's open order
    "answer_order": ActionKind(
        MatterWorkflow.answer_order, _answer_order, needs=("step", "reason")
    ),
    # the window hands the granted result over (or posts it, `method: express`, `ref`)
    "hand_over": ActionKind(
        MatterWorkflow.hand_over,
        _hand_over,
        open_only=False,  # the result is handed over after the decision
    ),
    # 容缺受理: the applicant hands in the materials accepted missing (all owed, or `items`)
    "supply_missing": ActionKind(MatterWorkflow.supply_missing, _supply_missing, open_only=False),
    # 告知承诺制: the step's department records its verification (`passed`, `reason`: findings)
    "verify": ActionKind(
        MatterWorkflow.verify, _verify, needs=("step", "passed", "reason"), open_only=False
    ),
    # a new national schedule published: the case recomputes its deadlines on it
    "calendar_changed": ActionKind(
        MatterWorkflow.calendar_changed,
        lambda a: CalendarChangedInput(actor=SUPERVISOR, calendar=a.calendar),
    ),
}
