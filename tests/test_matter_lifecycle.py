"""A matter's lifecycle: its versions (added, changed, suspended, cancelled), the version in
force at an instant, what a suspended or cancelled matter answers, and an application that
keeps the version it pinned after a new one takes effect."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.container import Services
from definitions.catalogue import Catalogue, default_catalogue, load_catalogue
from definitions.source import DEFINITIONS_ROOT, DefinitionErrors
from domain.matter import IN_FORCE_SINCE, MatterStatus
from store.models import ApplicationRow
from tests.api_helpers import company_setup, error_body, status, submit
from tests.test_definitions import expectation

LIFECYCLE_FIXTURES = Path(__file__).parent / "fixtures" / "invalid" / "lifecycle"
BEIJING_MIDNIGHT_2027 = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00 +08:00


def definitions_with(tmp_path: Path, versions: dict[str, str]) -> Path:
    """A copy of the shipped definitions with later versions added (file name -> YAML)."""
    root = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_ROOT / "matters", root / "matters")
    for name in ("departments.yaml", "licences.yaml"):
        shutil.copy(DEFINITIONS_ROOT / name, root / name)
    (root / "matters" / "versions").mkdir(exist_ok=True)
    for name, text in versions.items():
        (root / "matters" / "versions" / name).write_text(text, encoding="utf-8")
    return root


def version(number: int, status: str, since: date, **changes: object) -> str:
    lines = [
        "code: company_setup",
        f"version: {number}",
        f"status: {status}",
        f"effective_from: {since.isoformat()}",
    ]
    lines += [f"{key}: {value}" for key, value in changes.items()]
    return "\n".join(lines) + "\n"


def catalogue_with(tmp_path: Path, *versions: str) -> Catalogue:
    files = {f"company_setup.v{i + 2}.yaml": text for i, text in enumerate(versions)}
    return load_catalogue([definitions_with(tmp_path, files)])


# --- versions and the one in force ----------------------------------------------------------


def test_a_definition_without_lifecycle_was_added_long_ago() -> None:
    matter = default_catalogue().in_force("company_setup", date(2026, 11, 28))
    assert matter is not None
    assert (matter.status, matter.effective_from) == (MatterStatus.added, IN_FORCE_SINCE)
    assert default_catalogue().matters["company_setup"] is matter


def test_the_version_in_force_at_an_instant(tmp_path: Path) -> None:
    catalogue = catalogue_with(
        tmp_path,
        version(2, "changed", date(2027, 1, 1), name="企业开办（一件事）"),
        version(3, "suspended", date(2027, 6, 1)),
        version(4, "cancelled", date(2028, 1, 1)),
    )
    assert [v.version for v in catalogue.versions["company_setup"]] == [1, 2, 3, 4]

    def in_force(at: datetime | date) -> tuple[int, str]:
        found = catalogue.in_force("company_setup", at)
        assert found is not None
        return found.version, found.status.value

    assert in_force(date(2026, 12, 31)) == (1, "added")
    # A version takes effect at midnight in Beijing, whatever the instant's own zone.
    assert in_force(BEIJING_MIDNIGHT_2027 - timedelta(minutes=1)) == (1, "added")
    assert in_force(BEIJING_MIDNIGHT_2027) == (2, "changed")
    assert in_force(date(2027, 6, 1)) == (3, "suspended")
    assert in_force(date(2030, 1, 1)) == (4, "cancelled")
    # Later versions inherit what they do not restate.
    v1, v2, v3, _ = catalogue.versions["company_setup"]
    assert v2.name == "企业开办（一件事）" and v2.steps == v1.steps
    assert v3.name == v2.name and v3.materials == v1.materials
    assert catalogue.in_force("no_such_matter", date(2027, 1, 1)) is None
    assert catalogue.in_force_all(date(2027, 1, 2))["company_setup"].version == 2


def test_a_matter_whose_first_version_is_still_to_come_is_not_in_force(tmp_path: Path) -> None:
    root = definitions_with(tmp_path, {})
    path = root / "matters" / "company_setup.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "version: 1\n", "version: 1\neffective_from: 2030-01-01\n"
    )
    path.write_text(text, encoding="utf-8")
    catalogue = load_catalogue([root])
    assert catalogue.in_force("company_setup", date(2029, 12, 31)) is None
    assert "company_setup" not in catalogue.in_force_all(date(2029, 12, 31))


@pytest.mark.parametrize(
    "case", sorted(p for p in LIFECYCLE_FIXTURES.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_each_invalid_lifecycle_gives_its_error(case: Path) -> None:
    [marked] = [
        p for p in sorted(case.rglob("*.yaml")) if "# expect:" in p.read_text(encoding="utf-8")
    ]
    line, message = expectation(marked)
    with pytest.raises(DefinitionErrors) as raised:
        load_catalogue([case], departments_file=DEFINITIONS_ROOT / "departments.yaml")
    [error] = raised.value.errors
    assert error.file.endswith(marked.name)
    assert error.line == line, str(error)
    assert message in f"{error.path}: {error.message}", str(error)


# --- what applicants meet -------------------------------------------------------------------


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def today_of(app: FastAPI) -> date:
    return await services_of(app).today()


async def test_a_suspended_matter_refuses_new_applications_with_its_message(
    api: httpx.AsyncClient, api_app: FastAPI, tmp_path: Path
) -> None:
    since = await today_of(api_app) - timedelta(days=1)
    services_of(api_app).catalogue = catalogue_with(tmp_path, version(2, "suspended", since))
    refused = await api.post("/api/applications", json=company_setup())
    body = error_body(refused, 409)
    assert body["message"] == f"该事项（企业开办）已暂停办理（自{since:%Y-%m-%d}起）"
    # Its guide is still there, saying so; the form is not.
    guide = await api.get("/api/matters/company_setup")
    assert guide.status_code == 200
    assert (guide.json()["status"], guide.json()["status_label"]) == ("suspended", "暂停")
    page = await api.get("/apply/company_setup")
    assert page.status_code == 409 and "已暂停办理" in page.text
    assert "暂不受理新的申请" in (await api.get("/matters/company_setup")).text


async def test_a_cancelled_matter_is_gone(
    api: httpx.AsyncClient, api_app: FastAPI, tmp_path: Path
) -> None:
    since = await today_of(api_app)
    services_of(api_app).catalogue = catalogue_with(tmp_path, version(2, "cancelled", since))
    refused = await api.post("/api/applications", json=company_setup())
    assert (
        error_body(refused, 404)["message"] == f"该事项（企业开办）已取消（自{since:%Y-%m-%d}起）"
    )
    assert error_body(await api.get("/api/matters/company_setup"), 404)["error"] == "not_found"


async def test_an_application_keeps_its_version_after_a_new_one_takes_effect(
    api: httpx.AsyncClient, api_app: FastAPI, tmp_path: Path
) -> None:
    services = services_of(api_app)
    tomorrow = await today_of(api_app) + timedelta(days=1)
    services.catalogue = catalogue_with(
        tmp_path, version(2, "changed", tomorrow, name="企业开办一件事", max_extension_days=3)
    )
    before = await submit(api, company_setup())
    pinned = await status(api, before["application_no"], before["query_code"])
    assert pinned["matter_name"] == "企业开办"

    # A day later (as the API sees it), version 2 is in force: new applications pin it.
    engine_clock = services.clock

    def a_day_later(clock: Callable[[], Awaitable[datetime]]) -> Callable[[], Awaitable[datetime]]:
        async def later() -> datetime:
            return await clock() + timedelta(days=1)

        return later

    services.clock = a_day_later(engine_clock)
    assert (await api.get("/api/matters/company_setup")).json()["version"] == 2
    after = await submit(api, company_setup())
    assert (await status(api, after["application_no"], after["query_code"]))["matter_name"] == (
        "企业开办一件事"
    )
    # The first application goes on under the version it was accepted under.
    kept = await status(api, before["application_no"], before["query_code"])
    assert kept["matter_name"] == "企业开办"
    async with services.sessions() as session:
        first = await session.get(ApplicationRow, before["application_no"])
        second = await session.get(ApplicationRow, after["application_no"])
    assert first is not None and second is not None
    assert (first.matter_version, first.definition["max_extension_days"]) == (1, 5)
    assert (second.matter_version, second.definition["max_extension_days"]) == (2, 3)
