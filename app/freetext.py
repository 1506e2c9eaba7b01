"""Card data never reaches the database through what people type.

Free text (coaching notes, override and dispute reasons, shopper notes and answers, hold
reasons) is redacted with the transcripts' PCI rules just before its row is
inserted or updated, so every route, page, CLI command and import that writes it is covered,
and an export has nothing left to leak. Each table names its free-text columns where it is
defined. (At flush, not on assignment: SQLModel writes an assigned value past SQLAlchemy's
attribute events.) Identifiers are not free text: a customer reference is what erasure, legal
holds and repeat-contact matching look calls up by, and a phone number passes the card rules
one time in ten, so it is stored as given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from transcription.pci import redact_text


def text(value: Any) -> Any:
    """A text column's value, redacted."""
    return redact_text(value) if isinstance(value, str) and value.strip() else value


def reasons(value: Any) -> Any:
    """A list of mappings (review overrides) with each `reason` redacted."""
    if not isinstance(value, list):
        return value
    return [
        {**item, "reason": text(item.get("reason"))} if isinstance(item, dict) else item
        for item in value
    ]


def text_values(value: Any) -> Any:
    """A mapping of answers with each text answer redacted."""
    if not isinstance(value, dict):
        return value
    return {k: text(v) for k, v in value.items()}


# Kept here: the event registry must not be the only one holding the listeners.
_LISTENERS: list[Callable[..., None]] = []


def redact_on_write(model: type, **columns: Callable[[Any], Any]) -> None:
    """Before each insert or update of a `model` row, pass each named column through its
    redactor (`text`, `reasons`, `text_values`)."""

    def redact(_mapper: object, _connection: object, target: object) -> None:
        for name, redactor in columns.items():
            value = getattr(target, name)
            cleaned = redactor(value)
            if cleaned != value:
                setattr(target, name, cleaned)

    _LISTENERS.append(redact)
    event.listen(model, "before_insert", redact)
    event.listen(model, "before_update", redact)
