"""Input and output types of scoring. Times are seconds from the start of the call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Speaker = Literal["agent", "customer", "unknown"]
DIMENSIONS = ("reliability", "responsiveness", "empathy", "competence", "personal_touch")


@dataclass(frozen=True)
class Utterance:
    """One transcript segment as scoring sees it."""

    index: int
    speaker: Speaker
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class CallFacts:
    call_type: str = "service"  # service | sales | other
    direction: str = "inbound"  # inbound | outbound
    duration: float = 0.0  # of the recording, seconds
    customer_name: str | None = None
    channel: str = "phone"  # phone | chat | email: timing criteria apply to phone calls only
    language: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Where a criterion was met or missed: a quote with its place, or why nothing was found."""

    start: float | None
    end: float | None
    quote: str | None
    segment: int | None = None
    note: str | None = None
    similarity: float | None = None  # for a match by meaning: cosine to the nearest example

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {
            "segment": self.segment,
            "start": r(self.start),
            "end": r(self.end),
            "quote": self.quote,
            "note": self.note,
            "similarity": self.similarity,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            start=data.get("start"),
            end=data.get("end"),
            quote=data.get("quote"),
            segment=data.get("segment"),
            note=data.get("note"),
            similarity=data.get("similarity"),
        )


@dataclass
class CriterionResult:
    id: str
    label: str
    dimension: str
    kind: str
    weight: float
    applicable: bool
    passed: bool
    auto_fail: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "dimension": self.dimension,
            "kind": self.kind,
            "weight": self.weight,
            "applicable": self.applicable,
            "passed": self.passed,
            "auto_fail": self.auto_fail,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriterionResult:
        return cls(
            id=data["id"],
            label=data["label"],
            dimension=data["dimension"],
            kind=data["kind"],
            weight=float(data["weight"]),
            applicable=bool(data["applicable"]),
            passed=bool(data["passed"]),
            auto_fail=bool(data.get("auto_fail", False)),
            evidence=[Evidence.from_dict(e) for e in data.get("evidence", [])],
            reason=data.get("reason", ""),
        )


@dataclass(frozen=True)
class StoredScore:
    """A score as stored (`CallScore.to_dict()`), read back typed: what the app reads of it."""

    overall: float | None
    dimensions: dict[str, float | None]
    script_compliance: float | None
    auto_fail: bool
    auto_fail_reasons: list[str]
    criteria: list[CriterionResult]
    metrics: dict[str, Any]  # qa.metrics.Metrics.to_dict()
    sentiment: dict[str, Any]  # qa.sentiment.Sentiment.to_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredScore:
        return cls(
            overall=data.get("overall"),
            dimensions=dict(data.get("dimensions", {})),
            script_compliance=data.get("script_compliance"),
            auto_fail=bool(data.get("auto_fail", False)),
            auto_fail_reasons=list(data.get("auto_fail_reasons", [])),
            criteria=[CriterionResult.from_dict(c) for c in data.get("criteria", [])],
            metrics=dict(data.get("metrics", {})),
            sentiment=dict(data.get("sentiment", {})),
        )

    def criterion(self, criterion_id: str) -> CriterionResult | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    @property
    def applicable(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.applicable]
