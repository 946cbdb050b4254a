"""What must hold once the faults are over, read from the database and the SMS sink: every
application at its end, no event, licence or message written twice."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg


def _rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def wait_for_messages(dsn: str, within: float) -> float:
    """Seconds until no SMS is pending. Those that met the database's outage are retried by
    Temporal with growing intervals (10 s, 20 s, 40 s, ...): they arrive, later."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        with psycopg.connect(dsn) as conn:
            pending = _rows(
                conn,
                "SELECT count(*) FROM notifications WHERE channel = 'sms' AND state = 'pending'",
            )
        if pending[0][0] == 0:
            break
        time.sleep(2)
    return round(time.monotonic() - started, 1)


def database(dsn: str, granted: list[str]) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        states = dict(_rows(conn, "SELECT state, count(*) FROM applications GROUP BY state"))
        found = dict(
            _rows(conn, "SELECT application_no, state FROM applications")  # all of ours
        )
        # Unique in the schema: a duplicate here would mean the constraint is gone.
        event_duplicates = _rows(
            conn,
            "SELECT application_no, seq FROM events GROUP BY 1, 2 HAVING count(*) > 1",
        )
        # The same transition projected twice under two sequence numbers: the real risk of
        # a retried projection. Two licences issued at once are two events with payloads
        # of their own; the same transition twice has the same payload.
        repeated_transitions = _rows(
            conn,
            "SELECT application_no, kind, coalesce(step_code, '') FROM events "
            "GROUP BY application_no, kind, step_code, payload::text HAVING count(*) > 1",
        )
        event_gaps = _rows(
            conn,
            "SELECT application_no FROM events GROUP BY 1 HAVING max(seq) <> count(*)",
        )
        licence_duplicates = _rows(
            conn,
            "SELECT application_no, type FROM licences WHERE application_no IS NOT NULL "
            "GROUP BY 1, 2 HAVING count(*) > 1",
        )
        licences = _rows(conn, "SELECT count(*) FROM licences WHERE application_no IS NOT NULL")
        message_duplicates = _rows(
            conn,
            "SELECT application_no, recipient, kind FROM notifications "
            "GROUP BY application_no, recipient, kind, channel, subject, sms_text "
            "HAVING count(*) > 1",
        )
        unsent_sms = _rows(
            conn, "SELECT count(*) FROM notifications WHERE channel = 'sms' AND state <> 'sent'"
        )
    not_granted = [n for n in granted if found.get(n) != "granted"]
    # Every application in the database is one a client saw through to its grant: none
    # made twice by a retried submission, none left behind.
    seen = set(granted)
    strays = [n for n, state in found.items() if n not in seen or state != "granted"]
    return {
        "applications_by_state": states,
        "granted_by_api_but_not_in_read_model": not_granted,
        "stored_but_not_granted_to_a_client": strays[:20],
        "duplicate_events": len(event_duplicates),
        "repeated_transitions": [list(r) for r in repeated_transitions][:20],
        "event_sequence_gaps": len(event_gaps),
        "licences_issued": licences[0][0],
        "duplicate_licences": len(licence_duplicates),
        "duplicate_messages": len(message_duplicates),
        "sms_not_sent": unsent_sms[0][0],
    }


def sms(file: Path) -> dict[str, Any]:
    """The sink keeps one line per message id; the same text to the same phone under two
    ids would be a message sent twice."""
    lines = (
        [json.loads(line) for line in file.read_text("utf-8").splitlines()] if file.exists() else []
    )
    same = Counter((m["to"], m["text"]) for m in lines)
    return {
        "sms_delivered": len(lines),
        "sms_duplicates": sum(n - 1 for n in same.values() if n > 1),
    }
