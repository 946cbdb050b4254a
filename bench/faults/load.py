"""The stream of applications: company setups submitted at the window and approved by the
three departments, every request retried as a well-behaved client would (after a 503, wait
Retry-After; after a cut connection, try again), and every answer counted per phase."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api_helpers import company_setup
from tests.factories import credit_code

STEPS = {"registration": "amr", "seal": "psb", "invoice": "tax"}


def results(serial: str) -> dict[str, dict[str, str]]:
    """The departments' results; the licences' numbers are each application's own (a
    licence number is issued once: the same one again would be the same licence)."""
    return {
        "registration": {
            "credit_code": credit_code(f"91340500MA{serial[-6:]}"),
            "licence_no": f"L-{serial}",
        },
        "seal": {"seal_record_no": f"S-{serial}"},
        "invoice": {"invoice_type": "数电发票（普通发票）"},
    }


DECIDED = ("approved", "deemed_approved", "rejected")
# A client never waits longer than this for one attempt, nor, after a 503, before the next.
ATTEMPT_TIMEOUT = 30.0
MAX_WAIT = 3.0
# However the outages go, a request is given up (its journey failed) after this long.
CALL_LIMIT = 180.0


@dataclass
class Tally:
    """Every answer, by phase (the fault in progress) and status; the 500s' bodies."""

    phase: str = "warm-up"
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    # When a write last succeeded: the recovery after a fault is measured with it.
    last_write_ok: float = 0.0

    def count(self, outcome: str) -> None:
        self.statuses[(self.phase, outcome)] += 1

    def by_phase(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (phase, outcome), n in sorted(self.statuses.items()):
            out.setdefault(phase, {})[outcome] = n
        return out


class Client:
    def __init__(self, base: str, tally: Tally) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=ATTEMPT_TIMEOUT)
        self.tally = tally
        self.tokens: dict[str, dict[str, str]] = {}
        self._signing_in = asyncio.Lock()

    async def call(self, method: str, url: str, *, user: str | None = None, **kw: Any) -> Any:
        """The answer once it is not a 503 nor a cut connection; raises on other 5xx."""
        given = dict(kw.pop("headers", {}))
        give_up = time.monotonic() + CALL_LIMIT
        while True:
            if time.monotonic() > give_up:
                raise RuntimeError(f"{method} {url}: no answer but 503s within {CALL_LIMIT:.0f}s")
            headers = dict(given)
            if user is not None:
                headers |= await self.token(user)
            try:
                response = await self.http.request(method, url, headers=headers, **kw)
            except httpx.TransportError as exc:
                self.tally.count(f"connection_error:{type(exc).__name__}")
                await asyncio.sleep(1)
                continue
            self.tally.count(str(response.status_code))
            if response.status_code == 503:
                wait = float(response.headers.get("Retry-After", "nan"))
                if not wait > 0:
                    self.tally.count("503_without_retry_after")
                    wait = 1
                await asyncio.sleep(min(wait, MAX_WAIT))
                continue
            if response.status_code >= 500:
                self.tally.server_errors.append(f"{method} {url}: {response.text[:300]}")
                raise RuntimeError(f"{method} {url}: {response.status_code}")
            if method != "GET" and response.status_code < 300:
                self.tally.last_write_ok = time.monotonic()
            return response

    async def token(self, user: str) -> dict[str, str]:
        async with self._signing_in:  # one sign-in per user, however many journeys wait
            if user not in self.tokens:
                credentials = {"username": user, "password": "demo"}
                r = await self.call("POST", "/api/auth/token", data=credentials)
                r.raise_for_status()
                self.tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[user]

    async def close(self) -> None:
        await self.http.aclose()


async def journey(client: Client) -> str:
    """One company setup to its grant; returns its number. Each action is retried with the
    same key or checked against the state, so a retry after a lost answer does nothing twice."""
    key = uuid.uuid4().hex
    # The investor's ID card is uploaded: the licence library here holds only the demo
    # applicants' licences, not the test factories'.
    materials = [
        {"code": "application_form", "source": "upload", "ref": "file-1"},
        {"code": "articles", "source": "upload", "ref": "file-2"},
        {"code": "investor_id", "source": "upload", "ref": "file-4"},
        {"code": "premises_proof", "source": "upload", "ref": "file-3"},
    ]
    submitted = await client.call(
        "POST",
        "/api/window/applications",
        json=company_setup(channel="window", materials=materials),
        user="clerk",
        headers={"Idempotency-Key": key},
    )
    if submitted.status_code != 201:
        raise RuntimeError(f"window submission: {submitted.status_code} {submitted.text[:200]}")
    number = submitted.json()["application_no"]
    code = submitted.json()["query_code"]
    await asyncio.gather(*(approve(client, number, step, dept) for step, dept in STEPS.items()))
    for _ in range(120):
        status = await client.call(
            "GET", f"/api/applications/{number}", headers={"X-Query-Code": code}
        )
        if status.json()["state"] == "granted":
            return str(number)
        await asyncio.sleep(1)
    raise RuntimeError(f"{number} not granted: {status.json()['state']}")


async def approve(client: Client, number: str, step: str, dept: str) -> None:
    task_id: int | None = None
    for _ in range(120):
        if task_id is None:
            tasks = await client.call(
                "GET", "/api/tasks", params={"application_no": number}, user=dept
            )
            # A step waiting for another's approval has no task to decide yet.
            open_tasks = [t for t in tasks.json() if t["state"] in ("open", "claimed")]
            task_id = open_tasks[0]["id"] if open_tasks else None
        if task_id is not None:
            decision = {"decision": "approve", "result": results(number)[step]}
            # A retry after a 503 with the same key gets the first attempt's answer, also
            # while that attempt is still being written.
            done = await client.call(
                "POST",
                f"/api/tasks/{task_id}/decision",
                json=decision,
                user=dept,
                headers={"Idempotency-Key": f"{number}-{step}"},
            )
            if done.status_code == 200:
                return
            # 409: refused in the task's state; the task says whether it is decided.
            task = await client.call("GET", f"/api/tasks/{task_id}", user=dept)
            if task.json()["state"] in DECIDED:
                return
        await asyncio.sleep(1)
    raise RuntimeError(f"{number}: the {step} step was never decided")


class Stream:
    """`concurrency` journeys at a time until told to stop; every number, and what failed."""

    def __init__(self, client: Client, concurrency: int) -> None:
        self.client, self.concurrency = client, concurrency
        self.granted: list[str] = []
        self.failed: list[str] = []
        self.started = 0
        self._stop = asyncio.Event()
        self._runners: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._runners = [asyncio.create_task(self._run()) for _ in range(self.concurrency)]

    async def _run(self) -> None:
        while not self._stop.is_set():
            self.started += 1
            try:
                self.granted.append(await journey(self.client))
            except Exception as exc:
                self.failed.append(repr(exc)[:300])
                print(f"journey failed: {exc!r}"[:300], file=sys.stderr, flush=True)

    async def drain(self, within: float) -> None:
        """Start no more, and let those under way end (within `within` seconds)."""
        self._stop.set()
        _, pending = await asyncio.wait(self._runners, timeout=within)
        for task in pending:
            task.cancel()
        self.failed += ["still running at the end"] * len(pending)
