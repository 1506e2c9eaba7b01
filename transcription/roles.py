"""Which side of a call is the agent: the decision, how sure it is, and what it rests on.

A side is a stereo channel ("left", "right") or a diarized voice ("S1", "S2"). The judge that
reads the words (qa.roles, by meaning) is handed in by the caller: this library knows audio,
not what an agent sounds like in Hebrew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class RoleMethod(StrEnum):
    content = "content"  # decided from what each side says
    layout = "layout"  # the layout named at upload (or the configured stereo channel)
    none = "none"  # nobody decided: speakers are unknown


@dataclass(frozen=True)
class Evidence:
    side: str
    text: str
    cue: str  # what the sentence was taken for ("greets", "asks to verify", "names the company")
    weight: float


@dataclass(frozen=True)
class RoleDecision:
    agent: str | None  # the side judged to be the agent
    confidence: float  # 0.5: no idea; 1.0: certain
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Roles:
    """Stored with the transcript and shown with the call."""

    method: RoleMethod
    agent_side: str | None
    confidence: float | None = None
    reason: str = ""
    # The layout put the agent on one channel and the words say the other, strongly.
    swapped: bool = False
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["method"] = self.method.value
        if self.confidence is not None:
            data["confidence"] = round(self.confidence, 3)
        data["evidence"] = [{**asdict(e), "weight": round(e.weight, 3)} for e in self.evidence[:6]]
        return data


class RoleJudge(Protocol):
    def decide(self, sides: Mapping[str, Sequence[str]]) -> RoleDecision:
        """`sides`: each side's sentences in time order. Which one is the agent?"""
        ...
