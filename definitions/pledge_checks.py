"""Stage two for 容缺受理 and 告知承诺制: what a matter's `tolerated_missing` and
`commitment` must mean (docs/domain.md, "Acceptance with materials missing" and
"Decided on a commitment")."""

from __future__ import annotations

from definitions.checks import check_unique
from definitions.source import DefinitionError, SourceFile
from domain.matter import Kind, MatterDefinition


def check_pledges(src: SourceFile, matter: MatterDefinition) -> list[DefinitionError]:
    errors: list[DefinitionError] = []
    err = src.error
    tolerated = matter.tolerated_missing
    if tolerated is not None:
        loc = ("tolerated_missing",)
        if matter.kind is Kind.immediate:
            errors.append(err(loc, "an immediate matter (即办件) is decided on the spot: nothing "
                                   "can be handed in later"))  # fmt: skip
        materials = {m.code: m for m in matter.materials}
        errors += check_unique(src, loc, tolerated.materials, key="materials")
        for i, code in enumerate(tolerated.materials):
            material = materials.get(code)
            if material is None:
                errors.append(err((*loc, "materials", i), f"unknown material {code!r}"))
            elif not material.required:
                errors.append(
                    err((*loc, "materials", i), f"material {code!r} is optional: nothing to owe")
                )
        if tolerated.days > matter.promised_limit_days:
            errors.append(
                err(
                    (*loc, "days"),
                    f"{tolerated.days} working days is beyond the promised limit "
                    f"{matter.promised_limit_days}: materials are owed before the promise ends",
                )
            )
    commitment = matter.commitment
    if commitment is not None:
        # Decided by the system on the commitment: no person enters a step's results, so no
        # step may require one and no licence may take a value from one.
        for i, step in enumerate(matter.steps):
            required = [f.code for f in step.result_fields if f.required]
            if required:
                errors.append(
                    err(
                        ("steps", i, "result_fields"),
                        f"step {step.code!r} is decided on the commitment (告知承诺): it cannot "
                        f"require results ({', '.join(required)})",
                    )
                )
        steps = {s.code for s in matter.steps}
        for i, issue in enumerate(matter.issues):
            refs: list[tuple[tuple[str, ...], str]] = [
                (("number",), issue.number),
                (("holder_id",), issue.holder_id),
                (("holder_name",), issue.holder_name),
            ]
            refs += [(("fields", k), v) for k, v in issue.fields.items()]
            for where, ref in refs:
                if ref.partition(".")[0] in steps:
                    errors.append(
                        err(
                            ("issues", i, *where),
                            f"{ref!r}: decided on the commitment (告知承诺), no step enters "
                            "results",
                        )
                    )
    return errors
