"""Sentiment per turn and per side, and the customer's trajectory, in any language.

Two signals:
- by meaning: each sentence's nearest labelled anchors (qa/sentiment.yaml: positive, negative
  and neutral call talk in English, Hebrew and Persian) in the multilingual embedding space,
  read as a three-way nearest-centroid classifier: a softmax over the mean similarity to each
  side's nearest anchors gives P(positive), P(negative), P(neutral), and the polarity is
  P(positive) - P(negative) (near 0 when plain neutral talk is nearest);
- VADER, the requested English lexicon model, on English turns only (it knows no Hebrew or
  Persian words and would read them as neutral). On English it is averaged with the first.
Turns, not segments, are read, so "I'm not" / "unhappy at all" is one negation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from qa.embedder import Embedder, embed_known
from qa.turns import Sentence, Turn

NEGATIVE = -0.3  # a turn at or below this is negative
ANCHORS_FILE = Path(__file__).with_name("sentiment.yaml")
TOP_K = 3  # anchors averaged per side: one odd anchor does not decide
# Softmax gain (1/temperature): cosine differences between the sides are a few hundredths.
# Chosen with TOP_K on tests/data/sentiment/tune.yaml.
GAIN = 80.0
# Share of VADER in an English turn's polarity, chosen on tests/data/sentiment/tune.yaml.
VADER_WEIGHT = 0.15


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


# VADER reads the "no" of a polite decline ("No thanks, that's all") as negative; on a call it
# is the usual friendly ending, so the decline is read as the thanks it is.
_POLITE_DECLINE = re.compile(r"\bno\b[,.!]?\s+(?=(thanks|thank you)\b)", re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=65536)
def compound(text: str) -> float:
    """VADER's compound score (-1..1) of an English text."""
    return float(_analyzer().polarity_scores(_POLITE_DECLINE.sub("", text))["compound"])


@lru_cache(maxsize=65536)
def is_english_script(text: str) -> bool:
    if text.isascii():
        return bool(_LATIN.search(text))
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(_LATIN.findall(text)) / letters > 0.8


@lru_cache(maxsize=2)
def anchors(path: Path = ANCHORS_FILE) -> dict[str, tuple[str, ...]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        side: tuple(t for texts in raw[side].values() for t in texts)
        for side in ("positive", "negative", "neutral")
    }


class Polarity:
    """Sentence polarity by meaning, from the anchors embedded once."""

    def __init__(self, embedder: Embedder) -> None:
        sides = anchors()
        self.embedder_name = embedder.name
        self._sides = {side: embed_known(embedder, list(texts)) for side, texts in sides.items()}

    def of(self, vectors: np.ndarray) -> np.ndarray:
        if not len(vectors):
            return np.zeros(0)

        def top(side: str) -> np.ndarray:
            sims = vectors @ self._sides[side].T
            k = min(TOP_K, sims.shape[1])
            nearest: np.ndarray = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
            return nearest

        z = GAIN * np.stack([top("positive"), top("negative"), top("neutral")], axis=1)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return np.asarray(p[:, 0] - p[:, 1], dtype=float)


_POLARITY: dict[int, Polarity] = {}


def polarity_for(embedder: Embedder) -> Polarity:
    found = _POLARITY.get(id(embedder))
    if found is None or found.embedder_name != embedder.name:
        found = _POLARITY[id(embedder)] = Polarity(embedder)
    return found


@dataclass
class Sentiment:
    per_utterance: list[tuple[int, float]]  # (first segment of the turn, polarity -1..1)
    agent_mean: float | None
    customer_mean: float | None
    customer_start: float | None  # mean over the first third of the customer's turns
    customer_end: float | None  # mean over the last third
    negative_customer_turns: list[int]  # turn indexes
    method: str = "meaning+vader"

    @property
    def customer_trend(self) -> float | None:
        if self.customer_start is None or self.customer_end is None:
            return None
        return self.customer_end - self.customer_start

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {
            "agent_mean": r(self.agent_mean),
            "customer_mean": r(self.customer_mean),
            "customer_start": r(self.customer_start),
            "customer_end": r(self.customer_end),
            "customer_trend": r(self.customer_trend),
            "negative_customer_turns": self.negative_customer_turns,
            "method": self.method,
            "timeline": [{"segment": i, "compound": round(c, 3)} for i, c in self.per_utterance],
        }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def turn_polarity(
    turns: list[Turn],
    sentences: list[Sentence],
    vectors: Mapping[str, np.ndarray],
    polarity: Polarity,
) -> list[float]:
    """One polarity per turn: the mean of its sentences by meaning, with VADER on English."""
    # Whole sentences only: a clause cut from its negation ("terrified it's on its last leg")
    # would read the opposite of what was said.
    whole = [s for s in sentences if not s.clause and s.text in vectors]
    matrix = (
        np.stack([vectors[s.text] for s in whole]) if whole else np.zeros((0, 1), dtype=np.float32)
    )
    by_turn: dict[int, list[float]] = {}
    for s, p in zip(whole, polarity.of(matrix), strict=True):
        by_turn.setdefault(s.turn, []).append(float(p))
    out = []
    for t in turns:
        parts = by_turn.get(t.index, [])
        # The strongest sentence carries a turn: "Thanks. But this is the third time" is upset.
        meaning = max(parts, key=abs) if parts else 0.0
        if is_english_script(t.text):
            out.append(VADER_WEIGHT * compound(t.text) + (1 - VADER_WEIGHT) * meaning)
        else:
            out.append(meaning)
    return out


def analyse(turns: list[Turn], values: list[float]) -> Sentiment:
    """The call's sentiment from each turn's polarity (turn_polarity)."""
    scored = list(zip(turns, values, strict=True))
    customer = [v for t, v in scored if t.speaker == "customer"]
    third = max(1, len(customer) // 3)
    return Sentiment(
        per_utterance=[(t.segments[0], v) for t, v in scored],
        agent_mean=_mean([v for t, v in scored if t.speaker == "agent"]),
        customer_mean=_mean(customer),
        customer_start=_mean(customer[:third]),
        customer_end=_mean(customer[-third:]),
        negative_customer_turns=[
            t.index for t, v in scored if t.speaker == "customer" and v <= NEGATIVE
        ],
    )
