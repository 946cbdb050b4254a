"""秒批: a step's rules (`StepSpec.auto`) applied to the facts of an application.

The rules are data, structured in the definition (a fact, an operator, a value), never an
expression to evaluate: this module is the whole of their meaning. Facts come from the
application itself (its form, its applicant, the results of the steps it needs) and from the
licence library; the library is read by an activity (`activities.auto_facts`), whose answer
is in the history, so the evaluation here is deterministic and runs in the workflow.

Rules are tried in order; the first whose conditions all hold decides. A rule with a false
condition is passed over. A rule that cannot be told true or false because a fact it reads is
missing stops the evaluation: a later rule might contradict what it would have decided, so
the step goes to people (conservative by choice: a rule never decides around a gap).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from domain.application import AutoVerdict
from domain.matter import AutoDecision, Condition, RuleOp, RuleValue

_MISSING = object()


class LicenceQuery(BaseModel):
    """A licence fact a step's rules need: does `holder` hold a valid licence of `type`?"""

    type: str
    holder: str


class LicenceFact(BaseModel):
    """What the library answered: the holder's newest valid licence of the type, if any."""

    type: str
    holder: str
    number: str | None = None
    digest: str = ""
    valid_until: date | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class FactsJob(BaseModel):
    application_no: str
    step_code: str
    on: date = Field(description="the centre's day of the step opening: valid on that day")
    licences: list[LicenceQuery]


class Facts(BaseModel):
    """Everything a step's rules may read, gathered when it opened."""

    form: dict[str, Any] = Field(default_factory=dict)
    applicant: dict[str, str] = Field(default_factory=dict)
    results: dict[str, dict[str, Any]] = Field(default_factory=dict)
    licences: list[LicenceFact] = Field(default_factory=list)

    def licence(self, type_code: str, holder: str) -> LicenceFact | None:
        return next(
            (x for x in self.licences if x.type == type_code and x.holder == holder and x.number),
            None,
        )


def _cited(found: LicenceFact) -> dict[str, Any]:
    """A licence as the record cites it: whose, which, and the content it had."""
    return {"holder": found.holder, "number": found.number, "digest": found.digest}


def _value(facts: Facts, condition: Condition, holder: str) -> tuple[Any, Any]:
    """The fact's value (or _MISSING) and how the record shows it."""
    parts = condition.fact.split(".")
    head = parts[0]
    if head == "licence":
        found = facts.licence(parts[1], holder)
        if found is None:
            return _MISSING, None
        if len(parts) == 2:
            return found.number, _cited(found)
        value = found.fields.get(parts[2], _MISSING)
    elif head == "form":
        value = facts.form.get(parts[1], _MISSING)
    elif head == "applicant":
        value = facts.applicant.get(parts[1], _MISSING)
    else:
        value = facts.results.get(head, {}).get(parts[1], _MISSING)
    if value is None or value == "":
        value = _MISSING
    return value, None if value is _MISSING else value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _same(a: Any, b: RuleValue) -> bool:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return str(a) == str(b)


def _holds(op: RuleOp, value: Any, wanted: RuleValue | list[RuleValue] | None) -> bool:
    if op is RuleOp.present:
        return value is not _MISSING
    if op is RuleOp.absent:
        return value is _MISSING
    if op is RuleOp.in_:
        return isinstance(wanted, list) and any(_same(value, w) for w in wanted)
    assert wanted is not None and not isinstance(wanted, list)  # checked at load
    if op is RuleOp.eq:
        return _same(value, wanted)
    if op is RuleOp.ne:
        return not _same(value, wanted)
    left: Any = _number(value)
    right: Any = _number(wanted)
    if left is None or right is None:  # dates (ISO strings) compare as text
        left, right = str(value), str(wanted)
    holds: bool = {
        RuleOp.lt: left < right,
        RuleOp.le: left <= right,
        RuleOp.gt: left > right,
        RuleOp.ge: left >= right,
    }[op]
    return holds


def condition_text(condition: Condition) -> str:
    if condition.op in (RuleOp.present, RuleOp.absent):
        return f"{condition.fact} {condition.op.value}"
    return f"{condition.fact} {condition.op.value} {condition.value}"


def evaluate(
    auto: AutoDecision,
    facts: Facts,
    holders: Mapping[int, list[str]],
    *,
    strict_licences: bool = True,
) -> AutoVerdict:
    """The verdict of `auto`'s rules on `facts`. `holders[i]` holds the holder (resolved)
    of each condition of rule i (only licence facts use it).

    `strict_licences` (engine generation 6; earlier histories replay without it): a licence
    fact whose holder the application leaves empty is missing, not absent (`absent` would
    otherwise hold for nobody's licence), and a rule reading a licence's field cites the
    licence too (`licence.<type>`: its holder, number and digest), so the record says which
    licence the value came from."""
    why_not: list[str] = []
    for i, rule in enumerate(auto.rules):
        label = f"规则{i + 1}（{rule.name}）"
        used: dict[str, Any] = {}
        failed: str | None = None
        missing: list[str] = []
        for j, condition in enumerate(rule.when):
            holder = holders[i][j]
            parts = condition.fact.split(".")
            of_licence = parts[0] == "licence"
            if strict_licences and of_licence and not holder:
                missing.append(condition.fact)  # whose licence is not known: no verdict on it
                continue
            value, shown = _value(facts, condition, holder)
            needs_value = condition.op not in (RuleOp.present, RuleOp.absent)
            if value is _MISSING and needs_value:
                missing.append(condition.fact)
                continue
            used[condition.fact] = shown
            cited = facts.licence(parts[1], holder) if of_licence and len(parts) == 3 else None
            if strict_licences and cited is not None:
                used.setdefault(f"licence.{parts[1]}", _cited(cited))
            if not _holds(condition.op, value, condition.value):
                failed = (
                    f"{label}：条件 {condition_text(condition)} 不成立（实际：{shown or '无'}）"
                )
                break
        if failed:
            why_not.append(failed)
            continue
        if missing:
            why_not.append(f"{label}：缺少事实 {'、'.join(missing)}，规则无法判断，转人工办理")
            break
        return AutoVerdict(
            decided=True,
            decision=rule.decide,
            rule_no=i + 1,
            rule=rule.name,
            reason=rule.reason,
            facts=used,
        )
    else:
        why_not.append("没有规则适用，转人工办理")
    return AutoVerdict(decided=False, why_not=why_not)
