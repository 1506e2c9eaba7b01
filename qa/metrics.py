"""Conversation metrics from the timestamps alone: who talked, how quickly, how much silence."""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from qa.types import Utterance

HOLD_CUES = re.compile(
    r"\b(hold|one moment|a moment|bear with me|let me (check|look|see|pull)"
    r"|just a (second|sec|minute))\b"
    # Hebrew: "a moment", "a second", "stay on the line", "I'm checking", "please wait"
    r"|(רגע|שנייה|תישאר על הקו|תישארי על הקו|אני בודק|אני בודקת|המתן|המתיני)"
    # Persian: "one moment", "a few moments", "stay on the line", "please wait", "let me check"
    r"|(یک لحظه|یه لحظه|چند لحظه|گوشی دستتون|پشت خط بمونید|صبر کنید|بررسی کنم|چک کنم)",
    re.IGNORECASE,
)
HOLD_MIN_SECONDS = 15.0  # an announced pause at least this long is a hold
SILENT_HOLD_SECONDS = 30.0  # an unannounced gap this long is a silent hold
OVERLAP_TOLERANCE = 0.3  # back-channel starts this close to a turn edge are not interruptions


@dataclass(frozen=True)
class Hold:
    start: float
    end: float
    announced: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Metrics:
    duration: float
    talk_seconds: dict[str, float]
    talk_share: dict[str, float]
    silence_seconds: float
    longest_silence: float
    longest_silence_at: float | None
    reply_latency_mean: float | None
    reply_latency_p90: float | None
    reply_latencies: int
    interruptions: int
    holds: list[Hold] = field(default_factory=list)
    time_to_greeting: float | None = None
    longest_dead_air: float = 0.0  # the longest silence that was not an announced hold

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["holds"] = [
            {
                "start": h.start,
                "end": h.end,
                "seconds": round(h.seconds, 2),
                "announced": h.announced,
            }
            for h in self.holds
        ]
        rounded: dict[str, Any] = _rounded(out)
        return rounded


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for a, b in sorted(spans):
        if cur_end is None or a > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = a, b
        else:
            cur_end = max(cur_end, b)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def _gaps(utterances: list[Utterance]) -> list[tuple[float, float, int]]:
    """Silences between speech of anyone: (start, end, index of the utterance before)."""
    gaps = []
    reach, before = None, -1
    for u in sorted(utterances, key=lambda u: u.start):
        if reach is not None and u.start > reach:
            gaps.append((reach, u.start, before))
        if reach is None or u.end >= reach:
            reach, before = u.end, u.index
    return gaps


def compute(utterances: list[Utterance], *, duration: float) -> Metrics:
    ordered = sorted(utterances, key=lambda u: (u.start, u.end))
    by_index = {u.index: u for u in ordered}
    talk = {
        side: _union_seconds([(u.start, u.end) for u in ordered if u.speaker == side])
        for side in ("agent", "customer", "unknown")
    }
    spoken = sum(talk.values()) or 1.0
    gaps = _gaps(ordered)
    longest = max(gaps, key=lambda g: g[1] - g[0], default=None)

    latencies: list[float] = []
    interruptions = 0
    agent_starts = [u.start for u in ordered if u.speaker == "agent"]
    for i, u in enumerate(ordered):
        if u.speaker != "customer":
            continue
        j = i + 1
        while j < len(ordered) and ordered[j].speaker == "unknown":
            j += 1
        nxt = ordered[j] if j < len(ordered) else None
        if nxt is not None and nxt.speaker == "agent":
            latencies.append(max(0.0, nxt.start - u.end))
        # Agent turns starting inside this customer turn, found by bisection (linear overall).
        lo = bisect.bisect_right(agent_starts, u.start + OVERLAP_TOLERANCE)
        hi = bisect.bisect_left(agent_starts, u.end - OVERLAP_TOLERANCE)
        interruptions += max(0, hi - lo)

    holds: list[Hold] = []
    for start, end, before in gaps:
        prev = by_index.get(before)
        announced = bool(prev and prev.speaker == "agent" and HOLD_CUES.search(prev.text))
        if (announced and end - start >= HOLD_MIN_SECONDS) or end - start >= SILENT_HOLD_SECONDS:
            holds.append(Hold(start=start, end=end, announced=announced))

    announced_spans = {(h.start, h.end) for h in holds if h.announced}
    dead_air = [b - a for a, b, _ in gaps if (a, b) not in announced_spans]
    first_agent = next((u for u in ordered if u.speaker == "agent"), None)
    return Metrics(
        duration=duration,
        talk_seconds=talk,
        talk_share={k: v / spoken for k, v in talk.items()},
        silence_seconds=sum(b - a for a, b, _ in gaps),
        longest_silence=(longest[1] - longest[0]) if longest else 0.0,
        longest_silence_at=longest[0] if longest else None,
        reply_latency_mean=float(np.mean(latencies)) if latencies else None,
        reply_latency_p90=float(np.percentile(latencies, 90)) if latencies else None,
        reply_latencies=len(latencies),
        interruptions=interruptions,
        holds=holds,
        time_to_greeting=first_agent.start if first_agent else None,
        longest_dead_air=max(dead_air, default=0.0),
    )
