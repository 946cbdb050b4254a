"""The bench's CPU meter (bench/cpu.py): what a phase cost each process of the tree it
watches, named by role, and the bench's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.cpu import CpuMeter

# A child named as the dev stack names its worker: it works when told to, says so, and
# lives until its input closes (a process that has exited has no command line to name it).
CHILD = (
    "import sys; sys.stdin.readline(); sum(i * i for i in range(3_000_000)); "
    "print('done', flush=True); sys.stdin.read()"
)


@pytest.mark.skipif(not CpuMeter.available(), reason="reads /proc: Linux only")
def test_a_phase_is_counted_per_process_by_role() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "-m", "cli", "worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        meter = CpuMeter(child.pid)
        meter.start()
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        sum(i * i for i in range(3_000_000))  # the bench's own share
        spent = meter.per_application(2)
    finally:
        child.kill()
        child.wait()
    assert set(spent) <= {"worker", "bench"}
    assert spent["worker"] > 0 and spent["bench"] > 0
