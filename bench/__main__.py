"""Run the benchmark: `make bench` (or `.venv/bin/python -m bench --help`).

Starts its own stack with `tongban dev` in a temporary data directory on spare ports, then:
1. Tongban: N company-setup applications submitted through the HTTP API, accepted by the
   window and each of the three steps approved through the API by its department, until
   every application is granted; with the CPU each cost, by process (bench/cpu.py; the
   baseline's too);
2. baseline: N bare workflows of the same shape (three parallel activities, three signals)
   on the same Temporal dev server, no HTTP, no SQL;
3. status polling, closed loop: 50 concurrent pollers on GET /api/applications/{no} for a
   fixed time (`status_poll_capacity_per_second`); then open loop: 200 polls/s on a fixed
   schedule while company setups flow from another process, first at a fixed 2.4 a second
   (`status_poll_open_loop`: the flow of the issue's own measurement, with room left on
   the machine), then from five clients, each starting its next when the last ends
   (`status_poll_open_loop_saturated`: they take every core, whatever the stack's speed);
4. Temporal actions: a sample of the applications is handed over at the window (出件), so
   their workflows end, and the billable actions in their histories are counted
   (`temporal_actions_per_application`, see bench/actions.py).
`--database postgresql` runs phases 1-4 on a fresh database of the machine's PostgreSQL
cluster instead of SQLite; `--api-workers N` runs N API processes (2 by default).
Then, without the stack, each on a fresh SQLite database of its own:
5. the licence library (`bench.licences`): N licences imported, and holder look-ups;
6. the catalogue (`bench.catalogue`): the city's 52,865 entries generated, and searches
   through the API (`catalogue_search_p50_ms`, `catalogue_search_p95_ms`);
7. the statistics (`bench.statistics`): one million closed applications written straight
   into SQL, the daily aggregates refreshed, and the year's figures through the API and the
   page (`statistics_ms_1m`).
Prints the figures and merges them into bench/results/latest.json (a PostgreSQL run's under
the key "postgresql"), keeping the keys of phases not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from bench import actions, catalogue, licences, polls
from bench import statistics as statistics_phase
from bench.baseline import STEPS, BaselineWorkflow, open_step
from bench.cpu import CpuMeter
from bench.faults.postgres import Cluster
from bench.flow import DEPARTMENTS, Flowing, journey, token
from bench.ports import spare_port

RESULTS = Path(__file__).resolve().parent / "results"
BENCH_DATABASE = "tongban_bench"  # in the machine's PostgreSQL cluster, made afresh


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = int(meminfo.read_text().split()[1]) // 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def start_stack(
    data_dir: Path, port: int, temporal_port: int, api_workers: int, environment: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = open(data_dir / "stack.log", "wb")  # noqa: SIM115 (the child writes to it)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "dev",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--temporal-port",
            str(temporal_port),
            "--api-workers",
            str(api_workers),
            # The identity provider, SMS sink and UI on spare ports: a `make run` stack (or
            # another bench) may hold the defaults.
            "--oidc-port",
            str(spare_port()),
            "--sms-port",
            str(spare_port()),
            "--ui-port",
            str(spare_port()),
        ],
        env=os.environ | environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def wait_ready(base: str, stack: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if stack.poll() is not None:
                raise RuntimeError("the stack exited while starting: see its stack.log")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the stack did not become ready")


async def run_limited(count: int, concurrency: int, make: Any) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> Any:
        async with gate:
            return await make()

    return await asyncio.gather(*(one() for _ in range(count)))


async def tongban_throughput(
    base: str, n: int, concurrency: int
) -> tuple[float, list[tuple[str, str]]]:
    limits = httpx.Limits(max_connections=concurrency * 4)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        headers = {u: await token(client, u) for u in (*DEPARTMENTS.values(), "clerk")}
        await journey(client, headers)  # warm-up
        started = time.perf_counter()
        apps = await run_limited(n, concurrency, lambda: journey(client, headers))
        return n / (time.perf_counter() - started), apps


async def baseline_throughput(address: str, n: int, concurrency: int) -> float:
    from temporalio.contrib.pydantic import pydantic_data_converter

    client = await Client.connect(address, data_converter=pydantic_data_converter)
    queue = f"bench-baseline-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=queue, workflows=[BaselineWorkflow], activities=[open_step]
    ):

        async def one() -> None:
            handle = await client.start_workflow(
                BaselineWorkflow.run, id=f"baseline-{uuid.uuid4()}", task_queue=queue
            )
            await asyncio.gather(*(handle.signal(BaselineWorkflow.decide, s) for s in STEPS))
            await handle.result()

        await one()  # warm-up
        started = time.perf_counter()
        await run_limited(n, concurrency, one)
        return n / (time.perf_counter() - started)


async def polls_while_flowing(
    base: str, apps: list[tuple[str, str]], args: argparse.Namespace, **flow: Any
) -> dict[str, Any]:
    """The open loop of polls, while company setups flow (`rate=` or `clients=`, bench.flow)."""
    kind = f"{flow['rate']} company setups/s" if "rate" in flow else f"{flow['clients']} clients"
    print(f"polling, open loop: {args.poll_rate:.0f}/s for {args.poll_seconds:.0f}s, {kind}")
    async with Flowing(base, **flow) as flowing:
        result = await polls.open_loop(base, apps, args.poll_rate, args.poll_seconds)
        meanwhile = await flowing.stop()
    print(
        f"  served {result['served_per_second']}/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms; {meanwhile} applications meanwhile"
    )
    return result | {"flow": kind, "applications_meanwhile": meanwhile}


async def hand_over_and_count(
    base: str, address: str, apps: list[tuple[str, str]]
) -> dict[str, Any]:
    """Hand each application's result over at the window, wait for its workflow to end, and
    count the actions in its history."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    temporal = await Client.connect(address, data_converter=pydantic_data_converter)
    total: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        clerk = await token(client, "clerk")
        for number, _code in apps:
            body = {"method": "window", "ref": "张三"}
            for _ in range(100):  # until the licences are issued and the result can go
                r = await client.post(
                    f"/api/window/applications/{number}/handover", json=body, headers=clerk
                )
                if r.status_code != 409:
                    break
                await asyncio.sleep(0.2)
            r.raise_for_status()
            handle = temporal.get_workflow_handle(number)
            await asyncio.wait_for(handle.result(), timeout=60)
            for kind, n in actions.count([e async for e in handle.fetch_history_events()]).items():
                total[kind] = total.get(kind, 0) + n
    per_application = {k: round(v / len(apps), 2) for k, v in sorted(total.items())}
    return {
        "applications": len(apps),
        "per_application": round(sum(total.values()) / len(apps), 2),
        "by_kind": per_application,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    base = f"http://127.0.0.1:{args.port}"
    address = f"127.0.0.1:{args.temporal_port}"
    environment: dict[str, str] = {}
    if args.database == "postgresql":
        cluster = Cluster.local()
        cluster.fresh_database(BENCH_DATABASE)
        environment["TONGBAN_DATABASE_URL"] = cluster.url_for(BENCH_DATABASE)
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp:
        stack = start_stack(Path(tmp), args.port, args.temporal_port, args.api_workers, environment)
        try:
            await wait_ready(base, stack)
            n, c = args.applications, args.concurrency
            print(f"stack ready ({args.database}); Tongban: {n} applications, concurrency {c}")
            meter = CpuMeter(stack.pid)
            meter.start()
            tongban_rate, apps = await tongban_throughput(base, args.applications, args.concurrency)
            tongban_cpu = meter.per_application(args.applications)
            print(f"  {tongban_rate:.1f} applications/s; CPU ms per application {tongban_cpu}")
            print(f"baseline: {args.applications} bare workflows")
            meter.start()
            baseline_rate = await baseline_throughput(address, args.applications, args.concurrency)
            baseline_cpu = meter.per_application(args.applications)
            print(f"  {baseline_rate:.1f} workflows/s; CPU ms per workflow {baseline_cpu}")
            print(f"polling, closed loop: {args.pollers} pollers for {args.poll_seconds:.0f}s")
            capacity = await polls.capacity(base, apps, args.pollers, args.poll_seconds)
            print(
                f"  {capacity['requests_per_second']}/s, "
                f"p50 {capacity['p50_ms']} ms, p99 {capacity['p99_ms']} ms"
            )
            open_loop = await polls_while_flowing(base, apps, args, rate=args.flow_rate)
            saturated = await polls_while_flowing(base, apps, args, clients=args.flow_clients)
            sample = apps[: args.action_sample]
            print(f"Temporal actions: {len(sample)} applications handed over and counted")
            counted = await hand_over_and_count(base, address, sample)
            print(f"  {counted['per_application']} per application: {counted['by_kind']}")
        finally:
            stack.send_signal(signal.SIGINT)
            stack.wait(60)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": {
            "applications": args.applications,
            "concurrency": args.concurrency,
            "pollers": args.pollers,
            "poll_seconds": args.poll_seconds,
            "poll_rate": args.poll_rate,
            "flow_rate": args.flow_rate,
            "flow_clients": args.flow_clients,
            "api_workers": args.api_workers,
            "licences": args.licences,
            "catalogue_entries": args.catalogue,
            "statistics_applications": args.statistics,
            "database": args.database,
        },
        "tongban_applications_per_second": round(tongban_rate, 2),
        "baseline_workflows_per_second": round(baseline_rate, 2),
        "ratio_tongban_to_baseline": round(tongban_rate / baseline_rate, 3),
        # CPU ms each application cost, by process (bench/cpu.py): what bounds the ratio.
        "cpu_ms_per_application": tongban_cpu,
        "cpu_ms_per_baseline_workflow": baseline_cpu,
        "status_poll": capacity,
        "status_poll_capacity_per_second": capacity["requests_per_second"],
        "status_poll_open_loop": open_loop,
        "status_poll_open_loop_saturated": saturated,
        "temporal_actions_per_application": counted["per_application"],
        "temporal_actions": counted,
    }


