"""Recordings as files under the data directory's audio folder: the embedded default."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.storage.store import CHUNK


class LocalStore:
    def __init__(self, audio_dir: Path) -> None:
        self.audio_dir = audio_dir

    @property
    def where(self) -> str:
        return str(self.audio_dir)

    def _path(self, key: str) -> Path:
        return self.audio_dir / key

    def put(self, source: Path, key: str, *, keep_source: bool = False) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not keep_source:
            os.replace(source, target)
            return
        # Copied beside the target, then renamed: a reader never sees half a file.
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def replace(self, source: Path, key: str) -> int:
        size = source.stat().st_size
        os.replace(source, self._path(key))
        return size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        with self._path(key).open("rb") as fh:
            fh.seek(start)
            while start < end and (chunk := fh.read(min(CHUNK, end - start))):
                start += len(chunk)
                yield chunk

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(2, "no such recording", key)
        yield path
