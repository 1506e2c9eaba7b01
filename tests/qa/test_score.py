"""Paired transcripts that differ in one respect: the right dimension moves the right way."""

from __future__ import annotations

from qa import CallFacts, Utterance, default_path, load, score
from qa.detectors import find_phrase

CARD = load(default_path())


def call(*turns: tuple[str, float, float, str]) -> list[Utterance]:
    return [Utterance(i, s, a, b, t) for i, (s, a, b, t) in enumerate(turns)]


GOOD = [
    (
        "agent",
        0.5,
        6.0,
        "Thank you for calling Acme, my name is Laura. This call may be recorded for quality.",
    ),
    ("customer", 6.5, 10.0, "Hi, my name is Peter, my bill is wrong and I am really annoyed."),
    ("agent", 10.8, 14.0, "I'm sorry to hear that Peter. Can you confirm your account number?"),
    ("customer", 14.5, 16.0, "It is 4 4 1 2."),
    (
        "agent",
        16.5,
        21.0,
        "Thank you. I can see the error on your account, I have corrected it "
        "and you will see the refund within three days.",
    ),
    ("customer", 21.5, 23.0, "Great, thank you so much."),
    (
        "agent",
        23.5,
        27.0,
        "Just to confirm, the refund arrives within three days. Is there "
        "anything else I can help with?",
    ),
    ("customer", 27.5, 28.5, "No thanks, that's all."),
    ("agent", 29.0, 31.0, "Thank you for calling Peter, have a great day."),
]


def scored(turns, **facts):
    return score(call(*turns), CallFacts(duration=32, **facts), CARD)


def replace(turns, index, text):
    out = list(turns)
    s, a, b, _ = out[index]
    out[index] = (s, a, b, text)
    return out


def test_good_call_passes_everything_with_quoted_evidence():
    result = scored(GOOD)
    failed = [c.id for c in result.criteria if c.applicable and not c.passed]
    assert failed == []
    assert result.overall == 100 and not result.auto_fail
    greeting = next(c for c in result.criteria if c.id == "greeting")
    assert greeting.evidence[0].quote.startswith("Thank you for calling Acme")
    assert greeting.evidence[0].start == 0.5
    closing = next(c for c in result.criteria if c.id == "closing")
    assert closing.evidence[0].segment == 8  # the latest match, not the greeting


def test_cold_agent_loses_empathy_only_where_it_should():
    cold = replace(GOOD, 2, "Can you confirm your account number?")
    good, bad = scored(GOOD), scored(cold)
    assert bad.dimensions["empathy"] < good.dimensions["empathy"]
    assert bad.dimensions["responsiveness"] == good.dimensions["responsiveness"]
    ack = next(c for c in bad.criteria if c.id == "acknowledgement")
    assert not ack.passed and ack.evidence[0].start == 6.5


def test_missing_disclosure_flips_the_script_item():
    without = replace(GOOD, 0, "Thank you for calling Acme, my name is Laura.")
    result = scored(without)
    item = next(c for c in result.criteria if c.id == "recording_disclosure")
    assert not item.passed and "first 60 s" in item.reason
    assert result.script_compliance < scored(GOOD).script_compliance


def test_slow_replies_lower_responsiveness():
    slow = [
        (s, a + (12 if i >= 2 else 0), b + (12 if i >= 2 else 0), t)
        for i, (s, a, b, t) in enumerate(GOOD)
    ]
    result = score(call(*slow), CallFacts(duration=44), CARD)
    assert result.dimensions["responsiveness"] < 100
    assert not next(c for c in result.criteria if c.id == "dead_air").passed


def test_i_dont_know_and_no_resolution_lower_competence():
    unsure = replace(GOOD, 4, "Hmm, I don't know why that happened, I can see your account.")
    result = scored(unsure)
    assert result.dimensions["competence"] < scored(GOOD).dimensions["competence"]
    assert not next(c for c in result.criteria if c.id == "no_guessing").passed


def test_forbidden_promise_is_an_auto_fail_with_the_reason():
    promise = replace(GOOD, 4, "Don't worry, this plan has guaranteed returns, it's risk free.")
    result = scored(promise)
    assert result.auto_fail and result.overall == 0
    assert "guaranteed returns" in result.auto_fail_reasons[0]


