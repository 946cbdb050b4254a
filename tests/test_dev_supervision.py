"""`tongban dev`'s supervision: a crashed worker or API is restarted after a backoff that
doubles up to 30 s and is reset by a minute of health; any other child stops the stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli import dev_stack
from cli.dev_stack import Child, Stack


class FakeProc:
    def __init__(self, code: int | None = None) -> None:
        self.code = code

    def poll(self) -> int | None:
        return self.code


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Stack:
    s = Stack.__new__(Stack)  # no signal handlers, no configuration: supervision only
    s.children, s.stopping = [], False
    started: list[FakeProc] = []

    def start(_command: list[str], _log: Path | None) -> Any:
        started.append(FakeProc())
        return started[-1]

    monkeypatch.setattr(s, "_start", start)
    return s


def child(name: str, restartable: bool, code: int | None) -> Child:
    return Child(name, ["x"], None, FakeProc(code), restartable, started=0.0)  # type: ignore[arg-type]


def test_a_crashed_worker_is_restarted_with_doubling_backoff(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = child("worker", True, -9)
    waits = []
    now = 100.0
    for _ in range(7):
        assert stack.supervise(worker, now)  # the death is seen: a restart is due
        assert worker.restart_at is not None
        waits.append(worker.restart_at - now)
        now = worker.restart_at
        stack.supervise(worker, now)  # restarted
        assert worker.restart_at is None and worker.proc.poll() is None
        worker.proc.code = -9  # and it crashes again at once
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7
    assert lines[0].startswith("worker exited unexpectedly (code -9): restarting it in 1s")


def test_a_minute_of_health_resets_the_backoff(stack: Stack) -> None:
    worker = child("worker", True, None)
    worker.backoff = 16
    stack.supervise(worker, dev_stack.HEALTHY_AFTER - 1)
    assert worker.backoff == 16
    stack.supervise(worker, dev_stack.HEALTHY_AFTER)
    assert worker.backoff == dev_stack.FIRST_BACKOFF


def test_temporal_dying_stops_the_stack(stack: Stack) -> None:
    assert not stack.supervise(child("temporal", False, 1), 5.0)