def save(result: dict[str, Any]) -> Path:
    """Merge `result` into latest.json (a PostgreSQL run's figures under "postgresql"), and
    keep this run alone in a file named by its time."""
    RESULTS.mkdir(exist_ok=True)
    stamp = result["at"].replace(":", "").replace("+0000", "Z")
    (RESULTS / f"{stamp}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    latest_path = RESULTS / "latest.json"
    latest = json.loads(latest_path.read_text(encoding="utf-8")) if latest_path.exists() else {}
    if result["parameters"]["database"] == "postgresql":
        latest["postgresql"] = result
    else:
        latest |= result
    latest_path.write_text(json.dumps(latest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return latest_path


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--poll-seconds", type=float, default=15)
    parser.add_argument("--poll-rate", type=float, default=200, help="open-loop polls/s (200)")
    parser.add_argument(
        "--flow-rate", type=float, default=2.4, help="company setups/s meanwhile (2.4)"
    )
    parser.add_argument(
        "--flow-clients", type=int, default=5, help="then clients running them meanwhile (5)"
    )
    parser.add_argument(
        "--action-sample", type=int, default=20, help="applications whose actions are counted"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    # Two, as the production topology runs one API process per core: the poll figures are
    # what the stack serves through all of them.
    parser.add_argument("--api-workers", type=int, default=2, help="API processes (2)")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--temporal-port", type=int, default=7600)
    parser.add_argument(
        "--licences", type=int, default=1_000_000, help="licences to import (0: skip the phase)"
    )
    parser.add_argument(
        "--catalogue", type=int, default=52_865, help="catalogue entries (0: skip the phase)"
    )
    parser.add_argument(
        "--statistics",
        type=int,
        default=1_000_000,
        help="closed applications for the statistics (0: skip the phase)",
    )
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    if args.database == "sqlite":  # these phases run on SQLite files of their own
        if args.licences:
            result |= licences.run(args.licences)
        if args.catalogue:
            result |= catalogue.run(args.catalogue)
        if args.statistics:
            result |= statistics_phase.run(args.statistics)
    latest = save(result)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"merged into {latest}")


if __name__ == "__main__":
    main()
