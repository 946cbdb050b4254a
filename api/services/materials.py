"""How each material of an application arrives, checked before anything is written.

Data sharing provides what it can (never asked of the applicant). A material that an
electronic licence replaces is resolved from the licence library for its holder (the
applicant, or whoever the definition names): a valid licence of that type satisfies it and
the application pins the licence's number and digest. A named licence that is unknown,
revoked, expired or someone else's is refused, and so is a required material that arrived
by no way at all; each refusal names `materials.<code>`. A licence found for the applicant
must be in the applicant's name: a credit code typed with another company's name is refused
(`applicant.name`), not filled with that company's licence.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.licences import mismatched, usable
from domain.application import Applicant, MaterialReceipt, MaterialSource
from domain.licences import LicenceStatus
from domain.matter import MaterialSpec, MatterDefinition
from domain.references import applicant_values, resolve
from store import licences as library
from store.models import LicenceRow, MaterialRow

SHARED_REF = "共享交换平台"
# The field a licence found in another name is refused on (and throttled by: intake.receive).
NAME_MISMATCH = "applicant.name"


async def receive_materials(
    session: AsyncSession,
    *,
    matter: MatterDefinition,
    applicant: Applicant,
    form: Mapping[str, Any],
    given: list[MaterialReceipt],
    today: date,
    licence_names: Mapping[str, str],
) -> tuple[list[MaterialReceipt], dict[str, str]]:
    """The materials as received, and every problem by field."""
    specs = {m.code: m for m in matter.materials}
    replaced = {issue.supersedes for issue in matter.issues if issue.supersedes}
    problems: dict[str, str] = {}
    received: dict[str, MaterialReceipt] = {}
    for i, m in enumerate(given):
        spec = specs.get(m.code)
        field = f"materials[{i}]"
        if spec is None:
            problems[field] = f"本事项没有材料 {m.code}"
        elif m.code in received:
            problems[field] = f"材料 {m.code} 重复提交"
        elif m.source is MaterialSource.licence and not spec.licence_type:
            problems[field] = f"“{spec.name}”不能以电子证照代替"
        elif m.source is MaterialSource.sharing and not spec.shared:
            problems[field] = f"“{spec.name}”无法通过数据共享获取"
        elif m.source is MaterialSource.upload and not m.ref:
            problems[field] = f"“{spec.name}”缺少文件（ref）"
        elif m.source is MaterialSource.licence:
            row, problem = await _licence(
                session, spec, m.ref, applicant, form, today, licence_names
            )
            if problem:
                problems[f"materials.{spec.code}"] = problem
            elif row:
                received[m.code] = _receipt(spec, row)
                problems |= _name_problem(spec, row, applicant, licence_names)
        elif m.code in replaced and spec.licence_type:
            # A licence the grant replaces (换发) is the library's, whatever was handed in: a
            # paper or uploaded copy would leave the one in the library valid, to be cited
            # again. One the library does not hold is taken as handed in.
            row, _ = await _licence(session, spec, "", applicant, form, today, licence_names)
            ended = None if row else await _ended(session, spec, applicant, form, today)
            if ended:  # a copy of a certificate the library revoked (sold already)
                problems[f"materials.{spec.code}"] = _not_valid(ended, today, licence_names)
            else:
                received[m.code] = _receipt(spec, row) if row else m
        else:
            received[m.code] = m.model_copy(update={"verified": m.source is MaterialSource.sharing})
    for spec in matter.materials:
        if spec.code in received or any(k.endswith(f".{spec.code}") for k in problems):
            continue
        if spec.shared:
            # Data that sharing can provide is never asked of the applicant (国务院令第716号).
            received[spec.code] = MaterialReceipt(
                code=spec.code, source=MaterialSource.sharing, ref=SHARED_REF, verified=True
            )
            continue
        if spec.licence_type:
            row, _ = await _licence(session, spec, "", applicant, form, today, licence_names)
            mismatch = _name_problem(spec, row, applicant, licence_names) if row else {}
            if row and not mismatch:
                received[spec.code] = _receipt(spec, row)
                continue
            if mismatch and spec.required:  # an optional one the applicant did not name
                problems |= mismatch  # is simply not taken from the library
                continue
        if spec.required:
            kind = licence_names.get(spec.licence_type or "", "")
            hint = f"（电子证照库中没有可用的{kind}，请上传）" if kind else ""
            # Say why the one the applicant has in mind (`matches`) is not usable.
            ended = await _ended(session, spec, applicant, form, today)
            if ended is not None:
                hint = f"（{_not_valid(ended, today, licence_names)}）"
            problems[f"materials.{spec.code}"] = f"缺少必需材料：{spec.name}{hint}"
    return list(received.values()), problems


async def licence_in_hand(
    session: AsyncSession,
    *,
    spec: MaterialSpec,
    ref: str,
    applicant: Applicant,
    form: Mapping[str, Any],
    today: date,
    licence_names: Mapping[str, str],
) -> tuple[MaterialReceipt | None, str | None]:
    """The licence numbered `ref`, handed in for the material `spec` after acceptance (容缺):
    its receipt, pinned by number and digest, or why it cannot stand for it. The checks of
    a submission: in the library, valid, the holder's, in the applicant's name."""
    row, problem = await _licence(session, spec, ref, applicant, form, today, licence_names)
    if problem or row is None:
        return None, problem or f"电子证照库中没有编号为 {ref} 的证照"
    mismatch = _name_problem(spec, row, applicant, licence_names)
    if mismatch:
        return None, next(iter(mismatch.values()))
    return _receipt(spec, row), None


async def pinned_licence_problems(
    session: AsyncSession,
    *,
    matter: MatterDefinition,
    application_no: str,
    today: date,
    licence_names: Mapping[str, str],
) -> dict[str, str]:
    """The licences an application pinned at submission that no longer stand as they were
    pinned (revoked, expired, or not the content pinned), by `materials.<code>`. Checked
    again when the window accepts (受理): days may have passed, and a certificate replaced
    by another's transfer meanwhile would otherwise be accepted as valid."""
    rows = await session.scalars(
        select(MaterialRow).where(
            MaterialRow.application_no == application_no,
            MaterialRow.source == MaterialSource.licence.value,
        )
    )
    specs = {m.code: m for m in matter.materials}
    problems = {}
    for pinned in rows:
        spec = specs.get(pinned.code)
        if spec is None or spec.licence_type is None:
            continue
        kind = licence_names.get(spec.licence_type, spec.licence_type)
        found = await library.find(session, number=pinned.ref, type=spec.licence_type)
        row = found[0] if found else None
        if row is None:
            problem = f"{kind} {pinned.ref} 已不在电子证照库中"
        elif library.status(row, today) is not LicenceStatus.valid:
            problem = _not_valid(row, today, licence_names)
        elif pinned.digest and row.digest != pinned.digest:
            problem = f"{kind} {pinned.ref} 内容与申请时调取的不一致"
        else:
            continue
        problems[f"materials.{spec.code}"] = problem
    return problems


