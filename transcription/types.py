"""Plain data types of a transcript. Times are seconds from the start of the original audio."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from transcription.roles import RoleMethod, Roles


class Speaker(StrEnum):
    agent = "agent"
    customer = "customer"
    unknown = "unknown"


class Layout(StrEnum):
    """How agent and customer are placed in the recording."""

    auto = "auto"
    stereo_agent_left = "stereo-agent-left"
    stereo_agent_right = "stereo-agent-right"
    mono = "mono"


@dataclass
class Word:
    start: float
    end: float
    text: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Segment:
    speaker: Speaker
    start: float
    end: float
    text: str
    confidence: float
    words: list[Word] = field(default_factory=list)
    # Diagnostics from the engine, used by the hallucination guard; not stored.
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 1.0
    # Which side said it: the channel ("left", "right") or the diarized voice ("S1", "S2").
    voice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker.value,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "voice": self.voice,
            "words": [
                {
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "text": w.text,
                    "probability": round(w.probability, 4),
                }
                for w in self.words
            ],
        }


@dataclass
class Transcript:
    segments: list[Segment]
    duration: float
    language: str | None
    layout: Layout
    # True only when the roles are trusted: a stereo layout, or roles read from the content
    # with enough confidence. Otherwise every segment is `unknown` (voices may still be known).
    speakers_labelled: bool
    model: str
    engine: str
    redactions: int = 0
    roles: Roles = field(default_factory=lambda: Roles(RoleMethod.none, None))
    diarizer: str | None = None
    # Where card data may be heard in the recording (seconds, merged, no margin): what the
    # stored audio must lose. Wider than the redacted words (see transcription.pci).
    sensitive: list[tuple[float, float]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(f"{s.speaker.value}: {s.text}" for s in self.segments)
