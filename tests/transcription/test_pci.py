import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from transcription.pci import REDACTED, redact_segments, redact_text
from transcription.types import Segment, Speaker, Word

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
FILLER = ["please", "okay", "right", "the", "number", "is", "so", "yes", "that", "was"]


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = "".join(str(draw(st.integers(0, 9))) for _ in range(length - 1))
    return body + luhn.calc_check_digit(body)


def render(number: str, style: str, rng: random.Random) -> list[str]:
    """How a caller or an ASR engine might write a card number, as words."""
    if style == "digits":
        return [number]
    if style == "grouped":
        return [number[i : i + 4] for i in range(0, len(number), 4)]
    if style == "dashed":
        return ["-".join(number[i : i + 4] for i in range(0, len(number), 4))]
    if style == "spelled":
        return [UNITS[int(d)] for d in number]
    # mixed: groups of digits and spelled digits
    out: list[str] = []
    for i in range(0, len(number), 4):
        group = number[i : i + 4]
        out += [group] if rng.random() < 0.5 else [UNITS[int(d)] for d in group]
    return out


def words_to_segments(tokens: list[str], cuts: list[int], speaker: Speaker) -> list[Segment]:
    segments, t = [], 0.0
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(tokens))), len(tokens)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        words = []
        for tok in tokens[a:b]:
            words.append(Word(t, t + 0.3, tok, 0.9))
            t += 0.35
        t += 1.0
        segments.append(
            Segment(
                speaker, words[0].start, words[-1].end, " ".join(w.text for w in words), 0.9, words
            )
        )
    return segments


@settings(max_examples=300, deadline=None)
@given(
    number=card_numbers(),
    style=st.sampled_from(["digits", "grouped", "dashed", "spelled", "mixed"]),
    before=st.lists(st.sampled_from(FILLER), max_size=6),
    after=st.lists(st.sampled_from(FILLER), max_size=6),
    cuts=st.lists(st.integers(0, 40), max_size=3),
    seed=st.integers(0, 10_000),
)
def test_card_numbers_never_survive_in_any_form(number, style, before, after, cuts, seed):
    tokens = before + render(number, style, random.Random(seed)) + after
    segments = words_to_segments(tokens, cuts, Speaker.customer)
    redacted, count = redact_segments(segments)
    text = " ".join(s.text for s in redacted)
    word_text = " ".join(w.text for s in redacted for w in s.words)
    for out in (text, word_text):
        digits = "".join(re.findall(r"\d", out))
        assert number not in digits
        spelled = " ".join(UNITS[int(d)] for d in number)
        assert spelled not in out
    assert count >= 1
    # Words around the number are kept, with their times.
    kept = [w.text for s in redacted for w in s.words if w.text != REDACTED]
    assert kept[: len(before)] == before
    assert all(w.start <= w.end for s in redacted for w in s.words)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(FILLER),
            st.sampled_from(["", "3", "12", "2024", "seven", "ninety", "0207 946 0000"]),
        ),
        max_size=20,
    )
)
def test_text_without_card_details_is_unchanged(pairs):
    text = " ".join(f"{word} {number}".strip() for word, number in pairs)
    assert redact_text(text) == text


def test_number_split_across_segments_of_one_speaker_is_redacted():
    tokens = "my card is 4111 1111".split() + "1111 1111 thanks".split()
    redacted, _ = redact_segments(words_to_segments(tokens, [5], Speaker.customer))
    assert [s.text for s in redacted] == ["my card is [REDACTED]", "[REDACTED] thanks"]


def test_other_speakers_turn_between_parts_does_not_break_detection():
    customer = words_to_segments("4111 1111 1111".split(), [], Speaker.customer)
    agent = Segment(Speaker.agent, 5.0, 5.5, "mm-hmm", 0.9, [Word(5.0, 5.5, "mm-hmm", 0.9)])
    rest = Segment(Speaker.customer, 6.0, 6.5, "1111", 0.9, [Word(6.0, 6.5, "1111", 0.9)])
    redacted, _ = redact_segments([*customer, agent, rest])
    assert "1111" not in " ".join(s.text for s in redacted)
    assert redacted[1].text == "mm-hmm"


def test_security_code_and_expiry_after_cue_words():
    assert (
        redact_text("the security code is 123 thanks") == "the security code is [REDACTED] thanks"
    )
    assert redact_text("cvv seven three seven") == "cvv [REDACTED]"
    assert redact_text("expiry date oh nine slash twenty eight ok") == (
        "expiry date [REDACTED] slash [REDACTED] ok"
    )
    assert redact_text("it expires March 2027") == "it expires [REDACTED]"


def test_numbers_without_cues_or_luhn_are_kept():
    for text in (
        "call me on 0207 946 0000",
        "order 123 of 456",
        "policy 772441",
        "account 1234 5678 9012",
    ):  # 12 digits: too short for a card
        assert redact_text(text) == text


def test_asr_extra_digit_around_a_card_is_still_redacted():
    assert redact_text("if in 411111111111111111,") == "if in [REDACTED]"


def test_a_card_stretched_past_nineteen_digits_is_still_redacted():
    # openai-whisper base on tests/data/pci.flac: 4111 1111 1111 1111 as "4" and twenty "1"s.
    assert redact_text("It is in 411111111111111111111") == "It is in [REDACTED]"
    # Luhn still decides: twenty "1"s hold no card-length window that passes it. (98 % of
    # random 20-digit numbers do hold one, and are redacted: the safe way to be wrong.)
    assert redact_text("ref 11111111111111111111") == "ref 11111111111111111111"


