"""Loading the catalogue: schema first, then meaning (SpiffWorkflow's lesson).

Every problem in every file is collected before anything is refused, so that whoever
maintains the definitions sees the whole list at once, each with file, field path and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from definitions.checks import check_fields, check_unique
from definitions.licence_types import load_licence_types
from definitions.source import (
    DEFINITIONS_ROOT,
    DefinitionError,
    DefinitionErrors,
    Loc,
    SourceFile,
)
from definitions.value_refs import check_refs
from domain.licences import LicenceType
from domain.matter import (
    MAX_EXTENSION_DAYS_BY_LAW,
    Department,
    DepartmentList,
    Kind,
    MatterDefinition,
    OnOverdue,
)


@dataclass
class Catalogue:
    departments: dict[str, Department]
    matters: dict[str, MatterDefinition] = field(default_factory=dict)
    licence_types: dict[str, LicenceType] = field(default_factory=dict)

    def matter(self, code: str) -> MatterDefinition:
        return self.matters[code]

    def licence_type(self, code: str) -> LicenceType:
        return self.licence_types[code]

    def department_name(self, code: str) -> str:
        dept = self.departments.get(code)
        return dept.name if dept else code


def _critical_path(matter: MatterDefinition) -> int:
    """Working days along the longest chain of `needs` (steps assumed acyclic)."""
    steps = {s.code: s for s in matter.steps}
    memo: dict[str, int] = {}

    def finish(code: str) -> int:
        if code not in memo:
            s = steps[code]
            memo[code] = s.limit_days + max((finish(n) for n in s.needs), default=0)
        return memo[code]

    return max(finish(code) for code in steps)


def _find_cycle(matter: MatterDefinition) -> list[str] | None:
    needs = {s.code: [n for n in s.needs if n != s.code] for s in matter.steps}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(code: str, path: list[str]) -> list[str] | None:
        state[code] = 1
        for n in needs.get(code, []):
            if state.get(n) == 1:
                return [*path[path.index(n) :], n] if n in path else [code, n]
            if n in needs and state.get(n) is None:
                found = visit(n, [*path, n])
                if found:
                    return found
        state[code] = 2
        return None

    for code in needs:
        if state.get(code) is None:
            found = visit(code, [code])
            if found:
                return found
    return None


def check_matter(
    src: SourceFile,
    matter: MatterDefinition,
    departments: dict[str, Department],
    licence_types: Mapping[str, LicenceType] | None = None,
) -> list[DefinitionError]:
    """Stage two: what a schema cannot say. Licence types are checked when given."""
    errors: list[DefinitionError] = []
    err = src.error
    if matter.lead_department not in departments:
        errors.append(err(("lead_department",), f"unknown department {matter.lead_department!r}"))
    if matter.promised_limit_days > matter.legal_limit_days:
        errors.append(
            err(
                ("promised_limit_days",),
                f"promised limit {matter.promised_limit_days} is above the legal limit "
                f"{matter.legal_limit_days}",
            )
        )
    if matter.kind is Kind.immediate and matter.promised_limit_days != 0:
        errors.append(err(("promised_limit_days",), "an immediate matter (即办件) promises 0 days"))
    if matter.max_extension_days > MAX_EXTENSION_DAYS_BY_LAW:
        errors.append(
            err(
                ("max_extension_days",),
                f"above the {MAX_EXTENSION_DAYS_BY_LAW} working days the law allows (Art 42)",
            )
        )
    errors += check_unique(src, ("materials",), [m.code for m in matter.materials])
    if licence_types is not None:
        for i, material in enumerate(matter.materials):
            if material.licence_type and material.licence_type not in licence_types:
                errors.append(
                    err(
                        ("materials", i, "licence_type"),
                        f"unknown licence type {material.licence_type!r}",
                    )
                )
    errors += check_fields(src, ("form",), matter.form)
    errors += check_unique(src, ("steps",), [s.code for s in matter.steps])

    codes = {s.code for s in matter.steps}
    for i, step in enumerate(matter.steps):
        loc: Loc = ("steps", i)
        if step.department not in departments:
            errors.append(err((*loc, "department"), f"unknown department {step.department!r}"))
        if step.limit_days > matter.promised_limit_days:
            errors.append(
                err(
                    (*loc, "limit_days"),
                    f"step limit {step.limit_days} is above the matter's promised limit "
                    f"{matter.promised_limit_days}",
                )
            )
        for j, need in enumerate(step.needs):
            if need == step.code:
                errors.append(err((*loc, "needs", j), "a step cannot need itself"))
            elif need not in codes:
                errors.append(err((*loc, "needs", j), f"unknown step code {need!r}"))
        if step.on_overdue is OnOverdue.deem_approved and step.result_fields:
            errors.append(
                err(
                    (*loc, "on_overdue"),
                    "deem_approved is for opinion-only steps; a step that issues results "
                    "(result_fields) cannot be deemed approved",
                )
            )
        errors += check_fields(src, (*loc, "result_fields"), step.result_fields)

    if not any(s.department == matter.lead_department for s in matter.steps):
        errors.append(err(("lead_department",), "the lead department has no step"))
    cycle = _find_cycle(matter)
    if cycle:
        first = next(i for i, s in enumerate(matter.steps) if s.code == cycle[0])
        errors.append(err(("steps", first, "needs"), f"needs form a cycle: {' -> '.join(cycle)}"))
    elif not errors:
        longest = _critical_path(matter)
        if longest > matter.promised_limit_days:
            errors.append(
                err(
                    ("steps",),
                    f"the longest chain of needs takes {longest} working days, above the "
                    f"promised limit {matter.promised_limit_days}",
                )
            )
    return errors


def load_departments(path: Path) -> tuple[dict[str, Department], list[DefinitionError]]:
    try:
        src = SourceFile(path)
        parsed = src.parse(DepartmentList)
    except DefinitionErrors as exc:
        return {}, exc.errors
    codes = [d.code for d in parsed.departments]
    errors = check_unique(src, ("departments",), codes)
    return {d.code: d for d in parsed.departments}, errors


def matter_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    missing = [
        DefinitionError(str(p), "", None, "no such file or folder") for p in paths if not p.exists()
    ]
    if missing:
        raise DefinitionErrors(missing)
    for p in paths:
        if p.is_dir():
            inner = p / "matters" if (p / "matters").is_dir() else p
            files += sorted(inner.glob("*.yaml"))
        else:
            files.append(p)
    return files


def load_catalogue(
    paths: Sequence[Path] = (DEFINITIONS_ROOT,),
    departments_file: Path | None = None,
    licences_file: Path | None = None,
) -> Catalogue:
    """Load and check matter definitions; raise `DefinitionErrors` listing every problem.

    `paths` are definition roots (holding `matters/`), folders of matter files, or files.
    The departments come from `departments_file`, else the first root's `departments.yaml`,
    else the shipped one. The licence types come from `licences_file`, else the
    `licences.yaml` beside the departments; with neither, materials' licence types are not
    checked.
    """
    if departments_file is None:
        roots = [p for p in paths if p.is_dir() and (p / "departments.yaml").exists()]
        departments_file = (roots[0] if roots else DEFINITIONS_ROOT) / "departments.yaml"
    departments, errors = load_departments(departments_file)
    catalogue = Catalogue(departments=departments)
    if licences_file is None and (departments_file.parent / "licences.yaml").exists():
        licences_file = departments_file.parent / "licences.yaml"
    known_licences: dict[str, LicenceType] | None = None
    if licences_file is not None and not licences_file.exists():
        errors.append(DefinitionError(str(licences_file), "", None, "no such file or folder"))
    elif licences_file is not None:
        try:
            known_licences = load_licence_types(licences_file, departments)
        except DefinitionErrors as exc:
            # Matters are then not checked against a half-read library: the library's own
            # errors say what to fix first.
            errors += exc.errors
        else:
            catalogue.licence_types = known_licences
    seen: dict[str, str] = {}
    for path in matter_files(paths):
        try:
            src = SourceFile(path)
            matter = src.parse(MatterDefinition)
        except DefinitionErrors as exc:
            errors += exc.errors
            continue
        problems = check_matter(src, matter, departments, known_licences)
        problems += check_refs(src, matter, known_licences)
        if matter.code in seen:
            problems.append(
                src.error(("code",), f"matter {matter.code!r} also in {seen[matter.code]}")
            )
        errors += problems
        if not problems:
            seen[matter.code] = src.name
            catalogue.matters[matter.code] = matter
    if errors:
        raise DefinitionErrors(errors)
    return catalogue


@cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process."""
    return load_catalogue()
