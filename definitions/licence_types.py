"""Loading the licence types of the electronic licence library (definitions/licences.yaml).

Schema first, then meaning, every problem collected with its file and line, as for matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from definitions.checks import check_fields, check_unique
from definitions.source import DefinitionError, DefinitionErrors, SourceFile
from domain.licences import LicenceType, LicenceTypeList
from domain.matter import Department


def check_licence_types(
    src: SourceFile, types: list[LicenceType], departments: Mapping[str, Department]
) -> list[DefinitionError]:
    errors = check_unique(src, ("licence_types",), [t.code for t in types])
    for i, licence_type in enumerate(types):
        if licence_type.issuer not in departments:
            errors.append(
                src.error(
                    ("licence_types", i, "issuer"),
                    f"unknown department {licence_type.issuer!r}",
                )
            )
        errors += check_fields(src, ("licence_types", i, "fields"), licence_type.fields)
    return errors


def load_licence_types(path: Path, departments: Mapping[str, Department]) -> dict[str, LicenceType]:
    """The licence types in `path` by code; raise `DefinitionErrors` listing every problem."""
    src = SourceFile(path)
    parsed = src.parse(LicenceTypeList)
    errors = check_licence_types(src, parsed.licence_types, departments)
    if errors:
        raise DefinitionErrors(errors)
    return {t.code: t for t in parsed.licence_types}
