"""Audio files under the data directory: staged while validated, moved into place on success."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_EXTENSIONS = {
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "ogg": "ogg",
    "mov": "m4a",
    "mp4": "m4a",
    "matroska": "mka",
    "aiff": "aiff",
}
MEDIA_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "m4a": "audio/mp4",
    "mka": "audio/x-matroska",
    "aiff": "audio/aiff",
}


@dataclass
class StagedFile:
    path: Path
    size: int
    sha256: str


def stage(source: BinaryIO, audio_dir: Path, *, max_bytes: int) -> StagedFile:
    """Copy an upload to a staging file under a name we chose, hashing as it goes."""
    staging = audio_dir / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise OverflowError
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedFile(path=path, size=size, sha256=digest.hexdigest())


def staging_dir(audio_dir: Path) -> Path:
    """The staging folder, on the data disk: uploads arrive there, and a long call's decoded
    channels wait there while it is transcribed (see transcription.audio)."""
    staging = audio_dir / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    return staging


def staging_path(audio_dir: Path, suffix: str = "") -> Path:
    """A fresh file name in the staging folder (the file is not created)."""
    return staging_dir(audio_dir) / f"{uuid.uuid4().hex}{suffix}"


def replace(staged: Path, audio_dir: Path, relative: str) -> int:
    """Put `staged` in place of a stored file in one rename (never both, never neither);
    returns the new size."""
    target = audio_dir / relative
    size = staged.stat().st_size
    os.replace(staged, target)
    return size


def extension_for(container_format: str) -> str:
    return _EXTENSIONS.get(container_format, "bin")


def place(staged: StagedFile, audio_dir: Path, *, call_id: int, extension: str) -> str:
    """Move a validated file into its final place; returns the path relative to audio_dir."""
    relative = Path(f"{call_id // 1000:04d}") / f"{call_id}-{uuid.uuid4().hex[:8]}.{extension}"
    target = audio_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.path, target)
    return relative.as_posix()


def remove(audio_dir: Path, relative: str | None) -> None:
    if relative:
        (audio_dir / relative).unlink(missing_ok=True)


STALE_STAGING_SECONDS = 3600.0


def clear_stale_staging(audio_dir: Path, *, older_than: float = STALE_STAGING_SECONDS) -> int:
    """Remove what a process that died mid-upload or mid-job left in the staging folder;
    returns how many files went. Only files untouched for `older_than` seconds: another API
    process or worker on the same data directory may be writing a fresh one right now (an
    upload streams, so its file's mtime moves while it arrives)."""
    staging = audio_dir / ".staging"
    if not staging.is_dir():
        return 0
    cutoff = time.time() - older_than
    removed = 0
    for path in staging.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # its own process finished with it meanwhile
            continue
    return removed
