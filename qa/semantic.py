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

from qa.embedder import Embedder, embed_known
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
                self.sets[c.id] = _Set(c.id, rows(c.examples), rows(c.not_examples), c.similarity)
            if c.triggers:
                key = f"{c.id}:triggers"
                self.sets[key] = _Set(
                    key, rows(c.triggers), rows(c.not_triggers), c.trigger_similarity
                )
        self.texts = texts
        self.embedder_name = embedder.name
        self.vectors = embed_known(embedder, texts) if texts else np.zeros((0, embedder.dim))

        # Ordinary talk every set must beat outright: background and every counter-example
        # ("no worries" is no guess). A text listed as both an example and a counter-example
        # reads as ordinary talk.
        negatives = np.concatenate([self._background, *(x.negatives for x in self.sets.values())])
        self.plain_rows = np.array(sorted(set(negatives.tolist())), dtype=np.int64)
        self.keys = list(self.sets)

    def compare(
        self, sentences: list[Sentence], vectors: np.ndarray, *, positional: bool = False
    ) -> Comparison:
        """Every sentence against every example, once per call."""
        return Comparison(self, sentences, vectors, positional=positional)


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


class Comparison:
    """One call's sentences against a matcher's examples: the similarity matrix computed once,
    then read per criterion."""

    def __init__(
        self,
        matcher: Matcher,
        sentences: list[Sentence],
        vectors: np.ndarray,
        *,
        positional: bool = False,
    ) -> None:
        self.matcher = matcher
        self.sentences = sentences
        self.positional = positional  # windows by turn order (chat, e-mail), not by seconds
        # Who said each sentence and when, for the criteria's windows.
        self.speakers = np.array([x.speaker for x in sentences], dtype=object)
        self.starts = np.array([x.start for x in sentences], dtype=float)
        self.ends = np.array([x.end for x in sentences], dtype=float)
        self.sims = (
            vectors @ matcher.vectors.T
            if len(sentences)
            else np.zeros((0, len(matcher.texts)), dtype=np.float32)
        )
        # Per sentence: each set's best example (value, row), the best ordinary talk, and the
        # two best sets, so that any set's best rival set is read without another pass.
        n, keys = len(sentences), matcher.keys
        self.own_max = np.full((n, max(1, len(keys))), -1.0, dtype=np.float32)
        self.own_row = np.zeros((n, max(1, len(keys))), dtype=np.int64)
        for k, key in enumerate(keys):
            pos = matcher.sets[key].positives
            if n and len(pos):
                sub = self.sims[:, pos]
                self.own_max[:, k] = sub.max(axis=1)
                self.own_row[:, k] = pos[sub.argmax(axis=1)]
        plain = matcher.plain_rows
        if n and len(plain):
            sub = self.sims[:, plain]
            self.plain_max, self.plain_row = sub.max(axis=1), plain[sub.argmax(axis=1)]
        else:
            self.plain_max, self.plain_row = np.full(n, -1.0), np.full(n, -1, dtype=np.int64)
        ranked = np.argsort(-self.own_max, axis=1)
        self.top1 = ranked[:, 0]
        self.top2 = ranked[:, 1] if ranked.shape[1] > 1 else ranked[:, 0]

    def nearer_counter_example(self, key: str, index: int) -> bool:
        """Whether sentence `index` is nearer one of set `key`'s counter-examples than to any
        of its examples ("I'd never say it's risk free" beside "it's risk free")."""
        target = self.matcher.sets[key]
        if not len(target.negatives):
            return False
        row = self.sims[index]
        return bool(row[target.negatives].max() > row[target.positives].max())

    def match(self, key: str, only: list[int] | None = None, *, strict: float = 0.0) -> list[Match]:
        """The sentences (all, or those at `only`) that mean what set `key` describes, best
        first. `strict` raises the bar: the similarity must clear the threshold by that much
        and beat every rival outright (no tie with another criterion), as an auto-fail needs."""
        m = self.matcher
        target = m.sets[key]
        rows = np.arange(len(self.sentences)) if only is None else np.asarray(only, dtype=np.int64)
        if not len(rows) or not len(target.positives):
            return []
        k = m.keys.index(key)
        tie = 0.0 if strict else TIE
        best_own = self.own_max[rows, k]
        best_plain = self.plain_max[rows]
        if len(m.keys) > 1:
            rival_set = np.where(self.top1[rows] == k, self.top2[rows], self.top1[rows])
            best_other = self.own_max[rows, rival_set] - tie
        else:
            rival_set = np.zeros(len(rows), dtype=np.int64)
            best_other = np.full(len(rows), -1.0)
        winners = np.flatnonzero(
            (best_own >= target.threshold + strict)
            & (best_own > best_plain)
            & (best_own > best_other)
        )
        out = []
        for j in winners:
            i = int(rows[j])
            if best_plain[j] >= best_other[j]:
                rival, rival_sim = int(self.plain_row[i]), float(best_plain[j])
            else:
                rival = int(self.own_row[i, rival_set[j]])
                rival_sim = float(best_other[j] + tie)
            out.append(
                Match(
                    self.sentences[i],
                    float(best_own[j]),
                    m.texts[int(self.own_row[i, k])],
                    m.texts[rival] if rival >= 0 else "",
                    rival_sim,
                )
            )
        out.sort(key=lambda x: -x.similarity)
        return out
