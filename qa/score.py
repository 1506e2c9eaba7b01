"""Transcript + call facts + scorecard -> CallScore. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from qa import detectors
from qa.embedder import Embedder, shared_embedder
from qa.metrics import Metrics, compute
from qa.scorecard import Criterion, Scorecard
from qa.semantic import matcher_for
from qa.sentiment import Sentiment, analyse, polarity_for, turn_polarity
from qa.turns import sentences as split_sentences
from qa.turns import turns as merge_turns
from qa.types import DIMENSIONS, CallFacts, CriterionResult, Utterance

# Metrics that need to know who spoke (replies, interruptions, the agent's greeting or hold
# announcements): on an unlabelled mono call they cannot be judged.
_SPEAKER_METRICS = (
    "reply_latency_mean",
    "reply_latency_p90",
    "time_to_greeting",
    "unannounced_holds",
    "interruptions",
    "agent_talk_share",
    "longest_dead_air",
    "longest_hold",
)


@dataclass
class CallScore:
    scorecard: str
    scorecard_version: int
    overall: float | None
    dimensions: dict[str, float | None]
    script_compliance: float | None
    auto_fail: bool
    auto_fail_reasons: list[str]
    criteria: list[CriterionResult]
    metrics: Metrics
    sentiment: Sentiment
    embedder: str | None = None

    @property
    def judged(self) -> int:
        return sum(1 for c in self.criteria if c.applicable)

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {
            "scorecard": self.scorecard,
            "scorecard_version": self.scorecard_version,
            "overall": r(self.overall),
            "dimensions": {k: r(v) for k, v in self.dimensions.items()},
            "script_compliance": r(self.script_compliance),
            "auto_fail": self.auto_fail,
            "auto_fail_reasons": self.auto_fail_reasons,
            "criteria": [c.to_dict() for c in self.criteria],
            "metrics": self.metrics.to_dict(),
            "sentiment": self.sentiment.to_dict(),
            "judged": {"applicable": self.judged, "total": len(self.criteria)},
            "embedder": self.embedder,
        }


def _applies(c: Criterion, facts: CallFacts) -> bool:
    return facts.call_type in c.call_types and facts.direction in c.directions


def _share(results: list[CriterionResult]) -> float | None:
    weights = sum(r.weight for r in results)
    if not results or weights == 0:
        return None
    return 100.0 * sum(r.weight for r in results if r.passed) / weights


def _needs_speakers(c: Criterion) -> bool:
    if c.kind == "metric":
        return c.metric in _SPEAKER_METRICS
    if c.kind == "sentiment":
        return True
    return c.kind in ("acknowledgement", "name_used") or c.speaker != "any"


def vectors_for(
    texts: list[str], *, embedder: Embedder, known: Mapping[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Vectors of `texts`: those in `known` (stored with the transcript) as they are, the rest
    embedded now."""
    known = known or {}
    out = {t: known[t] for t in texts if t in known}
    missing = [t for t in dict.fromkeys(texts) if t not in out]
    if missing:
        out.update(zip(missing, embedder.embed(missing), strict=True))
    return out


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    # Scoring multiplies small matrices (a call's sentences by a few hundred examples): BLAS
    # threads gain nothing there, and on a busy worker (Whisper on every core) OpenBLAS's
    # spinning threads made one 20x400 product take 23 ms instead of 0.2 ms.
    with _blas().limit(limits=1, user_api="blas"):
        yield


def score(
    utterances: list[Utterance],
    facts: CallFacts,
    card: Scorecard,
    *,
    vectors: Mapping[str, np.ndarray] | None = None,
    embedder: Embedder | None = None,
) -> CallScore:
    """Score one conversation. `vectors` are stored sentence embeddings (text -> vector, of
    `embedder`); whatever is missing is embedded here, so rescoring embeds nothing new."""
    with _one_blas_thread():
        return _score(utterances, facts, card, vectors=vectors, embedder=embedder)


