"""Stage two for 秒批 rules (`StepSpec.auto`) and sign-off stages (`StepSpec.stages`): every
fact a rule reads exists, every operator fits its fact and value, and an approving rule
fills the step's required result fields. Each problem names its file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from definitions.checks import check_unique
from definitions.source import DefinitionError, Loc, SourceFile
from definitions.value_refs import APPLICANT_VALUES, value_problem
from domain.fields import fields_problems
from domain.licences import LicenceType
from domain.matter import Condition, FieldSpec, FieldType, MatterDefinition, RuleOp, StepSpec

_ORDERED = (RuleOp.lt, RuleOp.le, RuleOp.gt, RuleOp.ge)
_IDENTIFIERS = (FieldType.id_number, FieldType.credit_code)


def _ancestors(matter: MatterDefinition, code: str) -> set[str]:
    """The steps approved before `code` opens (what it needs, and what they need)."""
    seen: set[str] = set()
    todo = list(matter.step(code).needs)
    while todo:
        need = todo.pop()
        if need not in seen and any(s.code == need for s in matter.steps):
            seen.add(need)
            todo += matter.step(need).needs
    return seen


def _fact_field(
    matter: MatterDefinition,
    step: StepSpec,
    fact: str,
    licence_types: Mapping[str, LicenceType] | None,
) -> tuple[FieldSpec | None, str | None]:
    """The field a fact reads (None where it has none: a licence held, an applicant value),
    or why the fact names nothing the step can know when it opens."""
    parts = fact.split(".")
    head = parts[0]
    if head == "licence":
        if licence_types is None:
            return None, None
        licence = licence_types.get(parts[1])
        if licence is None:
            return None, f"{fact!r}: unknown licence type {parts[1]!r}"
        if len(parts) == 2:
            return None, None
        field = next((f for f in licence.fields if f.code == parts[2]), None)
        if field is None:
            return None, f"{fact!r}: {licence.name} has no field {parts[2]!r}"
        return field, None
    if len(parts) != 2:
        return None, f"{fact!r}: expected form.<field>, applicant.<value>, <step>.<field>"
    if head == "form":
        field = next((f for f in matter.form if f.code == parts[1]), None)
        return field, None if field else f"{fact!r}: no form field {parts[1]!r}"
    if head == "applicant":
        if parts[1] in APPLICANT_VALUES:
            return None, None
        return None, f"{fact!r}: applicant has {APPLICANT_VALUES}"
    problem = value_problem(matter, fact)
    if problem:
        return None, problem
    if head not in _ancestors(matter, step.code):
        return None, f"{fact!r}: step {head!r} is not one this step needs (its results "
        "are not known when it opens)"
    return next(f for f in matter.step(head).result_fields if f.code == parts[1]), None


def _condition_problem(
    condition: Condition, field: FieldSpec | None, is_licence_held: bool
) -> str | None:
    op, value = condition.op, condition.value
    takes = op.takes
    if takes == "none" and value is not None:
        return f"{op.value} takes no value"
    if takes == "list" and (not isinstance(value, list) or not value):
        return "in takes a list of values"
    if takes == "scalar" and (value is None or isinstance(value, list)):
        return f"{op.value} takes one value"
    if is_licence_held and takes != "none":
        return f"{condition.fact!r} is a licence held or not: use present or absent"
    if field is None:
        return None
    values: list[Any] = value if isinstance(value, list) else [] if value is None else [value]
    if op in _ORDERED and field.type not in (FieldType.number, FieldType.date):
        return f"{op.value} compares numbers or dates; {field.code!r} is {field.type.value}"
    for v in values:
        problem = fields_problems([field.model_copy(update={"required": True})], {field.code: v})
        if problem:
            return f"value {v!r} does not fit {field.code!r}: {problem[field.code]}"
    return None


def check_auto(
    src: SourceFile, matter: MatterDefinition, licence_types: Mapping[str, LicenceType] | None
) -> list[DefinitionError]:
    errors: list[DefinitionError] = []
    form = {f.code: f for f in matter.form}
    for i, step in enumerate(matter.steps):
        loc: Loc = ("steps", i)
        if step.stages:
            if len(step.stages) < 2:
                errors.append(src.error((*loc, "stages"), "sign-off needs at least two stages"))
            errors += check_unique(src, (*loc, "stages"), [s.code for s in step.stages])
        if step.auto is None:
            continue
        for r, rule in enumerate(step.auto.rules):
            rloc: Loc = (*loc, "auto", "rules", r)
            for c, condition in enumerate(rule.when):
                cloc: Loc = (*rloc, "when", c)
                field, problem = _fact_field(matter, step, condition.fact, licence_types)
                if problem:
                    errors.append(src.error((*cloc, "fact"), problem))
                    continue
                parts = condition.fact.split(".")
                held = parts[0] == "licence" and len(parts) == 2
                problem = _condition_problem(condition, field, held)
                if problem:
                    errors.append(src.error((*cloc, "op"), problem))
                if condition.holder != "applicant.id":
                    head, _, rest = condition.holder.partition(".")
                    holder_field = form.get(rest)
                    if parts[0] != "licence":
                        errors.append(
                            src.error((*cloc, "holder"), "only licence facts have a holder")
                        )
                    elif (
                        head != "form"
                        or holder_field is None
                        or (holder_field.type not in _IDENTIFIERS)
                    ):
                        errors.append(
                            src.error(
                                (*cloc, "holder"),
                                "the holder is applicant.id or a form field of type id_number "
                                "or credit_code",
                            )
                        )
            errors += _result_problems(src, matter, step, rule.decide, rloc, r)
    return errors


def _result_problems(
    src: SourceFile, matter: MatterDefinition, step: StepSpec, decide: str, loc: Loc, r: int
) -> list[DefinitionError]:
    assert step.auto is not None
    rule = step.auto.rules[r]
    errors = []
    known = {f.code: f for f in step.result_fields}
    if decide == "reject" and (rule.result or rule.result_from):
        return [src.error((*loc, "result"), "a rejecting rule gives no results")]
    for key in ("result", "result_from"):
        for code in getattr(rule, key):
            if code not in known:
                errors.append(
                    src.error((*loc, key, code), f"step {step.code!r} has no result field {code!r}")
                )
    for code, ref in rule.result_from.items():
        problem = value_problem(matter, ref)
        if problem:
            errors.append(src.error((*loc, "result_from", code), problem))
    given = {c: v for c, v in rule.result.items() if c in known}
    problems = fields_problems([known[c] for c in given], given)
    for code, problem in problems.items():
        errors.append(src.error((*loc, "result", code), problem))
    if decide == "approve":
        missing = [
            f.code
            for f in step.result_fields
            if f.required and f.code not in rule.result and f.code not in rule.result_from
        ]
        if missing:
            errors.append(
                src.error(
                    (*loc, "decide"),
                    f"an approving rule must give the required result fields: {missing}",
                )
            )
    return errors
