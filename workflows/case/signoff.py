"""分级签署 (承办 → 审核 → 批准): a step with stages is passed, stage by stage, inside its
department, each stage by a member holding that stage's role; only the last stage decides.

- A stage is passed with its opinion; the step goes back to the department's inbox for the
  next stage, so whoever holds that level claims it (the claim of the stage before ends).
- The same person never signs two stages of one step (separation of duties): whoever passed
  one stage cannot act on another, though he redoes his own if it is sent back to him.
- Any stage after the first may send the step back one stage, with a reason.
- *Our choice:* the step's clock runs on through every stage and every send-back: the
  stages are the department's own time, and the applicant's promise does not wait for them.

A step without stages is decided by anyone of its department, exactly as before.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import StagePassInput, StageSendBackInput, StepAction
from domain.application import Signoff, StepStatus
from domain.events import EventKind, department
from domain.matter import StageSpec
from domain.reason import reason_problem
from domain.states import StepState
from workflows.case.core import Case, Transition
from workflows.case.guards import decidable


def _stages(case: Case, code: str) -> list[StageSpec]:
    return case.matter.step(code).stages


def current(case: Case, step: StepStatus) -> tuple[int, StageSpec] | None:
    """The stage the step waits at (its index and spec); None for a step without stages."""
    stages = _stages(case, step.code)
    for i, stage in enumerate(stages):
        if stage.code == step.stage:
            return i, stage
    return None


def enter(step: StepStatus, stage: StageSpec) -> None:
    """The step waits at `stage`, in its department's inbox, for someone of that level."""
    step.stage, step.stage_name, step.stage_role = stage.code, stage.name, stage.role
    if step.state is StepState.claimed:
        step.state = StepState.open
    step.claimed_by = None


def _signers(step: StepStatus) -> dict[str, tuple[str, str]]:
    """Who passed each stage last (actor id, stage name), by stage code."""
    signed: dict[str, tuple[str, str]] = {}
    for signoff in step.signoffs:
        if not signoff.sent_back:
            signed[signoff.stage] = (signoff.actor.id, signoff.stage_name)
    return signed


def stage_problem(case: Case, action: StepAction) -> str | None:
    """The actor may act on the step's current stage: holds its role and signed no other."""
    step = case.status.step(action.step_code)
    found = current(case, step)
    if found is None:
        return None
    _, stage = found
    if action.actor.signoff_role is not stage.role:
        return f"该环节当前为“{stage.name}”阶段，需由具有{stage.role.label}权限的人员办理"
    for code, (who, name) in _signers(step).items():
        if code != stage.code and who == action.actor.id:
            return f"您已签署本环节的“{name}”阶段，同一人不得签署同一环节的两个阶段"
    return None


def holder_problem(case: Case, action: StepAction) -> str | None:
    """The department's other actions on a staged step (a correction, 退单, a special
    procedure, a request for more time) are for whoever holds its current stage, as its
    claim and decision are (engine generation 6: before, any level of the department took
    them, and a 承办 could still stop a step that waited for its 审核)."""
    return stage_problem(case, action) if case.stages_bind_all else None


def decision_problem(case: Case, action: StepAction) -> str | None:
    """Approving or rejecting a staged step: only at its last stage, by that stage's level."""
    step = case.status.step(action.step_code)
    found = current(case, step)
    if found is None:
        return None
    i, stage = found
    stages = _stages(case, step.code)
    if i < len(stages) - 1:
        return f"该环节当前为“{stage.name}”阶段，须逐级签署至“{stages[-1].name}”后方可作出审批决定"
    return stage_problem(case, action)


def _pass_problem(case: Case, action: StagePassInput, _now: datetime) -> str | None:
    problem = decidable(case.status, action)
    if problem:
        return problem
    found = current(case, case.status.step(action.step_code))
    if found is None:
        return "该环节不分级签署，请直接作出审批决定"
    i, stage = found
    if i == len(_stages(case, action.step_code)) - 1:
        return f"“{stage.name}”是最后一级，请作出准予或不予通过的决定"
    return stage_problem(case, action) or reason_problem(
        action.opinion, f"{stage.name}意见必须填写"
    )


def _pass(case: Case, action: StagePassInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    found = current(case, step)
    assert found is not None  # checked by _pass_problem
    i, stage = found
    following = _stages(case, step.code)[i + 1]
    opinion = action.opinion.strip()
    step.signoffs.append(
        Signoff(
            stage=stage.code, stage_name=stage.name, actor=action.actor, at=now, opinion=opinion
        )
    )
    enter(step, following)
    case.touch()
    case.record(
        now, EventKind.stage_passed, action.actor, step.code, stage=stage.code,
        stage_name=stage.name, next_stage=following.code, next_stage_name=following.name,
        opinion=opinion,
    )  # fmt: skip
    deadline = step.clock.reading(case.calendar, now).deadline if step.clock else None
    case.notify(
        now, department(step.department), "stage_waiting", step_name=step.name,
        stage=following.name, role=following.role.label, deadline=case.when(deadline),
    )  # fmt: skip


def _back_problem(case: Case, action: StageSendBackInput, _now: datetime) -> str | None:
    problem = decidable(case.status, action)
    if problem:
        return problem
    found = current(case, case.status.step(action.step_code))
    if found is None:
        return "该环节不分级签署，没有可退回的上一级"
    i, stage = found
    if i == 0:
        return f"“{stage.name}”是第一级，没有可退回的上一级"
    return stage_problem(case, action) or reason_problem(action.reason, "退回上一级必须说明理由")


def _back(case: Case, action: StageSendBackInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    found = current(case, step)
    assert found is not None  # checked by _back_problem
    i, stage = found
    previous = _stages(case, step.code)[i - 1]
    reason = action.reason.strip()
    step.signoffs.append(
        Signoff(
            stage=stage.code, stage_name=stage.name, actor=action.actor, at=now, opinion=reason,
            sent_back=True,
        )
    )  # fmt: skip
    enter(step, previous)
    case.record(
        now, EventKind.stage_sent_back, action.actor, step.code, stage=stage.code,
        stage_name=stage.name, to_stage=previous.code, to_stage_name=previous.name,
        reason=reason,
    )  # fmt: skip
    case.notify(
        now, department(step.department), "stage_sent_back", step_name=step.name,
        stage=previous.name, reason=reason,
    )  # fmt: skip


PASS = Transition(_pass_problem, _pass)
SEND_BACK = Transition(_back_problem, _back)
