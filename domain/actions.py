"""The inputs of the actions people take on an application (the workflow's Updates)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.actors import Actor
from domain.application import MaterialReceipt, SuppliedItem, Tolerance
from domain.calendar import CalendarSnapshot
from domain.fields import FieldValue
from domain.matter import SpecialProcedureKind


class StepAction(BaseModel):
    step_code: str
    actor: Actor


class ClaimInput(StepAction):
    pass


class ReleaseInput(StepAction):
    pass


class ApproveInput(StepAction):
    result: dict[str, FieldValue] = Field(default_factory=dict)
    comment: str = ""


class RejectInput(StepAction):
    reason: str


class ReturnStepInput(StepAction):
    """退单: the department sends its step back as not its business, with the reason."""

    reason: str


class RerouteInput(StepAction):
    """改派: a supervisor or the window gives a returned step to another department."""

    department: str
    reason: str = ""


class SupervisionOrderInput(StepAction):
    """督办: a supervisor orders the department to act on a late step and answer in writing."""

    working_days: int
    demand: str


class OrderAnswerInput(StepAction):
    """The department's written answer to a supervision order (督办答复)."""

    order_no: int
    answer: str


class SpecialProcedureInput(StepAction):
    """特别程序: the department starts one on its step, with the working days it needs."""

    kind: SpecialProcedureKind
    working_days: int
    reason: str


class SpecialProcedureEndInput(StepAction):
    """The department ends the step's special procedure, with its outcome."""

    outcome: str


class StagePassInput(StepAction):
    """A sign-off stage (承办, 审核) passed to the next, with the stage's opinion."""

    opinion: str


class StageSendBackInput(StepAction):
    """A stage after the first sends the step back one stage, with the reason."""

    reason: str


class SupplementRequestInput(StepAction):
    items: list[str]
    reason: str


class SupplyInput(BaseModel):
    actor: Actor
    items: list[SuppliedItem]
    note: str = ""


class WithdrawInput(BaseModel):
    actor: Actor
    reason: str = ""


class ExtendInput(StepAction):
    """A supervisor grants more time (approving the department's request, if there is one)."""

    working_days: int
    reason: str


class ExtensionRequestInput(StepAction):
    """The department asks for more time (延期申请)."""

    working_days: int
    reason: str


class ExtensionRefusalInput(StepAction):
    reason: str


class HandOverInput(BaseModel):
    """综合窗口出件: the result handed over at the window, or posted with its tracking number."""

    actor: Actor
    method: Literal["window", "express"]
    ref: str = ""


class CalendarChangedInput(BaseModel):
    actor: Actor
    calendar: CalendarSnapshot


class AcceptInput(BaseModel):
    """受理 of an application submitted online (容缺受理 when `tolerance` names materials)."""

    actor: Actor
    tolerance: Tolerance | None = None


class MissingMaterialsInput(BaseModel):
    """容缺材料补齐: materials accepted missing, handed in (online or at the window)."""

    actor: Actor
    materials: list[MaterialReceipt] = Field(min_length=1, max_length=50)


class VerificationInput(StepAction):
    """核查结果 (告知承诺制): the department found the commitment kept, or not, and says what
    it found."""

    passed: bool
    findings: str


class AcceptanceCorrectionInput(BaseModel):
    """受理前补正告知: the window finds an application submitted online incomplete, or not in
    the legal form, and tells the applicant everything to correct at once (Art 32)."""

    actor: Actor
    items: list[str]
    reason: str


class AftercareInput(BaseModel):
    """An event of the aftercare (好差评 and its 整改回访) recorded by a workflow that has not
    yet recorded its last event, so that the workflow numbers it among its own."""

    actor: Actor
    kind: Literal["rated", "review_followed_up"]
    payload: dict[str, str | None]


class RefuseAcceptanceInput(BaseModel):
    """不予受理, with the reason the applicant is told."""

    actor: Actor
    reason: str
