"""Whisper engines behind one small interface.

faster-whisper (CTranslate2) is the default on CPU. openai-whisper, the reference implementation,
is an optional extra (`make install-openai`); both sit behind the same VAD, time map and guards.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from faster_whisper.tokenizer import _LANGUAGE_CODES
from faster_whisper.transcribe import Segment as DecodedSegment
from faster_whisper.vad import VadOptions

from transcription.audio import WHISPER_RATE, release
from transcription.errors import ModelUnavailable
from transcription.types import Segment, Speaker, Word
from transcription.vad import GAP_SECONDS, ChunkTimeline, speech_chunks
from transcription.weights import resolve_model

# The language codes Whisper knows (ISO 639-1, and a few more such as "haw", "yue").
LANGUAGES: frozenset[str] = frozenset(_LANGUAGE_CODES)


@dataclass(frozen=True)
class EngineOptions:
    model: str = "base"
    compute_type: str = "int8"
    threads: int = 0  # 0: let CTranslate2 decide
    device: str = "cpu"
    beam_size: int = 5
    cache_dir: Path = Path("data/models")
    # Whisper's fallback re-decodes a doubtful window by random sampling at rising temperatures,
    # so the same file could come back with other words on a second run. Off: one beam search
    # per window, the same words every time (the guards handle what the fallback was for).
    sampling_fallback: bool = False
    # Decode again, alone, each speech chunk that got no word in the glued pass.
    redecode_missed: bool = True


class Engine(Protocol):
    name: str
    model_name: str

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, hotwords: str | None = None
    ) -> tuple[list[Segment], str]:
        """Raw segments (speaker unknown) with word times relative to `audio`, and the language.
        `hotwords`: names and words to expect (the company, the agent, products)."""
        ...


# Whisper's own knobs against invented text: VAD removes silence and music before decoding,
# and the engine drops windows that look like no speech. The rest is in transcription.guards.
_VAD = VadOptions(min_silence_duration_ms=500, speech_pad_ms=200, threshold=0.5)
GLUED_SAMPLES = 30 * 60 * WHISPER_RATE  # speech decoded at once (see transcribe)


@dataclass(frozen=True)
class Decoded:
    """One decoded segment, whichever engine made it; word times relative to its audio."""

    text: str
    words: list[Word]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


class _GluedEngine:
    """What both engines share: decode only the speech, glued together, then map every word
    back to the original timeline (what vad_filter=True does inside faster-whisper, with our VAD
    and our time map: see transcription.vad). A subclass says how one piece of audio is
    decoded."""

    name: str
    model_name: str
    options: EngineOptions

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self.model_name = options.model
        # One decode at a time per loaded model keeps memory flat.
        self._lock = threading.Lock()

    def _decode(
        self, audio: np.ndarray, language: str | None, hotwords: str | None
    ) -> tuple[list[Decoded], str]:
        raise NotImplementedError

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, hotwords: str | None = None
    ) -> tuple[list[Segment], str]:
        chunks = speech_chunks(audio, _VAD)
        if not chunks:
            return [], language or ""
        # A long call's speech is glued and decoded thirty minutes at a time, cut between
        # chunks: Whisper's features for four hours of glued speech would take gigabytes, and no
        # word straddles a cut. (A single chunk longer than that, hours of music the detector
        # took for speech, is cut where it reaches the limit.)
        segments: list[Segment] = []
        detected: str | None = None  # the first part's language holds for the rest
        with self._lock:
            for group in _groups(chunks, GLUED_SAMPLES):
                found, heard = self._transcribe_group(audio, group, language or detected, hotwords)
                segments += found
                detected = detected or heard
                release(audio)
        segments.sort(key=lambda seg: seg.start)
        return segments, detected or language or ""

    def _transcribe_group(
        self,
        audio: np.ndarray,
        chunks: list[dict[str, int]],
        language: str | None,
        hotwords: str | None,
    ) -> tuple[list[Segment], str]:
        timeline = ChunkTimeline(audio, chunks, WHISPER_RATE)
        decoded, detected = self._decode(timeline.audio, language, hotwords)
        segments: list[Segment] = []
        heard: set[int] = set()
        for s in decoded:
            words = []
            for w in s.words:
                index, start, end = timeline.locate(w.start, w.end)
                heard.add(index)
                words.append(Word(start, end, text=w.text, probability=w.probability))
            segments += _segment(s, words)
        # A short reply right after a long turn ("Yes.", "Bye.") is often skipped inside a
        # 30 s window of glued speech, yet decodes fine on its own: every chunk that got no
        # word is decoded once more alone. The guards judge these words like any other.
        language = language or detected
        for index, chunk in enumerate(chunks):
            if self.options.redecode_missed and index not in heard:
                segments += self._decode_alone(audio, chunk, language, hotwords)
        return segments, detected

    def _decode_alone(
        self, audio: np.ndarray, chunk: dict[str, int], language: str, hotwords: str | None
    ) -> list[Segment]:
        offset = chunk["start"] / WHISPER_RATE
        length = (chunk["end"] - chunk["start"]) / WHISPER_RATE
        decoded, _ = self._decode(audio[chunk["start"] : chunk["end"]], language, hotwords)
        out: list[Segment] = []
        for s in decoded:
            words = [
                Word(
                    offset + min(max(w.start, 0.0), length),
                    offset + min(max(w.end, w.start, 0.0), length),
                    text=w.text,
                    probability=w.probability,
                )
                for w in s.words
            ]
            out += _segment(s, words)
        return out


class FasterWhisperEngine(_GluedEngine):
    name = "faster-whisper"

    def __init__(self, options: EngineOptions) -> None:
        from faster_whisper import WhisperModel

        super().__init__(options)
        location = resolve_model(options.model, cache_dir=options.cache_dir)
        try:
            self._model = WhisperModel(
                location,
                device=options.device,
                compute_type=options.compute_type,
                cpu_threads=options.threads,
            )
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise ModelUnavailable(
                f"cannot load Whisper model {options.model!r}: {exc}. Name a local folder in "
                "CTranslate2 format, or 'base' / 'tiny.en' from the offline weights."
            ) from exc

    def _decode(
        self, audio: np.ndarray, language: str | None, hotwords: str | None
    ) -> tuple[list[Decoded], str]:
        decoded, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=self.options.beam_size,
            vad_filter=False,
            word_timestamps=True,
            # Conditioning on earlier text is how one hallucination becomes a loop of them.
            condition_on_previous_text=False,
            # Prompted before every window, so "Callytics" is heard as a name, not "64".
            hotwords=hotwords or None,
            **({} if self.options.sampling_fallback else {"temperature": 0.0}),
        )
        return [_from_faster(s) for s in decoded], info.language


def _from_faster(s: DecodedSegment) -> Decoded:
    return Decoded(
        text=s.text.strip(),
        words=[
            Word(w.start, w.end, text=w.word.strip(), probability=w.probability)
            for w in s.words or []
            if w.word.strip()
        ],
        avg_logprob=s.avg_logprob,
        no_speech_prob=s.no_speech_prob,
        compression_ratio=s.compression_ratio,
    )


def _groups(chunks: list[dict[str, int]], limit: int) -> list[list[dict[str, int]]]:
    """Consecutive chunks whose glued length (gaps included) stays within `limit` samples; a
    chunk longer than that is cut into pieces that fit."""
    gap = int(GAP_SECONDS * WHISPER_RATE)
    pieces = [
        {"start": a, "end": min(a + limit - gap, c["end"])}
        for c in chunks
        for a in range(c["start"], c["end"], limit - gap)
    ]
    groups: list[list[dict[str, int]]] = []
    size = 0
    for c in pieces:
        length = c["end"] - c["start"] + gap
        if groups and size + length <= limit:
            groups[-1].append(c)
            size += length
        else:
            groups.append([c])
            size = length
    return groups


def _segment(decoded: Decoded, words: list[Word]) -> list[Segment]:
    """One decoded segment as ours (none when it has no words)."""
    if not words:
        return []
    return [
        Segment(
            speaker=Speaker.unknown,
            start=words[0].start,
            end=words[-1].end,
            text=decoded.text,
            confidence=math.exp(decoded.avg_logprob),
            words=words,
            no_speech_prob=decoded.no_speech_prob,
            avg_logprob=decoded.avg_logprob,
            compression_ratio=decoded.compression_ratio,
        )
    ]


class OpenAIWhisperEngine(_GluedEngine):
    """The reference implementation (PyTorch), behind the same VAD, time map and guards.

    Needs the `openai` extra. `base` and `tiny.en` are the offline CTranslate2 weights,
    converted once into openai-whisper's format (transcription.openai_weights); a `.pt` path or
    one of openai-whisper's own names is loaded as it is."""

    name = "openai-whisper"

    def __init__(self, options: EngineOptions) -> None:
        try:
            import torch
            import whisper
        except ImportError as exc:
            raise ModelUnavailable(
                "engine openai-whisper is not installed: make install-openai "
                "(or pip install 'callqa[openai]')"
            ) from exc
        from transcription.openai_weights import ALIGNMENT_KEY, checkpoint_for

        super().__init__(options)
        if options.threads > 0:
            torch.set_num_threads(options.threads)
        try:
            checkpoint = checkpoint_for(options.model, cache_dir=options.cache_dir)
            self._model = whisper.load_model(checkpoint, device=options.device)
            if Path(checkpoint).is_file():
                # openai-whisper sets the word-timing heads only for names it downloads; ours
                # carry theirs (mmap: only that key is read).
                heads = torch.load(checkpoint, mmap=True, weights_only=True).get(ALIGNMENT_KEY)
                if heads:
                    self._model.set_alignment_heads(heads.encode("ascii"))
        except ModelUnavailable:
            raise
        except Exception as exc:  # torch and whisper raise many kinds; all mean "cannot load"
            raise ModelUnavailable(
                f"cannot load openai-whisper model {options.model!r}: {exc}"
            ) from exc
        # float16 only where it runs (CUDA); on the CPU openai-whisper computes in float32.
        self._fp16 = options.device.startswith("cuda") and "16" in options.compute_type

    def _decode(
        self, audio: np.ndarray, language: str | None, hotwords: str | None
    ) -> tuple[list[Decoded], str]:
        import whisper

        result = whisper.transcribe(
            self._model,
            np.ascontiguousarray(audio, dtype=np.float32),
            language=language,
            # No hotwords here: the nearest thing is a prompt, carried into every window.
            initial_prompt=hotwords or None,
            carry_initial_prompt=bool(hotwords),
            word_timestamps=True,
            condition_on_previous_text=False,
            beam_size=self.options.beam_size,
            fp16=self._fp16,
            verbose=None,
            # One beam search per window, no sampled fallback: the same words every run.
            temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if self.options.sampling_fallback else 0.0,
        )
        decoded = [
            Decoded(
                text=str(s["text"]).strip(),
                words=[
                    Word(
                        float(w["start"]),
                        float(w["end"]),
                        text=str(w["word"]).strip(),
                        probability=float(w["probability"]),
                    )
                    for w in s.get("words", [])
                    if str(w["word"]).strip()
                ],
                avg_logprob=float(s["avg_logprob"]),
                no_speech_prob=float(s["no_speech_prob"]),
                compression_ratio=float(s["compression_ratio"]),
            )
            for s in result["segments"]
        ]
        return decoded, str(result.get("language") or language or "")


def create_engine(engine: str, options: EngineOptions) -> Engine:
    if engine == "faster-whisper":
        return FasterWhisperEngine(options)
    if engine == "openai-whisper":
        return OpenAIWhisperEngine(options)
    raise ModelUnavailable(f"unknown engine {engine!r}: use 'faster-whisper' or 'openai-whisper'")
