"""What a store of recordings does, wherever it keeps them (the data directory, a bucket)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from app.errors import Unavailable

CHUNK = 64 * 1024


class StorageUnavailable(Unavailable):
    """The store refused or could not be reached: nothing was stored (503, try again)."""


class AudioStore(Protocol):
    """Recordings by key: the path relative to the data directory's audio folder
    (`0001/1234-ab12cd34.flac`), which is what `Call.audio_path` holds in every store."""

    @property
    def where(self) -> str:
        """The store in words, for messages (`/srv/data/audio`, `s3://bucket/prefix`)."""
        ...

    def put(self, source: Path, key: str, *, keep_source: bool = False) -> None:
        """Store the file under `key`. The source is consumed (moved or removed) unless
        `keep_source`; on an error nothing is stored under `key`."""
        ...

    def replace(self, source: Path, key: str) -> int:
        """Put `source` in place of a stored recording at once (readers see the old one or the
        new one, never part of either); returns the new size. The source is consumed."""
        ...

    def delete(self, key: str) -> None:
        """Remove a recording; one already gone is no error."""
        ...

    def size(self, key: str) -> int | None:
        """The recording's size in bytes; None: there is none under `key`."""
        ...

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes `start` to `end` (exclusive) of a recording, in chunks, streamed."""
        ...

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """A file on this machine with the recording, for the decoder: the stored file itself
        or a temporary copy removed when the block ends. FileNotFoundError: none is stored."""
        ...
