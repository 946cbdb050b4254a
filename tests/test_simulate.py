"""`tongban simulate`: every scenario shipped in definitions/scenarios/ gives the outcome
written next to it, and an invalid scenario is refused as FILE:LINE before anything runs.

The scenarios run on the session's test server and read model (each under a number of its
own), moved forward in time as the runner moves any scenario dated before the server's clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from cli.main import main
from definitions.source import DEFINITIONS_ROOT
from simulation.runner import simulate
from simulation.scenario import load_scenario

SCENARIOS = sorted((DEFINITIONS_ROOT / "scenarios").glob("*.yaml"))


def test_every_scenario_has_its_expected_outcome() -> None:
    assert SCENARIOS, "no scenarios shipped"
    missing = [p.name for p in SCENARIOS if not p.with_suffix(".expected.json").is_file()]
    assert not missing


def contained(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where `actual` differs from `expected`; an object need only hold the keys expected,
    so an expected file may keep only the parts that matter."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [
            problem
            for key, value in expected.items()
            for problem in (
                contained(value, actual[key], f"{where}.{key}")
                if key in actual
                else [f"{where}.{key}: missing"]
            )
        ]
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            problem
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for problem in contained(e, a, f"{where}[{i}]")
        ]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario_gives_its_expected_outcome(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], path: Path
) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    outcome = await simulate(env, load_scenario(path), sessions=sessions)
    assert not contained(expected, outcome), json.dumps(outcome, ensure_ascii=False, indent=2)


INVALID = {
    "bad action name": (
        """\
matter: company_setup
submitted_at: 2026-11-02T10:00:00+08:00
actions:
  - {at: 2026-11-03T10:00:00+08:00, do: approve, step: seal}
  - {at: 2026-11-04T10:00:00+08:00, do: aprove, step: invoice}
until: 2026-11-30T18:00:00+08:00
""",
        5,
        "unknown action 'aprove'",
    ),
    "missing field": (
        """\
matter: company_setup
submitted_at: 2026-11-02T10:00:00+08:00
actions:
  - at: 2026-11-03T10:00:00+08:00
    do: extend
    step: seal
    reason: 需要更多时间
until: 2026-11-30T18:00:00+08:00
""",
        4,
        "extend needs 'days'",
    ),
    "times out of order": (
        """\
matter: company_setup
submitted_at: 2026-11-02T10:00:00+08:00
actions:
  - {at: 2026-11-05T10:00:00+08:00, do: approve, step: seal}
  - {at: 2026-11-03T10:00:00+08:00, do: approve, step: invoice}
until: 2026-11-30T18:00:00+08:00
""",
        5,
        "is before the time above it",
    ),
    "time without its offset": (
        """\
matter: company_setup
submitted_at: 2026-11-02T10:00:00
until: 2026-11-30T18:00:00+08:00
""",
        2,
        "timezone",
    ),
    "form field that does not fit": (
        """\
matter: company_setup
submitted_at: 2026-11-02T10:00:00+08:00
form:
  company_name: 马鞍山通办模拟有限公司
  registered_capital: 很多
until: 2026-11-30T18:00:00+08:00
""",
        5,
        "应为数字",
    ),
    "unknown step": (
        """\
matter: company_setup
submitted_at: 2026-11-02T10:00:00+08:00
actions:
  - {at: 2026-11-03T10:00:00+08:00, do: approve, step: stamp}
until: 2026-11-30T18:00:00+08:00
""",
        4,
        "no step 'stamp'",
    ),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_an_invalid_scenario_exits_1_naming_file_and_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text, line, message = INVALID[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenario.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "scenario.yaml"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert f"scenario.yaml:{line}:" in err and message in err, err


def test_the_command_runs_a_scenario_on_a_server_of_its_own() -> None:
    """`tongban simulate FILE` starts its own test server and read model, prints the outcome
    as JSON on stdout and nothing else on stderr."""
    root = Path(__file__).resolve().parent.parent
    path = DEFINITIONS_ROOT / "scenarios" / "online_acceptance.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "simulate", str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert not contained(expected, json.loads(done.stdout)), done.stdout
