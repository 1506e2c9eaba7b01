"""Voice-activity detection that starts afresh after every silence.

Silero VAD (as shipped in faster-whisper) is recurrent: after a minute of hold music its state
lags, and the first words after the music are missed or start late (measured: the agent's
"Thank you for holding" at 82.0 s detected from 83.9 s). Cutting the audio at real silences and
running the detector on each piece with a fresh state gives the onset back (82.0 s).
"""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

FRAME = 480  # 30 ms at 16 kHz
SILENCE_DB = -50.0
MIN_SILENCE_FRAMES = 17  # ~0.5 s


def _pieces(audio: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample ranges of non-silent audio, cut at silences of 0.5 s or more."""
    n = len(audio) // FRAME
    if n == 0:
        return [(0, len(audio))] if len(audio) else []
    frames = audio[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = db > SILENCE_DB
    pieces: list[tuple[int, int]] = []
    start: int | None = None
    quiet = 0
    for i, is_loud in enumerate(loud):
        if is_loud:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= MIN_SILENCE_FRAMES:
                pieces.append((start * FRAME, (i - quiet + 1) * FRAME))
                start, quiet = None, 0
    if start is not None:
        pieces.append((start * FRAME, len(audio)))
    return pieces


def speech_chunks(audio: np.ndarray, options: VadOptions) -> list[dict[str, int]]:
    """Speech regions as faster-whisper's VAD returns them ({'start', 'end'} in samples)."""
    pad = FRAME * 4  # keep some context so the detector's speech padding has room
    chunks: list[dict[str, int]] = []
    for a, b in _pieces(audio):
        lo, hi = max(0, a - pad), min(len(audio), b + pad)
        for c in get_speech_timestamps(audio[lo:hi], options):
            start, end = c["start"] + lo, c["end"] + lo
            if chunks and start <= chunks[-1]["end"]:
                chunks[-1]["end"] = max(chunks[-1]["end"], end)
            else:
                chunks.append({"start": start, "end": end})
    return chunks
