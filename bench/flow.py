"""Company setups end to end through the HTTP API: the journey the bench times, and a
stream of them kept flowing by a process of its own while the polls are measured.

The stream runs apart from the poll generator on purpose: in one event loop, the stream's
httpx work delayed the polls' own schedule and reads, and that delay was counted as the
API's latency. It comes in two kinds:
- at a fixed rate (`rate`): a journey starts every 1/rate seconds whatever the others are
  doing, the load of a centre's busy hour, and it leaves the machine room to answer;
- from `clients` clients, each starting its next journey when the last one ends: they take
  all the machine has, whatever its speed, so latency under it measures the CPU scheduler.
`python -m bench.flow BASE --rate R` (or `--clients N`) runs it: it prints "flowing" once it
has signed in, runs journeys until its standard input closes, then prints how many it
completed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.baseline import STEPS
from tests.api_helpers import company_setup, person

ROOT = Path(__file__).resolve().parents[1]  # where `bench` and `tests` import from
DEPARTMENTS = {"registration": "amr", "seal": "psb", "invoice": "tax"}


async def token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/auth/token", data={"username": username, "password": "demo"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# 张三 of the demo identities (definitions/demo/identities.yaml), whose identity card the dev
# stack's licence library holds: the investor's ID is a verified licence, as online.
APPLICATION = company_setup(applicant=person(id_number="34050319850612001X"))
APPLICATION["materials"][2]["ref"] = "340503-DEMO-0001"

RESULT = {
    "registration": {"credit_code": "91350100M000100Y43", "licence_no": "L-1"},
    "seal": {"seal_record_no": "S-1"},
    "invoice": {"invoice_type": "数电发票（普通发票）"},
}


async def journey(client: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> tuple[str, str]:
    """One application: submitted online, accepted by the window, then each department finds
    its task and approves it."""
    r = await client.post("/api/applications", json=APPLICATION)
    r.raise_for_status()
    number, code = r.json()["application_no"], r.json()["query_code"]
    accepted = await client.post(
        f"/api/window/applications/{number}/accept", headers=headers["clerk"]
    )
    accepted.raise_for_status()

    async def approve(step: str) -> None:
        dept = headers[DEPARTMENTS[step]]
        tasks = await client.get("/api/tasks", params={"application_no": number}, headers=dept)
        tasks.raise_for_status()
        [task] = tasks.json()
        decision = {"decision": "approve", "result": RESULT[step]}
        done = await client.post(f"/api/tasks/{task['id']}/decision", json=decision, headers=dept)
        done.raise_for_status()

    await asyncio.gather(*(approve(step) for step in STEPS))
    final = await client.get(f"/api/applications/{number}", headers={"X-Query-Code": code})
    if final.json()["state"] != "granted":
        raise RuntimeError(f"{number} ended {final.json()['state']}")
    return number, code


async def flow(base: str, done: asyncio.Event, *, rate: float = 0, clients: int = 0) -> int:
    """Company setups end to end, at `rate` a second or from `clients` clients, until `done`
    is set; answers how many were completed."""
    completed = 0
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        headers = {u: await token(client, u) for u in (*DEPARTMENTS.values(), "clerk")}
        print("flowing", flush=True)

        async def one() -> None:
            nonlocal completed
            await journey(client, headers)
            completed += 1

        async def one_client() -> None:
            while not done.is_set():
                await one()

        if clients:
            await asyncio.gather(*(one_client() for _ in range(clients)))
            return completed
        started, running = time.perf_counter(), list[asyncio.Task[None]]()
        for k in itertools.count():
            due = started + k / rate
            try:
                await asyncio.wait_for(done.wait(), max(0.0, due - time.perf_counter()))
                break
            except TimeoutError:
                running.append(asyncio.create_task(one()))
        await asyncio.gather(*running)
    return completed


class Flowing:
    """`async with Flowing(base, rate=2.4) as flowing:` (or `clients=5`) company setups flow
    from a child process until `await flowing.stop()`, which answers how many were
    completed."""

    def __init__(self, base: str, *, rate: float = 0, clients: int = 0) -> None:
        kind = ("--rate", str(rate)) if rate else ("--clients", str(clients))
        self.command = (sys.executable, "-m", "bench.flow", base, *kind)
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Flowing:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if line.strip() != b"flowing":
            raise RuntimeError(f"the flow did not start: {line!r}")
        return self

    async def stop(self) -> int:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()
        out, _ = await self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"the flow failed ({self.process.returncode})")
        return int(out)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def _until_stdin_closes(base: str, rate: float, clients: int) -> int:
    done = asyncio.Event()
    flowing = asyncio.create_task(flow(base, done, rate=rate, clients=clients))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    done.set()
    return await flowing


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.flow")
    parser.add_argument("base")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--rate", type=float, default=0, help="journeys started a second")
    kind.add_argument("--clients", type=int, default=0, help="clients, each one journey at a time")
    args = parser.parse_args()
    print(asyncio.run(_until_stdin_closes(args.base, args.rate, args.clients)), flush=True)
