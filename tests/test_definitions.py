"""Matter definitions: the shipped catalogue, and each invalid fixture giving its error.

Each file in fixtures/invalid marks the line its error must point at with `# expect: <text>`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cli.main import main as cli
from definitions.catalogue import default_catalogue, load_catalogue
from definitions.source import DEFINITIONS_ROOT, DefinitionErrors
from domain.matter import Kind, OnOverdue

INVALID = Path(__file__).parent / "fixtures" / "invalid"
EXPECT = re.compile(r"#\s*expect:\s*(.+)$")


def expectation(path: Path) -> tuple[int, str]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        found = EXPECT.search(line)
        if found:
            return number, found.group(1).strip()
    raise AssertionError(f"{path.name} has no '# expect:' marker")


@pytest.mark.parametrize("path", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_invalid_definition_gives_its_error(path: Path) -> None:
    line, message = expectation(path)
    with pytest.raises(DefinitionErrors) as raised:
        load_catalogue([path])
    [error] = raised.value.errors
    assert error.file.endswith(path.name)
    assert error.line == line, str(error)
    assert message in f"{error.path}: {error.message}", str(error)


def test_shipped_catalogue_has_the_seed_matters() -> None:
    catalogue = default_catalogue()
    assert set(catalogue.matters) >= {
        "company_setup",
        "property_transfer",
        "utility_connection",
        "tax_deregistration",
    }
    assert set(catalogue.departments) == {
        "amr",
        "psb",
        "tax",
        "housing",
        "realty",
        "urban",
        "water",
        "power",
        "gas",
    }
    company = catalogue.matter("company_setup")
    assert company.name == "企业开办" and company.promised_limit_days == 3
    assert [(s.department, s.needs) for s in company.steps] == [
        ("amr", []),
        ("psb", []),
        ("tax", []),
    ]
    prop = catalogue.matter("property_transfer")
    assert {s.department for s in prop.steps} == {"housing", "tax", "realty"}
    assert prop.promised_limit_days == 5
    utility = catalogue.matter("utility_connection")
    assert {s.department for s in utility.steps} == {"urban", "water", "power", "gas"}
    assert utility.step("gas").on_overdue is OnOverdue.deem_approved
    tax = catalogue.matter("tax_deregistration")
    assert tax.kind is Kind.immediate and tax.promised_limit_days == 0
    # 告知承诺制, offered to applicants: the same clearance on a signed commitment.
    pledged = catalogue.matter("tax_deregistration_commitment")
    assert pledged.commitment is not None and pledged.commitment.verification_days == 10
    assert tax.commitment is None


def test_every_error_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    for name in ("needs_cycle.yaml", "bad_type.yaml"):
        shutil.copy(INVALID / name, tmp_path / name)
    with pytest.raises(DefinitionErrors) as raised:
        load_catalogue([tmp_path], departments_file=DEFINITIONS_ROOT / "departments.yaml")
    assert {Path(e.file).name for e in raised.value.errors} == {"needs_cycle.yaml", "bad_type.yaml"}


def test_the_same_matter_code_twice_is_an_error(tmp_path: Path) -> None:
    for n in (1, 2):
        shutil.copy(DEFINITIONS_ROOT / "matters" / "company_setup.yaml", tmp_path / f"copy{n}.yaml")
    with pytest.raises(DefinitionErrors) as raised:
        load_catalogue([tmp_path], departments_file=DEFINITIONS_ROOT / "departments.yaml")
    [error] = raised.value.errors
    assert error.path == "code" and error.line == 1 and "also in" in error.message


def test_cli_validate_prints_file_and_line_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    path = INVALID / "step_limit_above_promised.yaml"
    with pytest.raises(SystemExit) as done:
        cli(["definitions", "validate", str(path)])
    assert done.value.code == 1
    line, _ = expectation(path)
    assert f"step_limit_above_promised.yaml:{line}: steps[0].limit_days:" in capsys.readouterr().out


def test_cli_validate_and_list_the_shipped_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli(["definitions", "validate"])
    assert done.value.code == 0
    assert "ok: 5 matter(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli(["definitions", "list"])
    out = capsys.readouterr().out
    assert "company_setup" in out and "企业开办" in out and "逾期视为同意" in out
