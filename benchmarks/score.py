"""Scoring speed: calls per second on one core, and how time grows with call length.

    python benchmarks/score.py

Builds a two-sided 10-minute transcript (agent and customer alternating, replies, a hold,
negative turns) and one ten times longer, scores both with the default scorecard, and prints
calls scored per second (target >= 100/s) and the time ratio long/short (target <= 12x).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa import CallFacts, Utterance, default_path, load, score  # noqa: E402

LINES = [
    ("agent", "Thank you for calling Acme, my name is Laura, this call may be recorded."),
    ("customer", "Hi Laura, my name is Peter and my bill is wrong again, I am really annoyed."),
    ("agent", "I'm sorry to hear that Peter. Can you confirm your account number please?"),
    ("customer", "Sure, it is four four one two, and I have been waiting for weeks."),
    ("agent", "Thank you. I can see the error on your account and I have corrected it."),
    ("customer", "Okay, when will I see the money back on my card?"),
    ("agent", "You will see the refund within three days, is there anything else?"),
    ("customer", "No thanks, that is all for today, have a good day."),
]


def transcript(minutes: float) -> tuple[list[Utterance], float]:
    out, t, i = [], 0.5, 0
    while t < minutes * 60:
        speaker, text = LINES[i % len(LINES)]
        length = 0.35 * len(text.split())
        out.append(Utterance(i, speaker, t, t + length, f"{text} ({i})"))  # defeat caching
        t += length + (40.0 if i % 97 == 96 else 0.8)
        i += 1
    return out, t


def rate(utterances: list[Utterance], duration: float, seconds: float = 3.0) -> float:
    card, facts = load(default_path()), CallFacts(duration=duration)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        score(utterances, facts, card)
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    short, d1 = transcript(10)
    long, d10 = transcript(100)
    r_short, r_long = rate(short, d1), rate(long, d10, seconds=6)
    print(f"10-minute call ({len(short)} segments): {r_short:.1f} calls/s (target >= 100)")
    print(f"100-minute call ({len(long)} segments): {r_long:.2f} calls/s")
    print(f"time ratio 10x longer / short: {r_short / r_long:.1f}x (target <= 12x)")


if __name__ == "__main__":
    main()