def test_account_details_before_verification_fails_the_order():
    swapped = replace(GOOD, 2, "I'm sorry to hear that Peter, I can see your account here.")
    result = scored(swapped)
    order = next(c for c in result.criteria if c.id == "verification_first")
    assert not order.passed


def test_sales_only_criteria_apply_to_sales_calls():
    result = scored(GOOD, call_type="sales")
    discovery = next(c for c in result.criteria if c.id == "discovery")
    verification = next(c for c in result.criteria if c.id == "verification")
    assert discovery.applicable and not discovery.passed and not verification.applicable


def test_fuzzy_phrases_survive_asr_errors():
    u = Utterance(0, "agent", 0, 1, "thank you for colling acme")
    assert find_phrase("thank you for calling", u, 85) == "thank you for colling"
    assert find_phrase("anything else", Utterance(0, "agent", 0, 1, "anything ells?"), 85)


def test_deterministic_and_safe_on_degenerate_input():
    assert scored(GOOD).to_dict() == scored(GOOD).to_dict()
    for turns in ([], [("customer", 0, 1, "hello?")], [("agent", 0, 7200, "hold music " * 10)]):
        result = scored(turns)
        assert result.overall is None or 0 <= result.overall <= 100


def test_polite_decline_is_not_a_negative_customer_turn():
    from qa.sentiment import compound

    assert compound("No thanks, that's all.") > 0
    assert compound("No, this is terrible.") < 0


def test_company_name_in_the_greeting_when_the_scorecard_names_one():
    text = default_path().read_text().replace("# company: Acme Energy", "company: Acme")
    from qa import parse

    named = parse(text)
    assert score(call(*GOOD), CallFacts(duration=32), named).criteria[0].passed
    other = parse(text.replace("company: Acme", "company: Globex"))
    greeting = score(call(*GOOD), CallFacts(duration=32), other).criteria[0]
    assert not greeting.passed and "globex" in greeting.reason.lower()


def test_commitment_with_a_time_is_found_by_meaning_or_says_why_not():
    result = scored(GOOD)
    commitment = next(c for c in result.criteria if c.id == "commitment")
    assert commitment.passed and "within three days" in commitment.evidence[0].quote
    assert commitment.evidence[0].similarity is not None
    vague = replace(
        replace(GOOD, 4, "Thank you. I can see the error on your account."),
        6,
        "Is there anything else I can help with?",
    )
    missed = next(c for c in scored(vague).criteria if c.id == "commitment")
    assert not missed.passed and "nothing meaning" in missed.reason


def test_customer_name_is_learnt_from_their_introduction_in_any_case():
    turns = [
        ("agent", 0, 3, "Thank you for calling, how can I help?"),
        ("customer", 4, 6, "Hi, Michelle. My name is Jack."),
        ("agent", 7, 9, "Jack, what was your last name?"),
    ]
    result = score(call(*turns), CallFacts(duration=10), CARD)
    used = next(c for c in result.criteria if c.id == "customer_name")
    assert used.applicable and used.passed and used.evidence[0].quote == "Jack"
    silent = score(call(*turns[:2]), CallFacts(duration=10), CARD)
    missed = next(c for c in silent.criteria if c.id == "customer_name")
    assert missed.applicable and not missed.passed and "'Jack'" in missed.reason


def test_agent_introduction_needs_a_name_not_just_im():
    def intro(text: str) -> bool:
        result = score(call(("agent", 0, 3, text)), CallFacts(duration=5), CARD)
        return next(c for c in result.criteria if c.id == "agent_introduction").passed

    assert intro("Thank you for calling Platinum Motors. I'm Michelle.")
    assert intro("Hello, Laura speaking.")
    assert not intro("I'm sorry about that.")


def test_a_transfer_costs_competence():
    transferred = replace(
        GOOD, 4, "Let me transfer you to our billing team, they will fix it within three days."
    )
    result = scored(transferred)
    assert not next(c for c in result.criteria if c.id == "no_transfer").passed
    assert result.dimensions["competence"] < scored(GOOD).dimensions["competence"]
