"""The watched folder (CALLQA_WATCH_DIR): a recorder drops recordings there and every worker
looks every few seconds. A file is taken once it has not changed for a while (the recorder may
still be writing it), by renaming it into `.callqa/taking/`: a rename is atomic, so when many
workers look at once (on one machine or sharing the folder) exactly one takes each file. It
then goes to `.callqa/imported/` or, with a `.reason.txt` beside it, `.callqa/refused/`;
nothing is deleted. A `<name>.json` beside a recording gives its upload fields."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine

from app.calls import bulk
from app.config import Settings

log = logging.getLogger(__name__)

HOME = ".callqa"
TAKING = f"{HOME}/taking"
IMPORTED = f"{HOME}/imported"
REFUSED = f"{HOME}/refused"
# A file taken by a worker that died before filing it away goes back after this long (the
# import is idempotent: a file stored before the crash is found "already there").
STALE_TAKING_SECONDS = 3600.0


def sweep(engine: Engine, settings: Settings, enqueue: bulk.Enqueue) -> list[bulk.Outcome]:
    """One look at the folder: take, import and file away every settled recording."""
    root = settings.watch_dir
    if root is None or not root.is_dir():
        return []
    _return_stale(root)
    defaults = bulk.Defaults(
        agent=settings.watch_agent,
        layout=settings.watch_layout,
        agent_hint="give a <name>.json beside it, or set CALLQA_WATCH_AGENT",
    )
    settled_before = time.time() - settings.watch_settle_seconds
    outcomes = []
    for path in bulk.walk(root):
        if path.suffix.lower() not in bulk.AUDIO_SUFFIXES:
            continue  # sidecars go with their recording; anything else is not ours
        sidecar = path.with_name(path.name + ".json")
        if not sidecar.exists():
            sidecar = path.with_suffix(".json")
        try:
            if max(_mtime(path), _mtime(sidecar)) > settled_before:
                continue  # still being written
        except FileNotFoundError:
            continue  # taken by another worker meanwhile
        relative = path.relative_to(root).as_posix()
        values, problem = _read_sidecar(sidecar)
        taken = _take(root, path, relative)
        if taken is None:
            continue
        if problem is not None:
            item = bulk.Item(taken, relative, refused=problem)
        else:
            item = bulk.item_for(
                taken,
                relative,
                values or {},
                defaults,
                source=f"{sidecar.name}" if values is not None else None,
                named=values is not None,
            )
        try:
            outcome = bulk.import_one(engine, settings, item, enqueue)
        except Exception:  # the database down, say: put it back for the next look
            log.exception("watched folder: %s could not be imported now; put back", relative)
            _put_back(root, taken, relative)
            continue
        _file_away(root, taken, relative, sidecar if sidecar.is_file() else None, outcome)
        log.info("watched folder: %s %s %s", relative, outcome.status, outcome.reason)
        outcomes.append(outcome)
    return outcomes


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        if path.suffix == ".json":
            return 0.0  # no sidecar
        raise


def _read_sidecar(sidecar: Path) -> tuple[dict[str, object] | None, str | None]:
    if not sidecar.is_file():
        return None, None
    try:
        values = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{sidecar.name}: not readable JSON ({exc})"
    if not isinstance(values, dict):
        return None, f"{sidecar.name}: must be one JSON object of upload fields"
    return {k: v for k, v in values.items() if v not in ("", None)}, None


def _take(root: Path, path: Path, relative: str) -> Path | None:
    """Rename the file into a claim folder of its own (named for when it was taken); None
    when another worker took it first."""
    claim = root / TAKING / f"{int(time.time())}-{uuid.uuid4().hex[:12]}"
    target = claim / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, target)
    except FileNotFoundError:  # another worker took it first
        shutil.rmtree(claim, ignore_errors=True)
        return None
    except OSError as exc:  # not ours to move (permissions): say so, go on with the others
        log.warning("watched folder: cannot take %s: %s", relative, exc.strerror or exc)
        shutil.rmtree(claim, ignore_errors=True)
        return None
    return target


def _put_back(root: Path, taken: Path, relative: str) -> None:
    original = _free(root / relative)
    original.parent.mkdir(parents=True, exist_ok=True)
    os.rename(taken, original)
    shutil.rmtree(_claim_of(root, taken), ignore_errors=True)


def _file_away(
    root: Path, taken: Path, relative: str, sidecar: Path | None, outcome: bulk.Outcome
) -> None:
    folder = root / (REFUSED if outcome.status == "refused" else IMPORTED)
    target = _free(folder / relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(taken, target)
    shutil.rmtree(_claim_of(root, taken), ignore_errors=True)
    if sidecar is not None:
        try:
            os.replace(sidecar, target.with_name(target.name + ".json"))
        except FileNotFoundError:
            pass
    if outcome.status == "refused":
        target.with_name(target.name + ".reason.txt").write_text(outcome.reason + "\n")


def _free(target: Path) -> Path:
    """`target`, or `name-2.ext`... when a file of that name was filed there before."""
    candidate, n = target, 1
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    return candidate


def _claim_of(root: Path, taken: Path) -> Path:
    return root / TAKING / taken.relative_to(root / TAKING).parts[0]


def _return_stale(root: Path) -> None:
    """Put back what a worker that stopped mid-file had taken (its claim is over an hour
    old); the next look imports it, or finds it already there."""
    taking = root / TAKING
    if not taking.is_dir():
        return
    cutoff = time.time() - STALE_TAKING_SECONDS
    for claim in taking.iterdir():
        stamp = claim.name.split("-", 1)[0]
        if not stamp.isdigit() or int(stamp) >= cutoff:
            continue
        for path in sorted(claim.rglob("*")):
            if path.is_file():
                original = _free(root / path.relative_to(claim))
                original.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(path, original)
                except FileNotFoundError:
                    continue
                log.warning("watched folder: %s was left by a worker that stopped", original)
        shutil.rmtree(claim, ignore_errors=True)
