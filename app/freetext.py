"""Card data never reaches the database through what people type.

Free text (coaching notes, override and dispute reasons, shopper notes and answers, hold
reasons) is redacted with the transcripts' PCI rules just before its row is
inserted or updated, so every route, page, CLI command and import that writes it is covered,
and an export has nothing left to leak. Each table names its free-text columns where it is
defined. (At flush, not on assignment: SQLModel writes an assigned value past SQLAlchemy's
attribute events.) A customer reference is an identifier, not free text: erasure, legal holds
and repeat-contact matching look calls up by it, and a phone number passes the transcripts'
card rules one time in ten. It is refused as a card only when it is one beyond doubt
(`identifier`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from stdnum import luhn

from transcription.pci import REDACTED, redact_text

# Card brands' first digits (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay).
_CARD_PREFIX = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|6011|64[4-9]|65|35|36|38|30[0-5]|62)")
_AMEX = re.compile(r"^3[47]")
_SEPARATORS = re.compile(r"[\s./-]+")
_DIGIT_RUN = re.compile(r"\d(?:[\s./-]?\d){14,}")


def text(value: Any) -> Any:
    """A text column's value, redacted."""
    return redact_text(value) if isinstance(value, str) and value.strip() else value


def identifier(value: Any) -> Any:
    """An identifier (a customer reference) with every card number in it, beyond doubt,
    replaced by REDACTED; any other stays exactly as given."""
    if not isinstance(value, str):
        return value

    def card_or_kept(match: re.Match[str]) -> str:
        digits = _SEPARATORS.sub("", match.group())
        # 15 digits is only ever American Express (34, 37); a phone number (E.164: at most
        # 15 digits) never has 16 or more.
        brand = _AMEX if len(digits) == 15 else _CARD_PREFIX
        if 15 <= len(digits) <= 19 and brand.match(digits) and luhn.is_valid(digits):
            return REDACTED
        return match.group()

    return _DIGIT_RUN.sub(card_or_kept, value)


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
