"""Bringing a folder of recordings in (`callqa import`, the watched folder): which files, with
what metadata, and each file as its own unit of work so that a run stopped half-way keeps
what it stored and the next run carries on where it stopped."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.calls import service
from app.calls.languages import check_language
from app.calls.models import Call, CallType, Direction
from app.config import Settings
from app.db import unit_of_work
from app.errors import CallqaError
from app.jobs import ledger
from transcription.errors import TranscriptionError
from transcription.types import Layout

# What recorders write. Anything else in the folder (notes, the metadata file itself) is
# reported as "not a recording", not tried.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".opus", ".oga", ".m4a", ".mp4", ".aac", ".mka", ".aif",
     ".aiff", ".webm", ".wma", ".amr", ".gsm"}
)  # fmt: skip


class MetadataUnusable(Exception):
    """The import cannot start at all (a metadata file that cannot be read)."""


class Metadata(BaseModel):
    """One file's upload fields: the same names, types and limits as the upload form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agent: str = Field(min_length=1, max_length=200)
    started_at: datetime
    direction: Direction = Direction.inbound
    call_type: CallType = CallType.service
    external_id: str | None = Field(default=None, max_length=200)
    customer_ref: str | None = Field(default=None, max_length=200)
    layout: Layout = Layout.auto
    deal_closed: bool | None = None
    deal_value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    language: Annotated[str | None, Field(max_length=16), AfterValidator(check_language)] = None

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


COLUMNS = ("file", *Metadata.model_fields)


@dataclass(frozen=True)
class Defaults:
    """What a file not named in the metadata (or a blank cell) gets."""

    agent: str | None = None
    direction: Direction = Direction.inbound
    call_type: CallType = CallType.service
    layout: Layout = Layout.auto
    started_at: Literal["mtime"] | datetime = "mtime"  # the file's time, as the recorder left it
    agent_hint: str = "give --agent"  # how to give one, said when a file has none


@dataclass
class Item:
    """One file to bring in, or why not."""

    path: Path
    relative: str
    meta: service.CallMeta | None = None
    refused: str | None = None


@dataclass
class Outcome:
    relative: str
    status: Literal["imported", "already", "refused"]
    reason: str = ""
    call_id: int | None = None


@dataclass
class Summary:
    imported: list[Outcome] = field(default_factory=list)
    already: list[Outcome] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        getattr(self, outcome.status).append(outcome)


def read_metadata(path: Path, root: Path) -> dict[str, dict[str, str]]:
    """The metadata CSV as {relative file path: row}; one MetadataUnusable naming the line when the
    file as a whole is unusable (no `file` column, an unknown column, a file named twice)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataUnusable(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise MetadataUnusable(f"{path}: {exc}") from None
    if "file" not in header:
        raise MetadataUnusable(f"{path}: no `file` column (columns: {', '.join(COLUMNS)})")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise MetadataUnusable(
            f"{path}: unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})"
        )
    reader.fieldnames = header
    rows: dict[str, dict[str, str]] = {}
    try:
        for row in reader:
            if None in row:
                raise MetadataUnusable(f"{path} line {reader.line_num}: more cells than columns")
            name = (row.pop("file") or "").strip()
            if not name:
                raise MetadataUnusable(f"{path} line {reader.line_num}: the `file` cell is empty")
            key = _relative_key(root, name)
            if key in rows:
                raise MetadataUnusable(f"{path} line {reader.line_num}: {name} is named twice")
            rows[key] = {**{k: v or "" for k, v in row.items()}, "_line": str(reader.line_num)}
    except csv.Error as exc:
        raise MetadataUnusable(f"{path} line {reader.line_num}: {exc}") from None
    return rows


def _relative_key(root: Path, name: str) -> str:
    """A path as the metadata names it, made comparable with what the walk finds."""
    candidate = Path(name)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(root)
        except ValueError:
            return candidate.as_posix()
    return Path(*[p for p in candidate.parts if p not in ("", ".")]).as_posix()


def walk(root: Path) -> Iterator[Path]:
    """Every file under `root`, in a stable order; hidden files left out, and hidden folders
    not even entered (the watched folder's `.callqa/imported/` grows with every call)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def plan(
    root: Path, *, metadata: dict[str, dict[str, str]] | None, defaults: Defaults
) -> list[Item]:
    """What this run will try, file by file, with the metadata each file gets or why it is
    refused before it is read. Metadata rows naming files that are not there are refused too."""
    rows = dict(metadata or {})
    items: list[Item] = []
    for path in walk(root):
        relative = path.relative_to(root).as_posix()
        row = rows.pop(relative, None)
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            if row is not None:
                items.append(Item(path, relative, refused="not a recording (by its extension)"))
            continue
        items.append(_item(path, relative, row, defaults))
    for relative, row in rows.items():
        items.append(
            Item(
                root / relative,
                relative,
                refused=f"named on line {row['_line']} of the metadata, but not in the folder",
            )
        )
    return items


