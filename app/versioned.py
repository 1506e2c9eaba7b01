"""Immutable, numbered versions of a named YAML definition: scorecards, shopper forms and bonus
rules are all stored this way. An edit adds the next version; nothing is changed in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

T = TypeVar("T", bound=Any)  # a table with name, version, definition, created_by


def add_version(session: Session, model: type[T], *, name: str, definition: str,
                created_by: str | None) -> T:
    """Store `definition` (already validated) as the next version of `name`."""
    latest = session.exec(select(func.max(model.version)).where(model.name == name)).one()
    row = model(name=name, version=(latest or 0) + 1, definition=definition,
                created_by=created_by)
    session.add(row)
    session.flush()
    return row


def latest_version(session: Session, model: type[T], *, name: str,
                   store_default: Callable[[], T] | None = None) -> T | None:
    """The newest version of `name`. With `store_default`, a missing one is stored as version 1
    on first use; when two processes race to do so, the loser reads the winner's row."""
    row = session.exec(select(model).where(model.name == name)
                       .order_by(col(model.version).desc())).first()
    if row is not None or store_default is None:
        return row
    try:
        with session.begin_nested():
            return store_default()
    except IntegrityError:
        return latest_version(session, model, name=name)
