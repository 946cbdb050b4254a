"""Custom search attributes: the same applications, filterable in the Temporal Web UI.

The dev server registers them from `temporal-dev.yaml`; a test keeps both lists equal.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

APPLICATION_NO = SearchAttributeKey.for_keyword("ApplicationNo")
MATTER_CODE = SearchAttributeKey.for_keyword("MatterCode")
APPLICATION_STATE = SearchAttributeKey.for_keyword("ApplicationState")
SLA_LEVEL = SearchAttributeKey.for_keyword("SlaLevel")
OVERDUE_STEPS = SearchAttributeKey.for_keyword_list("OverdueSteps")
PROMISED_DEADLINE = SearchAttributeKey.for_datetime("PromisedDeadline")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    APPLICATION_NO,
    MATTER_CODE,
    APPLICATION_STATE,
    SLA_LEVEL,
    OVERDUE_STEPS,
    PROMISED_DEADLINE,
)
