"""Domain errors of the transcription library; the app maps them to HTTP answers."""


class TranscriptionError(Exception):
    """Base class: the message says what is wrong in words a user can act on."""


class UnsupportedAudio(TranscriptionError):
    """The file is not audio we can decode (not audio at all, or no audio stream)."""


class CorruptAudio(TranscriptionError):
    """The file claims to be audio but cannot be decoded."""


class TruncatedAudio(TranscriptionError):
    """The decoded audio is far shorter than the container says it should be."""


class AudioTooLong(TranscriptionError):
    """The recording is longer than the configured maximum."""


class ModelUnavailable(TranscriptionError):
    """The Whisper model named in the settings cannot be loaded."""