# ---- issue 14, item 9: the other party's answer, and wider phrasing ---------------------------

CODE_CUES = [
    "what's the security code",
    "and the cvv please",
    "can I have the three numbers on the back",
    "the three digits on the back of the card",
    "read me the card verification code",
]
EXPIRY_CUES = [
    "when does it expire",
    "and the expiry date",
    "what's the expiration",
    "when does the card run out",
    "it's valid until when",
]
HESITATIONS = ["uh", "um", "er", "erm", "hmm", "and"]


def _spoken_code(code: str, style: str) -> list[str]:
    if style == "digits":
        return [code]
    if style == "spaced":
        return list(code)
    return [UNITS[int(d)] for d in code]


def _said(speaker: Speaker, text: str, start: float) -> Segment:
    words, t = [], start
    for tok in text.split():
        words.append(Word(t, t + 0.3, tok, 0.9))
        t += 0.35
    return Segment(speaker, start, words[-1].end, text, 0.9, words)


@settings(max_examples=200, deadline=None)
@given(
    cue=st.sampled_from(CODE_CUES),
    code=st.text("0123456789", min_size=3, max_size=4),
    style=st.sampled_from(["digits", "spaced", "spelled"]),
    lead=st.sampled_from(["", "yes it's", "sure", "uh", "okay so it's"]),
    pause=st.floats(0.2, 8.0),
    agent=st.sampled_from([Speaker.agent, Speaker.customer]),
)
def test_a_security_code_answered_by_the_other_party_is_redacted(
    cue, code, style, lead, pause, agent
):
    other = Speaker.customer if agent is Speaker.agent else Speaker.agent
    ask = _said(agent, cue, 10.0)
    answer = _said(other, " ".join([lead, *_spoken_code(code, style)]).strip(), ask.end + pause)
    redacted, _ = redact_segments([ask, answer])
    said = redacted[1].text
    # Not one digit of the code is left, in figures or in words.
    assert not re.search(r"\d", said) and not set(said.split()) & set(UNITS), said
    assert redacted[0].text == cue  # the question itself is kept
    assert lead == "" or said.startswith(lead)


@settings(max_examples=200, deadline=None)
@given(
    cue=st.sampled_from(EXPIRY_CUES),
    month=st.integers(1, 12),
    year=st.integers(26, 35),
    style=st.sampled_from(["slash", "words", "month name", "dashed"]),
    pause=st.floats(0.2, 8.0),
)
def test_an_expiry_date_answered_by_the_other_party_is_redacted(cue, month, year, style, pause):
    months = ["january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december"]  # fmt: skip
    spoken = {
        "slash": f"{month:02d}/{year}",
        "words": f"{UNITS[month] if month < 10 else month} {['twenty', 'thirty'][year // 10 - 2]}"
        + (f" {UNITS[year % 10]}" if year % 10 else ""),
        "month name": f"{months[month - 1]} 20{year}",
        "dashed": f"{month:02d}-{year}",
    }[style]
    ask = _said(Speaker.agent, cue, 3.0)
    answer = _said(Speaker.customer, f"it's {spoken}", ask.end + pause)
    said = redact_segments([ask, answer])[0][1].text
    assert said.startswith("it's [REDACTED]"), said
    assert str(year) not in said and months[month - 1] not in said


def test_an_answer_long_after_the_cue_or_without_one_is_kept():
    ask = _said(Speaker.agent, "what's the security code", 0.0)
    late = _said(Speaker.customer, "it's 731", 60.0)
    assert redact_segments([ask, late])[0][1].text == "it's 731"
    chat = _said(Speaker.customer, "room 731 please", 2.0)
    assert redact_segments([_said(Speaker.agent, "which room", 0.0), chat])[0][1].text == (
        "room 731 please"
    )


@settings(max_examples=200, deadline=None)
@given(
    number=card_numbers(),
    gaps=st.lists(st.lists(st.sampled_from(HESITATIONS), min_size=0, max_size=4), min_size=5),
)
def test_a_card_read_with_up_to_four_hesitations_between_groups_is_redacted(number, gaps):
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    tokens = ["it's"]
    for group, gap in zip(groups, gaps, strict=False):
        tokens += [group, *gap]
    out = redact_text(" ".join(tokens))
    # At most a few trailing digits stay (where a shorter run already passes Luhn): no more
    # than PCI DSS lets a receipt show (the last four).
    assert len(re.findall(r"\d", out)) <= 4, out


def test_a_code_followed_by_another_number_is_still_redacted():
    assert redact_text("the cvv is 7 3 1 and 9 4 1 0 5 is my zip") == (
        "the cvv is [REDACTED] and 9 4 1 0 5 is my zip"
    )


def test_the_probe_s_phrasings_are_redacted():
    assert redact_text("the three numbers on the back are 7 3 1") == (
        "the three numbers on the back are [REDACTED]"
    )
    assert redact_text("it runs out in 12/29") == "it runs out in [REDACTED]"
    assert "1111" not in redact_text("4111 1111 uh um er 1111 uh ah hmm um 1111")
