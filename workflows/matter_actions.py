"""The actions on an application: one typed Temporal update each, and its validator.

Mixed into `MatterWorkflow`, which runs them (`_act`: under its lock, re-checked, applied,
written once Temporal has recorded the update). Each validator asks the action's transition
in `workflows/case/` what is wrong with it, so a refused action is answered at once and
leaves no history; the API maps `REFUSED` to 409 with the reason.
"""

from __future__ import annotations

from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain.actions import (
        AcceptanceCorrectionInput,
        AcceptInput,
        AftercareInput,
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
    from domain.application import ApplicationStatus
    from workflows.case import (
        acceptance,
        aftercare,
        calendar_change,
        commitment,
        corrections,
        delivery,
        extensions,
        orders,
        routing,
        signoff,
        special_procedures,
        steps,
        tolerance,
        withdrawal,
    )
    from workflows.case.core import Case, Transition

REFUSED = "ActionRefused"  # the error type of an action refused, by a validator or `_act`
# The error type of an aftercare event sent once the workflow has recorded its last event
# and is about to close: the API writes the event itself, after the workflow's.
NUMBERING_DONE = "NumberingDone"
A = TypeVar("A", bound=BaseModel)


class MatterActions:
    """The updates of `MatterWorkflow`, by who takes them."""

    _case: Case
    _numbering_done: bool  # MatterWorkflow's: no event of its own will follow

    async def _act(self, transition: Transition[A], action: A) -> ApplicationStatus:
        raise NotImplementedError  # MatterWorkflow's

    def _check(self, transition: Transition[A], action: A) -> None:
        problem = transition.problem(self._case, action, workflow.now())
        if problem:
            raise ApplicationError(problem, type=REFUSED, non_retryable=True)

    # --- the window's decision on an application submitted online -----------------------

    @workflow.update
    async def accept(self, action: AcceptInput) -> ApplicationStatus:
        return await self._act(acceptance.ACCEPT, action)

    @accept.validator
    def _accept_allowed(self, action: AcceptInput) -> None:
        self._check(acceptance.ACCEPT, action)

    @workflow.update
    async def refuse_acceptance(self, action: RefuseAcceptanceInput) -> ApplicationStatus:
        return await self._act(acceptance.REFUSE, action)

    @refuse_acceptance.validator
    def _refuse_acceptance_allowed(self, action: RefuseAcceptanceInput) -> None:
        self._check(acceptance.REFUSE, action)

    @workflow.update
    async def correction_before_acceptance(
        self, action: AcceptanceCorrectionInput
    ) -> ApplicationStatus:
        return await self._act(corrections.BEFORE_ACCEPTANCE_REQUEST, action)

    @correction_before_acceptance.validator
    def _correction_before_acceptance_allowed(self, action: AcceptanceCorrectionInput) -> None:
        self._check(corrections.BEFORE_ACCEPTANCE_REQUEST, action)

    # --- department actions -------------------------------------------------------------

    @workflow.update
    async def claim(self, action: ClaimInput) -> ApplicationStatus:
        return await self._act(steps.CLAIM, action)

    @claim.validator
    def _claim_allowed(self, action: ClaimInput) -> None:
        self._check(steps.CLAIM, action)

    @workflow.update
    async def release(self, action: ReleaseInput) -> ApplicationStatus:
        return await self._act(steps.RELEASE, action)

    @release.validator
    def _release_allowed(self, action: ReleaseInput) -> None:
        self._check(steps.RELEASE, action)

    @workflow.update
    async def approve(self, action: ApproveInput) -> ApplicationStatus:
        return await self._act(steps.APPROVE, action)

    @approve.validator
    def _approve_allowed(self, action: ApproveInput) -> None:
        self._check(steps.APPROVE, action)

    @workflow.update
    async def reject(self, action: RejectInput) -> ApplicationStatus:
        return await self._act(steps.REJECT, action)

    @reject.validator
    def _reject_allowed(self, action: RejectInput) -> None:
        self._check(steps.REJECT, action)

    @workflow.update
    async def return_step(self, action: ReturnStepInput) -> ApplicationStatus:
        return await self._act(routing.RETURN, action)

    @return_step.validator
    def _return_step_allowed(self, action: ReturnStepInput) -> None:
        self._check(routing.RETURN, action)

    @workflow.update
    async def request_supplement(self, action: SupplementRequestInput) -> ApplicationStatus:
        return await self._act(corrections.REQUEST, action)

    @request_supplement.validator
    def _request_supplement_allowed(self, action: SupplementRequestInput) -> None:
        self._check(corrections.REQUEST, action)

    @workflow.update
    async def start_special(self, action: SpecialProcedureInput) -> ApplicationStatus:
        return await self._act(special_procedures.START, action)

    @start_special.validator
    def _start_special_allowed(self, action: SpecialProcedureInput) -> None:
        self._check(special_procedures.START, action)

    @workflow.update
    async def end_special(self, action: SpecialProcedureEndInput) -> ApplicationStatus:
        return await self._act(special_procedures.END, action)

    @end_special.validator
    def _end_special_allowed(self, action: SpecialProcedureEndInput) -> None:
        self._check(special_procedures.END, action)

    @workflow.update
    async def pass_stage(self, action: StagePassInput) -> ApplicationStatus:
        return await self._act(signoff.PASS, action)

    @pass_stage.validator
    def _pass_stage_allowed(self, action: StagePassInput) -> None:
        self._check(signoff.PASS, action)

    @workflow.update
    async def send_back_stage(self, action: StageSendBackInput) -> ApplicationStatus:
        return await self._act(signoff.SEND_BACK, action)

    @send_back_stage.validator
    def _send_back_stage_allowed(self, action: StageSendBackInput) -> None:
        self._check(signoff.SEND_BACK, action)

    @workflow.update
    async def request_extension(self, action: ExtensionRequestInput) -> ApplicationStatus:
        return await self._act(extensions.REQUEST, action)

    @request_extension.validator
    def _request_extension_allowed(self, action: ExtensionRequestInput) -> None:
        self._check(extensions.REQUEST, action)

    # --- applicant actions --------------------------------------------------------------

    @workflow.update
    async def supply_supplement(self, action: SupplyInput) -> ApplicationStatus:
        return await self._act(corrections.SUPPLY, action)

    @supply_supplement.validator
    def _supply_allowed(self, action: SupplyInput) -> None:
        self._check(corrections.SUPPLY, action)

    @workflow.update
    async def withdraw(self, action: WithdrawInput) -> ApplicationStatus:
        return await self._act(withdrawal.WITHDRAW, action)

    @withdraw.validator
    def _withdraw_allowed(self, action: WithdrawInput) -> None:
        self._check(withdrawal.WITHDRAW, action)

    # --- supervision --------------------------------------------------------------------

    @workflow.update
    async def extend(self, action: ExtendInput) -> ApplicationStatus:
        return await self._act(extensions.EXTEND, action)

    @extend.validator
    def _extend_allowed(self, action: ExtendInput) -> None:
        self._check(extensions.EXTEND, action)

    @workflow.update
    async def refuse_extension(self, action: ExtensionRefusalInput) -> ApplicationStatus:
        return await self._act(extensions.REFUSE, action)

    @refuse_extension.validator
    def _refuse_extension_allowed(self, action: ExtensionRefusalInput) -> None:
        self._check(extensions.REFUSE, action)

    @workflow.update
    async def reroute(self, action: RerouteInput) -> ApplicationStatus:
        return await self._act(routing.REROUTE, action)

    @reroute.validator
    def _reroute_allowed(self, action: RerouteInput) -> None:
        self._check(routing.REROUTE, action)

    @workflow.update
    async def order(self, action: SupervisionOrderInput) -> ApplicationStatus:
        return await self._act(orders.ORDER, action)

    @order.validator
    def _order_allowed(self, action: SupervisionOrderInput) -> None:
        self._check(orders.ORDER, action)

    @workflow.update
    async def answer_order(self, action: OrderAnswerInput) -> ApplicationStatus:
        return await self._act(orders.ANSWER, action)

    @answer_order.validator
    def _answer_order_allowed(self, action: OrderAnswerInput) -> None:
        self._check(orders.ANSWER, action)

    @workflow.update
    async def hand_over(self, action: HandOverInput) -> ApplicationStatus:
        return await self._act(delivery.HAND_OVER, action)

    @hand_over.validator
    def _hand_over_allowed(self, action: HandOverInput) -> None:
        self._check(delivery.HAND_OVER, action)

    # --- after the decision: 好差评 and its 整改回访, until the workflow's last event ------

    @workflow.update
    async def note_aftercare(self, action: AftercareInput) -> ApplicationStatus:
        return await self._act(aftercare.NOTE, action)

    @note_aftercare.validator
    def _note_aftercare_allowed(self, action: AftercareInput) -> None:
        if self._numbering_done:
            raise ApplicationError("办理流程已结束", type=NUMBERING_DONE, non_retryable=True)
        self._check(aftercare.NOTE, action)

    # --- 容缺受理 and 告知承诺制 -----------------------------------------------------------

    @workflow.update
    async def supply_missing(self, action: MissingMaterialsInput) -> ApplicationStatus:
        return await self._act(tolerance.SUPPLY, action)

    @supply_missing.validator
    def _supply_missing_allowed(self, action: MissingMaterialsInput) -> None:
        self._check(tolerance.SUPPLY, action)

    @workflow.update
    async def verify(self, action: VerificationInput) -> ApplicationStatus:
        return await self._act(commitment.VERIFY, action)

    @verify.validator
    def _verify_allowed(self, action: VerificationInput) -> None:
        self._check(commitment.VERIFY, action)

    @workflow.update
    async def calendar_changed(self, action: CalendarChangedInput) -> ApplicationStatus:
        return await self._act(calendar_change.CHANGE, action)

    @calendar_changed.validator
    def _calendar_changed_allowed(self, action: CalendarChangedInput) -> None:
        self._check(calendar_change.CHANGE, action)
