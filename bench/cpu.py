"""Where a phase's CPU went: the CPU time of the stack's processes, and of the bench's own,
read from /proc before and after it (Linux), per application.

On two shared cores, throughput is bounded by the CPU each application costs in all the
processes together; this says which process spends it (docs/performance.md, sixth round).
Elsewhere than Linux it measures nothing and says so.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
# Each process of `tongban dev` by what its command line holds (cli/dev_stack.py); API
# processes beyond the first are uvicorn's, spawned through multiprocessing.
ROLES = (
    ("temporal", "temporal"),
    ("-m cli worker", "worker"),
    ("-m cli api", "api"),
    ("multiprocessing", "api"),
)


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a live process."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def _command(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def role(pid: int, own: int) -> str:
    if pid == own:
        return "bench"  # the load generator; in the baseline's phase, its worker too
    command = _command(pid)
    return next((name for needle, name in ROLES if needle in command), "other")


def readings(root: int) -> dict[int, float]:
    """CPU seconds of `root`, its descendants and this process."""
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[0], []).append(int(entry.name))
            used[int(entry.name)] = stat[1]
    wanted, todo = {os.getpid()}, [root]
    while todo:
        pid = todo.pop()
        wanted.add(pid)
        todo += children.get(pid, [])
    return {pid: used[pid] for pid in wanted if pid in used}


class CpuMeter:
    """`start()`, run the phase, then `per_application(n)`: ms of CPU per application, by
    role (temporal, worker, api, bench, other)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._before: dict[int, float] = {}

    @staticmethod
    def available() -> bool:
        return (PROC / "self" / "stat").exists()

    def start(self) -> None:
        self._before = readings(self.root) if self.available() else {}

    def per_application(self, n: int) -> dict[str, float]:
        if not self.available() or n <= 0:
            return {}
        spent: dict[str, float] = {}
        own = os.getpid()
        for pid, seconds in readings(self.root).items():
            name = role(pid, own)
            spent[name] = spent.get(name, 0.0) + seconds - self._before.get(pid, 0.0)
        return {name: round(1000 * s / n, 1) for name, s in sorted(spent.items()) if s > 0}
