"""Audio in, timed speaker-labelled text out. Knows nothing of HTTP or databases."""

from transcription.audio import DecodedAudio, decode_audio, probe_audio
from transcription.errors import (
    AudioTooLong,
    CorruptAudio,
    ModelUnavailable,
    TranscriptionError,
    TruncatedAudio,
    UnsupportedAudio,
)
from transcription.types import Layout, Segment, Speaker, Transcript, Word

__all__ = [
    "AudioTooLong",
    "CorruptAudio",
    "DecodedAudio",
    "Layout",
    "ModelUnavailable",
    "Segment",
    "Speaker",
    "Transcript",
    "TranscriptionError",
    "TruncatedAudio",
    "UnsupportedAudio",
    "Word",
    "decode_audio",
    "probe_audio",
]
