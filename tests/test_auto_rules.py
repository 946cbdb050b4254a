"""秒批 rules on facts, without a server: the operators, the order of the rules, and what a
missing fact does (it stops the evaluation: a later rule never decides around a gap)."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from domain.auto_rules import Facts, LicenceFact, evaluate
from domain.matter import AutoDecision, AutoRule, Condition, RuleOp


def _rule(
    name: str, *when: Condition, decide: Literal["approve", "reject"] = "approve"
) -> AutoRule:
    return AutoRule(name=name, when=list(when), decide=decide, reason=f"{name}理由")


def _auto(*rules: AutoRule) -> AutoDecision:
    return AutoDecision(rules=list(rules))


def _holders(auto: AutoDecision, holder: str = "H1") -> dict[int, list[str]]:
    return {i: [holder] * len(rule.when) for i, rule in enumerate(auto.rules)}


@pytest.mark.parametrize(
    ("op", "value", "fact", "holds"),
    [
        (RuleOp.eq, 12, 12.0, True),
        (RuleOp.ne, "甲", "乙", True),
        (RuleOp.lt, 10, 12, False),
        (RuleOp.ge, 12, 12, True),
        (RuleOp.in_, ["甲", "乙"], "乙", True),
        (RuleOp.in_, ["甲", "乙"], "丙", False),
        (RuleOp.le, "2026-12-31", "2026-11-02", True),  # dates compare as ISO text
        (RuleOp.present, None, "x", True),
        (RuleOp.absent, None, "x", False),
    ],
)
def test_each_operator(op: RuleOp, value: Any, fact: Any, holds: bool) -> None:
    auto = _auto(_rule("r", Condition(fact="form.f", op=op, value=value)))
    verdict = evaluate(auto, Facts(form={"f": fact}), _holders(auto))
    assert verdict.decided is holds


def test_the_first_rule_that_holds_decides_with_exactly_its_facts() -> None:
    auto = _auto(
        _rule("大额", Condition(fact="form.amount", op=RuleOp.gt, value=100), decide="reject"),
        _rule(
            "小额持证",
            Condition(fact="form.amount", op=RuleOp.le, value=100),
            Condition(fact="licence.permit", op=RuleOp.present),
        ),
    )
    licence = LicenceFact(type="permit", holder="H1", number="P-1", digest="d1")
    verdict = evaluate(
        auto, Facts(form={"amount": 50, "other": 1}, licences=[licence]), _holders(auto)
    )
    assert (verdict.decided, verdict.rule_no, verdict.decision) == (True, 2, "approve")
    assert verdict.facts == {
        "form.amount": 50,
        "licence.permit": {"holder": "H1", "number": "P-1", "digest": "d1"},
    }
    # Another holder's licence is not the applicant's.
    other = evaluate(auto, Facts(form={"amount": 50}, licences=[licence]), _holders(auto, "H2"))
    assert not other.decided


def test_a_missing_fact_stops_the_rules() -> None:
    auto = _auto(
        _rule("需核对", Condition(fact="form.amount", op=RuleOp.gt, value=100), decide="reject"),
        _rule("兜底", Condition(fact="applicant.id", op=RuleOp.present)),
    )
    verdict = evaluate(auto, Facts(applicant={"id": "X"}), _holders(auto))
    assert not verdict.decided
    assert verdict.why_not == ["规则1（需核对）：缺少事实 form.amount，规则无法判断，转人工办理"]


def test_a_rule_on_a_licences_field_cites_the_licence_it_read() -> None:
    auto = _auto(_rule("用途", Condition(fact="licence.permit.usage", op=RuleOp.eq, value="住宅")))
    licence = LicenceFact(
        type="permit", holder="H1", number="P-1", digest="d1", fields={"usage": "住宅"}
    )
    facts = Facts(licences=[licence])
    verdict = evaluate(auto, facts, _holders(auto))
    assert verdict.facts == {
        "licence.permit.usage": "住宅",
        "licence.permit": {"holder": "H1", "number": "P-1", "digest": "d1"},
    }
    # Generation 5 and before recorded the value alone; replayed, they still do.
    older = evaluate(auto, facts, _holders(auto), strict_licences=False)
    assert older.facts == {"licence.permit.usage": "住宅"}


def test_a_licence_of_nobody_is_not_absent() -> None:
    """A rule asking that a holder hold no such licence (无欠税记录) cannot be told when the
    application leaves its holder empty: it goes to people, and stops the rules."""
    auto = _auto(
        _rule("无欠税", Condition(fact="licence.tax_debt", op=RuleOp.absent)),
        _rule("兜底", Condition(fact="applicant.id", op=RuleOp.present)),
    )
    nobody = evaluate(auto, Facts(applicant={"id": "X"}), _holders(auto, ""))
    assert not nobody.decided
    assert "缺少事实 licence.tax_debt" in nobody.why_not[0]
    assert evaluate(auto, Facts(applicant={"id": "X"}), _holders(auto)).rule_no == 1
    older = evaluate(auto, Facts(applicant={"id": "X"}), _holders(auto, ""), strict_licences=False)
    assert older.rule_no == 1
