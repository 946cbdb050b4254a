"""`tongban` when a command cannot do what it was asked: one line on stderr, exit status 1,
never a traceback; and a short-lived command that used Temporal exits cleanly."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.webhooks import SECRET_PREFIX
from api.services import subscriptions
from bench.ports import spare_port
from cli.subscriptions_cmd import event_kinds
from cli.users_cmd import NO_TERMINAL
from simulation.server import installed_binary
from store.feed import EVENT_TYPE_PREFIX
from store.migrate import upgrade
from tests.cli_helpers import tongban

TONGBAN = [sys.executable, "-m", "cli"]


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    return err


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), **extra}


@pytest.fixture
def listening() -> Iterator[int]:
    """A port someone else listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", spare_port()))
        other.listen()
        yield other.getsockname()[1]


def test_unknown_department_is_named(configured: None) -> None:
    code, _, err = tongban(
        "users", "add", "bad1", "--role", "staff", "--department", "nope", "--password-stdin"
    )
    assert code == 1
    assert one_error_line(err).startswith("error: unknown department nope; one of: amr, ")
    assert "need --department" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-url"], "error: the URL 'not-a-url' is not valid: it must start with http"),
        (["ftp://x/hook"], "error: the URL 'ftp://x/hook' is not valid: it must start with"),
        (["http:///hook"], "error: the URL 'http:///hook' is not valid: it names no host\n"),
        (["http://[::1/hook"], "error: the URL 'http://[::1/hook' is not valid: Invalid port"),
        (["http://127.0.0.1:9/hook", "--secret", "bad"], "error: the secret is whsec_"),
        (
            ["http://127.0.0.1:9/hook", "--secret", "whsec_" + "A" * 20],  # 15 bytes
            "error: the secret's key (the base64 after whsec_) is 15 bytes; Standard Webhooks "
            "asks for 24 to 64",
        ),
    ],
)
def test_subscription_mistakes(configured: None, args: list[str], message: str) -> None:
    code, out, err = tongban("subscriptions", "add", *args)
    assert code == 1 and out == ""
    assert one_error_line(err).startswith(message)


@pytest.mark.parametrize(("size", "taken"), [(23, False), (24, True), (64, True), (65, False)])
def test_a_secret_s_key_is_24_to_64_bytes(size: int, taken: bool) -> None:
    secret = SECRET_PREFIX + base64.b64encode(bytes(size)).decode()
    assert (subscriptions.key_problem(secret) is None) is taken
    assert subscriptions.key_problem(secret.rstrip("=")) == subscriptions.key_problem(secret)


def test_unknown_event_type_lists_the_kinds(configured: None) -> None:
    code, _, err = tongban("subscriptions", "add", "http://127.0.0.1:9/hook", "--types", "nonsense")
    assert code == 1
    assert one_error_line(err).startswith("error: unknown event type nonsense: ")
    assert "received, accepted," in err and f"{EVENT_TYPE_PREFIX}<kind>" in err


def test_event_types_as_kinds_or_as_in_the_feed() -> None:
    kinds = event_kinds(f" {EVENT_TYPE_PREFIX}received, granted,received,")
    assert kinds == ["received", "granted"]
    assert event_kinds(None) == [] and event_kinds("") == []


def test_no_subscription_to_remove(configured: None) -> None:
    code, _, err = tongban("subscriptions", "remove", "987654")
    assert code == 1 and one_error_line(err) == "error: no subscription 987654\n"


def test_no_terminal_for_the_password(db_url: str, tmp_path: Path) -> None:
    """Without a terminal (a new session has no controlling one) and without
    --password-stdin, the password cannot be asked for."""
    done = subprocess.run(
        [*TONGBAN, "users", "add", "nobody1", "--role", "clerk"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment(TONGBAN_DATABASE_URL=db_url),
        start_new_session=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert one_error_line(done.stderr) == f"error: {NO_TERMINAL}\n"
    assert "--password-stdin" in NO_TERMINAL


def test_a_reader_that_stops_early(db_url: str, demo_accounts: None, tmp_path: Path) -> None:
    """`tongban users list | head -1`: the pipe is closed before the list is written."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [*TONGBAN, "users", "list"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(TONGBAN_DATABASE_URL=db_url),
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == ""


def test_sms_sink_port_in_use(listening: int, tmp_path: Path) -> None:
    code, _, err = tongban(
        "sms-sink", "--port", str(listening), "--file", str(tmp_path / "sms.jsonl")
    )
    assert code == 1
    assert one_error_line(err) == (
        f"error: port {listening} on 127.0.0.1 is in use: choose another with --port\n"
    )


def test_dev_names_the_option_for_a_taken_port(listening: int, tmp_path: Path) -> None:
    ports = [str(spare_port()) for _ in range(4)]
    code, out, err = tongban(
        "dev",
        "--data-dir",
        str(tmp_path),
        "--port",
        ports[0],
        "--temporal-port",
        ports[1],
        "--ui-port",
        ports[2],
        "--oidc-port",
        str(listening),
        "--sms-port",
        ports[3],
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"port {listening} for the identity provider is taken")
    assert "Choose another with --oidc-port." in err
    for option in ("--port", "--temporal-port", "--oidc-port", "--sms-port", "--ui-port"):
        assert option in err


async def test_subscription_add_exits_cleanly(tmp_path: Path) -> None:
    """The process ends cleanly after starting the delivery workflow. It used to abort in
    interpreter shutdown now and then ("Fatal Python error: PyGILState_Release", exit 134):
    a core thread was still completing the last Temporal call (cli/temporal_session.py).
    The race lost about one run in ten, so the command runs twenty times, five at once.

    On a Temporal test server of its own: workflows started by other clients on the suite's
    time-skipping server stop its clock skipping for the tests after this one."""
    url = f"sqlite:///{tmp_path / 'tongban.db'}"
    upgrade(url)
    own = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=installed_binary("temporal-test-server"),
    )
    settings = environment(
        TONGBAN_DATABASE_URL=url,
        TONGBAN_DATA_DIR=str(tmp_path),
        TONGBAN_TEMPORAL_ADDRESS=own.client.service_client.config.target_host,
        TONGBAN_TEMPORAL_NAMESPACE=own.client.namespace,
    )
    command = [*TONGBAN, "subscriptions", "add", "http://127.0.0.1:9/hook", "--from-start"]

    async def add() -> tuple[int | None, str, str]:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=settings,
            cwd=tmp_path,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, out.decode(), err.decode()

    try:
        for _ in range(4):
            for code, out, err in await asyncio.gather(*(add() for _ in range(5))):
                assert code == 0, err
                assert "delivery started" in out and err == ""
    finally:
        await own.shutdown()


def test_ctrl_c_stops_a_long_running_command_without_a_traceback(tmp_path: Path) -> None:
    port = spare_port()
    sink = subprocess.Popen(
        [*TONGBAN, "sms-sink", "--port", str(port), "--file", str(tmp_path / "sms.jsonl")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(TONGBAN_DATA_DIR=str(tmp_path)),
        text=True,
    )
    try:
        for _ in range(500):  # until it listens (it binds before serving)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            sink.poll()
            assert sink.returncode is None, sink.stderr.read() if sink.stderr else ""
            time.sleep(0.02)
        sink.send_signal(signal.SIGINT)
        _, err = sink.communicate(timeout=30)
    finally:
        sink.kill()
    assert sink.returncode == 130 and "Traceback" not in err, err
