"""Tracing: one HTTP request that runs a workflow update yields spans for the request, the
update (client and workflow sides) and the activity it ran, in one trace. Spans are kept in
memory by an exporter given to the same setup the services use; nothing leaves the machine."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import Status, StatusCode
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from observability.tracing import setup_tracing
from settings import Settings
from tests.api_helpers import submit
from tests.conftest import client_of
from tests.engine import STARTED, running_worker
from tests.factories import id_number
from workflows.matter import MatterWorkflow


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, sorted(s.name for s in spans)
    return found[0]


async def test_a_request_is_traced_through_the_update_to_the_activity(
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    demo_accounts: None,
    licence_library: None,
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="unused: the engine is passed in",
        secret_key="test-secret",
        temporal_task_queue=task_queue,
    )
    assert setup_tracing(settings, "tongban-api") is None  # no endpoint: no tracing
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(settings, "tongban-test", exporter=exporter)
    assert tracing is not None
    app = create_app(
        settings,
        temporal_client=env.client,
        db_engine=engine,
        clock=env.get_current_time,
        tracing=tracing,
    )
    phone = "13912345678"
    async with (
        running_worker(env, sessions, task_queue, interceptors=[tracing.interceptor]),
        app.router.lifespan_context(app),
        client_of(app) as api,
    ):
        # Applying online starts the workflow with its `acceptance` update, which returns
        # once the projection activity has written the application to the read model.
        receipt = await submit(api, accept=False)
        number = receipt["application_no"]
        STARTED.append(env.client.get_workflow_handle_for(MatterWorkflow.run, number))
        await api.get("/healthz")  # probes are not traced
        await api.get(f"/api/licences?holder={phone}")  # whatever it answers, the URL is masked

    spans = list(exporter.get_finished_spans())
    request = named(spans, "POST /api/applications")
    assert request.kind is SpanKind.SERVER and request.parent is None
    update = named(spans, "StartUpdateWithStartWorkflow:MatterWorkflow")
    handled = named(spans, "HandleUpdate:acceptance")
    activity = named(spans, "RunActivity:record_projection")
    trace = request.context.trace_id
    assert {update.context.trace_id, handled.context.trace_id, activity.context.trace_id} == {trace}
    assert update.attributes is not None and update.attributes["temporalWorkflowID"] == number
    assert not [s for s in spans if "healthz" in s.name]
    look_up = named(spans, "GET /api/licences")
    assert look_up.attributes is not None and "139****5678" in str(look_up.attributes["http.url"])
    assert not [s for s in spans if phone in str(dict(s.attributes or {}))]


def test_an_error_recorded_on_a_span_leaves_with_its_personal_data_masked(
    tmp_path: Path,
) -> None:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(Settings(data_dir=tmp_path), "tongban-test", exporter=exporter)
    assert tracing is not None
    person = id_number()
    with tracing.provider.get_tracer("test").start_as_current_span("write") as span:
        span.record_exception(RuntimeError(f"no row for {person}, phone 13912345678"))
        span.set_status(Status(StatusCode.ERROR, f"refused {person}"))
    with tracing.provider.get_tracer("test").start_as_current_span("fine"):
        pass
    failed, fine = exporter.get_finished_spans()
    [event] = failed.events
    texts = [str(v) for v in (event.attributes or {}).values()]
    texts.append(failed.status.description or "")
    assert all(person not in t and "13912345678" not in t for t in texts), texts
    assert "139****5678" in str((event.attributes or {})["exception.message"])
    assert failed.status.description == f"refused {person[:6]}********{person[-4:]}"
    assert fine.name == "fine" and not fine.events
    tracing.shutdown()
