"""秒批: a step decided by the rules of its definition when it opens, or handed to people.

When a step with `auto` opens, nobody may act on it until its rules have been applied
(`StepStatus.auto_pending`). The workflow asks an activity for the licence facts the rules
read (the library is I/O); the rest are the application's own (form, applicant, the results
of the steps it needs). `decide` then applies the rules (domain.auto_rules) and records the
verdict: the rule and exactly the facts it read (`auto_decided`, actor 秒批), then the
approval or the rejection as a department's would be recorded; or, when the rules cannot
decide, why not (`auto_undecided`), and the task reaches its department as any other.

*Our choice (results):* an approving rule gives the step's result fields itself, as values
or as references to the application (`result`, `result_from`), checked at load to fill
every required one: a rule that cannot say what the step issues cannot approve it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.actors import AUTO
from domain.application import AutoVerdict
from domain.auto_rules import Facts, FactsJob, LicenceFact, LicenceQuery, evaluate
from domain.events import EventKind, department
from domain.fields import FieldValue
from domain.matter import AutoDecision
from domain.references import applicant_values, resolve
from workflows.case import steps
from workflows.case.core import Case

# How long the licence facts are looked up (retried) before the step goes to people.
FACTS_LOOKUP_LIMIT = timedelta(minutes=10)
FACTS_LOOKUP_FAILED = "证照库查询未能完成，规则无法判断，转人工办理"


def _facts(case: Case, licences: list[LicenceFact]) -> Facts:
    results = {s.code: dict(s.result) for s in case.status.steps if s.state.done}
    return Facts(
        form=dict(case.app.form),
        applicant=applicant_values(case.app.applicant),
        results=results,
        licences=licences,
    )


def _holders(case: Case, auto: AutoDecision) -> dict[int, list[str]]:
    facts = _facts(case, [])
    return {
        i: [
            str(
                resolve(c.holder, applicant=facts.applicant, form=facts.form, results=facts.results)
                or ""
            ).upper()
            for c in rule.when
        ]
        for i, rule in enumerate(auto.rules)
    }


def job(case: Case, code: str, now: datetime) -> FactsJob:
    """The licence facts the step's rules read, for the activity to look up."""
    auto = case.matter.step(code).auto
    assert auto is not None
    holders = _holders(case, auto)
    wanted: dict[tuple[str, str], None] = {}
    for i, rule in enumerate(auto.rules):
        for j, condition in enumerate(rule.when):
            parts = condition.fact.split(".")
            if parts[0] == "licence" and holders[i][j]:
                wanted.setdefault((parts[1], holders[i][j]), None)
    return FactsJob(
        application_no=case.app.application_no,
        step_code=code,
        on=case.calendar.local(now).date(),
        licences=[LicenceQuery(type=t, holder=h) for t, h in wanted],
    )


def _result(case: Case, code: str, rule_no: int, facts: Facts) -> dict[str, FieldValue]:
    auto = case.matter.step(code).auto
    assert auto is not None
    rule = auto.rules[rule_no - 1]
    result: dict[str, Any] = dict(rule.result)
    for field, ref in rule.result_from.items():
        value = resolve(ref, applicant=facts.applicant, form=facts.form, results=facts.results)
        if value not in (None, ""):
            result[field] = value
    return result


def decide(case: Case, code: str, licences: list[LicenceFact] | None, now: datetime) -> None:
    """Apply the step's rules to the facts gathered, and act on the verdict; `licences`
    None: they could not be looked up (FACTS_LOOKUP_LIMIT), and people decide."""
    step = case.status.step(code)
    if not step.auto_pending:
        return
    step.auto_pending = False
    if case.status.state.final or not step.state.active:
        return  # withdrawn (or otherwise closed) while the facts were gathered
    auto = case.matter.step(code).auto
    assert auto is not None
    if licences is None:
        verdict = AutoVerdict(decided=False, why_not=[FACTS_LOOKUP_FAILED])
    else:
        facts = _facts(case, licences)
        verdict = evaluate(auto, facts, _holders(case, auto), strict_licences=case.strict_licences)
    step.auto = verdict
    if not verdict.decided:
        case.record(now, EventKind.auto_undecided, AUTO, code, why_not=verdict.why_not)
        case.announce(now, step)
        return
    assert verdict.rule_no is not None and verdict.decision is not None
    case.record(
        now, EventKind.auto_decided, AUTO, code, decision=verdict.decision,
        rule_no=verdict.rule_no, rule=verdict.rule, reason=verdict.reason, facts=verdict.facts,
    )  # fmt: skip
    label = "通过" if verdict.decision == "approve" else "不予通过"
    case.notify(
        now, department(step.department), "auto_decided", step_name=step.name, decision=label,
        rule=verdict.rule or "",
    )  # fmt: skip
    if verdict.decision == "approve":
        result = _result(case, code, verdict.rule_no, _facts(case, licences or []))
        steps.approve_step(case, now, code, AUTO, result, verdict.reason)
    else:
        steps.reject_step(case, now, code, AUTO, verdict.reason)
