"""Replaying recorded histories: workflow code changes must not break running applications.

`tests/histories/` keeps one history of each released workflow shape. To add one, write its
recorder, run `TONGBAN_RECORD_HISTORIES=<name>[,<name>…] .venv/bin/pytest
tests/test_workflow_replay.py` and commit the new file (the histories already there stay as
they were recorded). A change that breaks replay needs `workflow.patched()`, or a new engine
generation (`ENGINE` in domain/application.py) if it is only for workflows started after it:
generation 0 is every history recorded before generations existed, and asks `patched()` for
each change since, as it always did.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from definitions.catalogue import default_catalogue
from domain.actions import (
    AcceptInput,
    ApproveInput,
    ClaimInput,
    ExtendInput,
    ExtensionRefusalInput,
    ExtensionRequestInput,
    RerouteInput,
    ReturnStepInput,
    StagePassInput,
    StageSendBackInput,
    SupervisionOrderInput,
    SupplementRequestInput,
    SupplyInput,
    WithdrawInput,
)
from domain.actors import SignoffRole
from domain.application import SuppliedItem
from domain.fields import clean_fields
from settings import Settings
from tests.api_helpers import COMPANY_SETUP_FORM
from tests.engine import (
    approval,
    approve,
    delivered,
    own_company_results,
    running_worker,
    start,
)
from tests.factories import APPLICANT, CLERK, SUPERVISOR, application, signer, staff
from tests.receivers import running_receiver
from tests.timeline import at, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow

HISTORIES = Path(__file__).parent / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=[MatterWorkflow], data_converter=pydantic_data_converter)


async def record_property_transfer(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """Every kind of transition: claims, a correction, an extension, cards, approvals."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(
        "property_transfer",
        now=at(monday, 10),
        calendar=plain_calendar(monday),
        application_no=f"REPLAY-{monday:%Y%m%d}-{os.getpid()}",
    )
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(
        MatterWorkflow.claim, ClaimInput(step_code="deed_tax", actor=staff("tax"))
    )
    await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="contract_filing",
            actor=staff("housing"),
            items=["买卖合同原件"],
            reason="复印件不清",
        ),
    )
    await skip_to(env, at(monday + timedelta(days=1), 11))
    await handle.execute_update(
        MatterWorkflow.supply_supplement,
        SupplyInput(actor=APPLICANT, items=[SuppliedItem(item="买卖合同原件", ref="scan-1")]),
    )
    await handle.execute_update(
        MatterWorkflow.extend,
        ExtendInput(
            step_code="contract_filing", actor=SUPERVISOR, working_days=1, reason="合同需核验"
        ),
    )
    await skip_to(env, at(monday + timedelta(days=2), 17, 31))  # deed tax goes yellow and red
    for step in ("deed_tax", "contract_filing", "registration"):
        await approve(handle, app.matter, step)
    await delivered(handle)
    return await handle.fetch_history()


