"""Voice-activity detection that starts afresh after every silence.

Silero VAD (as shipped in faster-whisper) is recurrent: after a minute of hold music its state
lags, and the first words after the music are missed or start late (measured: the agent's
"Thank you for holding" at 82.0 s detected from 83.9 s). Cutting the audio at real silences and
running the detector on each piece with a fresh state gives the onset back (82.0 s).
"""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from transcription.audio import BLOCK_SAMPLES, WHISPER_RATE, blocks, release

FRAME = 480  # 30 ms at 16 kHz
SILENCE_DB = -50.0
MIN_SILENCE_FRAMES = 17  # ~0.5 s
# The detector is given at most this much audio at once (a noisy line may never fall silent
# for hours); windows overlap so that speech across a seam is found whole and merged.
MAX_PIECE = 10 * 60 * WHISPER_RATE
PIECE_OVERLAP = 5 * WHISPER_RATE


def frame_db(audio: np.ndarray) -> np.ndarray:
    """Level of every whole 30 ms frame in dB, read a block at a time (a whole four-hour call
    at once would take 3.7 GB as float64)."""
    n = len(audio) // FRAME
    out = np.empty(n, dtype=np.float64)
    step = BLOCK_SAMPLES // FRAME * FRAME
    for start, block in blocks(audio, step):  # step is whole frames: blocks align with them
        whole = len(block) // FRAME
        frames = block[: whole * FRAME].reshape(whole, FRAME).astype(np.float64)
        out[start // FRAME : start // FRAME + whole] = 10 * np.log10(
            np.mean(frames**2, axis=1) + 1e-12
        )
    return out


def _pieces(audio: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample ranges of non-silent audio, cut at silences of 0.5 s or more."""
    n = len(audio) // FRAME
    if n == 0:
        return [(0, len(audio))] if len(audio) else []
    loud = frame_db(audio) > SILENCE_DB
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
    found_all: list[tuple[int, int]] = []
    for a, b in _pieces(audio):
        for lo, hi in _windows(max(0, a - pad), min(len(audio), b + pad)):
            found = get_speech_timestamps(np.asarray(audio[lo:hi]), options)
            release(audio, lo, hi)
            found_all += [(c["start"] + lo, c["end"] + lo) for c in found]
    # Overlapping windows can find one stretch twice: in order, and merged.
    for start, end in sorted(found_all):
        if chunks and start <= chunks[-1]["end"]:
            chunks[-1]["end"] = max(chunks[-1]["end"], end)
        else:
            chunks.append({"start": start, "end": end})
    return chunks


def _windows(lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) in overlapping windows of at most MAX_PIECE + PIECE_OVERLAP samples."""
    out = []
    while hi - lo > MAX_PIECE + PIECE_OVERLAP:
        out.append((lo, lo + MAX_PIECE + PIECE_OVERLAP))
        lo += MAX_PIECE
    return [*out, (lo, hi)]


GAP_SECONDS = 0.5


class ChunkTimeline:
    """Speech chunks glued together with a short silence between them, and the way back.

    Glued back to back, the last word of a chunk is often aligned into the next one and then
    mapped to the wrong place in the call (a turn's "please." reported 6 s late). A little
    silence between chunks gives the aligner a boundary; each word is mapped back through the
    chunk its start falls in (or the next, if it starts in a gap) and clamped to that chunk.
    """

    def __init__(self, audio: np.ndarray, chunks: list[dict[str, int]], rate: int) -> None:
        gap = np.zeros(int(GAP_SECONDS * rate), dtype=audio.dtype)
        self.rate = rate
        self.spans: list[tuple[float, float, float]] = []  # (glued start, original start, length)
        parts: list[np.ndarray] = []
        pos = 0
        for c in chunks:
            piece = audio[c["start"] : c["end"]]
            self.spans.append((pos / rate, c["start"] / rate, len(piece) / rate))
            parts += [piece, gap]
            pos += len(piece) + len(gap)
        self.audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def _chunk(self, t: float) -> int:
        for i in range(len(self.spans) - 1, -1, -1):
            glued, _, length = self.spans[i]
            if t >= glued:
                # A word starting in the silence after a chunk belongs to the next one.
                if t >= glued + length and i + 1 < len(self.spans):
                    return i + 1
                return i
        return 0

    def locate(self, start: float, end: float) -> tuple[int, float, float]:
        """The chunk a glued word belongs to, and its start and end in the original audio."""
        index = self._chunk(start)
        glued, original, length = self.spans[index]
        a = min(max(start - glued, 0.0), length)
        b = min(max(end - glued, a), length)
        return index, original + a, original + b
