"""The numpy port of resemblyzer's VoiceEncoder against the real one (tests/data/voice/, made by
scripts/voice_reference.py with resemblyzer 0.1.4 on torch 2.13 and librosa 0.11)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from transcription.audio import DecodedAudio, decode_audio
from transcription.errors import ModelUnavailable
from transcription.voice import (
    WINDOW_SECONDS,
    CheckpointError,
    VoiceEncoder,
    find_weights,
    mel_spectrogram,
    normalize_volume,
    partial_starts,
    read_checkpoint,
)

DATA = Path(__file__).resolve().parent.parent / "data"
VOICE = DATA / "voice"
META = json.loads((VOICE / "segments.json").read_text())

# Measured against the reference: cosine >= 1 - 6e-8, max abs diff 3.9e-7 (partials and
# utterance embeddings alike); the assertions leave room for other BLAS kernels.
MIN_COSINE = 0.99999
MAX_ABS = 1e-5

# `make install` puts the weights in; with CI=true a missing install fails instead of skipping.
needs_weights = pytest.mark.skipif(
    find_weights() is None and not os.environ.get("CI"),
    reason="resemblyzer's weights: pip install --no-deps resemblyzer==0.1.4",
)


@cache
def _basic() -> DecodedAudio:
    return decode_audio(DATA / "basic.flac")


@cache
def _encoder() -> VoiceEncoder:
    return VoiceEncoder()


def _segment(name: str) -> np.ndarray:
    seg = META["segments"][name]
    return _basic().channels[seg["channel"]][seg["start_sample"] : seg["end_sample"]]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


@needs_weights
@pytest.mark.parametrize("name", ["agent", "customer"])
def test_partials_and_utterance_match_resemblyzer(name):
    wav = _segment(name)
    times, partials = _encoder().partial_embeddings(wav, step=1 / META["rate"])
    expected = np.load(VOICE / f"{name}_partials.npy")
    assert partials.dtype == np.float32 and partials.shape == expected.shape
    assert _cosines(partials, expected).min() >= MIN_COSINE
    assert np.abs(partials - expected).max() <= MAX_ABS
    np.testing.assert_allclose(times, np.arange(len(expected)) * 0.25, atol=1e-9)

    embed = _encoder().embed_utterance(wav, rate=META["rate"])
    expected_embed = np.load(VOICE / f"{name}_embed.npy")
    assert embed.shape == (256,)
    assert float(_cosines(embed, expected_embed)) >= MIN_COSINE
    assert np.abs(embed - expected_embed).max() <= MAX_ABS


def test_windows_cover_the_audio_like_resemblyzer():
    # resemblyzer's compute_partial_slices(n, rate=4, min_coverage=0.75), worked by hand.
    n = 81_600  # 5.1 s: 511 frames; windows start every 25 frames while start <= 511 - 160 + 25
    starts = partial_starts(n, step=0.25)
    assert starts[0] == 0 and np.all(np.diff(starts) == 25)
    assert starts[-1] == 375  # the window at 400 would be only 10/160 audio: dropped
    assert list(partial_starts(100, step=0.25)) == [0]  # always one window
    assert WINDOW_SECONDS == 1.6
    with pytest.raises(ValueError, match="step"):
        partial_starts(n, step=2.0)


@needs_weights
def test_embeddings_are_normalised_and_the_mel_is_computed_once():
    wav = _segment("agent")
    mel = mel_spectrogram(wav)
    assert mel.shape == (1 + len(wav) // 160, 40) and mel.dtype == np.float32
    starts = partial_starts(len(wav), step=0.5)
    windows = np.stack([mel[s : s + 160] for s in starts])
    by_mels = _encoder().embed_mels(windows)
    _, by_audio = _encoder().partial_embeddings(wav, step=0.5)
    np.testing.assert_allclose(by_mels, by_audio, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(by_audio, axis=1), 1.0, atol=1e-5)
    assert by_audio.min() >= 0.0  # after the ReLU


def test_volume_normalisation_is_one_gain_up_to_minus_30_dbfs():
    quiet = (0.001 * np.sin(np.arange(16_000) / 5.0)).astype(np.float32)
    louder = normalize_volume(quiet)
    rms = np.sqrt(np.mean(louder.astype(np.float64) ** 2))
    assert abs(20 * np.log10(rms) + 30) < 0.01
    np.testing.assert_allclose(louder / louder.max(), quiet / quiet.max(), atol=1e-6)
    loud = 0.5 * quiet / quiet.max()
    assert np.array_equal(normalize_volume(loud), loud)  # increase only
    assert not normalize_volume(np.zeros(100, np.float32)).any()


@needs_weights
def test_same_speaker_is_closer_than_the_other_speaker():
    # Two turns of each voice of basic.flac (agent on the left, customer on the right).
    turns = json.loads((DATA / "basic.json").read_text())["turns"][:4]
    embeds = {}
    for i, turn in enumerate(turns):
        channel = 0 if turn["speaker"] == "agent" else 1
        lo, hi = int(turn["start"] * 16_000), int(turn["end"] * 16_000)
        embeds[(turn["speaker"], i)] = _encoder().embed_utterance(_basic().channels[channel][lo:hi])
    agents = [e for (s, _), e in embeds.items() if s == "agent"]
    customers = [e for (s, _), e in embeds.items() if s == "customer"]
    assert len(agents) == len(customers) == 2
    same = min(float(agents[0] @ agents[1]), float(customers[0] @ customers[1]))
    cross = max(float(a @ c) for a in agents for c in customers)
    assert same > cross + 0.05, (same, cross)

    # Window by window too: each agent partial is nearer the agent's mean than the customer's.
    _, partials = _encoder().partial_embeddings(_segment("agent"), step=0.5)
    assert np.all(partials @ agents[1] > partials @ customers[1])


@needs_weights
def test_weights_load_without_torch():
    code = (
        "import sys\n"
        "from transcription.voice import VoiceEncoder\n"
        "VoiceEncoder()\n"
        "assert 'torch' not in sys.modules and 'resemblyzer' not in sys.modules\n"
        "print('ok')\n"
    )
    root = DATA.parent.parent
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    # In a fresh process: this one may hold PyTorch for the openai-whisper engine's tests.
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_missing_weights_say_how_to_install_them(tmp_path):
    with pytest.raises(ModelUnavailable, match=r"pip install --no-deps resemblyzer==0\.1\.4"):
        VoiceEncoder(tmp_path / "pretrained.pt")


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    junk = tmp_path / "pretrained.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelUnavailable, match="cannot load"):
        VoiceEncoder(junk)


@pytest.mark.parametrize("name", ["tiny_zip.pt", "tiny_legacy.pt"])
def test_both_torch_file_formats_are_read(name):
    checkpoint = read_checkpoint(VOICE / name)
    assert checkpoint["step"] == 7
    state = checkpoint["model_state"]
    np.testing.assert_array_equal(state["transposed"], np.arange(12.0).reshape(3, 4).T)
    assert state["transposed"].dtype == np.float32
    np.testing.assert_array_equal(state["offset"], np.arange(10.0)[2:7])
    assert state["offset"].dtype == np.float64
    np.testing.assert_array_equal(state["ints"], np.arange(6).reshape(2, 3))
    assert state["ints"].dtype == np.int64
    assert state["scalar"].shape == () and float(state["scalar"]) == 3.5


def test_the_reader_refuses_other_classes(tmp_path):
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as fh:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(part, fh, protocol=2)
        pickle.dump({"x": os.system}, fh, protocol=2)  # a global other than the allowed ones
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        read_checkpoint(evil)
