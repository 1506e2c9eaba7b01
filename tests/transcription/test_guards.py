import numpy as np

from tests.audio_fixtures import tone
from transcription.guards import (
    drop_bleed,
    drop_echoes,
    is_implausible,
    loop_start,
    split_on_gaps,
    trim_loop,
)
from transcription.types import Segment, Speaker, Word
from transcription.vad import _pieces


def seg(words: list[tuple[float, float, str]], **kw) -> Segment:
    ws = [Word(a, b, t, 0.9) for a, b, t in words]
    return Segment(
        Speaker.agent, ws[0].start, ws[-1].end, " ".join(w.text for w in ws), 0.9, ws, **kw
    )


def test_segment_spanning_a_long_silence_is_split_at_the_gap():
    s = seg([(5.7, 6.0, "Of"), (6.0, 6.4, "course."), (44.0, 44.5, "I'm"), (44.5, 46.9, "sorry")])
    parts = split_on_gaps(s, max_gap=1.0)
    assert [(p.start, p.end, p.text) for p in parts] == [
        (5.7, 6.4, "Of course."),
        (44.0, 46.9, "I'm sorry"),
    ]


def test_subtitle_phrases_are_dropped_but_ordinary_thanks_is_kept():
    assert is_implausible(seg([(0, 1, "Thanks"), (1, 2, "for"), (2, 3, "watching!")]))
    assert is_implausible(seg([(0, 1, "Thank you for watching.")]))
    assert is_implausible(seg([(0, 1, "Thank"), (1, 2, "you.")])) is None
    assert is_implausible(seg([(0, 1, "Thank you for holding.")])) is None


def test_decoder_loops_are_cut_but_stutters_kept():
    assert loop_start("your your your your fixing".split()) is None
    assert loop_start("I am I am I am I am I am".split()) == 0
    assert loop_start(["name", "S-I-T-I-L-L-E-A-C-L-L-E-C-A-C-L-A-C-L-L-D-A-C-L-A-C-L-L-L"]) == 1
    s = seg([(i, i + 0.5, w) for i, w in enumerate("my name is go go go go go go".split())])
    trimmed = trim_loop(s)
    assert trimmed is not None and trimmed.text == "my name is"


def test_low_confidence_and_no_speech_segments_are_dropped():
    s = seg([(0, 1, "hmm")], no_speech_prob=0.9, avg_logprob=-1.2)
    assert is_implausible(s) == "decoder judged it not speech"


def test_words_louder_on_the_other_leg_are_bleed():
    rate = 16000
    own = np.concatenate([tone(2, db=-40), tone(2, db=-12)])  # faint copy, then own speech
    other = np.concatenate([tone(2, db=-10), np.zeros(2 * rate, np.float32)])
    s = seg([(0.2, 0.8, "I'm"), (0.9, 1.5, "Michelle"), (2.2, 2.8, "my"), (2.9, 3.5, "name")])
    kept = drop_bleed(s, own, other, rate, margin_db=10)
    assert [p.text for p in kept] == ["my name"]


def test_echo_of_the_other_leg_timed_late_is_removed_but_the_original_kept():
    # The agent's words leak into the customer's leg 8 dB down (too loud for the bleed test)
    # and are timed a little late, still while the agent's leg is the louder one.
    rate = 16000
    agent_audio = np.concatenate([tone(3, db=-10), np.zeros(5 * rate, np.float32)])
    customer_audio = np.concatenate([tone(3, db=-18), tone(1, db=-60), tone(4, db=-12)])
    agent = [seg([(1.0, 1.4, "I'm"), (1.4, 2.0, "Michelle")])]
    customer = [
        seg([(2.2, 2.5, "I'm"), (2.5, 2.9, "Michelle."), (4.5, 4.9, "My"), (4.9, 5.3, "name")])
    ]
    assert [s.text for s in drop_echoes(customer, agent, customer_audio, agent_audio, rate)] == [
        "My name"
    ]
    assert [s.text for s in drop_echoes(agent, customer, agent_audio, customer_audio, rate)] == [
        "I'm Michelle"
    ]


def test_the_same_words_said_louder_on_this_leg_are_never_an_echo():
    # Agent: "looking forward to seeing you soon" (0-3 s); customer, on their own leg, louder
    # than the agent's leg at that moment: "see you soon" (3.2-4.4 s). Same words, not an echo.
    rate = 16000
    agent_audio = np.concatenate([tone(3, db=-10), tone(2, db=-40)])
    customer_audio = np.concatenate([tone(3, db=-35), tone(2, db=-12)])
    agent = [seg([(1.6, 2.0, "seeing"), (2.0, 2.3, "you"), (2.3, 2.8, "soon.")])]
    customer = [seg([(3.2, 3.6, "See"), (3.6, 4.0, "you"), (4.0, 4.4, "soon.")])]
    kept = drop_echoes(customer, agent, customer_audio, agent_audio, rate)
    assert [s.text for s in kept] == ["See you soon."]


def test_vad_restarts_after_each_silence():
    rate = 16000
    audio = np.concatenate([tone(3), np.zeros(rate, np.float32), tone(2)])
    pieces = _pieces(audio)
    assert len(pieces) == 2
    assert abs(pieces[1][0] / rate - 4.0) < 0.05
