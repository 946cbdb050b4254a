"""Temporal actions per application, counted from workflow histories.

Temporal Cloud bills by action. Its own estimate reads the event history, and so does this
count, by the published rules: a workflow start, each activity attempt, each timer, each
signal, each update, each search-attribute upsert or memo change, each side-effect marker,
each child workflow; the local activities that one workflow task runs count once together.
Queries and rejected updates are billed too but leave nothing in a history; the bench sends
none of either while counting, so the figure is exact for its applications.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

E = EventType
# One action each.
_SINGLE = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "workflow started",
    E.EVENT_TYPE_TIMER_STARTED: "timer",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attributes",
    E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "memo",
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child workflow",
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal",
}
_LOCAL_ACTIVITY_MARKER = "core_local_activity"
_PATCH_MARKER = "core_patch"  # version markers are not billed


def count(events: Iterable[HistoryEvent]) -> Counter[str]:
    actions: Counter[str] = Counter()
    local_in_task = False  # a local-activity marker already counted for this workflow task
    for event in events:
        kind = event.event_type
        if kind == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            local_in_task = False
        if kind in _SINGLE:
            actions[_SINGLE[kind]] += 1
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            # Each attempt is an action; a history keeps the last attempt's start only.
            actions["activity attempt"] += max(
                1, event.activity_task_started_event_attributes.attempt
            )
        elif kind == E.EVENT_TYPE_MARKER_RECORDED:
            name = event.marker_recorded_event_attributes.marker_name
            if name == _LOCAL_ACTIVITY_MARKER:
                if not local_in_task:
                    actions["local activities (per workflow task)"] += 1
                    local_in_task = True
            elif name != _PATCH_MARKER:
                actions["side effect"] += 1
    return actions
