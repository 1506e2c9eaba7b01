import pytest

from qa.metrics import compute
from qa.types import Utterance


def u(i, speaker, start, end, text="words"):
    return Utterance(i, speaker, start, end, text)


def test_talk_time_share_silence_and_greeting():
    m = compute(
        [u(0, "agent", 1.0, 4.0), u(1, "customer", 5.0, 9.0), u(2, "agent", 9.5, 10.5)], duration=12
    )
    assert m.talk_seconds["agent"] == pytest.approx(4.0)
    assert m.talk_seconds["customer"] == pytest.approx(4.0)
    assert m.talk_share["agent"] == pytest.approx(0.5)
    assert m.silence_seconds == pytest.approx(1.5)
    assert m.longest_silence == pytest.approx(1.0) and m.longest_silence_at == pytest.approx(4.0)
    assert m.time_to_greeting == pytest.approx(1.0)


def test_reply_latency_after_customer_turns():
    m = compute(
        [
            u(0, "customer", 0, 2),
            u(1, "agent", 3, 4),
            u(2, "customer", 5, 6),
            u(3, "agent", 11, 12),
        ],
        duration=12,
    )
    assert m.reply_latencies == 2
    assert m.reply_latency_mean == pytest.approx(3.0)
    assert m.reply_latency_p90 == pytest.approx(4.6)


def test_interruptions_ignore_back_channel_at_the_edges():
    m = compute([u(0, "customer", 0, 10), u(1, "agent", 4, 5), u(2, "agent", 9.9, 11)], duration=11)
    assert m.interruptions == 1


def test_announced_and_silent_holds_and_dead_air():
    m = compute(
        [
            u(0, "agent", 0, 3, "Let me put you on hold for a moment"),
            u(1, "agent", 63, 65, "Thanks for holding"),
            u(2, "customer", 66, 67),
            u(3, "agent", 110, 112),
        ],
        duration=112,
    )
    assert [(h.start, h.end, h.announced) for h in m.holds] == [(3, 63, True), (67, 110, False)]
    assert m.longest_dead_air == pytest.approx(43)  # the announced hold is not dead air


def test_empty_and_one_sided_transcripts_do_not_raise():
    empty = compute([], duration=30)
    assert empty.reply_latency_mean is None and empty.time_to_greeting is None
    one = compute([u(0, "customer", 1, 2)], duration=30)
    assert one.talk_share["customer"] == pytest.approx(1.0)
