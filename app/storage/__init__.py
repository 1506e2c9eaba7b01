"""Recordings: staged on the data disk while validated, then kept in the audio store of this
deployment (the data directory, or an S3-compatible bucket), chosen once from the settings."""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.config import Settings, split_s3_url
from app.storage.local import LocalStore
from app.storage.s3 import S3Store
from app.storage.store import AudioStore, StorageUnavailable

__all__ = ["AudioStore", "LocalStore", "S3Store", "StorageUnavailable"]

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


def extension_for(container_format: str) -> str:
    return _EXTENSIONS.get(container_format, "bin")


def new_key(call_id: int, extension: str) -> str:
    """Where a new recording is kept: the same relative path in every store."""
    return f"{call_id // 1000:04d}/{call_id}-{uuid.uuid4().hex[:8]}.{extension}"


def audio_store(settings: Settings) -> AudioStore:
    """The store of this deployment's recordings (CALLQA_STORAGE_URL)."""
    return store_at(
        settings.storage_url, audio_dir=settings.audio_dir, endpoint_url=settings.s3_endpoint_url
    )


@functools.cache
def store_at(url: str | None, *, audio_dir: Path, endpoint_url: str | None) -> AudioStore:
    """The store at `url` (s3://bucket[/prefix]; None: the audio folder), built once per
    process: a boto3 client keeps its connections for the next request."""
    if not url:
        return LocalStore(audio_dir)
    bucket, prefix = split_s3_url(url)
    # Downloads for the worker wait in the staging folder, which stale-staging cleanup sweeps.
    return S3Store(
        bucket=bucket, prefix=prefix, endpoint_url=endpoint_url, spool_dir=audio_dir / ".staging"
    )


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