async def record_returned_and_rerouted(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """Engine 4: a step returned, its cards raised while it waits (to the routing), an order
    on it, then rerouted and approved; the application withdrawn with the order open."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(
        "company_setup",
        now=at(monday, 10),
        calendar=plain_calendar(monday),
        application_no=f"REPLAY-ROUTE-{uuid.uuid4().hex[:8]}",
    )
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(
        MatterWorkflow.return_step,
        ReturnStepInput(step_code="seal", actor=staff("psb"), reason="不属于本部门"),
    )
    await skip_to(env, at(monday + timedelta(days=2), 17, 31))  # yellow, then red
    await handle.execute_update(
        MatterWorkflow.order,
        SupervisionOrderInput(step_code="seal", actor=SUPERVISOR, working_days=2, demand="改派"),
    )
    await handle.execute_update(
        MatterWorkflow.reroute, RerouteInput(step_code="seal", actor=SUPERVISOR, department="amr")
    )
    await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="不办了")
    )
    return await handle.fetch_history()


async def record_online_company_setup(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """Submitted online: received, accepted by the window, then approved in parallel."""
    app = application(
        "company_setup",
        now=await env.get_current_time(),
        application_no=f"REPLAY-ONLINE-{uuid.uuid4().hex[:8]}",
        needs_acceptance=True,
        accepted_by=APPLICANT,
    )
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(MatterWorkflow.accept, AcceptInput(actor=CLERK))
    for step in ("registration", "seal", "invoice"):
        await approve(handle, app.matter, step)
    await delivered(handle)
    return await handle.fetch_history()


async def record_extension_requests(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """A department asks for more time twice: refused once, granted once."""
    app = application(
        "company_setup",
        now=await env.get_current_time(),
        application_no=f"REPLAY-EXT-{uuid.uuid4().hex[:8]}",
    )
    handle = await start(env, worker.task_queue, app)
    ask = ExtensionRequestInput(
        step_code="seal", actor=staff("psb"), working_days=2, reason="需实地核查"
    )
    await handle.execute_update(MatterWorkflow.request_extension, ask)
    await handle.execute_update(
        MatterWorkflow.refuse_extension,
        ExtensionRefusalInput(step_code="seal", actor=SUPERVISOR, reason="可在期限内办结"),
    )
    await handle.execute_update(MatterWorkflow.request_extension, ask)
    await handle.execute_update(
        MatterWorkflow.extend,
        ExtendInput(step_code="seal", actor=SUPERVISOR, working_days=1, reason="同意1日"),
    )
    for step in ("registration", "seal", "invoice"):
        await approve(handle, app.matter, step)
    await delivered(handle)
    return await handle.fetch_history()


async def record_licences_and_delivery(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """Granted with its licences issued, delivered late (yellow, red) and then handed over."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    matter = default_catalogue().matter("company_setup")
    app = application(
        "company_setup",
        now=at(monday, 10),
        calendar=plain_calendar(monday),
        application_no=f"REPLAY-DELIVERY-{uuid.uuid4().hex[:8]}",
        form=clean_fields(matter.form, COMPANY_SETUP_FORM),
    )
    handle = await start(env, worker.task_queue, app)
    results = own_company_results(matter)
    for step in ("registration", "seal", "invoice"):
        approval = ApproveInput(
            step_code=step, actor=staff(matter.step(step).department), result=results[step]
        )
        await handle.execute_update(MatterWorkflow.approve, approval)
    await skip_to(env, at(monday + timedelta(days=14), 17, 31))
    await delivered(handle)
    return await handle.fetch_history()


async def record_walk_in_refusal(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """不予受理 at the window: the case starts and closes at once."""
    app = application(
        "company_setup",
        now=await env.get_current_time(),
        application_no=f"REPLAY-REFUSED-{uuid.uuid4().hex[:8]}",
        refusal="申请事项不属于本机关职权范围",
    )
    handle = await start(env, worker.task_queue, app)
    await handle.result()
    return await handle.fetch_history()


async def record_signoff_and_auto(env: WorkflowEnvironment, worker: Worker) -> WorkflowHistory:
    """分级签署 with a send-back, and a 秒批 rule that reads the library and cannot decide."""
    app = application(
        "utility_connection",
        now=await env.get_current_time(),
        application_no=f"REPLAY-SIGNOFF-{uuid.uuid4().hex[:8]}",
        form={"gas_demand": 20},
    )
    handle = await start(env, worker.task_queue, app)
    approver = signer("urban", SignoffRole.approver)
    for role in (SignoffRole.handler, SignoffRole.reviewer):
        await handle.execute_update(
            MatterWorkflow.pass_stage,
            StagePassInput(step_code="road_opening", actor=signer("urban", role), opinion="同意"),
        )
    await handle.execute_update(
        MatterWorkflow.send_back_stage,
        StageSendBackInput(step_code="road_opening", actor=approver, reason="需复核"),
    )
    await handle.execute_update(
        MatterWorkflow.pass_stage,
        StagePassInput(
            step_code="road_opening", actor=signer("urban", SignoffRole.reviewer), opinion="已复核"
        ),
    )
    await handle.execute_update(
        MatterWorkflow.approve, approval(app.matter, "road_opening", actor=approver)
    )
    for step in ("water", "power", "gas"):
        await approve(handle, app.matter, step)
    await delivered(handle)
    return await handle.fetch_history()


RECORDERS = {
    "utility_connection_signoff_auto_v2": record_signoff_and_auto,  # engine 6
    "company_setup_licences_delivery_v4": record_licences_and_delivery,
    "walk_in_refusal_v4": record_walk_in_refusal,
    "company_setup_extension_requests_v3": record_extension_requests,
    "property_transfer_v8": record_property_transfer,  # engine 7
    "company_setup_online_v2": record_online_company_setup,
    "company_setup_returned_v1": record_returned_and_rerouted,
}


async def _replays_and_is_kept(name: str, history: WorkflowHistory) -> None:
    assert len(history.events) > 5
    await replayer().replay_workflow(history)
    if name in os.environ.get("TONGBAN_RECORD_HISTORIES", "").split(","):
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


@pytest.mark.parametrize("name", sorted(RECORDERS))
async def test_a_fresh_history_replays(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession], name: str
) -> None:
    await _replays_and_is_kept(name, await RECORDERS[name](env, worker))


async def test_a_fresh_history_with_its_sms_sent_by_the_writes_replays(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
) -> None:
    """Engine 3 with an SMS gateway: the writes send the SMS (their results in the history),
    the first one's first try refused and left to its activity."""
    with running_receiver() as gateway:
        gateway.behaviour.fail_next = 1
        settings = Settings(
            sms_url=f"{gateway.url}/sms",
            database_url="unused",
            sms_first_try_pause_seconds=0,  # the next writes try
        )
        async with running_worker(env, sessions, task_queue, settings=settings) as worker:
            history = await record_online_company_setup(env, worker)
    await _replays_and_is_kept("company_setup_sms_in_write_v1", history)


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_histories_replay(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    await replayer().replay_workflow(history)


def test_there_is_a_recorded_history() -> None:
    assert list(HISTORIES.glob("*.json")), "record one: see this module's docstring"