async def _ended(
    session: AsyncSession,
    spec: MaterialSpec,
    applicant: Applicant,
    form: Mapping[str, Any],
    today: date,
) -> LicenceRow | None:
    """The holder's newest licence of what the application is about (`matches`) that is no
    longer valid: a certificate revoked when the unit was sold, say."""
    if not spec.matches or spec.licence_type is None:
        return None
    holder, wanted = _holder(spec, applicant, form), _wanted(spec, applicant, form)
    if not holder:
        return None
    for row in await library.held_by(session, holder_id=holder, type=spec.licence_type):
        if not mismatched(row, wanted) and library.status(row, today) is not LicenceStatus.valid:
            return row
    return None


def _not_valid(row: LicenceRow, today: date, licence_names: Mapping[str, str]) -> str:
    """Why a licence no longer stands: revoked (and why), or expired (and when)."""
    kind = licence_names.get(row.type, row.type)
    if library.status(row, today) is LicenceStatus.revoked:
        return f"{kind} {row.number} 已注销：{row.revoke_reason or '无注销原因'}"
    return f"{kind} {row.number} 已过期（有效期至 {row.valid_until}）"


def _holder(spec: MaterialSpec, applicant: Applicant, form: Mapping[str, Any]) -> str:
    value = resolve(spec.holder, applicant=applicant_values(applicant), form=form, results={})
    return str(value or "").strip().upper()


