"""Checks of meaning that matters and licence types share: codes that must be unique, and
fields that must be usable."""

from __future__ import annotations

from collections.abc import Sequence

from definitions.source import DefinitionError, Loc, SourceFile
from domain.matter import FieldSpec, FieldType


def check_unique(
    src: SourceFile, loc: Loc, codes: Sequence[str], key: str = "code"
) -> list[DefinitionError]:
    """One error for each repetition of a code (the `key` of each item), pointing at it."""
    first: dict[str, int] = {}
    errors = []
    for i, code in enumerate(codes):
        if code in first:
            line = src.line_of((*loc, first[code], key))
            errors.append(
                src.error((*loc, i, key), f"duplicate {key} {code!r} (first on line {line})")
            )
        else:
            first[code] = i
    return errors


def check_fields(src: SourceFile, loc: Loc, fields: Sequence[FieldSpec]) -> list[DefinitionError]:
    errors = check_unique(src, loc, [f.code for f in fields])
    for i, f in enumerate(fields):
        if f.type is FieldType.select and not f.options:
            errors.append(src.error((*loc, i, "options"), "a select field needs options"))
    return errors
