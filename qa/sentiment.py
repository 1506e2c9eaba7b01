"""Sentiment with VADER, per utterance and per side, and the customer's trajectory."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from qa.types import Utterance

NEGATIVE = -0.3  # VADER compound at or below this is a negative turn


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


# VADER reads the "no" of a polite decline ("No thanks, that's all") as negative; on a call it
# is the usual friendly ending, so the decline is read as the thanks it is.
_POLITE_DECLINE = re.compile(r"\bno\b[,.!]?\s+(?=(thanks|thank you)\b)", re.IGNORECASE)


@lru_cache(maxsize=65536)
def compound(text: str) -> float:
    return float(_analyzer().polarity_scores(_POLITE_DECLINE.sub("", text))["compound"])


@dataclass
class Sentiment:
    per_utterance: list[tuple[int, float]]  # (utterance index, compound)
    agent_mean: float | None
    customer_mean: float | None
    customer_start: float | None  # mean over the first third of the customer's turns
    customer_end: float | None  # mean over the last third
    negative_customer_turns: list[int]

    @property
    def customer_trend(self) -> float | None:
        if self.customer_start is None or self.customer_end is None:
            return None
        return self.customer_end - self.customer_start

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(v, 3)  # noqa: E731
        return {"agent_mean": r(self.agent_mean), "customer_mean": r(self.customer_mean),
                "customer_start": r(self.customer_start), "customer_end": r(self.customer_end),
                "customer_trend": r(self.customer_trend),
                "negative_customer_turns": self.negative_customer_turns,
                "timeline": [{"segment": i, "compound": round(c, 3)}
                             for i, c in self.per_utterance]}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def analyse(utterances: list[Utterance]) -> Sentiment:
    scored = [(u, compound(u.text)) for u in utterances]
    customer = [c for u, c in scored if u.speaker == "customer"]
    third = max(1, len(customer) // 3)
    return Sentiment(
        per_utterance=[(u.index, c) for u, c in scored],
        agent_mean=_mean([c for u, c in scored if u.speaker == "agent"]),
        customer_mean=_mean(customer),
        customer_start=_mean(customer[:third]),
        customer_end=_mean(customer[-third:]),
        negative_customer_turns=[u.index for u, c in scored
                                 if u.speaker == "customer" and c <= NEGATIVE],
    )
