"""Card data out of the recording itself: the spans the transcript redacted, silenced in the audio.

PCI DSS forbids keeping a card's security code after authorisation, in any form; redacting the
transcript is not enough while the stored recording still says the digits. The spans where card
data may be heard (`transcription.pci.sensitive_spans`) are widened by a margin (Whisper's word
times are off by a few tenths of a second) and silenced, or covered by a tone, on every channel:
the other party's leg carries a faint copy of the same digits (bleed). The rest of the recording
is written sample for sample (FLAC, lossless, at the recording's own rate and channels),
streamed frame by frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

import av
import numpy as np

from transcription.errors import CorruptAudio

TONE_HZ = 1000.0
TONE_LEVEL = 0.1  # -20 dBFS: audible as "something was removed here", not painful


class AudioRedaction(StrEnum):
    silence = "silence"
    tone = "tone"
    off = "off"


def widen(
    spans: Iterable[tuple[float, float]], *, margin: float, duration: float | None = None
) -> list[tuple[float, float]]:
    """`spans` widened by `margin` on both sides, clipped to the recording, merged, in order."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted((max(0.0, a - margin), b + margin) for a, b in spans):
        if duration is not None:
            end = min(end, duration)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [(round(a, 3), round(b, 3)) for a, b in merged if b > a]


def redact_recording(
    source: Path,
    target: Path,
    spans: list[tuple[float, float]],
    *,
    mode: AudioRedaction = AudioRedaction.silence,
) -> None:
    """Write `source` to `target` as FLAC with every span silenced (or toned) on all channels."""
    if mode is AudioRedaction.off:
        raise ValueError("redaction mode 'off' writes nothing")
    try:
        with av.open(str(source), mode="r") as inp:
            stream = inp.streams.audio[0]
            rate = int(stream.codec_context.sample_rate or stream.rate)
            layout = stream.layout.name
            resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            with av.open(str(target), mode="w", format="flac") as out:
                encoder = out.add_stream("flac", rate=rate, layout=layout)
                position = 0  # samples written so far, per channel
                for frame in inp.decode(stream):
                    frame.pts = None
                    for chunk in resampler.resample(frame):
                        position = _write(out, encoder, chunk, position, rate, spans, mode)
                for chunk in resampler.resample(None):
                    position = _write(out, encoder, chunk, position, rate, spans, mode)
                for packet in encoder.encode(None):
                    out.mux(packet)
    except av.error.FFmpegError as exc:
        target.unlink(missing_ok=True)
        raise CorruptAudio(f"the recording cannot be redacted ({exc.strerror})") from exc


def _write(
    out: av.container.OutputContainer,
    encoder: av.AudioStream,
    chunk: av.AudioFrame,
    position: int,
    rate: int,
    spans: list[tuple[float, float]],
    mode: AudioRedaction,
) -> int:
    channels = len(chunk.layout.channels)
    samples = chunk.to_ndarray().reshape(-1, channels).copy()  # s16 packed: (samples, channels)
    first, last = position, position + len(samples)
    for start, end in spans:
        a, b = max(first, int(start * rate)), min(last, int(np.ceil(end * rate)))
        if a >= b:
            continue
        if mode is AudioRedaction.tone:
            t = np.arange(a, b) / rate
            tone = (TONE_LEVEL * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
            samples[a - first : b - first] = tone[:, None]
        else:
            samples[a - first : b - first] = 0
    frame = av.AudioFrame.from_ndarray(
        samples.reshape(1, -1), format="s16", layout=chunk.layout.name
    )
    frame.sample_rate = rate
    frame.pts = position
    for packet in encoder.encode(frame):
        out.mux(packet)
    return last
