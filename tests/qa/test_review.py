import pytest

import qa
from qa.review import Override, OverrideInvalid, apply


@pytest.fixture(scope="module")
def scored():
    card = qa.load(qa.default_path())
    utterances = [
        qa.Utterance(
            0,
            "agent",
            0.5,
            4.0,
            "Thank you for calling Acme, my name is Laura, this call is recorded for quality.",
        ),
        qa.Utterance(1, "customer", 4.5, 7.0, "Hi, my order never arrived and I am upset."),
        qa.Utterance(2, "agent", 7.5, 10.0, "Calm down, it is a risk free refund."),
        qa.Utterance(3, "customer", 10.5, 12.0, "OK, thanks."),
        qa.Utterance(4, "agent", 12.5, 14.0, "Thanks for calling, goodbye."),
    ]
    return card, qa.score(utterances, qa.CallFacts(duration=15.0), card).to_dict()


def test_no_override_reproduces_the_machine_score(scored):
    card, detail = scored
    result = apply(detail, card, [])
    assert result.overall == detail["overall"] and result.changes == []
    assert result.dimensions == detail["dimensions"]


def test_criterion_override_recomputes_dimension_and_overall(scored):
    card, detail = scored
    failed = next(
        c for c in detail["criteria"] if c["applicable"] and not c["passed"] and not c["auto_fail"]
    )
    result = apply(detail, card, [Override("criterion", failed["id"], True, "it was said")])
    assert result.dimensions[failed["dimension"]] > detail["dimensions"][failed["dimension"]]
    assert result.changes == [
        {
            "target": "criterion",
            "key": failed["id"],
            "before": False,
            "after": True,
            "reason": "it was said",
        }
    ]


def test_clearing_an_auto_fail_lifts_the_zero(scored):
    card, detail = scored
    assert detail["auto_fail"] and detail["overall"] == 0
    af = next(c for c in detail["criteria"] if c["auto_fail"] and not c["passed"])
    result = apply(detail, card, [Override("criterion", af["id"], True, "policy allows it")])
    assert not result.auto_fail and result.overall > 0


def test_dimension_override_wins_and_is_recorded(scored):
    card, detail = scored
    result = apply(detail, card, [Override("dimension", "empathy", 90, "warm tone")])
    assert result.dimensions["empathy"] == 90
    assert result.changes[0]["before"] == detail["dimensions"]["empathy"]


@pytest.mark.parametrize(
    "override, message",
    [
        (Override("criterion", "greeting", True, "  "), "reason is required"),
        (Override("criterion", "nope", True, "x"), "not on this score"),
        (Override("dimension", "charm", 50, "x"), "unknown dimension"),
        (Override("dimension", "empathy", 150, "x"), "from 0 to 100"),
        (Override("criterion", "greeting", 0.5, "x"), "true or false"),
    ],
)
def test_bad_overrides_say_what_is_wrong(scored, override, message):
    card, detail = scored
    with pytest.raises(OverrideInvalid, match=message):
        apply(detail, card, [override])
