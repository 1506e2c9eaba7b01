"""Card data out of the stored recording: spans, silence or tone, everything else unchanged."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from transcription.pci import AUDIO_CUE_SECONDS, sensitive_spans
from transcription.redact_audio import AudioRedaction, redact_recording, widen
from transcription.types import Segment, Speaker, Word

RATE = 8000


def samples(path: Path) -> np.ndarray:
    """Every sample of a file at its own rate, s16, shape (samples, channels)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout=stream.layout.name, rate=stream.rate)
        parts = []
        for frame in container.decode(stream):
            frame.pts = None
            parts += [
                f.to_ndarray().reshape(-1, len(f.layout.channels))
                for f in resampler.resample(frame)
            ]
        parts += [
            f.to_ndarray().reshape(-1, len(f.layout.channels)) for f in resampler.resample(None)
        ]
    return np.concatenate(parts)


@pytest.fixture
def stereo_wav(tmp_path: Path) -> Path:
    """Six seconds of noise-like speech stand-in on both channels, 8 kHz 16-bit stereo."""
    rng = np.random.default_rng(1)
    data = (rng.normal(0, 3000, (6 * RATE, 2))).clip(-32768, 32767).astype("<i2")
    path = tmp_path / "call.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(data.tobytes())
    return path


def test_spans_are_silenced_on_every_channel_and_the_rest_is_sample_for_sample(
    stereo_wav: Path, tmp_path: Path
) -> None:
    target = tmp_path / "redacted.flac"
    redact_recording(stereo_wav, target, [(1.0, 2.5), (4.0, 4.25)])
    before, after = samples(stereo_wav), samples(target)
    assert after.shape == before.shape
    silent = np.zeros(len(before), bool)
    silent[1 * RATE : int(2.5 * RATE)] = silent[4 * RATE : int(4.25 * RATE)] = True
    assert not after[silent].any()  # both channels, every sample
    assert np.array_equal(after[~silent], before[~silent])
    with av.open(str(target)) as c:
        assert c.format.name == "flac" and c.streams.audio[0].rate == RATE


def test_a_tone_covers_the_span_instead_when_asked(stereo_wav: Path, tmp_path: Path) -> None:
    target = tmp_path / "toned.flac"
    redact_recording(stereo_wav, target, [(2.0, 3.0)], mode=AudioRedaction.tone)
    span = samples(target)[2 * RATE : 3 * RATE].astype(np.float64) / 32768
    rms_db = 20 * np.log10(np.sqrt(np.mean(span**2)))
    assert -24 < rms_db < -20  # a 1 kHz sine at -20 dBFS peak
    assert np.array_equal(span[:, 0], span[:, 1])
    with pytest.raises(ValueError, match="off"):
        redact_recording(stereo_wav, target, [(2.0, 3.0)], mode=AudioRedaction.off)


def test_spans_are_widened_clipped_and_merged() -> None:
    assert widen([(5.0, 6.0), (1.0, 1.2), (6.6, 7.0)], margin=0.5, duration=7.2) == [
        (0.5, 1.7),
        (4.5, 7.2),
    ]
    assert widen([], margin=0.5) == []


def _seg(speaker: Speaker, words: list[tuple[float, float, str]]) -> Segment:
    ws = [Word(a, b, t, 0.9) for a, b, t in words]
    return Segment(speaker, ws[0].start, ws[-1].end, " ".join(w.text for w in ws), 0.9, ws)


def test_the_audio_loses_more_than_the_text_hides() -> None:
    # A card number the decoder wrote as 17 ones (no Luhn match, so the text keeps none of it
    # once the loop guard cuts it) and a security code heard as "free payment 1" after the
    # agent's cue on the other leg: the recording must still lose both.
    customer = _seg(
        Speaker.customer,
        [(13.5, 14.0, "It"), (14.0, 14.2, "is"), (14.3, 21.0, "41111111111111111")],
    )
    agent = _seg(
        Speaker.agent,
        [(30.5, 30.8, "And"), (30.8, 31.0, "the"), (31.0, 31.4, "security"), (31.4, 31.9, "code?")],
    )
    answer = _seg(
        Speaker.customer, [(33.0, 33.3, "free"), (33.3, 33.8, "payment"), (33.9, 34.2, "1")]
    )
    spans = widen(sensitive_spans([customer, agent, answer]), margin=0.0)
    assert (14.3, 21.0) in spans
    assert (31.9, 31.9 + AUDIO_CUE_SECONDS) in spans
    # Ordinary numbers are left alone: a price, a year.
    plain = _seg(Speaker.customer, [(1.0, 1.5, "It's"), (1.5, 2.0, "2018"), (2.0, 2.4, "model")])
    assert sensitive_spans([plain]) == []
