"""Run the fault test: `make faults` (as root: it stops and starts PostgreSQL).

Prints the figures as JSON (kept in bench/results/faults-latest.json): per fault, the
requests refused (503 with Retry-After), cut connections, server errors, how long the outage
lasted and how long until writes went through again; then what the database and the SMS sink
hold. Exit 1 if anything is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.faults import checks
from bench.faults.load import Client, Stream, Tally
from bench.faults.postgres import Cluster
from bench.faults.processes import ROOT, Processes, wait_listening
from bench.ports import spare_port
from cli.dev_stack import DevConfig, prepare_database
from settings import Settings

API_PROCESSES = 2
WORKERS = 2
SETTLE = 10.0  # steady load between faults
RECOVERY_LIMIT = 90.0


def ready(base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=3) as response:
                if json.loads(response.read()).get("status") == "ready":
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{base} not ready after {timeout:.0f}s")


class Faults:
    """Each fault in turn, with the load running; the figures of each."""

    def __init__(self, procs: Processes, cluster: Cluster, tally: Tally, outage: float) -> None:
        self.procs, self.cluster, self.tally = procs, cluster, tally
        self.outage = outage
        self.figures: dict[str, dict[str, Any]] = {}

    async def run(self, name: str, inject: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.tally.phase = name
        started = time.monotonic()
        figures = await inject()
        restored = time.monotonic()
        # Recovered once a write (a submission, an approval) succeeds after the restoration.
        while self.tally.last_write_ok < restored:
            if time.monotonic() - restored > RECOVERY_LIMIT:
                figures["recovered"] = False
                break
            await asyncio.sleep(0.1)
        else:
            figures["recovery_s"] = round(self.tally.last_write_ok - restored, 2)
        figures["outage_s"] = round(restored - started, 2)
        self.tally.phase = "steady"
        await asyncio.sleep(SETTLE)
        self.figures[name] = figures

    async def kill_worker(self) -> dict[str, Any]:
        victim = self.procs.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        # As systemd's Restart= would, a second later; the other worker carries on meanwhile.
        await asyncio.sleep(1)
        self.procs.workers.remove(victim)
        self.procs.start_worker()
        return {"killed_pid": victim.pid}

    async def kill_api_process(self) -> dict[str, Any]:
        before = self.procs.api_processes()
        os.kill(before[0], signal.SIGKILL)
        killed = time.monotonic()
        # uvicorn's supervisor replaces it; the other process serves meanwhile.
        while time.monotonic() - killed < RECOVERY_LIMIT:
            now = self.procs.api_processes()
            if before[0] not in now and len(now) == len(before):
                break
            await asyncio.sleep(0.1)
        else:
            return {"killed_pid": before[0], "recovered": False, "replaced": False}
        return {"killed_pid": before[0], "replaced_after_s": round(time.monotonic() - killed, 2)}

    async def restart_temporal(self) -> dict[str, Any]:
        await asyncio.to_thread(self.procs.stop_temporal)
        await asyncio.sleep(self.outage)
        self.procs.start_temporal()
        await asyncio.to_thread(wait_listening, self.procs.temporal_port, "Temporal")
        return {}

    async def stop_postgres(self) -> dict[str, Any]:
        await asyncio.to_thread(self.cluster.stop)
        await asyncio.sleep(30)
        await asyncio.to_thread(self.cluster.start)
        return {}


async def exercise(
    base: str, procs: Processes, cluster: Cluster, args: argparse.Namespace
) -> dict[str, Any]:
    tally = Tally()
    client = Client(base, tally)
    stream = Stream(client, args.concurrency)
    stream.start()
    try:
        await asyncio.sleep(SETTLE)
        faults = Faults(procs, cluster, tally, args.temporal_outage)
        await faults.run("kill -9 worker", faults.kill_worker)
        await faults.run("kill -9 API process", faults.kill_api_process)
        await faults.run("Temporal stopped and restarted", faults.restart_temporal)
        await faults.run("PostgreSQL stopped 30 s", faults.stop_postgres)
        tally.phase = "drain"
        await stream.drain(within=120)
    finally:
        await client.close()
    by_phase = tally.by_phase()
    for name, figures in faults.figures.items():
        counts = by_phase.get(name, {})
        figures["requests_refused_503"] = counts.get("503", 0)
        figures["connections_cut"] = sum(
            n for k, n in counts.items() if k.startswith("connection_error")
        )
        figures["server_errors_500"] = counts.get("500", 0)
        figures["statuses"] = counts
    return {
        "faults": faults.figures,
        "statuses_by_phase": by_phase,
        "applications_submitted": stream.started,
        "applications_granted": len(stream.granted),
        "journeys_failed": stream.failed[:20],
        "server_error_bodies": tally.server_errors[:10],
        "granted_numbers": stream.granted,
    }


def verdict(report: dict[str, Any]) -> list[str]:
    db = report["database"]
    problems = []
    if report["journeys_failed"]:
        problems.append("some applications did not reach their end")
    if any(k == "500" for phase in report["statuses_by_phase"].values() for k in phase):
        problems.append("a request was answered 500")
    if any("503_without_retry_after" in phase for phase in report["statuses_by_phase"].values()):
        problems.append("a 503 came without Retry-After")
    for key in (
        "duplicate_events",
        "duplicate_licences",
        "duplicate_messages",
        "event_sequence_gaps",
    ):
        if db[key]:
            problems.append(key)
    if db["repeated_transitions"] or db["granted_by_api_but_not_in_read_model"]:
        problems.append("the read model disagrees")
    if db["stored_but_not_granted_to_a_client"]:
        problems.append("an application is stored that no client saw granted")
    if db["sms_not_sent"]:
        problems.append("an SMS was not delivered")
    if report["sms"]["sms_duplicates"]:
        problems.append("an SMS was delivered twice")
    if any(f.get("recovered") is False for f in report["faults"].values()):
        problems.append("a fault was not recovered from")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=3, help="journeys at a time (3)")
    parser.add_argument(
        "--temporal-outage", type=float, default=10, help="seconds Temporal stays down (10)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the fault test stops and starts PostgreSQL: run it as root", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="tongban-faults-"))
    cluster = Cluster.local()
    api_port, temporal_port = spare_port(), spare_port()
    config = DevConfig.load(
        argparse.Namespace(
            temporal_port=temporal_port,
            ui_port=spare_port(),
            data_dir=str(work),
            port=api_port,
            api_workers=2,
            oidc_port=spare_port(),
            sms_port=spare_port(),
        )
    )
    env = config.environment() | {
        "TONGBAN_DATABASE_URL": cluster.url,
        "TONGBAN_OIDC_ISSUER": "",
        "TONGBAN_WORKER_METRICS_ADDRESS": "",
        "TONGBAN_DEMO_PASSWORD": "demo",
        # An action waits this long for the engine before its client is told to retry.
        "TONGBAN_ACTION_TIMEOUT_SECONDS": "10",
        "PYTHONPATH": str(ROOT),
    }
    procs = Processes(work, env, config.temporal_command())
    procs.temporal_port = temporal_port
    base = f"http://127.0.0.1:{api_port}"
    ok = False
    try:
        cluster.fresh_database()
        os.environ.update(env)
        prepare_database(Settings(), "demo")
        procs.start_temporal()
        wait_listening(temporal_port, "Temporal")
        procs.others.append(procs.cli(*config.sms_command()[3:], log="sms.log"))
        procs.start_api(API_PROCESSES)
        for _ in range(WORKERS):
            procs.start_worker()
        ready(base)
        report = asyncio.run(exercise(base, procs, cluster, args))
        granted = report.pop("granted_numbers")
        dsn = cluster.url.replace("+psycopg", "")
        report["sms_settled_after_s"] = checks.wait_for_messages(dsn, within=150)
        report["database"] = checks.database(dsn, granted)
        report["sms"] = checks.sms(config.sms_file)
        report["problems"] = verdict(report)
        text = json.dumps(report, ensure_ascii=False, indent=2)
        print(text)
        (ROOT / "bench" / "results" / "faults-latest.json").write_text(text + "\n", "utf-8")
        ok = not report["problems"]
        return 0 if ok else 1
    finally:
        procs.close()
        # Others use this cluster: it is running again whatever happened above.
        cluster.start()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs in {work / 'logs'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
