"""One overall formula: scoring and reviews both combine through qa.score.combine."""

from __future__ import annotations

import qa
from qa import review
from qa.score import combine


def test_combine_weights_applicable_parts_and_zeroes_on_auto_fail() -> None:
    card = qa.load(qa.default_path())
    dims = {d: None for d in card.dimension_weights}
    assert combine(card, dims, None, auto_fail=False) is None
    first = next(iter(card.dimension_weights))
    dims[first] = 80.0
    assert combine(card, dims, None, auto_fail=False) == 80.0
    both = combine(card, dims, 40.0, auto_fail=False)
    w, s = card.dimension_weights[first], card.script_weight
    assert both == (w * 80.0 + s * 40.0) / (w + s)
    assert combine(card, dims, 40.0, auto_fail=True) == 0.0


def test_a_review_without_overrides_keeps_the_machine_overall() -> None:
    card = qa.load(qa.default_path())
    conversation = [
        qa.Utterance(0, "agent", 0.0, 3.0, "Thank you for calling Acme, this is Dana."),
        qa.Utterance(1, "customer", 3.5, 6.0, "Hi, my internet is down since this morning."),
        qa.Utterance(2, "agent", 6.5, 10.0, "I'm sorry about that, let me check your line."),
    ]
    scored = qa.score(
        conversation, qa.CallFacts(call_type="service", direction="inbound", duration=10.0), card
    )
    reviewed = review.apply(scored.to_dict(), card, [])
    assert reviewed.overall == (None if scored.overall is None else round(scored.overall, 1))
