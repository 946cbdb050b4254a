"""Migration 0011 gives the applications already there what the statistics read, from their
rows and their events, as the projection keeps it from then on."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import text

from store.db import create_sync_engine
from store.migrate import upgrade

APPLICATION = """
INSERT INTO applications (
    application_no, matter_code, matter_name, matter_version, state, sla_level,
    applicant_name, applicant_kind, applicant_id, applicant_phone, channel, delivery, form,
    definition, calendar, query_code_digest, accepted_by_id, accepted_by_name, received_at,
    accepted_at, promised_deadline, deadline_provisional, paused, extension_days,
    completed_at, status, revision, updated_at, handover_method)
VALUES (
    :no, 'company_setup', '企业开办', 1, :state, 'green', '张三', 'person', '340503199003071234',
    '13800000000', :channel, 'pickup', '{}', '{}', :calendar, '', 'applicant', '张三',
    :received, :received, :deadline, false, false, 0, :completed, '{}', 3, :received, :handover)
"""
EVENT = """
INSERT INTO events (application_no, seq, at, kind, actor_id, actor_name, actor_role, payload)
VALUES (:no, :seq, :at, :kind, 'c', '窗口', :role, '{}')
"""
CALENDAR = json.dumps({"code": "maanshan", "name": "测试", "timezone": "Asia/Shanghai"})


def test_applications_before_0011_get_their_figures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0010")
    engine = create_sync_engine(url)
    walk_in, online = "34052120190304000001", "T0001"
    try:
        with engine.begin() as conn:
            conn.execute(
                text(APPLICATION),
                [
                    {
                        "no": walk_in,
                        "state": "granted",
                        "channel": "window",
                        "calendar": CALENDAR,
                        # Monday 2019-03-04 at 00:30 in Beijing is still Sunday in UTC.
                        "received": "2019-03-03 16:30:00.000000",
                        "deadline": "2019-03-07 09:30:00.000000",
                        "completed": "2019-03-05 04:00:00.000000",
                        "handover": "window",
                    },
                    {
                        "no": online,
                        "state": "accepted",
                        "channel": "online",
                        "calendar": CALENDAR,
                        "received": "2019-03-04 02:00:00.000000",
                        "deadline": "2019-03-07 09:30:00.000000",
                        "completed": None,
                        "handover": None,
                    },
                ],
            )
            conn.execute(
                text(EVENT),
                [
                    {
                        "no": walk_in,
                        "seq": 1,
                        "at": "2019-03-03 16:30:00",
                        "kind": "accepted",
                        "role": "clerk",
                    },
                    {
                        "no": walk_in,
                        "seq": 2,
                        "at": "2019-03-04 02:00:00",
                        "kind": "correction_supplied",
                        "role": "clerk",
                    },
                    {
                        "no": online,
                        "seq": 1,
                        "at": "2019-03-04 02:00:00",
                        "kind": "correction_supplied",
                        "role": "applicant",
                    },
                ],
            )
        upgrade(url)
        with engine.connect() as conn:
            rows = {
                row[0]: row[1:]
                for row in conn.execute(
                    text(
                        "SELECT application_no, region_code, received_on, visits, "
                        "acceptance_role, completed_early FROM applications"
                    )
                )
            }
    finally:
        engine.dispose()
    # Walked in, corrected at the window, picked up there; decided on Tuesday, promised for
    # Thursday: early.
    assert rows[walk_in] == ("340521", str(date(2019, 3, 4)), 3, "clerk", 1)
    assert rows[online] == (None, str(date(2019, 3, 4)), 0, None, None)
