"""Whisper engines behind one small interface.

faster-whisper (CTranslate2) is the default on CPU. openai-whisper, the reference implementation,
is an optional extra (`pip install callqa[openai]`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from faster_whisper.tokenizer import _LANGUAGE_CODES
from faster_whisper.vad import VadOptions

from transcription.errors import ModelUnavailable
from transcription.types import Segment, Speaker, Word
from transcription.vad import ChunkTimeline, speech_chunks
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


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, options: EngineOptions) -> None:
        from faster_whisper import WhisperModel

        self.options = options
        self.model_name = options.model
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
        # CTranslate2 models are safe across threads but one decode at a time keeps memory flat.
        self._lock = threading.Lock()

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, hotwords: str | None = None
    ) -> tuple[list[Segment], str]:
        chunks = speech_chunks(audio, _VAD)
        if not chunks:
            return [], language or ""
        # Decode only the speech, glued together, then map every word back to the original
        # timeline: what vad_filter=True does inside faster-whisper, with our VAD and our
        # time map (see transcription.vad).
        timeline = ChunkTimeline(audio, chunks, 16_000)
        with self._lock:
            decoded, info = self._model.transcribe(
                timeline.audio,
                language=language,
                beam_size=self.options.beam_size,
                vad_filter=False,
                word_timestamps=True,
                # Conditioning on earlier text is how one hallucination becomes a loop of them.
                condition_on_previous_text=False,
                # Prompted before every window, so "Callytics" is heard as a name, not "64".
                hotwords=hotwords or None,
            )
            segments = []
            for s in decoded:
                words = [
                    Word(
                        *timeline.to_original(w.start, w.end),
                        text=w.word.strip(),
                        probability=w.probability,
                    )
                    for w in (s.words or [])
                    if w.word.strip()
                ]
                if not words:
                    continue
                segments.append(
                    Segment(
                        speaker=Speaker.unknown,
                        start=words[0].start,
                        end=words[-1].end,
                        text=s.text.strip(),
                        confidence=math.exp(s.avg_logprob),
                        words=words,
                        no_speech_prob=s.no_speech_prob,
                        avg_logprob=s.avg_logprob,
                        compression_ratio=s.compression_ratio,
                    )
                )
        return segments, info.language


class OpenAIWhisperEngine:
    """The reference implementation; needs the `openai` extra and PyTorch weights."""

    name = "openai-whisper"

    def __init__(self, options: EngineOptions) -> None:
        try:
            import whisper
        except ImportError as exc:
            raise ModelUnavailable(
                "engine openai-whisper is not installed: pip install 'callqa[openai]'"
            ) from exc
        self.options = options
        self.model_name = options.model
        try:
            self._model = whisper.load_model(options.model, device=options.device)
        except Exception as exc:
            raise ModelUnavailable(
                f"cannot load openai-whisper model {options.model!r}: {exc}"
            ) from exc
        self._lock = threading.Lock()

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, hotwords: str | None = None
    ) -> tuple[list[Segment], str]:
        with self._lock:
            result = self._model.transcribe(
                audio,
                language=language,
                # This engine has no hotwords; the first window's prompt is the nearest thing.
                initial_prompt=hotwords or None,
                word_timestamps=True,
                condition_on_previous_text=False,
                beam_size=self.options.beam_size,
                fp16=False,
            )
        segments = [
            Segment(
                speaker=Speaker.unknown,
                start=float(s["start"]),
                end=float(s["end"]),
                text=s["text"].strip(),
                confidence=math.exp(s["avg_logprob"]),
                words=[
                    Word(
                        start=float(w["start"]),
                        end=float(w["end"]),
                        text=w["word"].strip(),
                        probability=float(w["probability"]),
                    )
                    for w in s.get("words", [])
                    if w["word"].strip()
                ],
                no_speech_prob=float(s["no_speech_prob"]),
                avg_logprob=float(s["avg_logprob"]),
                compression_ratio=float(s["compression_ratio"]),
            )
            for s in result["segments"]
        ]
        return segments, str(result.get("language") or language or "")


def create_engine(engine: str, options: EngineOptions) -> Engine:
    if engine == "faster-whisper":
        return FasterWhisperEngine(options)
    if engine == "openai-whisper":
        return OpenAIWhisperEngine(options)
    raise ModelUnavailable(f"unknown engine {engine!r}: use 'faster-whisper' or 'openai-whisper'")
