"""Licence types as data (definitions/licences.yaml): each invalid file gives its error at its
line, the shipped library loads, and every licence type a matter names exists.

Each file in fixtures/invalid/licences marks the line its error must point at with
`# expect: <text>`, as the matter fixtures do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.main import main as cli
from definitions.catalogue import default_catalogue, load_catalogue
from definitions.licence_types import load_licence_types
from definitions.source import DEFINITIONS_ROOT, DefinitionErrors
from domain.licences import HolderKind
from tests.test_definitions import INVALID, expectation

INVALID_LICENCES = INVALID / "licences"


@pytest.mark.parametrize("path", sorted(INVALID_LICENCES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_invalid_licence_file_gives_its_error(path: Path) -> None:
    line, message = expectation(path)
    with pytest.raises(DefinitionErrors) as raised:
        load_licence_types(path, default_catalogue().departments)
    [error] = raised.value.errors
    assert error.file.endswith(path.name)
    assert error.line == line, str(error)
    assert message in f"{error.path}: {error.message}", str(error)


def test_the_shipped_library_has_the_licence_types_the_matters_need() -> None:
    catalogue = default_catalogue()
    types = catalogue.licence_types
    assert set(types) >= {
        "resident_id_card",
        "business_licence",
        "seal_record",
        "realty_certificate",
        "planning_permit",
        "road_excavation_permit",
        "water_connection_scheme",
        "power_connection_scheme",
        "tax_clearance_certificate",
    }
    named = {
        m.licence_type
        for matter in catalogue.matters.values()
        for m in matter.materials
        if m.licence_type
    }
    assert named and named <= set(types)
    id_card = catalogue.licence_type("resident_id_card")
    assert (id_card.name, id_card.holder, id_card.issuer, id_card.validity_years) == (
        "居民身份证",
        HolderKind.person,
        "psb",
        20,
    )
    assert [f.type.value for f in id_card.fields if f.code == "id_number"] == ["id_number"]
    business = catalogue.licence_type("business_licence")
    assert business.holder is HolderKind.organisation and business.validity_years is None
    assert {f.code: f.type.value for f in business.fields}["credit_code"] == "credit_code"
    assert catalogue.licence_type("realty_certificate").holder is HolderKind.person
    for licence_type in types.values():
        assert licence_type.issuer in catalogue.departments


def test_a_material_naming_an_unknown_licence_type_is_reported_at_its_line() -> None:
    path = INVALID / "unknown_licence_type.yaml"
    line, message = expectation(path)
    with pytest.raises(DefinitionErrors) as raised:
        load_catalogue([path])
    [error] = raised.value.errors
    assert (error.line, error.path) == (line, "materials[1].licence_type")
    assert message in error.message


def _definitions_copy(tmp_path: Path, licences: Path | None) -> Path:
    root = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_ROOT / "matters", root / "matters")
    shutil.copy(DEFINITIONS_ROOT / "departments.yaml", root / "departments.yaml")
    if licences is not None:
        shutil.copy(licences, root / "licences.yaml")
    return root


def test_a_broken_library_is_reported_without_blaming_every_matter(tmp_path: Path) -> None:
    root = _definitions_copy(tmp_path, INVALID_LICENCES / "unknown_issuer.yaml")
    with pytest.raises(DefinitionErrors) as raised:
        load_catalogue([root])
    [error] = raised.value.errors
    assert error.file.endswith("licences.yaml") and "fisheries" in error.message


def test_without_a_library_file_licence_types_are_not_checked(tmp_path: Path) -> None:
    catalogue = load_catalogue([_definitions_copy(tmp_path, None)])
    assert len(catalogue.matters) == 5 and catalogue.licence_types == {}


def test_cli_validate_checks_the_library_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli(["definitions", "validate"])
    assert done.value.code == 0
    assert "9 licence type(s)" in capsys.readouterr().out

    path = INVALID_LICENCES / "duplicate_code.yaml"
    with pytest.raises(SystemExit) as done:
        cli(["definitions", "validate", "--licences", str(path)])
    assert done.value.code == 1
    line, _ = expectation(path)
    assert f"duplicate_code.yaml:{line}: licence_types[1].code:" in capsys.readouterr().out
