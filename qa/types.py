"""Input and output types of scoring. Times are seconds from the start of the call."""

from __future__ import annotations

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
        r = lambda v: None if v is None else round(v, 3)  # noqa: E731
        return {"segment": self.segment, "start": r(self.start), "end": r(self.end),
                "quote": self.quote, "note": self.note, "similarity": self.similarity}


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
        return {"id": self.id, "label": self.label, "dimension": self.dimension,
                "kind": self.kind, "weight": self.weight, "applicable": self.applicable,
                "passed": self.passed, "auto_fail": self.auto_fail, "reason": self.reason,
                "evidence": [e.to_dict() for e in self.evidence]}
