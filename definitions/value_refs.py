"""Stage two for the values a definition names (`ValueRef`): every reference must point at
something the application will hold, and every licence it issues must be complete.

- a material's `holder` is `applicant.id` or a form field holding an ID number or credit code;
- a form field's `prefill` is `identity.<claim>` or `licence.<type>.<field>` of a known type;
- a form field that is `applicants_own` holds an identifier (ID number or credit code);
- an `issues` entry names a known licence type, takes its number and holder from the form or
  a step's results, and fills every required field of the licence type; what it
  `supersedes` is a material a licence replaces, found by its `matches` and never owed;
- a material's `matches` compare fields of its licence type with the form or the applicant.
"""

from __future__ import annotations

from collections.abc import Mapping

from definitions.source import DefinitionError, Loc, SourceFile
from domain.licences import LicenceType
from domain.matter import FieldType, MatterDefinition

IDENTITY_CLAIMS = (
    "name", "id", "id_number", "credit_code", "phone", "operator_name", "operator_id",
)  # fmt: skip
APPLICANT_VALUES = ("id", "name", "phone")
_IDENTIFIERS = (FieldType.id_number, FieldType.credit_code)


def value_problem(matter: MatterDefinition, ref: str) -> str | None:
    """Why `ref` names nothing in an application of `matter`."""
    head, _, rest = ref.partition(".")
    if "." in rest:
        return f"{ref!r}: expected two parts (form.<field>, <step>.<field>, applicant.<value>)"
    if head == "applicant":
        return None if rest in APPLICANT_VALUES else f"{ref!r}: applicant has {APPLICANT_VALUES}"
    if head == "form":
        if any(f.code == rest for f in matter.form):
            return None
        return f"{ref!r}: no form field {rest!r}"
    steps = {s.code: s for s in matter.steps}
    if head not in steps:
        return f"{ref!r}: neither applicant, form nor a step of this matter"
    if not any(f.code == rest for f in steps[head].result_fields):
        return f"{ref!r}: step {head!r} has no result field {rest!r}"
    return None


def check_refs(
    src: SourceFile, matter: MatterDefinition, licence_types: Mapping[str, LicenceType] | None
) -> list[DefinitionError]:
    """Every problem of `matter`'s references; those to licence types only when the licence
    library is known (`licence_types` not None)."""
    errors: list[DefinitionError] = []
    form = {f.code: f for f in matter.form}

    def add(loc: Loc, problem: str | None) -> None:
        if problem:
            errors.append(src.error(loc, problem))

    for i, material in enumerate(matter.materials):
        for field_code, ref in material.matches.items():
            loc_ = ("materials", i, "matches", field_code)
            if ref.partition(".")[0] not in ("form", "applicant"):
                add(loc_, f"{ref!r}: a material is matched at submission: form or applicant")
            else:
                add(loc_, value_problem(matter, ref))
            of = licence_types.get(material.licence_type or "") if licence_types else None
            if licence_types is not None and of is None:
                add(("materials", i, "matches"), "only a material with a known licence_type")
            elif of is not None and not any(f.code == field_code for f in of.fields):
                add(loc_, f"{of.name} has no field {field_code!r}")
        head, _, rest = material.holder.partition(".")
        field = form.get(rest)
        if material.holder != "applicant.id" and not (
            head == "form" and field is not None and field.type in _IDENTIFIERS
        ):
            add(
                ("materials", i, "holder"),
                "the holder is applicant.id or a form field of type id_number or credit_code",
            )
    for i, spec in enumerate(matter.form):
        if spec.applicants_own and spec.type not in _IDENTIFIERS:
            add(("form", i, "applicants_own"), "only a field of type id_number or credit_code")
        if spec.prefill:
            add(("form", i, "prefill"), _prefill_problem(spec.prefill, licence_types))
    for i, issue in enumerate(matter.issues):
        loc: Loc = ("issues", i)
        for key in ("number", "holder_id", "holder_name"):
            add((*loc, key), value_problem(matter, getattr(issue, key)))
        for field_code, ref in issue.fields.items():
            add((*loc, "fields", field_code), value_problem(matter, ref))
        if issue.supersedes is not None:
            add((*loc, "supersedes"), _supersedes_problem(matter, issue.supersedes))
        if licence_types is None:
            continue
        licence = licence_types.get(issue.licence_type)
        if licence is None:
            add((*loc, "licence_type"), f"unknown licence type {issue.licence_type!r}")
            continue
        known = {f.code for f in licence.fields}
        for field_code in issue.fields:
            if field_code not in known:
                add((*loc, "fields", field_code), f"{licence.name} has no field {field_code!r}")
        missing = [f.code for f in licence.fields if f.required and f.code not in issue.fields]
        if missing:
            add((*loc, "fields"), f"required fields of {licence.name} not filled: {missing}")
    return errors


def _supersedes_problem(matter: MatterDefinition, code: str) -> str | None:
    """A licence replaced (换发) must be found by what the application is about, not only by
    whose it is, and be in hand when the grant replaces it."""
    cited = next((m for m in matter.materials if m.code == code), None)
    if cited is None or cited.licence_type is None:
        return "not a material of this matter with a licence_type"
    if not cited.matches:
        return f"material {code!r} needs `matches` (which of the holder's licences it is)"
    if matter.tolerated_missing and code in matter.tolerated_missing.materials:
        return f"material {code!r} may be accepted missing (容缺): nothing to replace at the grant"
    return None


def _prefill_problem(ref: str, licence_types: Mapping[str, LicenceType] | None) -> str | None:
    parts = ref.split(".")
    if parts[0] == "identity":
        if len(parts) == 2 and parts[1] in IDENTITY_CLAIMS:
            return None
        return f"{ref!r}: identity has {IDENTITY_CLAIMS}"
    if parts[0] == "licence" and len(parts) == 3:
        if licence_types is None:
            return None
        licence = licence_types.get(parts[1])
        if licence is None:
            return f"{ref!r}: unknown licence type {parts[1]!r}"
        if not any(f.code == parts[2] for f in licence.fields):
            return f"{ref!r}: {licence.name} has no field {parts[2]!r}"
        return None
    return f"{ref!r}: prefill from identity.<claim> or licence.<type>.<field>"
