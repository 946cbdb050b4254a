"""`tongban licences import FILE`: good lines load, each bad line is reported with its number
and skipped, and loading the same file again changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, create_engine, select

from definitions.catalogue import default_catalogue
from domain.licences import LicenceRecord
from settings import get_settings
from store.licence_import import import_licences
from store.migrate import upgrade
from store.models import LicenceRow
from tests.cli_helpers import tongban
from tests.factories import credit_code, id_number

PERSON = id_number()
WRONG_CHECK_DIGIT = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")
COMPANY = credit_code("91340500MA2N0EXP")


def id_card(number: str = PERSON, **changes: Any) -> dict[str, Any]:
    return {
        "type": "resident_id_card",
        "number": number,
        "holder_id": number,
        "holder_name": "张三",
        "issuer": "马鞍山市公安局",
        "issued_on": "2016-05-04",
        "valid_until": "2036-05-04",
        "fields": {"name": "张三", "id_number": number, "address": "安徽省马鞍山市雨山区"},
    } | changes


def business_licence(**changes: Any) -> dict[str, Any]:
    return {
        "type": "business_licence",
        "number": COMPANY,
        "holder_id": COMPANY,
        "holder_name": "马鞍山示例有限公司",
        "issuer": "马鞍山市市场监督管理局",
        "issued_on": "2020-01-02",
        "valid_until": None,
        "fields": {
            "company_name": "马鞍山示例有限公司",
            "credit_code": COMPANY,
            "company_type": "有限责任公司",
            "legal_representative": "张三",
            "registered_capital": "100",
            "address": "安徽省马鞍山市雨山区湖南路1号",
            "business_scope": "技术服务",
        },
    } | changes


def realty(number: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "realty_certificate",
        "number": number,
        "holder_id": PERSON.lower(),
        "holder_name": "张三",
        "issuer": "马鞍山市不动产登记中心",
        "issued_on": "2024-08-01",
        "valid_until": None,
        "fields": {
            "certificate_no": number,
            "property_address": "安徽省马鞍山市雨山区湖南路1号3栋1201室",
            "unit_no": "340504001001GB00001F00010203",
            "floor_area": 89.5,
        }
        | fields,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# Each line and, for a bad one, what its report must say.
LINES: list[tuple[str, str | None]] = [
    (dumps(id_card()), None),
    (dumps(business_licence()), None),
    (dumps(realty("皖（2024）马鞍山市不动产权第0000001号")), None),
    ("", None),  # blank lines are skipped
    ("{not json", "不是有效的 JSON"),
    ("[1, 2]", "应为一个 JSON 对象"),
    (dumps({k: v for k, v in id_card().items() if k != "holder_name"}), "holder_name: 缺少"),
    (dumps(id_card(issued_on=20160504)), "issued_on: 应为日期"),
    (dumps(id_card() | {"number": 123}), "number: 应为文字"),
    (dumps(id_card(type="fishing_licence")), "type: 未知的证照类型 'fishing_licence'"),
    (dumps(id_card(holder_id=WRONG_CHECK_DIGIT)), "holder_id: 身份证号码校验位错误"),
    (dumps(id_card(valid_until="2010-01-01")), "valid_until: 有效期截止日期早于签发日期"),
    (
        dumps(realty("皖（2024）马鞍山市不动产权第0000002号", floor_area="很大")),
        "fields.floor_area",
    ),
    (dumps(realty("皖（2024）马鞍山市不动产权第0000003号", colour="红")), "fields.colour"),
    (dumps(id_card() | {"application_no": "A1"}), "application_no: 未定义的键"),
    (dumps(id_card(holder_name="李四")), "已在证照库中，内容不同"),  # not the card loaded
    (dumps(id_card()), None),  # the same card again: already present
]
GOOD = 3


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'tongban.db'}"
    upgrade(url)
    monkeypatch.setenv("TONGBAN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def write(path: Path, lines: list[tuple[str, str | None]]) -> Path:
    path.write_text("".join(text + "\n" for text, _ in lines), encoding="utf-8")
    return path


def table(url: str) -> list[Row[Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(LicenceRow.__table__).order_by(LicenceRow.id)))
    finally:
        engine.dispose()


def test_good_lines_load_and_each_bad_line_is_reported(database: str, tmp_path: Path) -> None:
    path = write(tmp_path / "licences.jsonl", LINES)
    code, out, err = tongban("licences", "import", str(path), "--batch-size", "4")
    assert code == 1
    bad = [(n, reason) for n, (_, reason) in enumerate(LINES, start=1) if reason]
    reports = err.splitlines()
    assert len(reports) == len(bad)
    for report, (number, reason) in zip(reports, bad, strict=True):
        assert report.startswith(f"{path}:{number}: "), report
        assert reason in report, report
    assert out.strip() == f"read {len(LINES) - 1}, loaded {GOOD}, already present 1, bad {len(bad)}"

    stored = {row.type: row for row in table(database)}
    assert len(stored) == GOOD
    card = stored["resident_id_card"]
    assert card.holder_name == "张三"  # the first of the two lines
    assert card.valid_until == date(2036, 5, 4) and card.holder_kind == "person"
    business = stored["business_licence"]
    assert business.fields["registered_capital"] == 100  # a number, as the type says
    assert business.valid_until is None and business.holder_kind == "organisation"
    house = stored["realty_certificate"]
    assert house.holder_id == PERSON  # capitals, as look-ups expect
    record = LicenceRecord.model_validate(
        realty("皖（2024）马鞍山市不动产权第0000001号") | {"holder_id": PERSON}
    )
    assert house.digest == record.digest()


def test_loading_the_same_file_again_changes_nothing(database: str, tmp_path: Path) -> None:
    path = write(tmp_path / "licences.jsonl", LINES)
    tongban("licences", "import", str(path))
    before = table(database)
    code, out, _ = tongban("licences", "import", str(path))
    assert code == 1 and "loaded 0, already present 4" in out
    assert table(database) == before


def test_a_clean_file_exits_zero(database: str, tmp_path: Path) -> None:
    path = write(tmp_path / "clean.jsonl", [line for line in LINES if line[1] is None])
    code, out, err = tongban("licences", "import", str(path))
    assert (code, err) == (0, "")
    assert out.strip() == f"read {GOOD + 1}, loaded {GOOD}, already present 1, bad 0"


def test_a_missing_file_is_an_error(database: str, tmp_path: Path) -> None:
    code, _, err = tongban("licences", "import", str(tmp_path / "nowhere.jsonl"))
    assert code == 1 and "no such file" in err


def test_worker_processes_load_and_report_the_same(tmp_path: Path) -> None:
    path = write(tmp_path / "licences.jsonl", LINES)
    outcomes = []
    for workers in (0, 2):
        url = f"sqlite:///{tmp_path / f'workers{workers}.db'}"
        upgrade(url)
        reports: list[tuple[int, str]] = []

        def report(number: int, reason: str, reports: list[tuple[int, str]] = reports) -> None:
            reports.append((number, reason))

        summary = import_licences(
            url,
            path,
            default_catalogue().licence_types,
            today=date(2026, 11, 28),
            batch_size=3,
            workers=workers,
            on_bad_line=report,
        )
        rows = [row._asdict() for row in table(url)]
        outcomes.append((summary, reports, [row | {"id": 0, "created_at": 0} for row in rows]))
    assert outcomes[0] == outcomes[1]


def test_the_import_writes_to_the_suites_database(db_url: str, tmp_path: Path) -> None:
    """On PostgreSQL too, when the suite runs there."""
    numbers = [f"皖（2025）马鞍山市不动产权第{uuid.uuid4().hex[:12]}号" for _ in range(3)]
    lines = [(dumps(realty(n)), None) for n in numbers]
    path = write(tmp_path / "licences.jsonl", [*lines, lines[0]])
    types = default_catalogue().licence_types
    first = import_licences(db_url, path, types, today=date(2026, 11, 28), batch_size=2)
    again = import_licences(db_url, path, types, today=date(2026, 11, 28))
    assert (first.read, first.loaded, first.already, first.bad) == (4, 3, 1, 0)
    assert (again.loaded, again.already) == (0, 4)
