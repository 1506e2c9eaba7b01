"""Transcript + call facts + scorecard -> CallScore. Pure and deterministic."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from qa import detectors
from qa.metrics import Metrics, compute
from qa.scorecard import Criterion, Scorecard
from qa.sentiment import Sentiment, analyse
from qa.types import DIMENSIONS, CallFacts, CriterionResult, Utterance


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

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {
            "scorecard": self.scorecard, "scorecard_version": self.scorecard_version,
            "overall": r(self.overall),
            "dimensions": {k: r(v) for k, v in self.dimensions.items()},
            "script_compliance": r(self.script_compliance),
            "auto_fail": self.auto_fail, "auto_fail_reasons": self.auto_fail_reasons,
            "criteria": [c.to_dict() for c in self.criteria],
            "metrics": self.metrics.to_dict(), "sentiment": self.sentiment.to_dict(),
        }


def _applies(c: Criterion, facts: CallFacts) -> bool:
    return facts.call_type in c.call_types and facts.direction in c.directions


def _share(results: list[CriterionResult]) -> float | None:
    weights = sum(r.weight for r in results)
    if not results or weights == 0:
        return None
    return 100.0 * sum(r.weight for r in results if r.passed) / weights


def score(utterances: list[Utterance], facts: CallFacts, card: Scorecard) -> CallScore:
    labelled = any(u.speaker in ("agent", "customer") for u in utterances)
    metrics = compute(utterances, duration=facts.duration)
    sentiment = analyse(utterances)
    results: dict[str, CriterionResult] = {}
    for c in card.criteria:
        if c.kind == "order":
            continue
        # On a mono recording nobody is labelled: look at everyone's words instead.
        crit = c if labelled or c.speaker == "any" else replace(c, speaker="any")
        result = CriterionResult(id=c.id, label=c.label, dimension=c.dimension, kind=c.kind,
                                 weight=c.weight, applicable=_applies(c, facts), passed=True,
                                 auto_fail=c.auto_fail)
        if not result.applicable:
            result.reason = f"does not apply to {facts.direction} {facts.call_type} calls"
            results[c.id] = result
            continue
        if c.kind == "phrases":
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
            outcome = detectors.acknowledgement(crit, utterances, sentiment)
        result.passed, result.evidence, result.reason = (outcome.passed, outcome.evidence,
                                                         outcome.reason)
        result.applicable = outcome.applicable
        results[c.id] = result
    for c in card.criteria:
        if c.kind == "order":
            results[c.id] = _order(c, results, facts)
    ordered = [results[c.id] for c in card.criteria]

    applicable = [r for r in ordered if r.applicable]
    dimensions = {d: _share([r for r in applicable if r.dimension == d]) for d in DIMENSIONS}
    script_ids = {c.id for c in card.criteria if c.script}
    script = _share([r for r in applicable if r.id in script_ids])
    failures = [r for r in applicable if r.auto_fail and not r.passed]
    parts = [(card.dimension_weights[d], v) for d, v in dimensions.items() if v is not None]
    if script is not None:
        parts.append((card.script_weight, script))
    total_weight = sum(w for w, _ in parts)
    overall = sum(w * v for w, v in parts) / total_weight if total_weight else None
    if failures:
        overall = 0.0
    return CallScore(
        scorecard=card.name, scorecard_version=card.version, overall=overall,
        dimensions=dimensions, script_compliance=script, auto_fail=bool(failures),
        auto_fail_reasons=[f"{r.label}: {r.reason}" for r in failures], criteria=ordered,
        metrics=metrics, sentiment=sentiment,
    )


def _order(c: Criterion, results: dict[str, CriterionResult], facts: CallFacts) -> CriterionResult:
    first, then = results[c.first or ""], results[c.then or ""]
    result = CriterionResult(id=c.id, label=c.label, dimension=c.dimension, kind=c.kind,
                             weight=c.weight, applicable=_applies(c, facts), passed=True,
                             auto_fail=c.auto_fail)
    if not result.applicable:
        result.reason = f"does not apply to {facts.direction} {facts.call_type} calls"
        return result
    then_at = min((e.start for e in then.evidence if e.start is not None and then.passed),
                  default=None)
    first_at = min((e.start for e in first.evidence if e.start is not None and first.passed),
                   default=None)
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
