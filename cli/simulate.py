"""`tongban simulate SCENARIO.yaml`: what a matter's clocks will do, before it goes live.

The scenario runs on a time-skipping Temporal test server started for the occasion (the
`temporal-test-server` binary of the dev extra), with a throwaway read model; the outcome is
printed as JSON. An invalid scenario is reported as FILE:LINE on stderr, with exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from definitions.source import DefinitionErrors
from simulation.scenario import Scenario, load_scenario


def run_simulation(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(Path(args.file))
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    try:
        outcome = asyncio.run(_simulate(scenario))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(outcome, ensure_ascii=False, indent=2))
    return 0


async def _simulate(scenario: Scenario) -> dict[str, Any]:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
    from temporalio.testing import WorkflowEnvironment

    from simulation.runner import simulate
    from simulation.server import register_search_attributes, test_server_binary

    # Only the outcome is wanted: the SMS not sent (no gateway in a simulation) and the
    # test server's own notices would bury it.
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=test_server_binary(),
        runtime=Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet))),
    )
    try:
        await register_search_attributes(env.client)
        return await simulate(env, scenario)
    finally:
        await env.shutdown()


def register(areas: Any) -> None:
    parser = areas.add_parser(
        "simulate", help="run a scenario on a time-skipping server; print its outcome as JSON"
    )
    parser.add_argument("file", metavar="FILE", help="the scenario (YAML)")
    parser.set_defaults(handler=run_simulation)
