"""The worker's memory with many open applications: `python -m bench.worker_memory`.

Starts its own stack (`tongban dev` in a temporary directory, SQLite, spare ports), accepts
N company setups at the window through the API (each one a workflow whose three steps are
open, asleep on their card timers, as most of a centre's applications are most of the time),
waits until the worker has nothing left to do, and reads the worker process's resident
memory (VmRSS) before and after. `make bench-scale` runs it with N = 10,000 and merges the
figure into bench/results/latest.json as `worker_rss_mb_10k_open`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.__main__ import RESULTS, start_stack, wait_ready
from bench.flow import APPLICATION, token
from bench.ports import spare_port
from settings import get_settings


def _worker_pid(stack: subprocess.Popen[bytes]) -> int:
    """The `cli worker` process among the stack's children."""
    children = subprocess.run(
        ["pgrep", "-P", str(stack.pid), "-f", "cli worker"], capture_output=True, text=True
    ).stdout.split()
    if len(children) != 1:
        raise RuntimeError(f"expected one worker process under the stack, found {children}")
    return int(children[0])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


async def accept_many(base: str, count: int, concurrency: int) -> float:
    """`count` company setups accepted at the window; returns applications per second."""
    body = APPLICATION | {"channel": "window", "decision": "accept"}
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        clerk = await token(client, "clerk")
        gate = asyncio.Semaphore(concurrency)
        done = 0
        started = time.perf_counter()

        async def one() -> None:
            nonlocal done
            async with gate:
                r = await client.post("/api/window/applications", json=body, headers=clerk)
                r.raise_for_status()
                done += 1
                if done % 1000 == 0:
                    rate = done / (time.perf_counter() - started)
                    print(f"  {done} accepted ({rate:.1f}/s)", flush=True)

        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - started)


async def settle(pid: int, quiet_seconds: float = 10, limit: float = 600) -> None:
    """Until the worker's CPU time stops growing for `quiet_seconds` (timers only remain)."""

    def cpu() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, in ticks

    deadline = time.monotonic() + limit
    last, quiet_since = cpu(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        now = cpu()
        if now - last > 10:  # more than 0.1 s of CPU in that second: still working
            quiet_since = time.monotonic()
        last = now
        if time.monotonic() - quiet_since >= quiet_seconds:
            return


async def run_async(count: int, concurrency: int) -> dict[str, Any]:
    port, temporal_port = spare_port(), spare_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="tongban-bench-memory-") as tmp:
        stack = start_stack(Path(tmp), port, temporal_port, 1, {})
        try:
            await wait_ready(base, stack)
            pid = _worker_pid(stack)
            await accept_many(base, 5, 5)  # warm: every module imported, pools open
            await settle(pid, quiet_seconds=3)
            before = rss_mb(pid)
            print(f"worker RSS {before} MB; accepting {count} applications at the window")
            rate = await accept_many(base, count, concurrency)
            await settle(pid)
            after = rss_mb(pid)
            print(f"  {rate:.1f} accepted/s; worker RSS {after} MB with {count} open")
        finally:
            stack.send_signal(signal.SIGINT)
            stack.wait(120)
    return {
        "worker_rss_mb_10k_open" if count == 10_000 else f"worker_rss_mb_{count}_open": after,
        "worker_memory": {
            "open_applications": count,
            "rss_mb_before": before,
            "rss_mb_after": after,
            "accepted_per_second": round(rate, 2),
            # The stack's, from the same environment (TONGBAN_WORKER_CACHE_SIZE).
            "worker_cache_size": get_settings().worker_cache_size,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_memory", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(run_async(args.count, args.concurrency))
    latest_path = RESULTS / "latest.json"
    latest = json.loads(latest_path.read_text(encoding="utf-8")) if latest_path.exists() else {}
    latest |= result
    latest_path.write_text(json.dumps(latest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"merged into {latest_path}")


if __name__ == "__main__":
    main()
