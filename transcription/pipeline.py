"""One recording in, one transcript out: decode, split legs, transcribe, guard, merge, redact."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from transcription.audio import WHISPER_RATE, DecodedAudio, blocks, decode_audio, release
from transcription.diarize import Diarization, Diarizer
from transcription.engine import Engine
from transcription.guards import (
    drop_bleed,
    drop_echoes,
    is_implausible,
    split_on_gaps,
    trim_loop,
    with_words,
)
from transcription.pci import redact_segments, sensitive_spans
from transcription.redact_audio import widen
from transcription.roles import RoleDecision, RoleJudge, RoleMethod, Roles
from transcription.types import Layout, Segment, Speaker, Transcript, Word

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
    # Roles read from the words are trusted from this confidence up (below: speakers unknown);
    # a named stereo layout is flagged as swapped when the words contradict it this surely.
    role_confidence: float = 0.75
    swap_confidence: float = 0.85

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
    """Two channels carrying one mix (a mono call saved as stereo). Their correlation is summed
    a block at a time: np.corrcoef of two four-hour channels would copy both as float64."""
    n = min(len(a), len(b))
    if n == 0:
        return True
    sa = sb = saa = sbb = sab = 0.0
    for start, x in blocks(a):
        if start >= n:
            break
        xs = x[: n - start].astype(np.float64)
        ys = np.asarray(b[start : start + len(xs)], dtype=np.float64)
        release(b, start, start + len(xs))
        sa, sb = sa + float(xs.sum()), sb + float(ys.sum())
        saa, sbb = saa + float(xs @ xs), sbb + float(ys @ ys)
        sab += float(xs @ ys)
    var_a = max(saa / n - (sa / n) ** 2, 0.0)
    var_b = max(sbb / n - (sb / n) ** 2, 0.0)
    silent_a, silent_b = var_a < 1e-18, var_b < 1e-18
    if silent_a or silent_b:
        return silent_a and silent_b
    return bool((sab / n - (sa / n) * (sb / n)) / np.sqrt(var_a * var_b) > 0.98)


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


def _sides_text(segments: list[Segment]) -> dict[str, list[str]]:
    sides: dict[str, list[str]] = {}
    for seg in sorted(segments, key=lambda s: s.start):
        if seg.voice is not None:
            sides.setdefault(seg.voice, []).append(seg.text)
    return sides


def split_by_voice(segments: list[Segment], diarization: Diarization) -> list[Segment]:
    """Each segment cut where the voice changes between its words (word times decide)."""
    out: list[Segment] = []
    for seg in segments:
        if not seg.words:
            seg.voice = diarization.voice_of(seg.start, seg.end)
            out.append(seg)
            continue
        groups: list[tuple[str | None, list[Word]]] = []
        for w in seg.words:
            voice = diarization.voice_of(w.start, w.end)
            if groups and groups[-1][0] == voice:
                groups[-1][1].append(w)
            else:
                groups.append((voice, [w]))
        for voice, words in groups:
            part = with_words(seg, words)
            part.voice = voice
            out.append(part)
    return out


def _content_roles(
    segments: list[Segment], judge: RoleJudge | None, *, threshold: float
) -> tuple[Roles, RoleDecision | None]:
    sides = _sides_text(segments)
    if judge is None:
        return Roles(RoleMethod.none, None, reason="no role judge was given"), None
    if len(sides) != 2:
        return Roles(RoleMethod.none, None, reason=f"{len(sides)} voice(s) heard, not two"), None
    decision = judge.decide(sides)
    if decision.agent is None or decision.confidence < threshold:
        return (
            Roles(
                RoleMethod.none,
                None,
                confidence=decision.confidence,
                reason=(
                    f"who is the agent is unclear from the words (confidence "
                    f"{decision.confidence:.2f}, below {threshold:.2f}): speakers are unknown"
                ),
                evidence=decision.evidence,
            ),
            decision,
        )
    return (
        Roles(
            RoleMethod.content,
            decision.agent,
            confidence=decision.confidence,
            reason=f"{decision.agent} speaks like the agent",
            evidence=decision.evidence,
        ),
        decision,
    )


def _stereo_roles(
    segments: list[Segment], layout: Layout, judge: RoleJudge | None, options: PipelineOptions
) -> Roles:
    named = layout is not Layout.auto
    configured = (
        ("left" if layout is Layout.stereo_agent_left else "right")
        if named
        else options.auto_agent_channel
    )
    source = "the layout named at upload" if named else "the configured agent channel"
    content, decision = _content_roles(segments, judge, threshold=options.role_confidence)
    if not named and content.method is RoleMethod.content:
        return content
    swapped = bool(
        named
        and decision is not None
        and decision.agent not in (None, configured)
        and decision.confidence >= options.swap_confidence
    )
    if swapped:
        reason = (
            f"agent channel looks swapped: {source} puts the agent {configured}, but the "
            f"{decision.agent} channel speaks like the agent (confidence "  # type: ignore[union-attr]
            f"{decision.confidence:.2f})"  # type: ignore[union-attr]
        )
    elif named:
        reason = f"agent on the {configured} channel: {source}"
    else:
        reason = f"agent on the {configured} channel: {source} ({content.reason})"
    return Roles(
        RoleMethod.layout,
        configured,
        confidence=decision.confidence if decision else None,
        reason=reason,
        swapped=swapped,
        evidence=decision.evidence if decision else (),
    )


def _label(segments: list[Segment], roles: Roles) -> None:
    for seg in segments:
        if roles.agent_side is None or seg.voice is None:
            seg.speaker = Speaker.unknown
        else:
            seg.speaker = Speaker.agent if seg.voice == roles.agent_side else Speaker.customer


def transcribe_audio(
    audio: DecodedAudio,
    engine: Engine,
    *,
    layout: Layout,
    options: PipelineOptions,
    diarizer: Diarizer | None = None,
    judge: RoleJudge | None = None,
) -> Transcript:
    """`diarizer` tells the voices of a mono call apart; `judge` reads which side is the agent
    (on mono calls, and on stereo calls with `auto`, or to flag a layout that looks swapped)."""
    resolved = resolve_layout(audio, layout, auto_agent_channel=options.auto_agent_channel)
    language: str | None = options.language
    segments: list[Segment] = []
    diarizer_name: str | None = None
    if resolved is Layout.mono:
        raw, detected = engine.transcribe(
            audio.mono, language=options.language, hotwords=options.hotword_text
        )
        language = language or detected
        heard = [raw]
        segments = _clean(raw, Speaker.unknown, options)
        if diarizer is None:
            roles = Roles(RoleMethod.none, None, reason="mono recording, no diarizer configured")
        else:
            diarizer_name = diarizer.name
            segments = split_by_voice(segments, diarizer.diarize(audio.mono))
            roles, _ = _content_roles(segments, judge, threshold=options.role_confidence)
    else:
        sides = {"left": 0, "right": 1}
        cleaned: dict[str, list[Segment]] = {}
        heard = []
        for side, idx in sides.items():
            own, other = audio.channels[idx], audio.channels[1 - idx]
            raw, detected = engine.transcribe(
                own, language=options.language, hotwords=options.hotword_text
            )
            language = language or detected
            # Each leg is its own stream when looking for card data in what was decoded.
            leg = Speaker.agent if side == "left" else Speaker.customer
            heard.append([replace(seg, speaker=leg) for seg in raw])
            cleaned[side] = _clean(raw, Speaker.unknown, options, legs=(own, other))
            # A long call's pages go back between passes.
            release(own)
            release(other)
        for side, idx in sides.items():
            other_side = "right" if side == "left" else "left"
            kept = drop_echoes(
                cleaned[side],
                cleaned[other_side],
                audio.channels[idx],
                audio.channels[1 - idx],
                WHISPER_RATE,
            )
            release(audio.channels[0])
            release(audio.channels[1])
            for seg in kept:
                seg.voice = side
            segments += kept
        roles = _stereo_roles(segments, layout, judge, options)
        resolved = (
            Layout.stereo_agent_left if roles.agent_side == "left" else Layout.stereo_agent_right
        )
    _label(segments, roles)
    segments.sort(key=lambda s: (s.start, s.end))
    # Card data in the audio: in the words kept, and in what the decoder heard before the guards
    # (a card number read as a loop of ones is cut from the text, not from the recording).
    sensitive = sensitive_spans(segments) + sensitive_spans([s for leg in heard for s in leg])
    # Redaction happens here, before the transcript leaves the library for storage or logs.
    segments, redactions = redact_segments(segments)
    return Transcript(
        segments=segments,
        duration=audio.duration,
        language=language,
        layout=resolved,
        speakers_labelled=roles.agent_side is not None,
        model=engine.model_name,
        engine=engine.name,
        redactions=redactions,
        roles=roles,
        diarizer=diarizer_name,
        sensitive=widen(sensitive, margin=0.0, duration=audio.duration),
    )


def transcribe_file(
    path: Path,
    engine: Engine,
    *,
    layout: Layout,
    options: PipelineOptions,
    diarizer: Diarizer | None = None,
    judge: RoleJudge | None = None,
    spool_dir: Path | None = None,
) -> Transcript:
    """`spool_dir`: where a long recording's decoded channels are kept while it is transcribed
    (temporary files, gone when it is done; see transcription.audio)."""
    return transcribe_audio(
        decode_audio(path, spool_dir=spool_dir),
        engine,
        layout=layout,
        options=options,
        diarizer=diarizer,
        judge=judge,
    )
