"""Log lines: JSON objects carrying the application number, with personal data masked."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

import httpx
from temporalio.testing import WorkflowEnvironment

from observability.logs import JsonFormatter, LogScope, mask, mask_query, note_application
from simulation.idle import settle
from tests.api_helpers import submit
from tests.factories import id_number

NUMBER = "34050020261128000001"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("tongban.test", logging.WARNING, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return rec


def test_a_line_is_json_with_the_application_number_and_no_personal_data() -> None:
    person = id_number()
    line = JsonFormatter().format(
        record(
            "applicant %s (phone %s) could not be reached",
            person,
            "13912345678",
            application_no=NUMBER,
        )
    )
    parsed = json.loads(line)
    assert parsed["application_no"] == NUMBER
    assert parsed["level"] == "WARNING" and parsed["logger"] == "tongban.test"
    assert person not in line and "13912345678" not in line
    assert "139****5678" in parsed["message"]
    assert f"{person[:6]}********{person[-4:]}" in parsed["message"]


def test_an_id_number_with_a_small_x_and_a_phone_with_a_country_code_are_masked() -> None:
    person = id_number().replace("X", "x")
    masked = mask(f"holder {person.lower()}, phone +8613912345678 or 0086 13912345678")
    assert person.lower() not in masked and "13912345678" not in masked
    assert f"{person[:6]}********{person[-4:].lower()}" in masked
    assert "+86139****5678" in masked and "0086 139****5678" in masked


def test_phones_written_in_groups_and_fixed_lines_are_masked() -> None:
    masked = mask("call 139 1234 5678, 139-1234-5678 or the office 0555-2345001")
    assert masked == "call 139****5678, 139****5678 or the office 0555-****5001"
    # Dates, times and application numbers are left as they are.
    kept = "2026-11-29 10:00, 34050020261129000001, port 7233"
    assert mask(kept) == kept


def test_a_query_code_never_reaches_a_log_line() -> None:
    assert mask_query("/status/340500?code=K7Q2M9&lang=zh") == "/status/340500?code=***&lang=zh"
    assert mask_query("query_code=K7Q2M9") == "query_code=***"
    assert mask_query("barcode=12") == "barcode=12"  # only parameters by that name


def test_the_number_comes_from_temporal_s_context_of_a_matter_workflow() -> None:
    activity_details = {
        "workflow_id": NUMBER,
        "workflow_type": "MatterWorkflow",
        "activity_type": "send_sms",
        "attempt": 2,
    }
    parsed = json.loads(
        JsonFormatter().format(record("sending", temporal_activity=activity_details))
    )
    assert parsed["application_no"] == NUMBER
    assert parsed["activity_type"] == "send_sms" and parsed["attempt"] == 2
    # A feed's workflow is no application: its id is kept, but not as a number.
    feed = {"workflow_id": "feed-1", "workflow_type": "FeedWorkflow"}
    parsed = json.loads(JsonFormatter().format(record("polling", temporal_workflow=feed)))
    assert "application_no" not in parsed and parsed["workflow_id"] == "feed-1"


def test_other_extras_and_tracebacks_do_not_leak() -> None:
    person = id_number()
    rec = record("failed", form={"id": person})
    try:
        raise ValueError(f"bad applicant {person}")
    except ValueError:
        rec.exc_info = sys.exc_info()
    line = JsonFormatter().format(rec)
    assert person not in line
    assert "ValueError" in json.loads(line)["exception"]


async def test_a_request_notes_its_application_and_the_note_ends_with_it() -> None:
    seen: list[str | None] = []

    async def app(scope: object, receive: object, send: object) -> None:
        note_application(NUMBER)
        seen.append(json.loads(JsonFormatter().format(record("in"))).get("application_no"))

    await LogScope(app)({"type": "http"}, None, None)
    assert seen == [NUMBER]
    assert "application_no" not in json.loads(JsonFormatter().format(record("after")))


async def test_the_workflow_s_own_log_lines_carry_its_application_number(
    api: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    """The test worker has no SMS gateway: the applicant's SMS fails at once, and the
    workflow logs it with Temporal's logger, whose context names the workflow."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        receipt = await submit(api, accept=False)
        number = receipt["application_no"]
        await settle(env.client.get_workflow_handle(number))
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [undelivered] = [
        line
        for line in lines
        if line["logger"] == "temporalio.workflow" and line.get("application_no") == number
    ]
    assert "not delivered" in undelivered["message"]
    assert undelivered["workflow_type"] == "MatterWorkflow"


async def test_the_access_log_writes_each_request_but_a_status_poll_answered(
    api: httpx.AsyncClient,
) -> None:
    receipt = await submit(api, accept=False)
    number, code = receipt["application_no"], receipt["query_code"]
    person = id_number()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("tongban.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    poll = f"/api/applications/{number}"
    try:
        assert (await api.get(poll, headers={"X-Query-Code": code})).is_success
        assert (await api.get(poll, headers={"X-Query-Code": "wrong"})).status_code == 404
        assert (await api.get(f"/api/licences?holder_id={person}")).status_code == 401
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    # The poll answered is left out; the one refused is written, with the time it took, and
    # is about the application.
    [refused] = [line for line in lines if f"GET {poll} " in line["message"]]
    assert re.search(r'" 404 \d+\.\dms$', refused["message"])
    assert refused["application_no"] == number
    # The query string is written, its ID number masked.
    [other] = [line for line in lines if "/api/licences" in line["message"]]
    assert '" 401 ' in other["message"] and person not in other["message"]
    assert f"{person[:6]}********{person[-4:]}" in other["message"]
