from decimal import Decimal

import pytest

from scorecards import bonus
from scorecards.bonus import CallFact


def fact(
    i,
    *,
    agent=1,
    duration=120.0,
    overall=85.0,
    deal=False,
    value="0",
    sales=False,
    transferred=False,
    auto_fail=False,
    reviewed=False,
    scored=True,
):
    scores = {k: overall for k in bonus.FIELDS}
    return CallFact(
        call_id=i,
        agent_id=agent,
        direction="inbound",
        call_type="sales" if sales else "service",
        duration=duration,
        deal_closed=deal,
        deal_value=Decimal(value),
        scored=scored,
        scores=scores,
        auto_fail=auto_fail,
        reviewed=reviewed,
        transferred=transferred,
        agent_talk_share=0.5,
        hold_seconds=6.0,
    )


def test_default_rules_parse_and_describe_every_check():
    rules = bonus.load_default()
    assert rules.min_scored_calls == 20 and rules.currency == "EUR"
    facts = [fact(i, sales=i % 2 == 0, deal=i % 4 == 0, value="250") for i in range(24)]
    line = bonus.evaluate(bonus.figures(facts, rules), rules)
    assert line.eligible
    assert [c.rule for c in line.checks] == [
        "min_scored_calls",
        "min_average_overall",
        "no_unresolved_auto_fail",
        "min_conversion",
    ]
    # 6 deals: (100 + 6 x 10) x 1.2 (tier 80)
    assert line.amount == Decimal("192.00") and line.multiplier == 1.2


def test_short_handle_time_alone_earns_nothing():
    rules = bonus.load_default()
    # Forty 10-second calls, perfect scores: all cut short, none counts.
    facts = [fact(i, duration=10, overall=100) for i in range(40)]
    figs = bonus.figures(facts, rules)
    line = bonus.evaluate(figs, rules)
    assert figs.counted_calls == 0 and figs.cut_short == 40
    assert not line.eligible and line.amount == 0
    assert "40 cut short" in line.checks[0].text


def test_transferred_calls_do_not_count_in_the_agents_favour():
    rules = bonus.load_default()
    kept = [fact(i) for i in range(20)]
    sales_transferred = [
        fact(100 + i, sales=True, transferred=True, deal=True, value="99") for i in range(5)
    ]
    figs = bonus.figures(kept + sales_transferred, rules)
    assert figs.counted_calls == 20 and figs.transferred == 5
    assert figs.deals == 5 and figs.counted_deals == 0 and figs.revenue == "0.00"
    assert figs.conversion == 0.0  # the sales calls count against conversion
    line = bonus.evaluate(figs, rules)
    assert not line.eligible
    assert next(c for c in line.checks if c.rule == "min_conversion").figure == 0.0


def test_unresolved_auto_fail_blocks_and_cap_holds():
    rules = bonus.parse(bonus.default_path().read_text().replace("cap: 1000", "cap: 150"))
    facts = [fact(i, deal=True, value="10") for i in range(30)]
    assert bonus.evaluate(bonus.figures(facts, rules), rules).amount == Decimal("150.00")
    failed = facts + [fact(99, auto_fail=True)]
    line = bonus.evaluate(bonus.figures(failed, rules), rules)
    assert not line.eligible and line.amount == 0
    assert "1 auto-fail(s) not cleared" in line.checks[2].text


def test_same_facts_same_line():
    rules = bonus.load_default()
    facts = [fact(i, overall=60 + i) for i in range(25)]
    assert bonus.evaluate(bonus.figures(facts, rules), rules) == bonus.evaluate(
        bonus.figures(list(reversed(facts)), rules), rules
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\namount: {base: -1}", "amount.base must be from 0"),
        ("name: x\ncurrency: euro", "three-letter"),
        ("name: x\neligibility: {min_conversion: 2}", "min_conversion must be from 0 to 1"),
        ("name: x\nbogus: 1", "unknown section"),
    ],
)
def test_bad_rules_say_what_is_wrong(text, message):
    with pytest.raises(bonus.RulesInvalid, match=message):
        bonus.parse(text)
