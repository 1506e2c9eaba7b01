"""Criteria matched by meaning: every sentence against every example of the scorecard.

Why not one cosine threshold: multilingual-e5 puts almost any two sentences between 0.75 and 0.95,
so "not a problem" is 0.94 from "not my problem" and "the weather is nice" 0.88 from "have a
great day". What separates them is the *nearest* example. So each sentence is compared with
all criteria's examples, their counter-examples (`not_examples`) and a built-in background of
ordinary call talk in English, Hebrew and Persian; a criterion is credited only when its own
best example is the (near-)best of all and is above the criterion's own threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from qa.embedder import Embedder
from qa.scorecard import Criterion, Scorecard
from qa.turns import Sentence

# A sentence can serve two criteria ("Zipline support, this is Aaron" greets and introduces)
# when their best examples are this close; ordinary talk and counter-examples it must beat.
TIE = 0.03
BACKGROUND_FILE = Path(__file__).with_name("background.yaml")


@lru_cache(maxsize=4)
def background(path: Path = BACKGROUND_FILE) -> tuple[str, ...]:
    """Ordinary call talk that is no criterion at all, in every language we ship."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(t for texts in raw.values() for t in texts)


@dataclass(frozen=True)
class Match:
    sentence: Sentence
    similarity: float  # to the nearest example of the criterion
    example: str  # that example
    rival: str  # the best competing label: another criterion, a counter-example, background
    rival_similarity: float


@dataclass(frozen=True)
class _Set:
    key: str  # criterion id, or "<id>:triggers" for a criterion's customer-side examples
    positives: np.ndarray  # rows into the example matrix
    negatives: np.ndarray
    threshold: float


class Matcher:
    """The scorecard's examples, embedded once; matches sentences whose vectors are given."""

    def __init__(self, card: Scorecard, embedder: Embedder) -> None:
        texts: list[str] = list(background())
        index: dict[str, int] = {t: i for i, t in enumerate(texts)}
        self._background = np.arange(len(texts))

        def rows(items: tuple[str, ...]) -> np.ndarray:
            out = []
            for t in items:
                if t not in index:
                    index[t] = len(texts)
                    texts.append(t)
                out.append(index[t])
            return np.array(out, dtype=np.int64)

        self.sets: dict[str, _Set] = {}
        for c in card.criteria:
            if c.examples:
                self.sets[c.id] = _Set(c.id, rows(c.examples), rows(c.not_examples),
                                       c.similarity)
            if c.triggers:
                key = f"{c.id}:triggers"
                self.sets[key] = _Set(key, rows(c.triggers), rows(c.not_triggers),
                                      c.trigger_similarity)
        self.texts = texts
        self.embedder_name = embedder.name
        self.vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim))

    def match(self, key: str, sentences: list[Sentence], vectors: np.ndarray,
              *, strict: float = 0.0) -> list[Match]:
        """The sentences that mean what the set `key` describes, best first.

        `strict` raises the bar: the similarity must clear the threshold by that much and the
        set must win outright (no tie), as an auto-fail needs."""
        target = self.sets[key]
        if not sentences or not len(target.positives):
            return []
        sims = vectors @ self.vectors.T  # (sentences, examples)
        own = sims[:, target.positives]
        best_own = own.max(axis=1)
        best_at = own.argmax(axis=1)
        # The best rival of each sentence: background, counter-examples, and every other
        # set's examples.
        # Counter-examples of other sets are ordinary talk too ("no worries" is no guess).
        plain = [self._background, target.negatives]
        plain += [s.negatives for k, s in self.sets.items() if k != key]
        others = [s.positives for k, s in self.sets.items() if k != key]
        rivals = np.concatenate([r for r in plain + others if len(r)])
        n_plain = sum(len(r) for r in plain)
        rival_sims = sims[:, rivals]
        # Another criterion may tie (within TIE); ordinary talk must be beaten outright.
        margin = np.zeros(len(rivals))
        margin[n_plain:] = 0.0 if strict else TIE
        adjusted = rival_sims - margin
        best_rival = adjusted.max(axis=1)
        rival_at = adjusted.argmax(axis=1)
        out = []
        for i, s in enumerate(sentences):
            if best_own[i] < target.threshold + strict or best_own[i] <= best_rival[i]:
                continue
            out.append(Match(s, float(best_own[i]), self.texts[target.positives[best_at[i]]],
                             self.texts[rivals[rival_at[i]]],
                             float(rival_sims[i, rival_at[i]])))
        out.sort(key=lambda m: -m.similarity)
        return out

    def has(self, c: Criterion) -> bool:
        return c.id in self.sets


_MATCHERS: dict[tuple[int, tuple[Criterion, ...]], Matcher] = {}


def matcher_for(card: Scorecard, embedder: Embedder) -> Matcher:
    """One matcher per scorecard content and embedder in a process: examples embed once."""
    key = (id(embedder), card.criteria)
    found = _MATCHERS.get(key)
    if found is None or found.embedder_name != embedder.name:
        if len(_MATCHERS) >= 16:
            _MATCHERS.clear()
        found = _MATCHERS[key] = Matcher(card, embedder)
    return found
