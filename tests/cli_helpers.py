"""Running `tongban` inside the test process (with the `configured` fixture of conftest:
against the suite's database)."""

from __future__ import annotations

import io

import pytest

from cli.main import main as cli


def tongban(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """The command run in this process: its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, pytest.raises(SystemExit) as done:
        mp.setattr("sys.stdin", io.StringIO(stdin))
        mp.setattr("sys.stdout", out)
        mp.setattr("sys.stderr", err)
        cli(list(args))
    return int(done.value.code or 0), out.getvalue(), err.getvalue()