def _score(
    utterances: list[Utterance],
    facts: CallFacts,
    card: Scorecard,
    *,
    vectors: Mapping[str, np.ndarray] | None,
    embedder: Embedder | None,
) -> CallScore:
    embedder = embedder or shared_embedder()
    utterances = [u for u in utterances if u.text.strip()]
    labelled = any(u.speaker in ("agent", "customer") for u in utterances)
    timed = facts.channel == "phone"
    metrics = compute(utterances, duration=facts.duration)
    turns = merge_turns(utterances)
    sentences = split_sentences(utterances, turns)
    vecs = vectors_for([s.text for s in sentences], embedder=embedder, known=vectors)
    polarity = polarity_for(embedder)
    turn_values = turn_polarity(turns, sentences, vecs, polarity)
    sentiment = analyse(turns, turn_values)
    matrix = (
        np.stack([vecs[x.text] for x in sentences])
        if sentences
        else np.zeros((0, embedder.dim), dtype=np.float32)
    )
    comparison = matcher_for(card, embedder).compare(sentences, matrix, positional=not timed)
    end_of_call = max((u.end for u in utterances), default=facts.duration)
    results: dict[str, CriterionResult] = {}
    for c in card.criteria:
        if c.kind == "order":
            continue
        result = CriterionResult(
            id=c.id,
            label=c.label,
            dimension=c.dimension,
            kind=c.kind,
            weight=c.weight,
            applicable=_applies(c, facts),
            passed=True,
            auto_fail=c.auto_fail,
        )
        results[c.id] = result
        if not result.applicable:
            result.reason = f"does not apply to {facts.direction} {facts.call_type} calls"
            continue
        if not utterances:
            result.applicable = False
            result.reason = "nothing was said: not judged"
            continue
        if not labelled and _needs_speakers(c):
            # Never passed by default: with speakers unknown the machine cannot tell who said it.
            result.applicable = False
            result.reason = "speakers are not labelled (mono recording): not judged"
            continue
        if not timed and c.kind == "metric":
            result.applicable = False
            result.reason = f"timing criteria apply to phone calls, not {facts.channel}"
            continue
        crit = c
        if c.kind == "examples":
            outcome = detectors.examples(crit, comparison, end_of_call)
        elif c.kind == "phrases":
            outcome = detectors.phrases(crit, utterances, facts)
        elif c.kind == "pattern":
            outcome = detectors.pattern(crit, utterances, facts)
        elif c.kind == "metric":
            outcome = detectors.metric(crit, metrics)
        elif c.kind == "sentiment":
            outcome = detectors.sentiment(crit, sentiment)
        elif c.kind == "name_used":
            outcome = detectors.name_used(crit, utterances, facts)
        else:  # acknowledgement
            outcome = detectors.acknowledgement_by_meaning(crit, turns, comparison, turn_values)
        result.passed, result.evidence, result.reason = (
            outcome.passed,
            outcome.evidence,
            outcome.reason,
        )
        result.applicable = outcome.applicable
    for c in card.criteria:
        if c.kind == "order":
            results[c.id] = _order(c, results, facts)
    ordered = [results[c.id] for c in card.criteria]

    applicable = [r for r in ordered if r.applicable]
    dimensions = {d: _share([r for r in applicable if r.dimension == d]) for d in DIMENSIONS}
    script_ids = {c.id for c in card.criteria if c.script}
    script = _share([r for r in applicable if r.id in script_ids])
    failures = [r for r in applicable if r.auto_fail and not r.passed]
    overall = combine(card, dimensions, script, auto_fail=bool(failures))
    return CallScore(
        scorecard=card.name,
        scorecard_version=card.version,
        overall=overall,
        dimensions=dimensions,
        script_compliance=script,
        auto_fail=bool(failures),
        auto_fail_reasons=[f"{r.label}: {r.reason}" for r in failures],
        criteria=ordered,
        metrics=metrics,
        sentiment=sentiment,
        embedder=embedder.name,
    )


def combine(
    card: Scorecard,
    dimensions: Mapping[str, float | None],
    script_compliance: float | None,
    *,
    auto_fail: bool,
) -> float | None:
    """The overall: the scorecard's weighted mean of the dimensions and script compliance that
    apply (None when none does), 0 on an auto-fail. Scoring and reviews both use this one."""
    if auto_fail:
        return 0.0
    parts = [(card.dimension_weights[d], v) for d, v in dimensions.items() if v is not None]
    if script_compliance is not None:
        parts.append((card.script_weight, script_compliance))
    total_weight = sum(w for w, _ in parts)
    return sum(w * v for w, v in parts) / total_weight if total_weight else None


def _order(c: Criterion, results: dict[str, CriterionResult], facts: CallFacts) -> CriterionResult:
    first, then = results[c.first or ""], results[c.then or ""]
    result = CriterionResult(
        id=c.id,
        label=c.label,
        dimension=c.dimension,
        kind=c.kind,
        weight=c.weight,
        applicable=_applies(c, facts),
        passed=True,
        auto_fail=c.auto_fail,
    )
    if not result.applicable:
        result.reason = f"does not apply to {facts.direction} {facts.call_type} calls"
        return result
    if not (first.applicable and then.applicable):
        result.applicable = False
        result.reason = f"{first.label.lower()} or {then.label.lower()} was not judged"
        return result
    then_at = min(
        (e.start for e in then.evidence if e.start is not None and then.passed), default=None
    )
    first_at = min(
        (e.start for e in first.evidence if e.start is not None and first.passed), default=None
    )
    if then_at is None:
        result.reason = f"{then.label.lower()} did not happen; nothing to order"
        return result
    result.evidence = [e for e in (*first.evidence[:1], *then.evidence[:1]) if e.start is not None]
    if first_at is None or first_at > then_at:
        result.passed = False
        result.reason = f"{then.label.lower()} at {then_at:.1f} s before {first.label.lower()}"
    else:
        result.reason = f"{first.label.lower()} at {first_at:.1f} s, then {then.label.lower()}"
    return result
