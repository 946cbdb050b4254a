"""A scenario file: which matter, when it is submitted, the actions taken, when to stop.

It is read like a definition (definitions/source.py), so that every mistake is reported as
FILE:LINE with the field at fault, all of them at once, before anything runs.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from definitions.catalogue import default_catalogue, load_catalogue
from definitions.source import DefinitionError, DefinitionErrors, SourceFile
from domain.application import Tolerance
from domain.fields import field_problem
from domain.matter import Channel, MatterDefinition, SpecialProcedureKind
from simulation.actions import ACTIONS
from workflows.case import commitment, tolerance


class ScenarioAction(BaseModel):
    """One entry of `actions`: what is done, when, and the fields its action takes."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    do: str
    step: str | None = None
    items: list[str] | None = None
    reason: str | None = None
    days: int | None = None
    department: str | None = None  # 改派: the department a returned step goes to
    kind: SpecialProcedureKind | None = None  # 特别程序: its kind
    result: dict[str, Any] | None = None
    comment: str = ""
    note: str = ""
    method: Literal["window", "express"] = "window"
    ref: str = ""
    passed: bool | None = None  # 核查: the commitment found kept, or not


class ScenarioLicence(BaseModel):
    """A licence the applicant holds in the library before applying (秒批 reads them)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    number: str = Field(description="the run's token is added: numbers are unique")
    fields: dict[str, Any] = Field(default_factory=dict)
    valid_until: date | None = None


class ScenarioFile(BaseModel):
    """The document as written; `Scenario` is what it means once its matter is resolved."""

    model_config = ConfigDict(extra="forbid")

    matter: str | None = Field(default=None, description="a shipped matter's code")
    definition: str | None = Field(
        default=None, description="a matter file, relative to the scenario's folder"
    )
    submitted_at: AwareDatetime
    channel: Literal["window", "online"] = "window"
    form: dict[str, Any] = Field(default_factory=dict, description="overrides generated values")
    missing: list[str] = Field(
        default_factory=list,
        description="容缺受理 at the window: materials accepted missing, the commitment signed",
    )
    commitment: bool = Field(default=False, description="告知承诺制 chosen and signed")
    licences: list[ScenarioLicence] = Field(
        default_factory=list, description="held by the applicant in the licence library"
    )
    actions: list[ScenarioAction] = Field(default_factory=list)
    until: AwareDatetime


class Scenario(BaseModel):
    name: str
    matter: MatterDefinition
    submitted_at: datetime
    channel: Channel
    form: dict[str, Any]
    missing: list[str] = Field(default_factory=list)
    commitment: bool = False
    licences: list[ScenarioLicence] = Field(default_factory=list)
    actions: list[ScenarioAction]
    until: datetime


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario; raise `DefinitionErrors` naming every problem's line."""
    if not path.is_file():
        raise DefinitionErrors([DefinitionError(str(path), "", None, "no such file")])
    src = SourceFile(path)
    doc = src.parse(ScenarioFile)
    errors: list[DefinitionError] = []
    matter = _matter(src, doc, errors)
    if matter is not None and Channel(doc.channel) not in matter.channels:
        errors.append(src.error(("channel",), f"{matter.code} cannot be applied for {doc.channel}"))
    if matter is not None:
        errors += _form_problems(src, matter, doc.form)
        if doc.missing and doc.channel != "window":
            errors.append(src.error(("missing",), "容缺受理 at submission is for the window"))
        missing = tolerance.problem(matter, Tolerance(missing=doc.missing, signed=True))
        if missing:
            errors.append(src.error(("missing",), missing[1]))
        refused = commitment.problem(matter, doc.commitment)
        if refused:
            errors.append(src.error(("commitment",), refused))
    types = default_catalogue().licence_types
    for i, licence in enumerate(doc.licences):
        if licence.type not in types:
            errors.append(
                src.error(("licences", i, "type"), f"unknown licence type {licence.type!r}")
            )
    previous = doc.submitted_at
    for i, action in enumerate(doc.actions):
        loc: tuple[str | int, ...] = ("actions", i)
        if action.at < previous:
            errors.append(src.error((*loc, "at"), _out_of_order(action.at, previous)))
        previous = action.at
        kind = ACTIONS.get(action.do)
        if kind is None:
            known = ", ".join(sorted(ACTIONS))
            errors.append(src.error((*loc, "do"), f"unknown action {action.do!r} (known: {known})"))
            continue
        for field in kind.needs:
            if getattr(action, field) is None:
                errors.append(src.error(loc, f"{action.do} needs {field!r}"))
        if matter is not None and action.step is not None:
            codes = [s.code for s in matter.steps]
            if action.step not in codes:
                errors.append(
                    src.error(
                        (*loc, "step"),
                        f"{matter.code} has no step {action.step!r} (steps: {', '.join(codes)})",
                    )
                )
    if doc.until < previous:
        errors.append(src.error(("until",), _out_of_order(doc.until, previous)))
    if errors:
        raise DefinitionErrors(errors)
    assert matter is not None  # an unresolved matter is an error
    return Scenario(
        name=src.name,
        matter=matter,
        submitted_at=doc.submitted_at,
        channel=Channel(doc.channel),
        form=doc.form,
        missing=doc.missing,
        commitment=doc.commitment,
        licences=doc.licences,
        actions=doc.actions,
        until=doc.until,
    )


def _out_of_order(instant: datetime, previous: datetime) -> str:
    return f"{instant.isoformat()} is before the time above it ({previous.isoformat()})"


def _form_problems(
    src: SourceFile, matter: MatterDefinition, form: dict[str, Any]
) -> list[DefinitionError]:
    """The form fields a scenario sets, checked as the API checks an application's."""
    specs = {f.code: f for f in matter.form}
    problems = []
    for code, value in form.items():
        spec = specs.get(code)
        problem = "未定义的字段" if spec is None else field_problem(spec, value)
        if problem:
            problems.append(src.error(("form", code), problem))
    return problems


def _matter(
    src: SourceFile, doc: ScenarioFile, errors: list[DefinitionError]
) -> MatterDefinition | None:
    if (doc.matter is None) == (doc.definition is None):
        errors.append(src.error((), "give either 'matter' (a shipped code) or 'definition'"))
        return None
    if doc.matter is not None:
        matters = default_catalogue().matters
        if doc.matter not in matters:
            known = ", ".join(sorted(matters))
            errors.append(src.error(("matter",), f"no matter {doc.matter!r} (known: {known})"))
            return None
        return matters[doc.matter]
    assert doc.definition is not None
    file = src.path.parent / doc.definition
    if not file.is_file():
        errors.append(src.error(("definition",), f"no such file: {file}"))
        return None
    try:
        # Checked like `tongban definitions validate FILE`, against the shipped departments.
        catalogue = load_catalogue([file])
    except DefinitionErrors as exc:
        errors += exc.errors
        return None
    return next(iter(catalogue.matters.values()))
