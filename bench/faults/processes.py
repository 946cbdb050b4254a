"""The processes of the topology: the Temporal dev server, the API supervisor and its two
processes, the workers, the SMS sink; started, killed and started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not listening on {port} after {timeout:.0f}s")


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (uvicorn's workers under its supervisor)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid"))
        # multiprocessing's resource tracker is a child too, but serves nothing.
        if ppid == pid and b"resource_tracker" not in argv:
            found.append(int(entry.name))
    return found


class Processes:
    """Every child, its log in the temporary directory; `close` ends them all."""

    def __init__(self, work: Path, env: dict[str, str], temporal_command: list[str]) -> None:
        self.work, self.env = work, env
        self.temporal_command = temporal_command
        self.temporal_port = 0
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.temporal: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def _spawn(self, command: list[str], log: str) -> subprocess.Popen[bytes]:
        output = open(self.logs / log, "ab")  # noqa: SIM115 (kept open for the child)
        return subprocess.Popen(
            command,
            env=self.env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def cli(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        return self._spawn([sys.executable, "-m", "cli", *args], log)

    def start_temporal(self) -> None:
        self.temporal = self._spawn(self.temporal_command, "temporal.log")

    def stop_temporal(self) -> None:
        assert self.temporal is not None
        self.temporal.send_signal(signal.SIGTERM)
        self.temporal.wait(30)

    def start_api(self, workers: int) -> None:
        self.api = self.cli("api", "--workers", str(workers), log="api.log")

    def api_processes(self) -> list[int]:
        assert self.api is not None
        return children_of(self.api.pid)

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = self.cli("worker", log=f"worker-{len(self.workers) + 1}.log")
        self.workers.append(proc)
        return proc

    def close(self) -> None:
        """API first, Temporal last, as an operator would stop them."""
        procs = [self.api, *self.workers, *self.others, self.temporal]
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            if proc is None:
                continue
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
