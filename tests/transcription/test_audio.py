from pathlib import Path

import pytest

from tests.conftest import DATA, SHARED_AUDIO
from transcription import (
    AudioTooLong,
    CorruptAudio,
    TruncatedAudio,
    UnsupportedAudio,
    decode_audio,
    probe_audio,
)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg", "m4a"])
def test_every_supported_format_decodes_to_its_true_length(encoded, fmt):
    info = probe_audio(encoded[fmt], max_seconds=3600)
    assert info.channels == 2
    assert info.duration == pytest.approx(40.97, abs=0.15)
    audio = decode_audio(encoded[fmt])
    assert len(audio.channels) == 2 and audio.sample_rate == 16000
    assert audio.duration == pytest.approx(40.97, abs=0.15)


def test_format_is_detected_from_content_not_from_the_name(encoded, tmp_path):
    disguised = tmp_path / "recording.wav"
    disguised.write_bytes(encoded["mp3"].read_bytes())
    assert probe_audio(disguised, max_seconds=3600).format == "mp3"


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "x.wav"
    path.write_text("this is not audio at all\n" * 10)
    with pytest.raises(UnsupportedAudio, match="not a recognised audio format"):
        probe_audio(path, max_seconds=3600)


def test_truncated_wav_is_reported_with_both_lengths(tmp_path):
    source = (SHARED_AUDIO / "lca_Auto_Repairs_40_UTC_stereo_agentL_callerR.wav").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(source[: len(source) // 3])
    with pytest.raises(TruncatedAudio, match=r"decodes to 81\.\d s but its header says 245\.4 s"):
        probe_audio(path, max_seconds=3600)


def test_truncated_mp3_is_corrupt(tmp_path):
    source = (SHARED_AUDIO / "fw_multilingual.mp3").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(source[:30000] + b"\x00garbage" * 100)
    with pytest.raises((CorruptAudio, TruncatedAudio)):
        probe_audio(path, max_seconds=3600)


@pytest.mark.parametrize("cut", ["mid-page", "at a page boundary"])
def test_truncated_ogg_is_refused_although_its_length_looks_whole(encoded, tmp_path, cut):
    """FFmpeg takes an Ogg stream's length from its last page, so a cut-off file used to pass
    (issue 14, item 11); a whole stream ends with the end-of-stream flag."""
    source = encoded["ogg"].read_bytes()
    end = len(source) // 2
    if cut == "at a page boundary":
        end = source.index(b"OggS", end)
    path = tmp_path / "cut.ogg"
    path.write_bytes(source[:end])
    with pytest.raises(TruncatedAudio, match="Ogg end-of-stream mark"):
        probe_audio(path, max_seconds=3600)


def test_recording_over_the_limit_is_refused():
    with pytest.raises(AudioTooLong, match="limit is 1 min"):
        probe_audio(DATA / "long_silence.flac", max_seconds=60)


def test_empty_file_is_not_audio(tmp_path: Path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedAudio):
        probe_audio(path, max_seconds=60)
