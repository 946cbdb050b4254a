"""Regions as data: the shipped tree, and each invalid fixture giving its error at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from definitions.regions import default_regions, load_regions
from definitions.source import DefinitionErrors
from domain.regions import RegionLevel, region_of_number
from tests.test_definitions import expectation

INVALID = Path(__file__).parent / "fixtures" / "invalid" / "regions"

COUNTIES = {
    "340503": "花山区",
    "340504": "雨山区",
    "340506": "博望区",
    "340521": "当涂县",
    "340522": "含山县",
    "340523": "和县",
}


def test_the_city_and_its_six_divisions_are_the_official_ones() -> None:
    tree = default_regions()
    assert (tree.root.code, tree.root.name, tree.root.level) == ("340500", "马鞍山市", "city")
    assert not tree.root.demo
    counties = {r.code: r.name for r in tree.all() if r.level is RegionLevel.county}
    assert counties == COUNTIES
    assert all(not tree.get(code).demo for code in COUNTIES)  # type: ignore[union-attr]


def test_townships_and_villages_are_marked_demo_and_extend_their_parents_codes() -> None:
    tree = default_regions()
    below = [r for r in tree.all() if r.level in (RegionLevel.township, RegionLevel.village)]
    assert below and all(r.demo for r in below)
    for region in below:
        parent = tree.path(region.code)[-2]
        assert region.code.startswith(parent.code)
    assert tree.full_name("340521100201") == "马鞍山市当涂县姑孰镇新桥村"
    assert [r.point_name for r in tree.path("340521100201")] == [
        "马鞍山市政务服务中心",
        "当涂县政务服务中心",
        "姑孰镇为民服务中心",
        "新桥村代办站",
    ]


def test_what_lies_under_a_region() -> None:
    tree = default_regions()
    county = tree.codes_under("340521")
    assert county[0] == "340521" and "340521100" in county and "340521100201" in county
    assert all(code.startswith("340521") for code in county)
    assert len(tree.codes_under("340500")) == len(tree)
    assert tree.codes_under("340500", RegionLevel.county) == list(COUNTIES)
    assert tree.codes_under("999999") == []


def test_the_region_of_an_application_number() -> None:
    assert region_of_number("34052120261128000001") == "340521"
    assert region_of_number("T1A2B3C4D5E6") is None


@pytest.mark.parametrize("path", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_invalid_regions_file_gives_its_error(path: Path) -> None:
    line, message = expectation(path)
    with pytest.raises(DefinitionErrors) as raised:
        load_regions(path)
    [error] = raised.value.errors
    assert error.file.endswith(path.name)
    assert error.line == line, str(error)
    assert message in f"{error.path}: {error.message}", str(error)


def test_an_account_of_a_region_no_longer_in_the_tree_fails_closed() -> None:
    """Recoded since the account was set, its region sees what it accepted itself, never
    the whole city."""
    from api.services.accounts import StaffUser
    from api.services.region_scope import level_of, may_see
    from domain.actors import Role
    from domain.regions import RegionLevel

    lost = StaffUser(7, "agent-old", "代办员", Role.clerk, None, "340599999999")
    assert level_of(lost) is RegionLevel.village
    assert may_see(lost, "340521", "user:7") and not may_see(lost, "340521", "user:8")
    city = StaffUser(8, "supervisor", "电子监察员", Role.supervisor, None, None)
    assert level_of(city) is RegionLevel.city
