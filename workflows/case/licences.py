"""证照生成: the licences a granted application issues, drawn from its own values.

Which licences, and from which form and result fields, is the matter's `issues`; one may
replace a licence the applicant cited as a material (换发: the seller's certificate at a
transfer), which the library then revokes with the new one's issue. The
workflow sends the drafts to the licence library through an activity (idempotent: a retry or
a replay never issues twice) and records what came back.
"""

from __future__ import annotations

from datetime import datetime

from domain.application import MaterialSource
from domain.events import APPLICANT, SUPERVISORS, EventKind
from domain.issuing import IssueOutcome, IssueResult, LicenceDraft, LicenceRef
from domain.references import applicant_values, resolve
from workflows.case.core import Case


def drafts(case: Case) -> list[LicenceDraft]:
    status = case.status
    issued_at = status.completed_at
    assert issued_at is not None, "licences are issued once the application is granted"
    results = {s.code: s.result for s in status.steps}
    applicant = applicant_values(case.app.applicant)

    def value(ref: str) -> str:
        found = resolve(ref, applicant=applicant, form=case.app.form, results=results)
        return "" if found is None else str(found).strip()

    out = []
    cited = {m.code: m for m in case.app.materials if m.source is MaterialSource.licence}
    materials = {m.code: m for m in case.matter.materials}
    for issue in case.matter.issues:
        old = cited.get(issue.supersedes or "")
        spec = materials.get(issue.supersedes or "")
        supersedes = None
        if old is not None and spec is not None and spec.licence_type:
            supersedes = LicenceRef(type=spec.licence_type, type_name=spec.name, number=old.ref)
        fields = {}
        for field, ref in issue.fields.items():
            found = resolve(ref, applicant=applicant, form=case.app.form, results=results)
            if found not in (None, ""):
                fields[field] = found
        out.append(
            LicenceDraft(
                type=issue.licence_type,
                number=value(issue.number),
                holder_id=value(issue.holder_id).upper(),
                holder_name=value(issue.holder_name),
                fields=fields,
                application_no=status.application_no,
                issued_at=issued_at,
                supersedes=supersedes,
            )
        )
    return out


def record(case: Case, result: IssueResult, now: datetime) -> None:
    case.status.licences = list(result.licences)
    for licence in result.licences:
        if licence.outcome is IssueOutcome.refused:
            case.record(
                now,
                EventKind.licence_not_issued,
                type=licence.type,
                number=licence.number,
                problem=licence.problem,
            )
            case.notify(
                now,
                SUPERVISORS,
                "licence_not_issued",
                licence_name=licence.type_name,
                problem=licence.problem or "",
            )
            continue
        case.record(
            now,
            EventKind.licence_issued,
            type=licence.type,
            number=licence.number,
            digest=licence.digest,
        )
        case.notify(
            now, APPLICANT, "licence_issued", licence_name=licence.type_name, number=licence.number
        )
        old = licence.superseded
        if old is not None:
            case.record(
                now, EventKind.licence_superseded, type=old.type, number=old.number,
                by=licence.number,
            )  # fmt: skip
