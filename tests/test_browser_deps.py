"""`make test` on a fresh machine: .ci/browser-deps installs Chromium and the CJK fonts as
root, or stops with one line saying what to install. apt-get is replaced by a stand-in that
only records how it was called."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "browser-deps"


def run(
    tmp_path: Path, env: dict[str, str], *, as_nobody: bool = False
) -> tuple[int, str, list[str]]:
    """(exit status, standard error, apt-get calls) of the script with `env` added."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "apt-get.log"
    calls.touch()
    calls.chmod(0o666)
    fake = bin_dir / "apt-get"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n', encoding="utf-8")
    fake.chmod(0o755)
    tmp_path.chmod(0o755)
    command = ["bash", str(SCRIPT)]
    script, cwd = None, None
    if as_nobody:
        # The script is given on standard input from the root directory: a clone under a
        # private directory (mktemp -d) is not readable by the unprivileged user.
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-s"]
        script, cwd = SCRIPT.read_text(encoding="utf-8"), "/"
    done = subprocess.run(
        command,
        input=script,
        cwd=cwd,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return done.returncode, done.stderr, calls.read_text(encoding="utf-8").splitlines()


def present(tmp_path: Path) -> dict[str, str]:
    chromium, font = tmp_path / "chromium", tmp_path / "font.ttc"
    chromium.write_text("#!/bin/sh\n", encoding="utf-8")
    chromium.chmod(0o755)
    font.write_bytes(b"")
    return {"TONGBAN_CHROMIUM": str(chromium), "TONGBAN_CJK_FONT": str(font)}


def test_nothing_to_do_when_both_are_there(tmp_path: Path) -> None:
    assert run(tmp_path, present(tmp_path)) == (0, "", [])


def test_missing_chromium_as_root_is_installed_with_apt_get(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the install branch runs as root only; the refusal is tested below")
    env = present(tmp_path) | {"TONGBAN_CHROMIUM": str(tmp_path / "no-chromium")}
    status, stderr, calls = run(tmp_path, env)
    assert calls == ["update -qq", "install -y -qq --no-install-recommends chromium"]
    # The stand-in installed nothing, so the path is still missing: said in one line.
    assert status == 1
    assert stderr.splitlines() == [
        f"make test needs Debian's chromium (not found: {tmp_path / 'no-chromium'}): "
        "sudo apt-get install chromium"
    ]


def test_without_root_it_stops_with_one_line_naming_what_to_install(tmp_path: Path) -> None:
    as_nobody = os.geteuid() == 0
    if as_nobody and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop privileges")
    env = {"TONGBAN_CHROMIUM": "/nonexistent/chromium", "TONGBAN_CJK_FONT": "/nonexistent/font"}
    status, stderr, calls = run(tmp_path, env, as_nobody=as_nobody)
    assert (status, calls) == (1, [])
    assert stderr.splitlines() == [
        "make test needs Debian's chromium and fonts-noto-cjk "
        "(not found: /nonexistent/chromium /nonexistent/font): "
        "sudo apt-get install chromium fonts-noto-cjk"
    ]


def test_make_test_and_ci_run_both_call_it() -> None:
    root = SCRIPT.parent.parent
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    assert "test: $(STAMP) browser-deps" in makefile and ".ci/browser-deps" in makefile
    assert ".ci/browser-deps" in (root / ".ci" / "run").read_text(encoding="utf-8")
