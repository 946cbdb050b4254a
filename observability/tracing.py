"""Traces: an HTTP request, the workflow update it sends, the workflow's handling of it and
the activities it runs, in one trace (docs/observability.md).

On only when an OTLP endpoint is configured (`TONGBAN_OTLP_ENDPOINT`, or the standard
`OTEL_EXPORTER_OTLP_ENDPOINT`): without one nothing is instrumented and nothing costs.
The context crosses into Temporal in the headers of the client's calls and of the activities
the workflow starts (`TracingInterceptor`), so the worker's spans join the API's trace.

Each part builds a tracer provider of its own and hands it to what it instruments, rather
than installing the process-global one (which can be set only once: the tests build several
apps in one process).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span
from opentelemetry.trace.status import Status
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from observability.logs import mask, mask_query
from settings import Settings

# Probes and scrapes every few seconds would drown the requests people make.
UNTRACED_PATHS = "healthz,readyz,metrics,static/"
# Attributes of a request span that hold its address, query string included.
_URL_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.query", "url.path")


class Tracing:
    """A tracer provider and the Temporal interceptor that uses it."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        # On the client: spans for starts, updates and queries, their context in the headers.
        # On the worker: spans for the workflow's handling and the activities it runs.
        self.interceptor = TracingInterceptor(provider.get_tracer("tongban"))

    def traced(self, client: Client) -> Client:
        """`client` (same connection) with its calls traced."""
        config = client.config()
        if self.interceptor not in config["interceptors"]:
            config["interceptors"] = [*config["interceptors"], self.interceptor]
        return Client(**config)

    def instrument(self, app: FastAPI) -> None:
        """A server span for every request, named by its route template."""
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls=UNTRACED_PATHS,
            server_request_hook=_mask_url,
        )

    def shutdown(self) -> None:
        """Send what is buffered."""
        self.provider.shutdown()


def _mask_url(span: Span, _scope: dict[str, Any]) -> None:
    """A query string may carry an ID number or a phone (a licence look-up): masked as in
    the logs before the span leaves the process."""
    attributes = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            span.set_attribute(key, mask_query(value))


# Attributes of an exception event (a span's recorded error) that hold its text.
_EXCEPTION_TEXT = ("exception.message", "exception.stacktrace")


class _Masked(SpanExporter):
    """An error recorded on a span (a request's, an activity's) keeps its message and
    traceback: masked as a log line's before the span leaves the process."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Any) -> SpanExportResult:
        return self._inner.export([_masked(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _masked_attributes(attributes: Any) -> dict[str, Any]:
    return {
        k: mask(v) if k in _EXCEPTION_TEXT and isinstance(v, str) else v
        for k, v in (attributes or {}).items()
    }


def _masked(span: ReadableSpan) -> ReadableSpan:
    description = span.status.description
    if not description and not any(e.name == "exception" for e in span.events):
        return span  # nearly every span: nothing went wrong
    events = [Event(e.name, _masked_attributes(e.attributes), e.timestamp) for e in span.events]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, mask(description)) if description else span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def otlp_endpoint(settings: Settings) -> str:
    return settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")


def setup_tracing(
    settings: Settings, service: str, *, exporter: SpanExporter | None = None
) -> Tracing | None:
    """Tracing for `service` ("tongban-api", "tongban-worker"), or None if no endpoint is
    configured. `exporter` replaces the OTLP one (the tests keep spans in memory)."""
    if exporter is not None:
        # Exported as each span ends: what a test reads is complete when the call returns.
        processor: SimpleSpanProcessor | BatchSpanProcessor = SimpleSpanProcessor(_Masked(exporter))
    else:
        endpoint = otlp_endpoint(settings)
        if not endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The standard variable is a base URL the exporter completes itself; ours is too.
        traces_url = (
            f"{settings.otlp_endpoint.rstrip('/')}/v1/traces" if settings.otlp_endpoint else None
        )
        processor = BatchSpanProcessor(_Masked(OTLPSpanExporter(endpoint=traces_url)))
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(processor)
    return Tracing(provider)