def _wanted(spec: MaterialSpec, applicant: Applicant, form: Mapping[str, Any]) -> dict[str, str]:
    """The licence fields the material's licence must hold (`matches`), with their values."""
    values = applicant_values(applicant)
    return {
        field: str(resolve(ref, applicant=values, form=form, results={}) or "").strip()
        for field, ref in spec.matches.items()
    }


async def _licence(
    session: AsyncSession,
    spec: MaterialSpec,
    ref: str,
    applicant: Applicant,
    form: Mapping[str, Any],
    today: date,
    licence_names: Mapping[str, str],
) -> tuple[LicenceRow | None, str | None]:
    """The licence that satisfies `spec` (the one named by `ref`, or the holder's that holds
    the application's values of `MaterialSpec.matches`), or why the named one cannot."""
    assert spec.licence_type is not None
    holder, wanted = _holder(spec, applicant, form), _wanted(spec, applicant, form)
    kind = licence_names.get(spec.licence_type, spec.licence_type)
    if ref:
        rows = await library.find(session, number=ref.strip(), type=spec.licence_type)
        if not rows:
            return None, f"电子证照库中没有编号为 {ref} 的{kind}"
        row = rows[0]
        if library.status(row, today) is not LicenceStatus.valid:
            return None, _not_valid(row, today, licence_names)
        if not holder or row.holder_id != holder:
            return None, f"{kind} {ref} 的持有人不是本申请的{_whose(spec)}"
        differing = mismatched(row, wanted)
        if differing:
            return None, f"{kind} {ref} 登记的不是申请表所填的 {wanted[differing[0]]}"
    else:
        found = await usable(
            session, holder_id=holder, type=spec.licence_type, today=today, matching=wanted
        )
        if found is None:
            return None, None
        row = found
    return row, None


def _receipt(spec: MaterialSpec, row: LicenceRow) -> MaterialReceipt:
    return MaterialReceipt(
        code=spec.code, source=MaterialSource.licence, ref=row.number, digest=row.digest,
        verified=True,
    )  # fmt: skip


def _name_problem(
    spec: MaterialSpec, row: LicenceRow, applicant: Applicant, licence_names: Mapping[str, str]
) -> dict[str, str]:
    """The applicant's name against the licence found for the applicant's identifier; the
    name on record is not shown (a person's is personal data)."""
    if spec.holder != "applicant.id" or _same_name(row.holder_name, applicant.name):
        return {}
    kind = licence_names.get(spec.licence_type or "", "证照")
    return {NAME_MISMATCH: f"与{kind}登记的名称不一致，请核对申请人名称和证件号码"}


# The 间隔号 of a name (阿卜杜·热合曼) as keyboards type it.
_NAME_DOTS = str.maketrans({c: "·" for c in "•・‧∙⋅.．"})


def _same_name(a: str, b: str) -> bool:
    """Equal but for spaces, the width of letters, digits and brackets (NFKC: （有限合伙） and
    (有限合伙), ＡＢＣ and ABC), letter case and the form of the 间隔号."""

    def plain(name: str) -> str:
        folded = unicodedata.normalize("NFKC", name).translate(_NAME_DOTS).casefold()
        return "".join(folded.split())

    return plain(a) == plain(b)


def _whose(spec: MaterialSpec) -> str:
    return "申请人" if spec.holder == "applicant.id" else "证照持有人"
