"""The languages a call may be asked to be transcribed and scored in: Whisper's list."""

from __future__ import annotations

from transcription.engine import LANGUAGES


def check_language(value: str | None) -> str | None:
    """An ISO 639-1 code Whisper knows, "auto" (detect it, whatever CALLQA_LANGUAGE says), or
    None (nothing said: CALLQA_LANGUAGE decides)."""
    code = (value or "").strip().lower()
    if code == "":
        return None
    if code == "auto":
        return "auto"
    if code not in LANGUAGES:
        raise ValueError(
            f"unknown language {value!r}: use an ISO 639-1 code such as en, he or fa, or auto"
        )
    return code
