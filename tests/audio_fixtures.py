from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import DATA


def encode(source: Path, target: Path, container: str, codec: str, rate: int) -> Path:
    """Re-encode a recording with PyAV (the same FFmpeg our decoder uses)."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        resampler = av.AudioResampler(
            format=stream.codec_context.format or "s16", layout="stereo", rate=rate
        )
        for frame in inp.decode(audio=0):
            frame.pts = None
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


FORMATS = {  # name: (container, codec, sample rate)
    "wav": ("wav", "pcm_s16le", 8000),
    "flac": ("flac", "flac", 8000),
    "mp3": ("mp3", "libmp3lame", 16000),
    "ogg": ("ogg", "libopus", 48000),
    "m4a": ("ipod", "aac", 16000),
}


@pytest.fixture(scope="session")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("encoded")
    return {
        name: encode(DATA / "basic.flac", folder / f"basic.{name}", *spec)
        for name, spec in FORMATS.items()
    }


def tone(seconds: float, rate: int = 16000, freq: float = 440.0, db: float = -10) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)
