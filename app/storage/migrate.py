"""Copy recordings from one store to another (the data directory to a bucket), idempotently."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.storage.store import AudioStore


@dataclass
class Migration:
    copied: int = 0
    present: int = 0  # already in the target with the same size: left alone
    missing: list[str] = field(default_factory=list)  # not in the source
    mismatched: list[str] = field(default_factory=list)  # copied, but the target's size differs


def copy_recordings(keys: Iterable[str], *, source: AudioStore, target: AudioStore) -> Migration:
    """Copy each recording the target lacks (or holds at another size), then read back its size.
    Run again after an interruption, it copies only what is still missing. StorageUnavailable
    from the target stops it."""
    done = Migration()
    for key in keys:
        size = source.size(key)
        if size is None:
            done.missing.append(key)
            continue
        if target.size(key) == size:
            done.present += 1
            continue
        with source.local_copy(key) as path:
            target.put(path, key, keep_source=True)
        if target.size(key) != size:
            done.mismatched.append(key)
            target.delete(key)  # a wrong copy is worse than none: the next run copies again
            continue
        done.copied += 1
    return done
