"""Loading the catalogue: schema first, then meaning (SpiffWorkflow's lesson).

Every problem in every file is collected before anything is refused, so that whoever
maintains the definitions sees the whole list at once, each with file, field path and line.

A matter may have several versions (its lifecycle: added, changed, suspended, cancelled),
one file each. The first version lives in `matters/<code>.yaml` and is complete; a later one
lives in `matters/versions/<code>.v<N>.yaml`, states its `version`, `status` and
`effective_from`, and only the top-level keys that change: it inherits every other key from
the version before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from definitions.auto_rules import check_auto
from definitions.checks import check_fields, check_unique
from definitions.licence_types import load_licence_types
from definitions.pledge_checks import check_pledges
from definitions.regions import default_regions
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
    MAX_EXTENSION_DAYS_JOINT,
    Department,
    DepartmentList,
    Kind,
    MatterDefinition,
    MatterStatus,
    OnOverdue,
    version_in_force,
)
from domain.regions import RegionLevel
from domain.routing import branch_code, branches

VERSIONS_FOLDER = "versions"
# Each version states these itself: they are never inherited from the version before.
_OWN_KEYS = ("version", "status", "effective_from")


@dataclass
class Catalogue:
    departments: dict[str, Department]
    # Every version of each matter, oldest first.
    versions: dict[str, list[MatterDefinition]] = field(default_factory=dict)
    licence_types: dict[str, LicenceType] = field(default_factory=dict)
    # The counties' branches of the departments that have them (domain.routing.branches):
    # not listed in departments.yaml, each is its county's name and the city's department.
    branches: dict[str, Department] = field(default_factory=dict)

    def department(self, code: str) -> Department | None:
        """A department of the city or a county's branch."""
        return self.departments.get(code) or self.branches.get(code)

    @property
    def all_departments(self) -> dict[str, Department]:
        return self.departments | self.branches

    def in_force(self, code: str, at: datetime | date) -> MatterDefinition | None:
        """The version of `code` in force at `at` (a suspension or a cancellation included);
        None for an unknown code or before its first version takes effect."""
        return version_in_force(self.versions.get(code, ()), at)

    def in_force_all(self, at: datetime | date) -> dict[str, MatterDefinition]:
        found = {code: self.in_force(code, at) for code in sorted(self.versions)}
        return {code: matter for code, matter in found.items() if matter is not None}

    @property
    def matters(self) -> dict[str, MatterDefinition]:
        """Each matter's version in force now. Applications pin the version in force at their
        own time instead (`api.services.intake.offered_matter`)."""
        return self.in_force_all(datetime.now(UTC))

    def matter(self, code: str) -> MatterDefinition:
        return self.matters[code]

    def licence_type(self, code: str) -> LicenceType:
        return self.licence_types[code]

    @property
    def licence_names(self) -> dict[str, str]:
        """Each licence type's name, by code."""
        return {code: t.name for code, t in self.licence_types.items()}

    def department_name(self, code: str) -> str:
        dept = self.department(code)
        return dept.name if dept else code

    def region_of(self, departments: Iterable[str]) -> str | None:
        """The county whose branches handle the steps of `departments` (an application's),
        None for the city's departments."""
        found = (self.department(code) for code in departments)
        return next((dept.region for dept in found if dept and dept.region), None)

    def departments_at(self, region: str | None) -> dict[str, Department]:
        """Who handles each department's steps in `region` (a county's code; None: the
        city): its branch there, else the city's department, in departments.yaml's order. The
        departments a step of an application handled there may be given to (改派)."""
        if region is None:
            return dict(self.departments)
        chosen = (
            self.branches.get(branch_code(code, region), d) for code, d in self.departments.items()
        )
        return {dept.code: dept for dept in chosen}


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
    joint = len({step.department for step in matter.steps}) > 1
    cap = MAX_EXTENSION_DAYS_JOINT if joint else MAX_EXTENSION_DAYS_BY_LAW
    if matter.max_extension_days > cap:
        handled = "handled jointly" if joint else "handled by one department"
        errors.append(
            err(
                ("max_extension_days",),
                f"above the {cap} working days the law allows a matter {handled} (Art 42)",
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

    errors += check_pledges(src, matter)
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
        errors += _check_implementation(src, matter, departments, longest)
    return errors


# Departments (and their branches) exist at the city and the counties; a township or a
# village accepts on behalf (代收代办) and forwards, it handles nothing itself.
_HANDLING_LEVELS = (RegionLevel.city, RegionLevel.county)


def _check_implementation(
    src: SourceFile, matter: MatterDefinition, departments: Mapping[str, Department], longest: int
) -> list[DefinitionError]:
    impl = matter.implementation
    if impl is None:
        return []
    errors: list[DefinitionError] = []
    err = src.error
    errors += check_unique(src, ("implementation", "levels"), [x.level.value for x in impl.levels])
    handled = {x.level for x in impl.levels}
    for i, line in enumerate(impl.levels):
        loc: Loc = ("implementation", "levels", i)
        if line.level not in _HANDLING_LEVELS:
            errors.append(
                err(
                    (*loc, "level"), f"no departments at {line.level.label}: accept on behalf there"
                )
            )
        promised = line.promised_limit_days
        if promised is not None and not longest <= promised <= matter.legal_limit_days:
            errors.append(
                err(
                    (*loc, "promised_limit_days"),
                    f"must lie between the longest chain of needs ({longest}) and the legal "
                    f"limit ({matter.legal_limit_days})",
                )
            )
        for own, there in line.departments.items():
            if own not in {s.department for s in matter.steps}:
                errors.append(err((*loc, "departments"), f"no step of department {own!r}"))
            if there not in departments:
                errors.append(err((*loc, "departments"), f"unknown department {there!r}"))
    for i, level in enumerate(impl.accepted_at):
        if level in handled:
            errors.append(
                err(("implementation", "accepted_at", i), f"{level.label} handles it already")
            )
        elif all(level.rank < x.rank for x in handled):
            errors.append(
                err(
                    ("implementation", "accepted_at", i),
                    f"nothing at or above {level.label} handles it to forward to",
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
            files += sorted(inner.glob("*.yaml")) + sorted((inner / VERSIONS_FOLDER).glob("*.yaml"))
        else:
            files.append(p)
    return files


def check_lifecycle(
    src: SourceFile, matter: MatterDefinition, before: tuple[MatterDefinition, str] | None
) -> list[DefinitionError]:
    """A version against the one before it (`before`: that version and its file)."""
    status = matter.status
    if before is None:
        if status is not MatterStatus.added:
            return [
                src.error(
                    ("status",),
                    f"a {status.value} version needs an earlier version of the matter "
                    f"(version {matter.version} is its first)",
                )
            ]
        return []
    previous, where = before
    errors = []
    if matter.effective_from <= previous.effective_from:
        errors.append(
            src.error(
                ("effective_from",),
                f"{matter.effective_from} is not after {previous.effective_from}, when version "
                f"{previous.version} took effect ({where})",
            )
        )
    if previous.status is MatterStatus.cancelled and status is not MatterStatus.added:
        errors.append(
            src.error(
                ("status",),
                f"version {previous.version} cancelled the matter: only a new addition "
                "(added) can follow it",
            )
        )
    elif previous.status is not MatterStatus.cancelled and status is MatterStatus.added:
        errors.append(
            src.error(
                ("status",),
                f"the matter exists already (version {previous.version}): a later version is "
                "changed, suspended or cancelled",
            )
        )
    return errors


def _version_key(data: Any) -> tuple[str, int] | None:
    """(code, version) of a document that has at least these two right."""
    if not isinstance(data, dict):
        return None
    code, version = data.get("code"), data.get("version")
    if isinstance(code, str) and isinstance(version, int) and not isinstance(version, bool):
        return code, version
    return None


def _inherit(previous: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in previous.items() if k not in _OWN_KEYS} | data


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
    catalogue = Catalogue(
        departments=departments, branches=branches(departments, default_regions())
    )
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
    by_code: dict[str, list[tuple[int, SourceFile]]] = {}
    for path in matter_files(paths):
        try:
            src = SourceFile(path)
        except DefinitionErrors as exc:
            errors += exc.errors
            continue
        key = _version_key(src.data)
        if key is None:
            # Without a plain code and version it belongs to no matter yet: the schema says
            # what is wrong, or reads them (a version written "2").
            try:
                parsed = src.parse(MatterDefinition)
            except DefinitionErrors as exc:
                errors += exc.errors
                continue
            key = parsed.code, parsed.version
        by_code.setdefault(key[0], []).append((key[1], src))
    for code, files in by_code.items():
        errors += _load_versions(catalogue, code, files, departments, known_licences)
    if errors:
        raise DefinitionErrors(errors)
    return catalogue


def _load_versions(
    catalogue: Catalogue,
    code: str,
    files: list[tuple[int, SourceFile]],
    departments: dict[str, Department],
    known_licences: Mapping[str, LicenceType] | None,
) -> list[DefinitionError]:
    """One matter's versions, oldest first, each a whole definition once it has inherited
    what it does not say from the version before. A version in error stops the later ones:
    what they inherit is not known."""
    errors: list[DefinitionError] = []
    seen: dict[int, str] = {}
    before: tuple[MatterDefinition, str] | None = None
    inherited: dict[str, Any] | None = None
    for version, src in sorted(files, key=lambda f: f[0]):
        if version in seen:
            message = f"matter {code!r} version {version} also in {seen[version]}"
            errors.append(src.error(("code",), message))
            continue
        seen[version] = src.name
        if errors:
            continue
        data = src.data if inherited is None else _inherit(inherited, src.data)
        try:
            matter = src.parse(MatterDefinition, data)
        except DefinitionErrors as exc:
            errors += exc.errors
            continue
        problems = check_matter(src, matter, departments, known_licences)
        problems += check_refs(src, matter, known_licences)
        problems += check_auto(src, matter, known_licences)
        problems += check_lifecycle(src, matter, before)
        if problems:
            errors += problems
            continue
        catalogue.versions.setdefault(code, []).append(matter)
        before, inherited = (matter, src.name), data
    return errors


@cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process."""
    return load_catalogue()
