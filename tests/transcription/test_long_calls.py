"""Decompression bombs (issue 14, item 3): a FLAC of a few MB that decodes to four hours is
transcribed in bounded memory, as a worker does it, in a process of its own. Before the fix the
decode alone took 1.8 GB for one channel and the speech detector 5.2 GB; the probe's 3 h 54 min
FLAC made a worker allocate 7.95 GB. benchmarks/long_calls.py prints the same figures beside
the 40-second call alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.long_calls import make_bomb, measure
from tests.conftest import MODEL_CACHE
from transcription.audio import SPOOL_SAMPLES, blocks, decode_audio

LIMIT_MB = 1536
HOURS = 4.0


@pytest.mark.slow
@pytest.mark.parametrize("channels", [2, 1], ids=["stereo", "mono"])
def test_a_four_hour_bomb_is_transcribed_in_bounded_memory(tmp_path, channels):
    bomb = make_bomb(tmp_path / "bomb.flac", hours=HOURS, channels=channels)
    assert bomb.stat().st_size < 8_000_000  # a few MB on disk...
    spool = tmp_path / "spool"
    spool.mkdir()
    figures = measure(bomb, models=MODEL_CACHE, spool=spool)
    assert figures["duration"] > HOURS * 3600  # ...four hours decoded
    print(f"\n{channels}-channel {HOURS:g} h bomb: peak RSS {figures['peak_rss_mb']:.0f} MB")
    assert figures["peak_rss_mb"] < LIMIT_MB
    # The conversation at its start is still heard, and nothing is heard in the silence.
    text = str(figures["text"]).lower()
    assert "laura" in text and "policy number" in text
    assert float(figures["last_word_end"]) < 60  # type: ignore[arg-type]
    assert figures["spool_left"] == []  # the decoded channels leave no file behind


def test_a_long_recording_is_spooled_and_read_back_exactly(tmp_path):
    """Past ten minutes a channel is memory-mapped from a temporary file; the samples are the
    same as the in-memory decode of the same audio, and the file is already gone."""
    short = decode_audio(make_bomb(tmp_path / "short.flac", hours=0, channels=2))
    long = decode_audio(
        make_bomb(tmp_path / "long.flac", hours=0.25, channels=2), spool_dir=tmp_path / "spool"
    )
    assert not isinstance(short.channels[0], np.memmap)
    assert all(isinstance(c, np.memmap) for c in long.channels)
    assert len(long.channels[0]) > SPOOL_SAMPLES
    assert list((tmp_path / "spool").iterdir()) == []  # unlinked while still mapped
    n = len(short.channels[0])
    for a, b in zip(short.channels, long.channels, strict=True):
        assert np.array_equal(a, b[:n])
        assert not np.any(b[n + 16_000 :])  # then silence
    # The mono mix of a spooled call is spooled too, and equals the plain mix.
    assert isinstance(long.mono, np.memmap)
    assert np.allclose(long.mono[:n], short.mono, atol=1e-7)
    # A pass in blocks sees every sample once, in order.
    seen = sum(len(block) for _, block in blocks(long.channels[0]))
    assert seen == len(long.channels[0])


def test_the_speech_detector_finds_the_same_speech_in_a_spooled_call(tmp_path: Path):
    """The speech detector reads a long call a window at a time and finds what the whole-call
    pass found on the short one."""
    from transcription.engine import _VAD
    from transcription.vad import speech_chunks

    short = decode_audio(make_bomb(tmp_path / "short.flac", hours=0, channels=1))
    long = decode_audio(
        make_bomb(tmp_path / "long.flac", hours=0.25, channels=1), spool_dir=tmp_path
    )
    assert speech_chunks(long.channels[0], _VAD) == speech_chunks(short.channels[0], _VAD)


def test_long_stretches_are_read_and_decoded_in_bounded_windows():
    """The detector's windows overlap and cover a stretch that never falls silent; speech is
    grouped for decoding within the limit, a single longer chunk cut into pieces that fit."""
    from transcription.engine import GLUED_SAMPLES, _groups
    from transcription.vad import MAX_PIECE, PIECE_OVERLAP, _windows

    hours = 4 * 3600 * 16_000
    windows = _windows(123, hours)
    assert windows[0][0] == 123 and windows[-1][1] == hours
    assert all(b - a <= MAX_PIECE + PIECE_OVERLAP for a, b in windows)
    assert all(
        b1 - a2 == PIECE_OVERLAP for (_, b1), (a2, _) in zip(windows, windows[1:], strict=False)
    )
    assert _windows(0, 1000) == [(0, 1000)]

    chunks = [{"start": 0, "end": 16_000}, {"start": 32_000, "end": hours}]
    groups = _groups(chunks, GLUED_SAMPLES)
    pieces = [c for g in groups for c in g]
    assert pieces[0] == chunks[0] and pieces[1]["start"] == 32_000 and pieces[-1]["end"] == hours
    assert all(
        a["end"] == b["start"] for a, b in zip(pieces[1:], pieces[2:], strict=False)
    )  # no gap, no overlap
    gap = 8_000
    assert all(sum(c["end"] - c["start"] + gap for c in g) <= GLUED_SAMPLES for g in groups)
    # An ordinary call's speech stays one group: decoded exactly as before.
    short = [{"start": i * 48_000, "end": i * 48_000 + 32_000} for i in range(200)]
    assert _groups(short, GLUED_SAMPLES) == [short]
