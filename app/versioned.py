"""Immutable, numbered versions of a named YAML definition: scorecards, shopper forms and bonus
rules are all stored this way. An edit adds the next version; nothing is changed in place. The
built-in defaults are version 1 of `default`, stored by a migration."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

T = TypeVar("T", bound=Any)  # a table with name, version, definition, created_by


def add_version(
    session: Session,
    model: type[T],
    *,
    name: str,
    definition: str,
    created_by: str | None,
    **fields: Any,
) -> T:
    """Store `definition` (already validated) as the next version of `name`, with `fields`
    (an owner, say) set on the new row."""
    latest = session.exec(select(func.max(model.version)).where(model.name == name)).one()
    row = model(
        name=name,
        version=(latest or 0) + 1,
        definition=definition,
        created_by=created_by,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def latest_version(session: Session, model: type[T], *, name: str) -> T | None:
    """The newest version of `name`, if there is one."""
    return session.exec(
        select(model).where(model.name == name).order_by(col(model.version).desc())
    ).first()
