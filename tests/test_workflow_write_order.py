"""An action reaches the read model only once the server has recorded it.

The server records an update with the completion of the workflow task that ran it; if it
stops before, the update is lost with that task, while a local activity run inside the task
has already written. `make faults` saw it: the read model showed approvals its workflow never
had, and the callers' retries were refused from it. So an action's transition is written by
an activity that the task's completion schedules, and the other writes (the start, the card
timers: replayed alike when lost) stay local. Read from the history, task by task.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import ClaimInput
from tests.engine import approve, delivered, start
from tests.factories import application, staff
from workflows.matter import MatterWorkflow

E = EventType
# What a workflow task's completion writes into the history, after WORKFLOW_TASK_COMPLETED.
_FROM_COMPLETION = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    E.EVENT_TYPE_MARKER_RECORDED,
    E.EVENT_TYPE_TIMER_STARTED,
    E.EVENT_TYPE_TIMER_CANCELED,
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
}


def completions(events: list[HistoryEvent]) -> list[list[HistoryEvent]]:
    """The events each workflow task's completion recorded, task by task."""
    tasks: list[list[HistoryEvent]] = []
    current: list[HistoryEvent] | None = None
    for event in events:
        if event.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            current = []
            tasks.append(current)
        elif current is not None and event.event_type in _FROM_COMPLETION:
            current.append(event)
        else:
            current = None  # anything else ends the completion's run of events
    return tasks


def local_writes(task: list[HistoryEvent]) -> int:
    return sum(
        1
        for e in task
        if e.event_type == E.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )


def projections_scheduled(task: list[HistoryEvent]) -> int:
    return sum(
        1
        for e in task
        if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "record_projection"
    )


async def test_an_action_is_written_only_after_its_task_is_recorded(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(
        MatterWorkflow.claim, ClaimInput(step_code="seal", actor=staff("psb"))
    )
    for step in ("seal", "invoice", "registration"):
        await approve(handle, app.matter, step)
    await delivered(handle)

    tasks = completions(list((await handle.fetch_history()).events))
    actions = [
        task
        for task in tasks
        if any(e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in task)
    ]
    # The first is the acceptance (update-with-start), in the start's task: it only waits
    # for the start's write, a local activity (the start is recorded before its task runs).
    # Then the claim, the three approvals and the hand-over each schedule their write.
    assert len(actions) == 6
    assert local_writes(actions[0]) == 1
    assert [projections_scheduled(task) for task in actions[1:]] == [1] * 5
    assert all(local_writes(task) == 0 for task in actions[1:])
