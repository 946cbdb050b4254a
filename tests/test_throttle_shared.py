"""Failed guesses are counted in the database: every API process (and host) counts the same
ones, they expire on time, and what is stored names no one (api.services.throttle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from store.models import ThrottleFailureRow
from tests.api_helpers import code_header, error_body, second_app, submit

WRONG = code_header("WRONGCODE2")


class Clock:
    """The real time of sign-ins and throttling, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _stored(engine: AsyncEngine) -> list[tuple[str, datetime]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(ThrottleFailureRow.key, ThrottleFailureRow.expires_at)
        )
        return [(key, expiry) for key, expiry in rows]


async def test_two_processes_count_the_same_failures(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Two API processes (two apps on one database): three failures allowed in all, not
    three in each."""
    receipt = await submit(api)
    url = f"/api/applications/{receipt['application_no']}"
    limits: dict[str, Any] = {"lookup_failures_allowed": 3, "lookup_window_seconds": 60}
    async with (
        second_app(engine, client_host="10.1.0.1", **limits) as (_a, first),
        second_app(engine, client_host="10.1.0.1", **limits) as (_b, second),
    ):
        assert (await first.get(url, headers=WRONG)).status_code == 404
        assert (await second.get(url, headers=WRONG)).status_code == 404
        assert (await first.get(url, headers=WRONG)).status_code == 404
        blocked = await second.get(url, headers=code_header(receipt["query_code"]))
        assert error_body(blocked, 429)["error"] == "too_many_requests"
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        # Logins too: two wrong passwords in one process, then the third in the other.
        for client in (first, second, first):
            bad = await client.post("/api/auth/token", data={"username": "clerk", "password": "x"})
            assert bad.status_code == 401
        locked = await second.post(
            "/api/auth/token", data={"username": "clerk", "password": "demo"}
        )
        assert locked.status_code == 429


async def test_failures_expire_after_the_window_and_are_then_purged(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    receipt = await submit(api)
    url = f"/api/applications/{receipt['application_no']}"
    right = code_header(receipt["query_code"])
    clock = Clock()
    async with second_app(
        engine,
        client_host="10.1.0.2",
        session_clock=clock,
        lookup_failures_allowed=2,
        lookup_window_seconds=600,
    ) as (_app, guesser):
        assert (await guesser.get(url, headers=WRONG)).status_code == 404
        clock.now += timedelta(seconds=100)
        assert (await guesser.get(url, headers=WRONG)).status_code == 404
        # Over the limit until the first failure expires: 600 s after it, 500 s from now.
        clock.now += timedelta(seconds=100)
        blocked = await guesser.get(url, headers=right)
        assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "400"
        clock.now += timedelta(seconds=400)
        assert (await guesser.get(url, headers=right)).status_code == 200
        # The second failure still counts: one more and the limit is reached again.
        assert (await guesser.get(url, headers=WRONG)).status_code == 404
        assert (await guesser.get(url, headers=right)).status_code == 429

        # A failure recorded after the others expired deletes them: the table keeps only
        # what still counts.
        clock.now += timedelta(seconds=601)
        assert (await guesser.get(url, headers=WRONG)).status_code == 404
        stored = await _stored(engine)
        assert len(stored) == 2 and all(expiry > clock.now for _, expiry in stored)


async def test_what_is_stored_names_no_one(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """Keys are HMACs: neither the application number, the username, the ID number nor the
    address can be read back from the table."""
    receipt = await submit(api)
    number = receipt["application_no"]
    async with second_app(engine, client_host="10.1.0.3") as (_app, guesser):
        await guesser.get(f"/api/applications/{number}", headers=WRONG)
        await guesser.post("/api/auth/token", data={"username": "clerk", "password": "x"})
    stored = await _stored(engine)
    # Two keys for a failed look-up (the subject's from the address, the address's), three
    # for a failed sign-in (and the account's from anywhere).
    assert len(stored) == 5
    for key, _ in stored:
        assert len(key) == 64 and int(key, 16) >= 0
        assert number not in key and "clerk" not in key and "10.1.0.3" not in key
    async with engine.connect() as connection:
        distinct = await connection.scalar(
            select(func.count(func.distinct(ThrottleFailureRow.key)))
        )
    assert distinct == 5


async def test_a_code_in_a_request_another_site_made_is_not_tried(api: httpx.AsyncClient) -> None:
    """An image or a link on another site (the browser says `Sec-Fetch-Site: cross-site`)
    with a wrong code in the address: not tried, so not counted against the address the
    applicants of a whole centre may share; the lookup form is shown instead."""
    receipt = await submit(api)
    number = receipt["application_no"]
    for _ in range(12):
        page = await api.get(
            f"/status/{number}", params={"code": "WRONGCODE2"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )  # fmt: skip
        assert (page.status_code, page.headers["location"]) == (303, f"/status?no={number}")
    opened = await api.get(f"/status/{number}", params={"code": receipt["query_code"]})
    assert (opened.status_code, opened.headers["location"]) == (303, f"/status/{number}")