def _item(path: Path, relative: str, row: dict[str, str] | None, defaults: Defaults) -> Item:
    source = f"line {row['_line']}" if row else None
    values: dict[str, object] = {k: v for k, v in (row or {}).items() if k != "_line" and v != ""}
    return item_for(path, relative, values, defaults, source=source, named=row is not None)


def item_for(
    path: Path,
    relative: str,
    values: dict[str, object],
    defaults: Defaults,
    *,
    source: str | None,
    named: bool,
) -> Item:
    """A file with the fields given for it (`source` says where, for refusals: "line 4" of
    the metadata, a sidecar file) and the defaults for the rest."""
    values = dict(values)
    values.setdefault("direction", defaults.direction)
    values.setdefault("call_type", defaults.call_type)
    values.setdefault("layout", defaults.layout)
    if defaults.agent is not None:
        values.setdefault("agent", defaults.agent)
    if "agent" not in values:
        where = f"{source} has" if named and source else "not in the metadata, and"
        return Item(path, relative, refused=f"no agent: {where} no agent ({defaults.agent_hint})")
    if "started_at" not in values:
        if defaults.started_at == "mtime":
            values["started_at"] = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        else:
            values["started_at"] = defaults.started_at
    try:
        meta = Metadata.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = f"{source}: " if source else ""
        column = ".".join(str(p) for p in error["loc"])
        return Item(path, relative, refused=f"{where}{column}: {error['msg']}")
    return Item(
        path,
        relative,
        meta=service.CallMeta(
            agent=meta.agent,
            started_at=meta.started_at,
            direction=meta.direction,
            call_type=meta.call_type,
            layout=meta.layout,
            external_id=meta.external_id,
            customer_ref=meta.customer_ref,
            deal_closed=meta.deal_closed,
            deal_value=meta.deal_value,
            language=meta.language,
        ),
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def already_imported(session: Session, item: Item) -> Call | None:
    """The call this file already is: the same external id, or the same bytes."""
    assert item.meta is not None
    if item.meta.external_id:
        found = service.find_by_external_id(session, external_id=item.meta.external_id)
        if found is not None:
            return found
    digest = sha256_of(item.path)
    return session.exec(select(Call).where(Call.audio_sha256 == digest)).first()


Enqueue = Callable[[Session, str, int], None]  # JobQueue.enqueue_after_commit


def import_one(engine: Engine, settings: Settings, item: Item, enqueue: Enqueue) -> Outcome:
    """One planned file, one unit of work: stored with its transcription job and committed,
    or nothing of it (the stored copy goes with a rollback)."""
    if item.refused is not None:
        return Outcome(item.relative, "refused", item.refused)
    assert item.meta is not None
    try:
        # Twice at most: a unique key that another process took meanwhile (the same external
        # id, or a new agent created by two imports at once) is seen on the second look.
        for attempt in (1, 2):
            with unit_of_work(engine, writes=False) as look:
                existing = already_imported(look, item)
            if existing is not None:
                return Outcome(item.relative, "already", call_id=existing.id)
            try:
                with unit_of_work(engine) as session, item.path.open("rb") as audio:
                    call = service.ingest_call(
                        session, settings=settings, audio=audio, meta=item.meta
                    )
                    enqueue(session, ledger.TRANSCRIBE, call.id or 0)
                return Outcome(item.relative, "imported", call_id=call.id)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
    except CallqaError as exc:
        return Outcome(item.relative, "refused", exc.message)
    except TranscriptionError as exc:  # not audio, or audio that cannot be decoded
        return Outcome(item.relative, "refused", str(exc))
    except IntegrityError as exc:
        return Outcome(item.relative, "refused", f"could not be stored: {exc.orig or exc}")
    except OSError as exc:
        return Outcome(item.relative, "refused", f"cannot read it: {exc.strerror or exc}")
