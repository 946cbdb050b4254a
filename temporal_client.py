"""Connecting to Temporal with the project's data converter, TLS and API key settings."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)
from temporalio.service import TLSConfig

from settings import Settings


def _tls(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert or settings.temporal_tls_ca:
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes()
            if settings.temporal_tls_cert
            else None,
            client_private_key=(
                settings.temporal_tls_key.read_bytes() if settings.temporal_tls_key else None
            ),
            server_root_ca_cert=(
                settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None
            ),
        )
    # Temporal Cloud with an API key is always TLS.
    return bool(settings.temporal_api_key)


def _forwarded_logs() -> LoggingConfig:
    # The SDK core's own log lines (warnings and up) go to Python's logging, so that they
    # come out in the process's format (JSON lines) rather than raw on stderr.
    return LoggingConfig(
        filter=LoggingConfig.default.filter,
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )


@functools.cache
def api_runtime() -> Runtime:
    """An API process's Temporal runtime: one per process, however many apps it builds."""
    return Runtime(telemetry=TelemetryConfig(logging=_forwarded_logs()))


def worker_runtime(settings: Settings) -> Runtime:
    """The worker's Temporal runtime (one per process), its core's log lines forwarded as
    the API's are. With
    `TONGBAN_WORKER_METRICS_ADDRESS`, the SDK's metrics (task latencies, slots, polls,
    requests) are served for Prometheus at http://<address>/metrics; the address is bound
    when the runtime is created."""
    metrics = (
        PrometheusConfig(
            bind_address=settings.worker_metrics_address,
            # Prometheus' own conventions: seconds, named so, and counters ending in _total.
            durations_as_seconds=True,
            unit_suffix=True,
            counters_total_suffix=True,
        )
        if settings.worker_metrics_address
        else None
    )
    return Runtime(telemetry=TelemetryConfig(logging=_forwarded_logs(), metrics=metrics))


async def connect(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=_tls(settings),
        data_converter=pydantic_data_converter,
        runtime=runtime,
        interceptors=interceptors,
    )
