"""What leaves the worker over HTTP (SMS, department pushes, the feed) has a deadline on the
whole request, not only on each of its phases (activities/outbound.py)."""

from __future__ import annotations

import pytest

from activities.outbound import Outbound
from tests.receivers import running_receiver


async def test_a_receiver_trickling_its_answer_is_given_up_on_at_the_deadline() -> None:
    """A byte every tenth of a second comes within any read timeout: httpx alone would wait
    the ten seconds of the whole answer, past the activity's own timeout."""
    with running_receiver() as receiver:
        receiver.behaviour.trickle_next = 1
        with pytest.raises(TimeoutError):
            await Outbound(0.5).post(f"{receiver.url}/sms", json={"id": "1"})
        answer = await Outbound(0.5).post(f"{receiver.url}/sms", json={"id": "2"})
        assert answer.status_code == 200 and receiver.ids() == ["2"]
