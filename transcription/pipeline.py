"""One recording in, one transcript out: decode, split legs, transcribe, guard, merge, redact."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcription.audio import WHISPER_RATE, DecodedAudio, decode_audio
from transcription.engine import Engine
from transcription.guards import (
    drop_bleed,
    drop_echoes,
    is_implausible,
    split_on_gaps,
    trim_loop,
)
from transcription.pci import redact_segments
from transcription.types import Layout, Segment, Speaker, Transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOptions:
    language: str | None = None  # None: detected per channel
    # Where `auto` meets two distinct channels, the agent is on this side (recorders differ).
    auto_agent_channel: str = "left"
    max_word_gap: float = 1.0
    bleed_margin_db: float = 10.0
    # Words to expect (company, agent's name, products): handed to the engine as hotwords.
    hotwords: tuple[str, ...] = ()

    @property
    def hotword_text(self) -> str | None:
        words = list(dict.fromkeys(w.strip() for w in self.hotwords if w and w.strip()))
        return " ".join(words) or None


def resolve_layout(audio: DecodedAudio, layout: Layout, *, auto_agent_channel: str) -> Layout:
    if layout is not Layout.auto:
        if layout is not Layout.mono and len(audio.channels) < 2:
            return Layout.mono  # a stereo layout named for a mono file: nothing to split
        return layout
    if len(audio.channels) < 2 or _same_signal(audio.channels[0], audio.channels[1]):
        return Layout.mono
    return Layout.stereo_agent_left if auto_agent_channel == "left" else Layout.stereo_agent_right


def _same_signal(a: np.ndarray, b: np.ndarray) -> bool:
    """Two channels carrying one mix (a mono call saved as stereo)."""
    if not (a.std() and b.std()):
        return not (a.std() or b.std())
    return float(np.corrcoef(a, b)[0, 1]) > 0.98


def _clean(
    segments: list[Segment],
    speaker: Speaker,
    options: PipelineOptions,
    legs: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Segment]:
    kept: list[Segment] = []
    for seg in segments:
        for gap_part in split_on_gaps(seg, max_gap=options.max_word_gap):
            trimmed = trim_loop(gap_part)
            if trimmed is None:
                continue
            parts = [trimmed]
            if legs is not None:
                parts = drop_bleed(trimmed, *legs, WHISPER_RATE, margin_db=options.bleed_margin_db)
            for part in parts:
                reason = is_implausible(part)
                if reason:
                    log.info("dropped %s words at %.1f s: %s", speaker.value, part.start, reason)
                    continue
                part.speaker = speaker
                kept.append(part)
    return kept


def transcribe_audio(
    audio: DecodedAudio, engine: Engine, *, layout: Layout, options: PipelineOptions
) -> Transcript:
    resolved = resolve_layout(audio, layout, auto_agent_channel=options.auto_agent_channel)
    language: str | None = options.language
    segments: list[Segment] = []
    if resolved is Layout.mono:
        raw, detected = engine.transcribe(
            audio.mono, language=options.language, hotwords=options.hotword_text
        )
        language = language or detected
        segments = _clean(raw, Speaker.unknown, options)
    else:
        agent_idx = 0 if resolved is Layout.stereo_agent_left else 1
        legs = {Speaker.agent: agent_idx, Speaker.customer: 1 - agent_idx}
        cleaned: dict[Speaker, list[Segment]] = {}
        for speaker, idx in legs.items():
            own, other = audio.channels[idx], audio.channels[1 - idx]
            raw, detected = engine.transcribe(
                own, language=options.language, hotwords=options.hotword_text
            )
            language = language or detected
            cleaned[speaker] = _clean(raw, speaker, options, legs=(own, other))
        for speaker, idx in legs.items():
            other_speaker = Speaker.customer if speaker is Speaker.agent else Speaker.agent
            segments += drop_echoes(
                cleaned[speaker],
                cleaned[other_speaker],
                audio.channels[idx],
                audio.channels[1 - idx],
                WHISPER_RATE,
            )
    segments.sort(key=lambda s: (s.start, s.end))
    # Redaction happens here, before the transcript leaves the library for storage or logs.
    segments, redactions = redact_segments(segments)
    return Transcript(
        segments=segments,
        duration=audio.duration,
        language=language,
        layout=resolved,
        speakers_labelled=resolved is not Layout.mono,
        model=engine.model_name,
        engine=engine.name,
        redactions=redactions,
    )


def transcribe_file(
    path: Path, engine: Engine, *, layout: Layout, options: PipelineOptions
) -> Transcript:
    return transcribe_audio(decode_audio(path), engine, layout=layout, options=options)
